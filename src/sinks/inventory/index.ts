import type { Request, Response } from "express";
import { requireAdminToken } from "../../core/admin-auth.js";
import { ConfigError } from "../../core/config.js";
import { sendError } from "../../core/http-errors.js";
import type { Sink, SinkFactory } from "../../core/sink.js";
import { SqliteStore } from "../../core/sqlite-store.js";
import { applyInventoryEvent, INVENTORY_TYPES } from "./apply-event.js";
import { createInventoryTables } from "./schema.js";

interface ProjectRow {
  id: number;
  path: string | null;
  name: string | null;
  namespace: string | null;
  visibility: string | null;
  owner: string | null;
  created_at: string | null;
  updated_at: string | null;
  default_branch: string | null;
  last_push_at: string | null;
  last_pusher: string | null;
  deleted: number;
}

interface BranchRow {
  name: string;
  last_commit: string | null;
  updated_at: string;
}

interface ProjectSearch {
  group: string | null;
  groupLike: string | null;
  q: string | null;
  qLike: string | null;
  limit: number;
  offset: number;
}

const project = (row: ProjectRow) => ({
  id: row.id,
  path: row.path,
  name: row.name,
  namespace: row.namespace,
  visibility: row.visibility,
  owner: row.owner,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  defaultBranch: row.default_branch,
  lastPushAt: row.last_push_at,
  lastPusher: row.last_pusher,
  deleted: row.deleted === 1,
});

/** `%` and `_` are LIKE wildcards: a search for them means the characters. */
const likeEscape = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * `inventory`: projects, groups and branches kept current by system and group hooks, served
 * read-only at /api/projects and /api/groups/<path>/projects (ADMIN_TOKEN).
 */
export const createInventorySink: SinkFactory = ({ config, store, router }) => {
  if (!(store instanceof SqliteStore)) throw new ConfigError("the inventory sink keeps its tables in the SQLite store (DATABASE_PATH)");
  const db = store.db;
  createInventoryTables(db);

  const listProjects = db.prepare<ProjectSearch, ProjectRow>(
    `SELECT * FROM inventory_projects
     WHERE deleted = 0 AND path IS NOT NULL
       AND (@group IS NULL OR namespace = @group OR namespace LIKE @groupLike ESCAPE '\\')
       AND (@q IS NULL OR path LIKE @qLike ESCAPE '\\' OR name LIKE @qLike ESCAPE '\\')
     ORDER BY path LIMIT @limit OFFSET @offset`,
  );
  const byId = db.prepare<[number], ProjectRow>("SELECT * FROM inventory_projects WHERE id = ?");
  const byPath = db.prepare<[string], ProjectRow>("SELECT * FROM inventory_projects WHERE path = ? ORDER BY deleted, as_of DESC LIMIT 1");
  const branches = db.prepare<[number], BranchRow>(
    "SELECT name, last_commit, updated_at FROM inventory_branches WHERE project_id = ? AND deleted = 0 ORDER BY name",
  );
  const groupExists = db.prepare<[string], { id: number }>("SELECT id FROM inventory_groups WHERE path = ? AND deleted = 0");

  const pageOf = (req: Request, res: Response) => {
    const limit = Number(req.query.limit ?? 100);
    const offset = Number(req.query.offset ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return sendError(res, 400, "limit must be from 1 to 1000");
    if (!Number.isInteger(offset) || offset < 0) return sendError(res, 400, "offset must be a whole number");
    return { limit, offset };
  };
  const search = (group: string | null, q: string | null, page: { limit: number; offset: number }) =>
    listProjects
      .all({
        group,
        groupLike: group === null ? null : `${likeEscape(group)}/%`,
        q,
        qLike: q === null ? null : `%${likeEscape(q)}%`,
        ...page,
      })
      .map(project);

  const auth = requireAdminToken(config.ADMIN_TOKEN);
  router.get("/api/projects", auth, (req: Request, res: Response) => {
    const page = pageOf(req, res);
    if (!page) return;
    const group = typeof req.query.group === "string" && req.query.group !== "" ? req.query.group : null;
    const q = typeof req.query.q === "string" && req.query.q !== "" ? req.query.q : null;
    res.json({ projects: search(group, q, page) });
  });

  router.get("/api/projects/:ref", auth, (req: Request, res: Response) => {
    const ref = String(req.params.ref);
    const row = /^\d+$/.test(ref) ? byId.get(Number(ref)) : byPath.get(ref);
    if (!row) return sendError(res, 404, `no project ${ref} in the inventory (ids, or paths URL-encoded: group%2Fproject)`);
    res.json({ ...project(row), branches: branches.all(row.id).map((b) => ({ name: b.name, lastCommit: b.last_commit, updatedAt: b.updated_at })) });
  });

  router.get("/api/groups/:path/projects", auth, (req: Request, res: Response) => {
    const page = pageOf(req, res);
    if (!page) return;
    const path = String(req.params.path);
    const projects = search(path, null, page);
    if (projects.length === 0 && !groupExists.get(path)) return sendError(res, 404, `no group ${path} in the inventory`);
    res.json({ group: path, projects });
  });

  const sink: Sink = {
    name: "inventory",
    accepts: (event) => INVENTORY_TYPES.has(event.type),
    handle: async (event) => applyInventoryEvent(db, event),
  };
  return sink;
};
