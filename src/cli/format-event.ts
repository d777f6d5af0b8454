import type { GitLabEvent } from "../core/event.js";
import { record } from "../gitlab/payload.js";

/** `!16` for a merge request, `#23` for an issue, the branch of a push: what the event is about inside its project. */
function reference(event: GitLabEvent): string | null {
  const object = event.object;
  if (!object) return null;
  if (object.kind === "merge_request" && object.iid !== null) return `!${object.iid}`;
  if ((object.kind === "issue" || object.kind === "work_item") && object.iid !== null) return `#${object.iid}`;
  if (object.kind === "note" && object.iid !== null) {
    const payload = record(event.payload);
    if (Object.keys(record(payload.merge_request)).length > 0) return `!${object.iid}`;
    if (Object.keys(record(payload.issue)).length > 0) return `#${object.iid}`;
  }
  return object.ref;
}

/**
 * Text from the outside world, safe on a terminal: control characters (escape sequences that could
 * rewrite the screen, line breaks that could forge another event's line) become spaces.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").trim();
}

/** One human line per event: id, type, action, project, MR/issue number or branch, user, title and link. */
export function formatEvent(event: GitLabEvent): string {
  const user = event.actor?.username ? `@${event.actor.username}` : (event.actor?.name ?? null);
  const title = event.object?.title ? `"${event.object.title}"` : null;
  return [`#${event.id}`, event.type, event.action, event.project?.path ?? null, reference(event), user, title, event.object?.url ?? null]
    .filter((part): part is string => part !== null && part !== "")
    .map(printable)
    .join(" ");
}
