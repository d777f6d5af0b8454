import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import { compiledWorkerUrl } from "../compiled-worker.js";
import type { StoreLogger } from "../../core/store.js";

/**
 * How often the log is copied into the file. Each copy ends with an fsync of the file, on the disk
 * the commits' fsyncs wait for: once a second costs them little, and keeps the log to tens of
 * megabytes at full load (every 100 ms, a daemon just started acknowledged less than half as many events).
 */
const CHECKPOINT_INTERVAL_MS = 1000;

/** SQLite's default: a commit checkpoints once the log passes this many pages. */
const COMMIT_CHECKPOINT_PAGES = 1000;

/**
 * Starting a thread (an isolate, better-sqlite3 loaded again) costs a few hundred milliseconds of
 * CPU on a busy machine: it waits until start-up is over, and commits checkpoint until it runs.
 */
const START_AFTER_MS = 1000;

/**
 * Checkpoints of the SQLite file at `path` on a thread of their own (checkpoint-worker.ts), and,
 * once that thread runs, none in the commits of `db`. Should that thread fail, commits checkpoint
 * again, as SQLite does by default. Returns the function that stops the thread (before `db`
 * closes, so that its close checkpoints the rest and removes the log).
 */
export function checkpointInBackground(db: Database.Database, path: string, logger?: StoreLogger): () => Promise<void> {
  let exited: Promise<void> | undefined;
  let worker: Worker | undefined;
  const starting = setTimeout(() => {
    worker = new Worker(compiledWorkerUrl("sqlite/checkpoint-worker.js"), { workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS } });
    const thread = worker;
    exited = new Promise<void>((resolve) => thread.once("exit", () => resolve()));
    thread.once("online", () => {
      if (db.open) db.pragma("wal_autocheckpoint = 0");
    });
    thread.on("error", (error) => {
      if (db.open) db.pragma(`wal_autocheckpoint = ${COMMIT_CHECKPOINT_PAGES}`);
      logger?.warn("the SQLite checkpoint thread failed; commits checkpoint the write-ahead log themselves from now on", {
        error: error.message,
      });
    });
  }, START_AFTER_MS);
  starting.unref();
  let stopping: Promise<void> | undefined;
  return () => {
    clearTimeout(starting);
    stopping ??= (async () => {
      worker?.postMessage("stop");
      await exited;
    })();
    return stopping;
  };
}
