import type { GitLabEvent } from "../../core/event.js";
import type { MergeRequestAction } from "./comment.js";

export const ACTIONS: readonly MergeRequestAction[] = ["open", "reopen", "merge", "close", "update"];

/** The parts of a merge request event the Phabricator sink uses, read defensively from the payload. */
export interface MergeRequestFacts {
  action: MergeRequestAction;
  /** What the ledger keys by: the id, stable across renames (the path when the event has none). */
  projectId: number | string;
  /** What the API is called with: the project the event's credential authenticated. */
  projectPath: string;
  iid: number;
  url: string;
  title: string;
  targetBranch: string;
  description: string;
  /** The description before this update, when the update changed it. */
  previousDescription: string | null;
  lastCommit: { id: string; message: string } | null;
  /** Set when an update pushed commits. */
  oldrev: string | null;
}

type Json = Record<string, unknown>;
const record = (value: unknown): Json => (typeof value === "object" && value !== null ? (value as Json) : {});
const text = (value: unknown): string | null => (typeof value === "string" ? value : null);

/** The MR's web address, only if it is a plain http(s) URL (it becomes a link in the comment). */
function webUrl(value: unknown, fallback: string | null): string | null {
  for (const candidate of [value, fallback]) {
    if (typeof candidate !== "string") continue;
    try {
      const url = new URL(candidate);
      if (url.protocol === "http:" || url.protocol === "https:") return url.href;
    } catch {
      // try the next candidate
    }
  }
  return null;
}

export function mergeRequestFacts(event: GitLabEvent): MergeRequestFacts | null {
  const action = event.action as MergeRequestAction;
  if (event.type !== "merge_request" || !ACTIONS.includes(action)) return null;
  const payload = record(event.payload);
  const attributes = record(payload.object_attributes);
  const project = record(payload.project);
  const iid = attributes.iid;
  const projectPath = event.project?.path ?? text(project.path_with_namespace);
  // The normalized project, never ids elsewhere in the payload: ingest vouches for it alone.
  const projectId = event.project?.id ?? null;
  if (typeof iid !== "number" || projectPath === null) return null;
  const fallbackUrl = event.project?.url ? `${event.project.url}/-/merge_requests/${iid}` : null;
  const url = webUrl(attributes.url, fallbackUrl);
  if (url === null) return null;
  const lastCommit = record(attributes.last_commit);
  const changes = record(record(payload.changes).description);
  return {
    action,
    projectId: projectId ?? projectPath,
    projectPath,
    iid,
    url,
    title: text(attributes.title) ?? "",
    targetBranch: text(attributes.target_branch) ?? "",
    description: text(attributes.description) ?? "",
    previousDescription: "previous" in changes ? (text(changes.previous) ?? "") : null,
    lastCommit: typeof lastCommit.id === "string" ? { id: lastCommit.id, message: text(lastCommit.message) ?? "" } : null,
    oldrev: text(attributes.oldrev),
  };
}
