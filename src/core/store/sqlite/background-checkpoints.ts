import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import type { StoreLogger } from "../store.js";

/**
 * How often the log is copied into the file. Each copy ends with an fsync of the file, on the disk
 * the commits' fsyncs wait for: once a second costs them little, and keeps the log to tens of
 * megabytes at full load (every 100 ms, a daemon just started acknowledged less than half as many events).
 */
const CHECKPOINT_INTERVAL_MS = 1000;

/** SQLite's default: a commit checkpoints once the log passes this many pages. */
const COMMIT_CHECKPOINT_PAGES = 1000;

/** The compiled worker, beside this module (`dist/` when running from sources under test). */
function checkpointWorkerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith(".ts") ? new URL("../../../../dist/core/store/sqlite/checkpoint-worker.js", here) : new URL("./checkpoint-worker.js", here);
}

/**
 * Checkpoints of the SQLite file at `path` on a thread of their own (checkpoint-worker.ts), and
 * none in the commits of `db`. Should that thread fail, commits checkpoint again, as SQLite does
 * by default. Returns the function that stops the thread (before `db` closes, so that its close
 * checkpoints the rest and removes the log).
 */
export function checkpointInBackground(db: Database.Database, path: string, logger?: StoreLogger): () => Promise<void> {
  db.pragma("wal_autocheckpoint = 0");
  const worker = new Worker(checkpointWorkerUrl(), { workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS } });
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  worker.on("error", (error) => {
    if (db.open) db.pragma(`wal_autocheckpoint = ${COMMIT_CHECKPOINT_PAGES}`);
    logger?.warn("the SQLite checkpoint thread failed; commits checkpoint the write-ahead log themselves from now on", { error: error.message });
  });
  return async () => {
    if (stopping) return exited;
    stopping = true;
    worker.postMessage("stop");
    await exited;
  };
}
