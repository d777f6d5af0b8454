import type Database from "better-sqlite3";

/**
 * The inventory's tables, beside the event store. `as_of` is the GitLab time of the news a row
 * holds: a write only applies when its news is at least as new, so events arriving late or twice
 * leave the right final state.
 */
export function createInventoryTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS inventory_projects (
      id INTEGER PRIMARY KEY,
      path TEXT,
      name TEXT,
      namespace TEXT,
      visibility TEXT,
      owner TEXT,
      created_at TEXT,
      updated_at TEXT,
      default_branch TEXT,
      last_push_at TEXT,
      last_pusher TEXT,
      as_of TEXT NOT NULL DEFAULT '',
      deleted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS inventory_projects_path ON inventory_projects (path);
    CREATE INDEX IF NOT EXISTS inventory_projects_namespace ON inventory_projects (namespace);
    CREATE TABLE IF NOT EXISTS inventory_groups (
      id INTEGER PRIMARY KEY,
      path TEXT,
      name TEXT,
      created_at TEXT,
      updated_at TEXT,
      as_of TEXT NOT NULL DEFAULT '',
      deleted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS inventory_groups_path ON inventory_groups (path);
    CREATE TABLE IF NOT EXISTS inventory_branches (
      project_id INTEGER NOT NULL,
      name TEXT NOT NULL,
      last_commit TEXT,
      updated_at TEXT NOT NULL,
      deleted INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (project_id, name)
    ) WITHOUT ROWID;
  `);
}
