import { createHash } from "node:crypto";

/** The longest ordering key kept as it is: every engine can index it beside the sink name. */
const MAX_KEY_LENGTH = 255;

/** An ordering key as stored: a key longer than an index can hold is replaced by its hash (keys only compare for equality). */
export function storedOrderingKey(key: string | null): string | null {
  if (key === null || key.length <= MAX_KEY_LENGTH) return key;
  return `sha256:${createHash("sha256").update(key).digest("hex")}`;
}
