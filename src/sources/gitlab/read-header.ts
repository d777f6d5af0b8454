/** Headers as Node gives them (lower-case names) or as a stored record gives them (any case). */
type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * One header's value: looked up by its lower-case name, then in any case; a header sent more than
 * once is read as its values joined by ", " (what HTTP means by repeating it).
 */
export function readHeader(headers: HeaderRecord, name: string): string | undefined {
  const lower = name.toLowerCase();
  const value = headers[lower] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === lower)?.[1];
  return typeof value === "string" || value === undefined ? value : value.join(", ");
}
