import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

/**
 * The thread that copies the write-ahead log into the database file (a checkpoint: writes and an
 * fsync of the file, tens of milliseconds), so that no append's commit waits for one. PASSIVE:
 * it never blocks the writer, and copies what is committed so far; the writer starts the log
 * again from its beginning once all of it is copied.
 */
const port = parentPort;
if (!port) throw new Error("checkpoint-worker runs as a worker thread");
const { path, intervalMs } = workerData as { path: string; intervalMs: number };

const db = new Database(path, { fileMustExist: true });
const timer = setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (error) {
    clearInterval(timer);
    db.close();
    throw error;
  }
}, intervalMs);
port.on("message", () => {
  clearInterval(timer);
  db.close();
  port.close();
});
