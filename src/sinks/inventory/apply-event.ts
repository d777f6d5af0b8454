import type { GitLabEvent } from "../../core/event.js";
import { integer, list, record, text, type JsonObject } from "../../gitlab/payload.js";
import type { InventoryChange } from "../../core/inventory-store.js";

const ZERO_SHA = /^0{40}$|^0{64}$/;

export const INVENTORY_TYPES = new Set([
  "project_create",
  "project_update",
  "project_destroy",
  "project_rename",
  "project_transfer",
  "group_create",
  "group_destroy",
  "group_rename",
  "push",
  "tag_push",
  "repository_update",
]);

/** How far ahead of its arrival an event's own timestamps may be (clocks drift a little). */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * A time to order news by, as an ISO string: GitLab's own timestamps when the body has them, but
 * never later than shortly after the event arrived: a timestamp in 2099 must not freeze a row
 * against every later genuine update.
 */
function isoTime(value: unknown, event: GitLabEvent): string | null {
  const raw = text(value);
  if (raw === null) return null;
  const ms = Date.parse(raw.replace(/ UTC$/, "Z"));
  if (Number.isNaN(ms)) return null;
  return new Date(Math.min(ms, Date.parse(event.receivedAt) + MAX_CLOCK_SKEW_MS)).toISOString();
}

function namespaceOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

/** The newest commit time of a push, else when the daemon received it. */
function pushTime(event: GitLabEvent, body: JsonObject): string {
  const commits = list(body.commits);
  const times = commits.map((commit) => isoTime(record(commit).timestamp, event)).filter((time): time is string => time !== null);
  return times.sort().at(-1) ?? event.receivedAt;
}

/** What one event changes in the inventory (applied in one transaction by the store). */
export function inventoryChanges(event: GitLabEvent): InventoryChange[] {
  const body = record(event.payload);
  switch (event.type) {
    case "project_create":
    case "project_update":
    case "project_rename":
    case "project_transfer":
      return projectNews(body, event);
    case "project_destroy":
      return projectDestroyed(body, event);
    case "group_create":
    case "group_rename":
      return groupNews(body, event);
    case "group_destroy":
      return groupDestroyed(body, event);
    case "push":
    case "tag_push":
      return push(body, event);
    case "repository_update":
      return repositoryUpdate(body, event);
    default:
      return [];
  }
}

/**
 * The project an event is about, as ingest vouched for it (never ids elsewhere in the body): a
 * project token's event about another project never gets here.
 */
function projectOf(event: GitLabEvent): { id: number | null; path: string | null } {
  return { id: event.project?.id ?? null, path: event.project?.path ?? null };
}

function projectNews(body: JsonObject, event: GitLabEvent): InventoryChange[] {
  const { id, path } = projectOf(event);
  if (id === null || path === null) return [];
  const owners = list(body.owners)
    .map((owner) => text(record(owner).name))
    .filter((name): name is string => name !== null);
  return [
    {
      kind: "project",
      id,
      path,
      name: text(body.name),
      namespace: namespaceOf(path),
      visibility: text(body.project_visibility) ?? event.project?.visibility ?? null,
      owner: text(body.owner_name) ?? owners[0] ?? null,
      createdAt: isoTime(body.created_at, event),
      updatedAt: isoTime(body.updated_at, event),
      asOf: isoTime(body.updated_at, event) ?? isoTime(body.created_at, event) ?? event.receivedAt,
    },
  ];
}

function projectDestroyed(body: JsonObject, event: GitLabEvent): InventoryChange[] {
  const { id, path } = projectOf(event);
  if (id === null) return [];
  return [
    {
      kind: "project-deleted",
      id,
      path,
      name: text(body.name),
      namespace: namespaceOf(path ?? ""),
      visibility: text(body.project_visibility),
      asOf: isoTime(body.updated_at, event) ?? event.receivedAt,
    },
  ];
}

function groupNews(body: JsonObject, event: GitLabEvent): InventoryChange[] {
  const id = integer(body.group_id);
  const path = text(body.full_path) ?? text(body.path);
  if (id === null || path === null) return [];
  return [
    {
      kind: "group",
      id,
      path,
      name: text(body.name),
      createdAt: isoTime(body.created_at, event),
      updatedAt: isoTime(body.updated_at, event),
      asOf: isoTime(body.updated_at, event) ?? isoTime(body.created_at, event) ?? event.receivedAt,
      renamedFrom: event.type === "group_rename" ? (text(body.old_full_path) ?? text(body.old_path)) : null,
    },
  ];
}

function groupDestroyed(body: JsonObject, event: GitLabEvent): InventoryChange[] {
  const id = integer(body.group_id);
  if (id === null) return [];
  return [
    {
      kind: "group-deleted",
      id,
      path: text(body.full_path) ?? text(body.path),
      name: text(body.name),
      asOf: isoTime(body.updated_at, event) ?? event.receivedAt,
    },
  ];
}

/** A project seen only through pushes gets a row; its attributes wait for a project event. */
function projectSeen(event: GitLabEvent, body: JsonObject): Extract<InventoryChange, { kind: "project-seen" }> | null {
  const { id, path } = projectOf(event);
  if (id === null) return null;
  return {
    kind: "project-seen",
    id,
    path,
    name: text(record(body.project).name),
    namespace: path === null ? null : namespaceOf(path),
    visibility: event.project?.visibility ?? null,
  };
}

/** A branch created or moved, or deleted when the new sha is all zeros. */
function branch(projectId: number, ref: string, after: string | null, at: string): InventoryChange {
  const deleted = after === null || ZERO_SHA.test(after);
  return { kind: "branch", projectId, name: ref.slice("refs/heads/".length), commit: deleted ? null : after, at, deleted };
}

function push(body: JsonObject, event: GitLabEvent): InventoryChange[] {
  const seen = projectSeen(event, body);
  if (!seen) return [];
  const at = pushTime(event, body);
  const changes: InventoryChange[] = [
    seen,
    {
      kind: "push",
      projectId: seen.id,
      at,
      pusher: text(body.user_username) ?? text(body.user_name),
      defaultBranch: text(record(body.project).default_branch),
    },
  ];
  const ref = text(body.ref);
  if (event.type === "push" && ref?.startsWith("refs/heads/")) changes.push(branch(seen.id, ref, text(body.after), at));
  return changes;
}

function repositoryUpdate(body: JsonObject, event: GitLabEvent): InventoryChange[] {
  const seen = projectSeen(event, body);
  if (!seen) return [];
  const at = event.receivedAt;
  const changes: InventoryChange[] = [
    seen,
    { kind: "push", projectId: seen.id, at, pusher: text(body.user_username) ?? text(body.user_name), defaultBranch: null },
  ];
  for (const change of list(body.changes)) {
    const ref = text(record(change).ref);
    if (ref?.startsWith("refs/heads/")) changes.push(branch(seen.id, ref, text(record(change).after), at));
  }
  return changes;
}
