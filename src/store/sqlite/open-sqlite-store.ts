import { resolve } from "node:path";
import Database from "better-sqlite3";
import { ConfigError } from "../../config/settings.js";
import { writableDirectoryOf } from "../../support/writable-directory.js";
import { CommitPoller } from "../sql/poll-for-commits.js";
import { SqlStore } from "../sql/sql-store.js";
import type { Store, StoreLogger } from "../../core/store.js";
import { checkpointInBackground } from "./background-checkpoints.js";
import { migrateSqlite } from "./migrations.js";
import { networkFilesystemOf } from "./network-filesystem.js";
import { holdSingleDaemonLock } from "./single-daemon-lock.js";
import { SqliteDriver } from "./sqlite-driver.js";

/** How often another process's commits (`hooks recover`) are looked for. */
const WATCH_INTERVAL_MS = 250;

export interface SqliteStoreOptions {
  /** Where the statfs type of the directory comes from (tests stand in a network filesystem). */
  statfs?: (path: string) => { type: number | bigint };
  /**
   * Opened by a daemon: no other daemon may use the file meanwhile. One that does waits up to this
   * long for it to stop, then refuses to start. Without it (tests, tools), stores may share the file.
   */
  singleDaemonWaitMs?: number;
  logger?: StoreLogger;
  /**
   * A daemon's store: the write-ahead log is copied into the file by a thread of its own, so that
   * no append's commit waits for that copy and its fsync. Without it (tests, tools), commits do it.
   */
  backgroundCheckpoints?: boolean;
}

/**
 * The embedded store: one SQLite file in WAL mode, for one daemon on a local disk that survives
 * restarts. Refuses a network filesystem rather than risk the file.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  if (path !== ":memory:") {
    const directory = writableDirectoryOf(
      path,
      "DATABASE_PATH",
      "point DATABASE_PATH at a writable directory, or set DATABASE_URL to a server database",
    );
    const network = networkFilesystemOf(directory, options.statfs);
    if (network !== null) {
      throw new ConfigError(
        `DATABASE_PATH is on a network filesystem (${network}), where SQLite can lose or corrupt data; set DATABASE_URL to a PostgreSQL or MariaDB database instead`,
      );
    }
  }
  const release =
    options.singleDaemonWaitMs !== undefined && path !== ":memory:"
      ? holdSingleDaemonLock(path, options.singleDaemonWaitMs, options.logger)
      : undefined;
  let db: Database.Database;
  let stopCheckpoints: (() => Promise<void>) | undefined;
  try {
    db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    migrateSqlite(db);
    db.pragma("foreign_keys = ON");
    if (options.backgroundCheckpoints && path !== ":memory:") stopCheckpoints = checkpointInBackground(db, path, options.logger);
  } catch (error) {
    release?.();
    throw error;
  }
  return new SqlStore({
    driver: new SqliteDriver(db, { beforeClose: stopCheckpoints, afterClose: release }),
    shared: false,
    location: path === ":memory:" ? path : resolve(path),
    // data_version moves when another connection (another process) commits; our own commits do not move it.
    commits: new CommitPoller(() => (db.open ? db.pragma("data_version", { simple: true }) : undefined), WATCH_INTERVAL_MS),
  });
}
