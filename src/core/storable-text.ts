/**
 * Text every store keeps as it was given. PostgreSQL refuses a NUL character in text ("invalid
 * byte sequence for encoding UTF8: 0x00"), and a lone surrogate comes back from the stores as
 * U+FFFD, so that a value looked up again (the dedup scope) no longer matches what was written.
 * GitLab passes both through from titles, branch names and user names, and a downstream's error
 * text may carry them; each becomes U+FFFD here, in the fields the store extracts and in errors. The payload is kept as GitLab sent it: its JSON text spells
 * them as escapes, which every store keeps.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is replaced
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Whether a string could hold either at all: a scan without look-arounds, so that the common case costs one pass. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const MAYBE_UNSTORABLE = /[\u0000\ud800-\udfff]/;

export function storableText(value: string): string {
  return MAYBE_UNSTORABLE.test(value) ? value.replace(UNSTORABLE, "\ufffd") : value;
}

/** Whether any string in a value (objects and arrays walked) could need replacing. */
function mayHoldUnstorable(value: unknown): boolean {
  if (typeof value === "string") return MAYBE_UNSTORABLE.test(value);
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some(mayHoldUnstorable);
  for (const key in value) if (mayHoldUnstorable((value as Record<string, unknown>)[key])) return true;
  return false;
}

/**
 * A value with every string in it made storable (storableText), objects and arrays walked. The
 * value itself when nothing in it needs replacing (every event GitLab sends): one scan, no copy.
 */
export function withStorableText<T>(value: T): T {
  if (typeof value === "string") return storableText(value) as T;
  if (!mayHoldUnstorable(value)) return value;
  if (Array.isArray(value)) return value.map(withStorableText) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, withStorableText(field)])) as T;
  }
  return value;
}
