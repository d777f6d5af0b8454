import type Database from "better-sqlite3";

type Migration = string | ((db: Database.Database) => void);

/**
 * The SQLite schema, one step per version (PRAGMA user_version). Steps 1 and 2 are those of the
 * first release and never change: a store written by it upgrades in place.
 */
const SQLITE_MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     delivery_id TEXT NOT NULL UNIQUE,
     received_at TEXT NOT NULL,
     instance TEXT,
     hook TEXT NOT NULL,
     type TEXT NOT NULL,
     action TEXT,
     project_id INTEGER,
     project_path TEXT,
     project_url TEXT,
     visibility TEXT,
     actor_username TEXT,
     actor_name TEXT,
     payload TEXT NOT NULL
   );
   CREATE INDEX events_received_at ON events (received_at);
   CREATE TABLE deliveries (
     sink TEXT NOT NULL,
     event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
     ordering_key TEXT,
     status TEXT NOT NULL DEFAULT 'pending',
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL,
     last_error TEXT,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (sink, event_id)
   ) WITHOUT ROWID;
   CREATE INDEX deliveries_pending ON deliveries (sink, event_id) WHERE status = 'pending';
   CREATE INDEX deliveries_event ON deliveries (event_id);
   CREATE TABLE ledger (
     sink TEXT NOT NULL,
     key TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (sink, key)
   ) WITHOUT ROWID;`,
  // Deliveries waiting for a retry: a range scan, whatever the number of pending ones.
  `CREATE INDEX deliveries_waiting ON deliveries (sink, next_attempt_at) WHERE status = 'pending';
   CREATE INDEX deliveries_failed ON deliveries (sink) WHERE status = 'failed';`,
  // Delivery ids deduplicate within a scope (the credential and project that sent them); claims
  // are kept in the database; leases, settings and the inventory's tables join the versioned schema.
  (db) => {
    const sequence = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as { seq: number } | undefined)?.seq ?? 0;
    db.exec(`
      CREATE TABLE events_scoped (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_scope TEXT NOT NULL DEFAULT '',
        delivery_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        instance TEXT,
        hook TEXT NOT NULL,
        type TEXT NOT NULL,
        action TEXT,
        project_id INTEGER,
        project_path TEXT,
        project_url TEXT,
        visibility TEXT,
        actor_username TEXT,
        actor_name TEXT,
        object_kind TEXT,
        object_id INTEGER,
        object_iid INTEGER,
        object_title TEXT,
        object_url TEXT,
        object_ref TEXT,
        object_state TEXT,
        -- The request's headers GitLab sent, credentials left out.
        headers TEXT,
        payload TEXT NOT NULL,
        payload_parts INTEGER NOT NULL DEFAULT 0,
        UNIQUE (delivery_id, dedup_scope)
      );
      CREATE TABLE event_payload_parts (
        event_id INTEGER NOT NULL,
        part INTEGER NOT NULL,
        chunk TEXT NOT NULL,
        PRIMARY KEY (event_id, part)
      ) WITHOUT ROWID;
      INSERT INTO events_scoped (id, delivery_id, received_at, instance, hook, type, action, project_id, project_path,
          project_url, visibility, actor_username, actor_name, payload)
        SELECT id, delivery_id, received_at, instance, hook, type, action, project_id, project_path,
          project_url, visibility, actor_username, actor_name, payload FROM events;
      DROP TABLE events;
      ALTER TABLE events_scoped RENAME TO events;
      CREATE INDEX events_received_at ON events (received_at);
      CREATE INDEX events_project_path ON events (project_path);

      ALTER TABLE deliveries ADD COLUMN locked_by TEXT;
      ALTER TABLE deliveries ADD COLUMN locked_at INTEGER;
      ALTER TABLE deliveries ADD COLUMN last_error_status INTEGER;
      ALTER TABLE deliveries ADD COLUMN last_attempt_at INTEGER;
      ALTER TABLE deliveries ADD COLUMN last_duration_ms INTEGER;
      -- Failed attempts, for the event page (a delivered attempt is the delivery's own last_attempt_at).
      CREATE TABLE delivery_attempts (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        sink TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT,
        error_status INTEGER
      );
      CREATE INDEX delivery_attempts_event ON delivery_attempts (event_id, sink);
      -- Covers everything a claim reads, so the planner takes it over the primary key even without statistics.
      CREATE INDEX deliveries_key ON deliveries (sink, ordering_key, event_id, next_attempt_at, locked_at, attempts) WHERE status = 'pending';
      CREATE INDEX deliveries_locked ON deliveries (locked_by) WHERE locked_by IS NOT NULL;

      ALTER TABLE ledger RENAME COLUMN key TO record_key;
      CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE project_identities (
        project_id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        confirmed INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX project_identities_path ON project_identities (path);
      -- Usernames by user id: system pushes name the user only by id and name.
      CREATE TABLE known_users (user_id INTEGER PRIMARY KEY, username TEXT NOT NULL, updated_at INTEGER NOT NULL);

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
    // Ids never go backwards: the rebuilt table keeps the old high-water mark.
    db.prepare("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'events'").run(sequence);
    db.prepare(
      "INSERT INTO sqlite_sequence (name, seq) SELECT 'events', ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events')",
    ).run(sequence);
  },
  // A redelivery asked for while the delivery runs: it runs again after the running attempt.
  "ALTER TABLE deliveries ADD COLUMN redeliver INTEGER NOT NULL DEFAULT 0;",
];

/**
 * Brings the file to the newest version, one transaction per step. Foreign keys are off meanwhile,
 * as SQLite's procedure for rebuilding a table asks, and checked after.
 */
export function migrateSqlite(db: Database.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version >= SQLITE_MIGRATIONS.length) return;
  db.pragma("foreign_keys = OFF");
  try {
    for (let next = version; next < SQLITE_MIGRATIONS.length; next++) {
      const step = SQLITE_MIGRATIONS[next] as Migration;
      // IMMEDIATE, and the version read again inside: another process opening the file at the same
      // moment may have taken this step already.
      db.transaction(() => {
        if ((db.pragma("user_version", { simple: true }) as number) > next) return;
        if (typeof step === "string") db.exec(step);
        else step(db);
        db.pragma(`user_version = ${next + 1}`);
      }).immediate();
    }
    const broken = db.pragma("foreign_key_check") as unknown[];
    if (broken.length > 0) throw new Error(`the SQLite store has ${broken.length} rows whose event is missing after migration`);
  } finally {
    db.pragma("foreign_keys = ON");
  }
}
