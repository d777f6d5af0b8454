import { resolve } from "node:path";
import Database from "better-sqlite3";
import { ConfigError } from "../../config/settings.js";
import type { StoreLogger } from "../../core/store.js";

const isBusy = (error: unknown) => (error as { code?: unknown } | null)?.code === "SQLITE_BUSY";

/**
 * Makes this process the only daemon on the SQLite file at `path`, until the returned release is
 * called: an exclusive transaction, kept open, on a small database of its own beside it
 * (`<path>.lock`). SQLite holds it with a kernel lock (fcntl), so it ends with the process, kill -9
 * included; nothing is ever written to it. A second daemon waits for the first to stop (an
 * overlapping restart) for up to `waitMs`, then refuses to start: two daemons on one file would
 * free and run each other's claimed deliveries.
 */
export function holdSingleDaemonLock(path: string, waitMs: number, logger?: StoreLogger): () => void {
  const lockPath = `${resolve(path)}.lock`;
  const lock = new Database(lockPath);
  const take = (timeoutMs: number) => {
    lock.pragma(`busy_timeout = ${timeoutMs}`);
    lock.exec("BEGIN EXCLUSIVE");
  };
  try {
    try {
      take(0);
    } catch (error) {
      if (!isBusy(error)) throw error;
      logger?.warn(`another daemon has DATABASE_PATH ${resolve(path)} open; waiting up to ${waitMs / 1000} s for it to stop`);
      // SQLite's busy handler sleeps and tries again until the other process's lock is gone.
      take(waitMs);
    }
  } catch (error) {
    lock.close();
    if (!isBusy(error)) throw error;
    throw new ConfigError(
      `DATABASE_PATH ${resolve(path)} is in use by another daemon (it holds ${lockPath}), which did not stop within ${waitMs / 1000} s; stop it, or give this daemon a DATABASE_PATH of its own`,
    );
  }
  return () => {
    if (lock.open) lock.close();
  };
}
