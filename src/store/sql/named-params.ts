import type { SqlParams, SqlValue } from "./driver.js";

export type PlaceholderStyle = "dollar" | "question";

interface CompiledSql {
  text: string;
  values: SqlValue[];
}

/** `:name` outside quotes; `::` (a PostgreSQL cast) is not a parameter. */
const PARAMETER = /'(?:[^']|'')*'|"[^"]*"|::|:([A-Za-z_][A-Za-z0-9_]*)/g;

/** SQL cut at its parameters: text = parts[0] + p(names[0]) + parts[1] + … */
interface Template {
  parts: string[];
  names: string[];
  /** The text for parameters without lists, per placeholder style. */
  plain: Partial<Record<PlaceholderStyle, string>>;
}

const templates = new Map<string, Template>();

function templateOf(sql: string): Template {
  let template = templates.get(sql);
  if (template) return template;
  const parts: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const match of sql.matchAll(PARAMETER)) {
    if (match[1] === undefined) continue;
    parts.push(sql.slice(last, match.index));
    names.push(match[1]);
    last = (match.index ?? 0) + match[0].length;
  }
  parts.push(sql.slice(last));
  template = { parts, names, plain: {} };
  // Statements are constants of the code, so the cache stays as small as the code.
  templates.set(sql, template);
  return template;
}

function placeholders(style: PlaceholderStyle, from: number, count: number): string {
  if (style === "question") return Array.from({ length: count }, () => "?").join(", ");
  return Array.from({ length: count }, (_, index) => `$${from + index}`).join(", ");
}

/** The smallest power of two that holds `length`. */
function paddedLength(length: number): number {
  return 2 ** Math.ceil(Math.log2(length));
}

/**
 * A list as long as paddedLength, its last value repeated (the same answer in `IN (…)`): each
 * length would otherwise be a server-side prepared statement of its own, and they pile up.
 */
function paddedList(list: readonly SqlValue[]): SqlValue[] {
  const padded = [...list];
  while (padded.length < paddedLength(list.length)) padded.push(list[list.length - 1] as SqlValue);
  return padded;
}

/**
 * Turns SQL with named parameters into the positional form a driver takes: `$1, $2` for
 * PostgreSQL, `?` for SQLite and MariaDB. Arrays expand into lists (`IN (:ids)`, the only place
 * a list may go), padded to a power of two.
 */
export function compileNamed(sql: string, params: SqlParams, style: PlaceholderStyle): CompiledSql {
  const template = templateOf(sql);
  const values: SqlValue[] = [];
  let hasList = false;
  for (const name of template.names) {
    if (!Object.hasOwn(params, name)) throw new Error(`SQL parameter :${name} has no value`);
    const value = params[name] as SqlValue | readonly SqlValue[];
    if (Array.isArray(value)) {
      if (value.length === 0) throw new Error(`SQL list parameter :${name} is empty`);
      hasList = true;
      values.push(...paddedList(value as readonly SqlValue[]));
    } else values.push(value as SqlValue);
  }
  if (!hasList) {
    template.plain[style] ??= template.parts.reduce(
      (text, part, index) => (index === 0 ? part : `${text}${placeholders(style, index, 1)}${part}`),
      "",
    );
    return { text: template.plain[style] as string, values };
  }
  let text = template.parts[0] as string;
  let position = 1;
  template.names.forEach((name, index) => {
    const value = params[name] as SqlValue | readonly SqlValue[];
    const count = Array.isArray(value) ? paddedLength(value.length) : 1;
    text += `${placeholders(style, position, count)}${template.parts[index + 1] as string}`;
    position += count;
  });
  return { text, values };
}
