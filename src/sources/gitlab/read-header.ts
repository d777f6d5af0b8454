/** Headers as Node gives them: names in lower case, a repeated Set-Cookie as a list. */
type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * One header's value, by its lower-case name (a record from elsewhere is lower-cased once by its
 * reader, not searched here on every request); a header sent more than once is read as its values
 * joined by ", " (what HTTP means by repeating it).
 */
export function readHeader(headers: HeaderRecord, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return typeof value === "string" || value === undefined ? value : value.join(", ");
}
