import type { InventoryBranch, InventoryChange, InventoryProject, InventoryStore, ProjectSearch } from "../../core/inventory-store.js";
import { first, toNumber, type SqlDriver, type SqlParams, type SqlQueries } from "./driver.js";

interface ProjectRow {
  id: number | string;
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
  deleted: number | string;
}

const PROJECT_COLUMNS =
  "id, path, name, namespace, visibility, owner, created_at, updated_at, default_branch, last_push_at, last_pusher, deleted";

const toProject = (row: ProjectRow): InventoryProject => ({
  id: toNumber(row.id) as number,
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
  deleted: toNumber(row.deleted) === 1,
});

/** `%`, `_` and the escape character itself mean themselves in a LIKE pattern. */
const likeEscape = (value: string) => value.replace(/[!%_]/g, (c) => `!${c}`);

/** Length in characters, as SQL's substr counts them. */
const charCount = (value: string) => [...value].length;

/**
 * The inventory on any SQL engine. A write is "insert when absent, else update when the news is at
 * least as new": one form every engine speaks, where upsert syntax differs.
 */
export class SqlInventoryStore implements InventoryStore {
  constructor(private readonly db: SqlDriver) {}

  apply(changes: readonly InventoryChange[]): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    return this.db.transaction(async (tx) => {
      for (const change of changes) await this.applyOne(tx, change);
    });
  }

  private async applyOne(tx: SqlQueries, change: InventoryChange): Promise<void> {
    switch (change.kind) {
      case "project": {
        const row = {
          id: change.id,
          path: change.path,
          name: change.name,
          namespace: change.namespace,
          visibility: change.visibility,
          owner: change.owner,
          created_at: change.createdAt,
          updated_at: change.updatedAt,
          as_of: change.asOf,
          deleted: 0,
        };
        if (await tx.insertIfAbsent("inventory_projects", row)) return;
        await tx.run(
          `UPDATE inventory_projects SET path = :path, name = COALESCE(:name, name), namespace = :namespace,
             visibility = COALESCE(:visibility, visibility), owner = COALESCE(:owner, owner), created_at = COALESCE(created_at, :created_at),
             updated_at = :updated_at, as_of = :as_of, deleted = 0
           WHERE id = :id AND as_of <= :as_of`,
          row,
        );
        return;
      }
      case "project-deleted": {
        const row = {
          id: change.id,
          path: change.path,
          name: change.name,
          namespace: change.namespace,
          visibility: change.visibility,
          as_of: change.asOf,
          deleted: 1,
        };
        if (await tx.insertIfAbsent("inventory_projects", row)) return;
        await tx.run("UPDATE inventory_projects SET deleted = 1, as_of = :as_of WHERE id = :id AND as_of <= :as_of", row);
        return;
      }
      case "project-seen":
        await tx.insertIfAbsent("inventory_projects", {
          id: change.id,
          path: change.path,
          name: change.name,
          namespace: change.namespace,
          visibility: change.visibility,
          as_of: "",
          deleted: 0,
        });
        return;
      case "group": {
        const row = {
          id: change.id,
          path: change.path,
          name: change.name,
          created_at: change.createdAt,
          updated_at: change.updatedAt,
          as_of: change.asOf,
          deleted: 0,
        };
        const changed =
          (await tx.insertIfAbsent("inventory_groups", row)) ||
          (
            await tx.run(
              `UPDATE inventory_groups SET path = :path, name = COALESCE(:name, name), created_at = COALESCE(created_at, :created_at),
                 updated_at = :updated_at, as_of = :as_of, deleted = 0
               WHERE id = :id AND as_of <= :as_of`,
              row,
            )
          ).changes > 0;
        // A group rename moves every project below it; GitLab sends no event per project.
        const old = change.renamedFrom;
        if (changed && old !== null && old !== change.path) {
          const cut = charCount(old) + 1;
          await tx.run(
            `UPDATE inventory_projects SET path = ${this.db.dialect.concat(":path", "substr(path, :cut)")},
               namespace = ${this.db.dialect.concat(":path", "substr(namespace, :cut)")}
             WHERE (namespace = :old OR substr(namespace, 1, :cut) = :oldSlash) AND as_of <= :asOf`,
            { path: change.path, cut, old, oldSlash: `${old}/`, asOf: change.asOf },
          );
        }
        return;
      }
      case "group-deleted": {
        const row = { id: change.id, path: change.path, name: change.name, as_of: change.asOf, deleted: 1 };
        if (await tx.insertIfAbsent("inventory_groups", row)) return;
        await tx.run("UPDATE inventory_groups SET deleted = 1, as_of = :as_of WHERE id = :id AND as_of <= :as_of", row);
        return;
      }
      case "push":
        await tx.run(
          `UPDATE inventory_projects SET last_push_at = :at, last_pusher = :pusher, default_branch = COALESCE(:defaultBranch, default_branch)
           WHERE id = :id AND (last_push_at IS NULL OR last_push_at <= :at)`,
          { id: change.projectId, at: change.at, pusher: change.pusher, defaultBranch: change.defaultBranch },
        );
        return;
      case "branch": {
        const row = {
          project_id: change.projectId,
          name: change.name,
          last_commit: change.commit,
          updated_at: change.at,
          deleted: change.deleted ? 1 : 0,
        };
        if (await tx.insertIfAbsent("inventory_branches", row)) return;
        await tx.run(
          `UPDATE inventory_branches SET last_commit = :last_commit, updated_at = :updated_at, deleted = :deleted
           WHERE project_id = :project_id AND name = :name AND updated_at <= :updated_at`,
          row,
        );
        return;
      }
    }
  }

  async listProjects(search: ProjectSearch): Promise<InventoryProject[]> {
    const where = ["deleted = 0", "path IS NOT NULL"];
    const params: Record<string, SqlParams[string]> = {};
    if (search.group !== null) {
      where.push("(namespace = :group OR substr(namespace, 1, :groupCut) = :groupSlash)");
      Object.assign(params, { group: search.group, groupCut: charCount(search.group) + 1, groupSlash: `${search.group}/` });
    }
    if (search.q !== null) {
      where.push("(LOWER(path) LIKE :q ESCAPE '!' OR LOWER(name) LIKE :q ESCAPE '!')");
      params.q = `%${likeEscape(search.q.toLowerCase())}%`;
    }
    const rows = await this.db.all<ProjectRow>(
      `SELECT ${PROJECT_COLUMNS} FROM inventory_projects WHERE ${where.join(" AND ")}
       ORDER BY path LIMIT ${Math.floor(search.limit)} OFFSET ${Math.floor(search.offset)}`,
      params,
    );
    return rows.map(toProject);
  }

  async projectById(id: number): Promise<InventoryProject | null> {
    const row = await first<ProjectRow>(this.db, `SELECT ${PROJECT_COLUMNS} FROM inventory_projects WHERE id = :id`, { id });
    return row ? toProject(row) : null;
  }

  async projectByPath(path: string): Promise<InventoryProject | null> {
    const row = await first<ProjectRow>(
      this.db,
      `SELECT ${PROJECT_COLUMNS} FROM inventory_projects WHERE path = :path ORDER BY deleted, as_of DESC LIMIT 1`,
      { path },
    );
    return row ? toProject(row) : null;
  }

  async branches(projectId: number): Promise<InventoryBranch[]> {
    const rows = await this.db.all<{ name: string; last_commit: string | null; updated_at: string }>(
      "SELECT name, last_commit, updated_at FROM inventory_branches WHERE project_id = :projectId AND deleted = 0 ORDER BY name",
      { projectId },
    );
    return rows.map((row) => ({ name: row.name, lastCommit: row.last_commit, updatedAt: row.updated_at }));
  }

  async groupExists(path: string): Promise<boolean> {
    return (await this.db.all("SELECT id FROM inventory_groups WHERE path = :path AND deleted = 0", { path })).length > 0;
  }
}
