/** A value Conduit accepts as a parameter. */
export type ConduitValue = string | number | boolean | null | ConduitValue[] | { [key: string]: ConduitValue };

/**
 * Flattens parameters the way PHP reads a form: `transactions[0][type]=comment`.
 * https://www.php.net/manual/en/language.variables.external.php
 */
export function encodeParams(params: Record<string, ConduitValue>, form = new URLSearchParams(), prefix = ""): URLSearchParams {
  for (const [key, value] of Object.entries(params)) {
    const name = prefix === "" ? key : `${prefix}[${key}]`;
    if (value === null) continue;
    if (Array.isArray(value)) {
      encodeParams(Object.fromEntries(value.map((item, index) => [String(index), item])), form, name);
    } else if (typeof value === "object") {
      encodeParams(value, form, name);
    } else {
      form.append(name, typeof value === "boolean" ? (value ? "1" : "0") : String(value));
    }
  }
  return form;
}
