import type Database from "better-sqlite3";
import type { GitLabEvent } from "../../core/event.js";

type Json = Record<string, unknown>;
const record = (value: unknown): Json => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {});
const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);
const integer = (value: unknown): number | null => (typeof value === "number" && Number.isSafeInteger(value) ? value : null);

const ZERO_SHA = /^0{40}$|^0{64}$/;

export const INVENTORY_TYPES = new Set([
  "project_create", "project_update", "project_destroy", "project_rename", "project_transfer",
  "group_create", "group_destroy", "group_rename", "push", "tag_push", "repository_update",
]);

/** A time to order news by, as an ISO string: GitLab's own timestamps when the body has them. */
function isoTime(value: unknown): string | null {
  const raw = text(value);
  if (raw === null) return null;
  const ms = Date.parse(raw.replace(/ UTC$/, "Z"));
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function namespaceOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

/** The newest commit time of a push, else when the daemon received it. */
function pushTime(event: GitLabEvent, body: Json): string {
  const commits = Array.isArray(body.commits) ? body.commits : [];
  const times = commits.map((commit) => isoTime(record(commit).timestamp)).filter((time): time is string => time !== null);
  return times.sort().at(-1) ?? event.receivedAt;
}

/** Applies one event to the inventory tables (inside one transaction). */
export function applyInventoryEvent(db: Database.Database, event: GitLabEvent): void {
  const body = record(event.payload);
  const apply = db.transaction(() => {
    switch (event.type) {
      case "project_create":
      case "project_update":
      case "project_rename":
      case "project_transfer":
        return upsertProject(db, body, event);
      case "project_destroy":
        return destroyProject(db, body, event);
      case "group_create":
      case "group_rename":
        return upsertGroup(db, body, event);
      case "group_destroy":
        return destroyGroup(db, body, event);
      case "push":
      case "tag_push":
        return recordPush(db, body, event);
      case "repository_update":
        return recordRepositoryUpdate(db, body, event);
    }
  });
  apply();
}

function upsertProject(db: Database.Database, body: Json, event: GitLabEvent): void {
  const id = integer(body.project_id);
  const path = text(body.path_with_namespace);
  if (id === null || path === null) return;
  const owners = Array.isArray(body.owners) ? body.owners.map((owner) => text(record(owner).name)).filter(Boolean) : [];
  const asOf = isoTime(body.updated_at) ?? isoTime(body.created_at) ?? event.receivedAt;
  db.prepare(
    `INSERT INTO inventory_projects (id, path, name, namespace, visibility, owner, created_at, updated_at, as_of, deleted)
     VALUES (@id, @path, @name, @namespace, @visibility, @owner, @createdAt, @updatedAt, @asOf, 0)
     ON CONFLICT (id) DO UPDATE SET path = excluded.path, name = COALESCE(excluded.name, name), namespace = excluded.namespace,
       visibility = COALESCE(excluded.visibility, visibility), owner = COALESCE(excluded.owner, owner),
       created_at = COALESCE(created_at, excluded.created_at), updated_at = excluded.updated_at, as_of = excluded.as_of,
       deleted = 0
     WHERE excluded.as_of >= inventory_projects.as_of`,
  ).run({
    id,
    path,
    name: text(body.name),
    namespace: namespaceOf(path),
    visibility: text(body.project_visibility) ?? event.project?.visibility ?? null,
    owner: text(body.owner_name) ?? (owners[0] as string | undefined) ?? null,
    createdAt: isoTime(body.created_at),
    updatedAt: isoTime(body.updated_at),
    asOf,
  });
}

function destroyProject(db: Database.Database, body: Json, event: GitLabEvent): void {
  const id = integer(body.project_id);
  if (id === null) return;
  const asOf = isoTime(body.updated_at) ?? event.receivedAt;
  db.prepare(
    `INSERT INTO inventory_projects (id, path, name, namespace, visibility, as_of, deleted)
     VALUES (@id, @path, @name, @namespace, @visibility, @asOf, 1)
     ON CONFLICT (id) DO UPDATE SET deleted = 1, as_of = excluded.as_of WHERE excluded.as_of >= inventory_projects.as_of`,
  ).run({
    id,
    path: text(body.path_with_namespace),
    name: text(body.name),
    namespace: namespaceOf(text(body.path_with_namespace) ?? ""),
    visibility: text(body.project_visibility),
    asOf,
  });
}

function upsertGroup(db: Database.Database, body: Json, event: GitLabEvent): void {
  const id = integer(body.group_id);
  const path = text(body.full_path) ?? text(body.path);
  if (id === null || path === null) return;
  const asOf = isoTime(body.updated_at) ?? isoTime(body.created_at) ?? event.receivedAt;
  const changed = db
    .prepare(
      `INSERT INTO inventory_groups (id, path, name, created_at, updated_at, as_of, deleted)
       VALUES (@id, @path, @name, @createdAt, @updatedAt, @asOf, 0)
       ON CONFLICT (id) DO UPDATE SET path = excluded.path, name = COALESCE(excluded.name, name),
         created_at = COALESCE(created_at, excluded.created_at), updated_at = excluded.updated_at, as_of = excluded.as_of, deleted = 0
       WHERE excluded.as_of >= inventory_groups.as_of`,
    )
    .run({ id, path, name: text(body.name), createdAt: isoTime(body.created_at), updatedAt: isoTime(body.updated_at), asOf }).changes;
  // A group rename moves every project below it; GitLab sends no event per project.
  const oldPath = text(body.old_full_path) ?? text(body.old_path);
  if (event.type === "group_rename" && changed > 0 && oldPath !== null && oldPath !== path) {
    db.prepare(
      `UPDATE inventory_projects SET path = @path || substr(path, length(@old) + 1), namespace = @path || substr(namespace, length(@old) + 1)
       WHERE (namespace = @old OR namespace LIKE @old || '/%') AND as_of <= @asOf`,
    ).run({ old: oldPath, path, asOf });
  }
}

function destroyGroup(db: Database.Database, body: Json, event: GitLabEvent): void {
  const id = integer(body.group_id);
  if (id === null) return;
  const asOf = isoTime(body.updated_at) ?? event.receivedAt;
  db.prepare(
    `INSERT INTO inventory_groups (id, path, name, as_of, deleted) VALUES (@id, @path, @name, @asOf, 1)
     ON CONFLICT (id) DO UPDATE SET deleted = 1, as_of = excluded.as_of WHERE excluded.as_of >= inventory_groups.as_of`,
  ).run({ id, path: text(body.full_path) ?? text(body.path), name: text(body.name), asOf });
}

/** Makes sure a project seen only through pushes has a row; its attributes wait for a project event. */
function ensureProject(db: Database.Database, event: GitLabEvent, body: Json): number | null {
  const id = event.project?.id ?? integer(body.project_id);
  if (id === null) return null;
  const path = event.project?.path ?? null;
  db.prepare(
    `INSERT INTO inventory_projects (id, path, name, namespace, visibility, as_of) VALUES (@id, @path, @name, @namespace, @visibility, '')
     ON CONFLICT (id) DO NOTHING`,
  ).run({ id, path, name: text(record(body.project).name), namespace: path === null ? null : namespaceOf(path), visibility: event.project?.visibility ?? null });
  return id;
}

function recordPush(db: Database.Database, body: Json, event: GitLabEvent): void {
  const id = ensureProject(db, event, body);
  if (id === null) return;
  const at = pushTime(event, body);
  const pusher = text(body.user_username) ?? text(body.user_name);
  const defaultBranch = text(record(body.project).default_branch);
  db.prepare(
    `UPDATE inventory_projects SET last_push_at = @at, last_pusher = @pusher, default_branch = COALESCE(@defaultBranch, default_branch)
     WHERE id = @id AND (last_push_at IS NULL OR last_push_at <= @at)`,
  ).run({ id, at, pusher, defaultBranch });
  const ref = text(body.ref);
  if (event.type === "push" && ref?.startsWith("refs/heads/")) updateBranch(db, id, ref, text(body.after), at);
}

function recordRepositoryUpdate(db: Database.Database, body: Json, event: GitLabEvent): void {
  const id = ensureProject(db, event, body);
  if (id === null) return;
  const at = event.receivedAt;
  db.prepare(
    `UPDATE inventory_projects SET last_push_at = @at, last_pusher = @pusher WHERE id = @id AND (last_push_at IS NULL OR last_push_at <= @at)`,
  ).run({ id, at, pusher: text(body.user_username) ?? text(body.user_name) });
  for (const change of Array.isArray(body.changes) ? body.changes : []) {
    const ref = text(record(change).ref);
    if (ref?.startsWith("refs/heads/")) updateBranch(db, id, ref, text(record(change).after), at);
  }
}

/** A branch created or moved, or deleted when the new sha is all zeros. */
function updateBranch(db: Database.Database, projectId: number, ref: string, after: string | null, at: string): void {
  const deleted = after === null || ZERO_SHA.test(after) ? 1 : 0;
  db.prepare(
    `INSERT INTO inventory_branches (project_id, name, last_commit, updated_at, deleted) VALUES (@projectId, @name, @commit, @at, @deleted)
     ON CONFLICT (project_id, name) DO UPDATE SET last_commit = excluded.last_commit, updated_at = excluded.updated_at, deleted = excluded.deleted
     WHERE excluded.updated_at >= inventory_branches.updated_at`,
  ).run({ projectId, name: ref.slice("refs/heads/".length), commit: deleted ? null : after, at, deleted });
}
