import type { GitLabEvent } from "../core/event.js";
import { record } from "../core/payload.js";

/** `!16` for a merge request, `#23` for an issue: what the event is about inside its project. */
function reference(event: GitLabEvent): string | null {
  const payload = record(event.payload);
  const attributes = record(payload.object_attributes);
  if (event.type === "merge_request" && typeof attributes.iid === "number") return `!${attributes.iid}`;
  if ((event.type === "issue" || event.type === "work_item") && typeof attributes.iid === "number") return `#${attributes.iid}`;
  const mr = record(payload.merge_request);
  if (event.type === "note" && typeof mr.iid === "number") return `!${mr.iid}`;
  const issue = record(payload.issue);
  if (event.type === "note" && typeof issue.iid === "number") return `#${issue.iid}`;
  if (typeof payload.ref === "string") return payload.ref.replace(/^refs\/(heads|tags)\//, "");
  return null;
}

/** One human line per event: id, type, action, project, MR/issue number, user. */
export function formatEvent(event: GitLabEvent): string {
  const user = event.actor?.username ? `@${event.actor.username}` : event.actor?.name ?? null;
  return [`#${event.id}`, event.type, event.action, event.project?.path ?? null, reference(event), user]
    .filter((part): part is string => part !== null && part !== "")
    .join(" ");
}
