import { createHash } from "node:crypto";
import type { NewEvent } from "./event.js";

/**
 * The default order of deliveries: one project's events one after another, in id order; events
 * about no project are not ordered (null).
 */
export function projectOrderingKey(event: Pick<NewEvent, "project">): string | null {
  if (event.project?.id != null) return `id:${event.project.id}`;
  if (event.project?.path != null) return `path:${event.project.path}`;
  return null;
}

/** The longest ordering key kept as it is: every engine can index it beside the sink name. */
const MAX_STORED_KEY_LENGTH = 255;

/**
 * An ordering key as the store keeps it: a key longer than an index can hold is replaced by its
 * hash (keys only compare for equality). What a claim says a delivery's key is.
 */
export function storedOrderingKey(key: string | null): string | null {
  if (key === null || key.length <= MAX_STORED_KEY_LENGTH) return key;
  return `sha256:${createHash("sha256").update(key).digest("hex")}`;
}
