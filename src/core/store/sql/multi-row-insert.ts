import type { PlaceholderStyle } from "./named-params.js";

const texts = new Map<string, string>();

/**
 * `INSERT INTO t (a, b) VALUES (?, ?), (?, ?)` for `rows` rows, in a driver's placeholder style:
 * rows go in positionally, without naming each of their hundreds of values.
 */
export function multiRowInsertSql(table: string, columns: readonly string[], rows: number, style: PlaceholderStyle): string {
  const key = `${style}\n${table}\n${columns.join(",")}\n${rows}`;
  let text = texts.get(key);
  if (text === undefined) {
    let position = 0;
    const tuple = () => `(${columns.map(() => (style === "dollar" ? `$${++position}` : "?")).join(", ")})`;
    text = `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${Array.from({ length: rows }, tuple).join(", ")}`;
    // Row counts are bounded by the batches' size, so this stays small.
    texts.set(key, text);
  }
  return text;
}
