import type { GitLabEvent } from "../core/event.js";
import { projectOrderingKey } from "../core/ordering-key.js";

/**
 * Defensive, typed reads of GitLab payloads, for the built-in sinks and for plugins. A payload is
 * whatever a hook sent (custom templates send any JSON): a field of the wrong type reads as absent,
 * never as a crash.
 */

export type JsonObject = Record<string, unknown>;

/** The value when it is a JSON object, else an empty one (so that `record(a).b` never throws). */
export function record(value: unknown): JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}

/** A non-empty string, else null. */
export function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** A safe integer, or a string of digits that is one (some system hooks send ids as strings), else null. */
export function integer(value: unknown): number | null {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && /^\d{1,15}$/.test(value)) return Number(value);
  return null;
}

/** The value when it is an array, else an empty one. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The `username` of each user object of a list (assignees, reviewers, participants). */
export function usernames(value: unknown): string[] {
  return list(value)
    .map((user) => text(record(user).username))
    .filter((name): name is string => name !== null);
}

/** A plain http(s) address, else null: what may safely become a link. */
export function webUrl(value: unknown): string | null {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** An event whose payload says it is about a merge request with a number (iid). */
export type MergeRequestEvent = GitLabEvent & {
  type: "merge_request";
  payload: { object_kind?: unknown; object_attributes: { iid: number } & JsonObject } & JsonObject;
};

export function isMergeRequest(event: GitLabEvent): event is MergeRequestEvent {
  const iid = record(record(event.payload).object_attributes).iid;
  return event.type === "merge_request" && typeof iid === "number" && Number.isSafeInteger(iid);
}

/** What most merge request consumers read, from a merge request event. */
export interface MergeRequestView {
  iid: number;
  /** open, reopen, update, close, merge, approved, … (null on system hooks' merge requests without one). */
  action: string | null;
  title: string;
  description: string;
  /** The description before this update, when the update changed it. */
  previousDescription: string | null;
  state: string | null;
  /** The MR's page, when the payload gives a plain http(s) one (else the project's URL + /-/merge_requests/iid). */
  url: string | null;
  sourceBranch: string | null;
  targetBranch: string | null;
  lastCommit: { id: string; message: string } | null;
  /** Set when an update pushed commits: the head before the push. */
  oldrev: string | null;
  assignees: string[];
  reviewers: string[];
}

export function mergeRequestOf(event: GitLabEvent): MergeRequestView | null {
  if (!isMergeRequest(event)) return null;
  const payload = event.payload;
  const attributes = payload.object_attributes;
  const iid = attributes.iid;
  const lastCommit = record(attributes.last_commit);
  const changes = record(record(payload.changes).description);
  const projectUrl = webUrl(event.project?.url);
  return {
    iid,
    action: event.action,
    title: text(attributes.title) ?? "",
    description: text(attributes.description) ?? "",
    previousDescription: "previous" in changes ? (text(changes.previous) ?? "") : null,
    state: text(attributes.state),
    url: webUrl(attributes.url) ?? (projectUrl ? `${projectUrl.replace(/\/+$/, "")}/-/merge_requests/${iid}` : null),
    sourceBranch: text(attributes.source_branch),
    targetBranch: text(attributes.target_branch),
    lastCommit: typeof lastCommit.id === "string" ? { id: lastCommit.id, message: text(lastCommit.message) ?? "" } : null,
    oldrev: text(attributes.oldrev),
    assignees: usernames(payload.assignees),
    reviewers: usernames(payload.reviewers),
  };
}

/**
 * One merge request's events in order, and different merge requests side by side: for sinks whose
 * side effects concern one merge request at a time. Other events keep the per-project order.
 */
export function mergeRequestOrderingKey(event: GitLabEvent): string | null {
  const project = projectOrderingKey(event);
  if (project === null || !isMergeRequest(event)) return project;
  return `${project}!${event.payload.object_attributes.iid}`;
}
