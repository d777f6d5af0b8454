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
