import type { PoolConnection, RowDataPacket } from "mysql2/promise";
import { SERVER_STATEMENT_LIMIT_MS } from "../sql/session-limits.js";

/** Every table: InnoDB, utf8mb4, and byte-wise comparisons as on SQLite and PostgreSQL. */
const TABLE = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/**
 * The MariaDB schema, one list of statements per version. MariaDB commits DDL at once, so each
 * statement can run again after a failure half-way (IF NOT EXISTS), and a version is recorded
 * once all of its statements ran. Column sizes: keys fit InnoDB's 3072-byte index limit; payloads
 * are LONGTEXT (4 GB), stored in parts when larger than a packet (max_allowed_packet).
 */
const MARIADB_MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE IF NOT EXISTS events (
       id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
       dedup_scope VARCHAR(300) NOT NULL DEFAULT '',
       delivery_id VARCHAR(255) NOT NULL,
       received_at VARCHAR(40) NOT NULL,
       instance TEXT,
       hook VARCHAR(16) NOT NULL,
       type VARCHAR(255) NOT NULL,
       action VARCHAR(255),
       project_id BIGINT,
       project_path VARCHAR(1024),
       project_url TEXT,
       visibility VARCHAR(16),
       actor_username VARCHAR(255),
       actor_name TEXT,
       object_kind VARCHAR(64),
       object_id BIGINT,
       object_iid BIGINT,
       object_title TEXT,
       object_url TEXT,
       object_ref TEXT,
       object_state VARCHAR(64),
       headers TEXT,
       payload LONGTEXT NOT NULL,
       payload_parts INT NOT NULL DEFAULT 0,
       UNIQUE KEY events_delivery (delivery_id, dedup_scope),
       KEY events_received_at (received_at),
       KEY events_project_path (project_path(255))
     ) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS event_payload_parts (
       event_id BIGINT NOT NULL,
       part INT NOT NULL,
       chunk LONGTEXT NOT NULL,
       PRIMARY KEY (event_id, part)
     ) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS deliveries (
       sink VARCHAR(100) NOT NULL,
       event_id BIGINT NOT NULL,
       ordering_key VARCHAR(255),
       status VARCHAR(16) NOT NULL DEFAULT 'pending',
       attempts INT NOT NULL DEFAULT 0,
       next_attempt_at BIGINT NOT NULL,
       locked_by VARCHAR(255),
       locked_at BIGINT,
       last_error TEXT,
       last_error_status INT,
       last_attempt_at BIGINT,
       last_duration_ms INT,
       updated_at BIGINT NOT NULL,
       PRIMARY KEY (sink, event_id),
       KEY deliveries_pending (sink, status, event_id),
       KEY deliveries_key (sink, status, ordering_key, event_id, next_attempt_at, locked_at, attempts),
       KEY deliveries_waiting (sink, status, next_attempt_at),
       KEY deliveries_event (event_id),
       KEY deliveries_locked (locked_by),
       CONSTRAINT deliveries_event_fk FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE
     ) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS delivery_attempts (
       id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
       event_id BIGINT NOT NULL,
       sink VARCHAR(100) NOT NULL,
       started_at BIGINT NOT NULL,
       duration_ms INT NOT NULL,
       outcome VARCHAR(16) NOT NULL,
       error TEXT,
       error_status INT,
       KEY delivery_attempts_event (event_id, sink),
       CONSTRAINT delivery_attempts_event_fk FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE
     ) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS ledger (
       sink VARCHAR(100) NOT NULL,
       record_key VARCHAR(512) NOT NULL,
       created_at BIGINT NOT NULL,
       PRIMARY KEY (sink, record_key)
     ) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS leases (name VARCHAR(191) NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL, expires_at BIGINT NOT NULL) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS settings (name VARCHAR(191) NOT NULL PRIMARY KEY, value TEXT NOT NULL) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS project_identities (
       project_id BIGINT NOT NULL PRIMARY KEY,
       path VARCHAR(1024) NOT NULL,
       confirmed INT NOT NULL,
       updated_at BIGINT NOT NULL,
       KEY project_identities_path (path(255))
     ) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS known_users (user_id BIGINT NOT NULL PRIMARY KEY, username VARCHAR(255) NOT NULL, updated_at BIGINT NOT NULL) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS inventory_projects (
       id BIGINT NOT NULL PRIMARY KEY,
       path VARCHAR(1024),
       name TEXT,
       namespace VARCHAR(1024),
       visibility VARCHAR(16),
       owner TEXT,
       created_at VARCHAR(40),
       updated_at VARCHAR(40),
       default_branch TEXT,
       last_push_at VARCHAR(40),
       last_pusher TEXT,
       as_of VARCHAR(40) NOT NULL DEFAULT '',
       deleted INT NOT NULL DEFAULT 0,
       KEY inventory_projects_path (path(255)),
       KEY inventory_projects_namespace (namespace(255))
     ) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS inventory_groups (
       id BIGINT NOT NULL PRIMARY KEY,
       path VARCHAR(1024),
       name TEXT,
       created_at VARCHAR(40),
       updated_at VARCHAR(40),
       as_of VARCHAR(40) NOT NULL DEFAULT '',
       deleted INT NOT NULL DEFAULT 0,
       KEY inventory_groups_path (path(255))
     ) ${TABLE}`,
    `CREATE TABLE IF NOT EXISTS inventory_branches (
       project_id BIGINT NOT NULL,
       name VARCHAR(255) NOT NULL,
       last_commit VARCHAR(64),
       updated_at VARCHAR(40) NOT NULL,
       deleted INT NOT NULL DEFAULT 0,
       PRIMARY KEY (project_id, name)
     ) ${TABLE}`,
  ],
  // A redelivery asked for while the delivery runs: it runs again after the running attempt.
  ["ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS redeliver INT NOT NULL DEFAULT 0"],
];

/**
 * Brings the database to the newest version while holding a named lock: daemons starting at the
 * same moment migrate one after another, and the later ones find nothing left to do.
 */
export async function migrateMariaDb(connection: PoolConnection, lockName: string): Promise<void> {
  // A migration may wait a minute for another daemon's, and a table change take longer than a
  // statement may (max_statement_time; an error on MySQL, which has no such limit to lift).
  await connection.query("SET SESSION max_statement_time = 0").catch(() => undefined);
  try {
    await migrateUnderLock(connection, lockName);
  } finally {
    await connection.query(`SET SESSION max_statement_time = ${SERVER_STATEMENT_LIMIT_MS / 1000}`).catch(() => undefined);
  }
}

async function migrateUnderLock(connection: PoolConnection, lockName: string): Promise<void> {
  const [got] = await connection.query<({ got: number | null } & RowDataPacket)[]>("SELECT GET_LOCK(?, 60) AS got", [lockName]);
  if (got[0]?.got !== 1) throw new Error("another daemon has been migrating the database for 60 s; try again");
  try {
    await connection.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL) ${TABLE}`,
    );
    const [rows] = await connection.query<({ version: number | null } & RowDataPacket)[]>(
      "SELECT MAX(version) AS version FROM schema_migrations",
    );
    for (let next = rows[0]?.version ?? 0; next < MARIADB_MIGRATIONS.length; next++) {
      for (const statement of MARIADB_MIGRATIONS[next] as readonly string[]) await connection.query(statement);
      await connection.query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", [next + 1, Date.now()]);
    }
  } finally {
    await connection.query("DO RELEASE_LOCK(?)", [lockName]);
  }
}
