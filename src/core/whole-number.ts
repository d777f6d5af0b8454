/**
 * A whole number as a query parameter or a path gives it: plain decimal digits, nothing else.
 * `Number()` also reads `1e21`, `0x1`, `1e0` and ` 1 `, and `1e21` then reached SQL as `1e+21`.
 */
const PLAIN_DIGITS = /^\d{1,16}$/;

/** The number `text` spells in plain digits when it lies within [min, max]; else null. */
export function wholeNumberIn(text: unknown, min: number, max: number): number | null {
  if (typeof text !== "string" || !PLAIN_DIGITS.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}
