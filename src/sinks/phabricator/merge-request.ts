import type { GitLabEvent } from "../../core/event.js";
import { mergeRequestOf } from "../../gitlab/payload.js";
import type { MergeRequestAction } from "./comment.js";

export const ACTIONS: readonly MergeRequestAction[] = ["open", "reopen", "merge", "close", "update"];

/** The parts of a merge request event the Phabricator sink uses. */
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

export function mergeRequestFacts(event: GitLabEvent): MergeRequestFacts | null {
  const mr = mergeRequestOf(event);
  const action = event.action as MergeRequestAction;
  if (!mr || !ACTIONS.includes(action)) return null;
  // The normalized project, never ids elsewhere in the payload: ingest vouches for it alone.
  const projectPath = event.project?.path ?? null;
  // The URL becomes a link in the comment: only a plain http(s) one.
  if (projectPath === null || mr.url === null) return null;
  return {
    ...mr,
    action,
    projectId: event.project?.id ?? projectPath,
    projectPath,
    url: mr.url,
    targetBranch: mr.targetBranch ?? "",
  };
}
