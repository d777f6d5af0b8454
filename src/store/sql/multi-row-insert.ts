import type { PlaceholderStyle } from "./named-params.js";

const texts = new Map<string, string>();

/**
 * `INSERT INTO t (a, b) VALUES (?, ?), (?, ?)` for `rows` rows, in a driver's placeholder style:
 * rows go in positionally, without naming each of their hundreds of values. `suffix` follows the
 * values (newRowsClause).
 */
export function multiRowInsertSql(table: string, columns: readonly string[], rows: number, style: PlaceholderStyle, suffix = ""): string {
  const key = `${style}\n${table}\n${columns.join(",")}\n${rows}\n${suffix}`;
  let text = texts.get(key);
  if (text === undefined) {
    let position = 0;
    const tuple = () => `(${columns.map(() => (style === "dollar" ? `$${++position}` : "?")).join(", ")})`;
    text = `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${Array.from({ length: rows }, tuple).join(", ")}${suffix}`;
    // Row counts are bounded by the batches' size, so this stays small.
    texts.set(key, text);
  }
  return text;
}

/**
 * Rows cut into runs whose sizes are powers of two, largest first (37 rows: 32, 4, 1): one
 * statement per run keeps the insert's shapes to a few, each a server-side prepared statement.
 * The caller's transaction keeps the runs together.
 */
export function powerOfTwoRuns<Row>(rows: readonly Row[]): Row[][] {
  const runs: Row[][] = [];
  for (let start = 0; start < rows.length;) {
    const size = 2 ** Math.floor(Math.log2(rows.length - start));
    runs.push(rows.slice(start, start + size));
    start += size;
  }
  return runs;
}

/** What SqlQueries.insertNewRows adds to an insert, in the SQL SQLite and PostgreSQL both speak. */
export function newRowsClause(conflict: readonly string[], returning: readonly string[]): string {
  return ` ON CONFLICT (${conflict.join(", ")}) DO NOTHING RETURNING ${returning.join(", ")}`;
}
