// Where one event's time goes on its way through the daemon, stage by stage, and the longest an
// append waits on the store thread under a steady stream of them (a stall on the commit path).
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { NewEvent } from "../src/core/event.js";
import { projectOrderingKey } from "../src/core/ordering-key.js";
import { appendEvents, type PendingAppend } from "../src/store/sql/append-events.js";
import { migrateSqlite } from "../src/store/sqlite/migrations.js";
import { SqliteDriver } from "../src/store/sqlite/sqlite-driver.js";
import { WorkerStore } from "../src/store/worker/worker-store.js";
import { hookKindOf } from "../src/sources/gitlab/event-header.js";
import { nestsDeeperThan } from "../src/sources/gitlab/json-depth.js";
import { normalize } from "../src/sources/gitlab/normalize.js";
import { MAX_NESTING } from "../src/sources/gitlab/receive-hook.js";
import { tempDir } from "../harness/temp-dir.js";
import { percentile } from "./percentile.js";

/** The store's thread as the daemon runs it: the compiled worker of `npm run build`, beside its checkpoint worker. */
const STORE_WORKER = (root: string) => new URL(`file://${join(root, "dist/store/worker/store-worker.js")}`);

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** Milliseconds per call of `fn`, the mean of `times` calls after a warm-up. */
async function timed(times: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(100, times); i++) await fn();
  const each: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await fn();
    each.push(performance.now() - started);
  }
  return mean(each);
}

function parsed(body: string): unknown {
  if (nestsDeeperThan(body, MAX_NESTING)) throw new Error("the benchmark body nests too deep");
  return JSON.parse(body) as unknown;
}

function eventOf(value: unknown): NewEvent {
  return normalize(
    { eventHeader: "System Hook", instance: undefined, deliveryId: randomUUID(), receivedAt: new Date() },
    hookKindOf("System Hook"),
    value,
  );
}

function pendingAppend(body: string, sinks: readonly string[]): PendingAppend {
  const event = eventOf(parsed(body));
  return {
    event,
    options: { deliveries: sinks.map((sink) => ({ sink, orderingKey: projectOrderingKey(event) })), scope: "", payloadJson: body },
  };
}

export interface Stages {
  parseMs: number;
  normalizeMs: number;
  /** A round trip to the store's thread and back (a one-row read there). */
  handOffMs: number;
  /** The append's statements for one event and one log delivery, in its transaction. */
  sqlMs: number;
  /** Its COMMIT (synchronous=FULL: an fsync of the write-ahead log). */
  commitMs: number;
}

/** Each stage of one event on its own, on SQLite as a daemon keeps it. */
export async function stageBreakdown(root: string, body: string): Promise<Stages> {
  const parseMs = await timed(2000, () => parsed(body));
  const value = parsed(body);
  const normalizeMs = await timed(2000, () => eventOf(value));

  const dir = tempDir("glw-bench-stages-");
  const store = await WorkerStore.open({ engine: "sqlite", path: join(dir, "worker.sqlite") }, undefined, STORE_WORKER(root));
  const handOffMs = await timed(2000, () => store.usernameOf(1));
  await store.close();

  const db = new Database(join(dir, "driver.sqlite"));
  db.pragma("journal_mode = WAL");
  migrateSqlite(db);
  const driver = new SqliteDriver(db);
  const sql: number[] = [];
  const commit: number[] = [];
  for (let i = 0; i < 500; i++) {
    const item = pendingAppend(body, ["log"]);
    db.exec("BEGIN IMMEDIATE");
    const started = performance.now();
    await appendEvents(driver, [item], Date.now());
    const statementsDone = performance.now();
    db.exec("COMMIT");
    sql.push(statementsDone - started);
    commit.push(performance.now() - statementsDone);
  }
  await driver.close();
  rmSync(dir, { recursive: true, force: true });
  return { parseMs, normalizeMs, handOffMs, sqlMs: mean(sql.slice(100)), commitMs: mean(commit.slice(100)) };
}

export interface Stalls {
  appends: number;
  p50Ms: number;
  p99Ms: number;
  /** The longest any append waited for its commit. */
  maxMs: number;
  /** The longest append transaction (one commit) among them: a wait is its batch's commit and the one before. */
  longestCommitMs: number;
}

/**
 * Appends kept `inFlight` at a time for `seconds` through the store's thread, as the daemon's
 * ingest makes them (with a log delivery each): the longest wait is the longest stall on the
 * commit path. `backgroundCheckpoints` as a daemon opens the store, or off (checkpoints in commits).
 */
export async function commitStalls(
  root: string,
  body: string,
  seconds: number,
  inFlight: number,
  backgroundCheckpoints: boolean,
): Promise<Stalls> {
  const dir = tempDir("glw-bench-stalls-");
  const store = await WorkerStore.open(
    { engine: "sqlite", path: join(dir, "store.sqlite"), backgroundCheckpoints },
    undefined,
    STORE_WORKER(root),
  );
  const waits: number[] = [];
  const until = performance.now() + seconds * 1000;
  const lane = async () => {
    while (performance.now() < until) {
      const { event, options } = pendingAppend(body, ["log"]);
      const started = performance.now();
      await store.append(event, options);
      waits.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const { longestSeconds } = await store.appendTotals();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  waits.sort((a, b) => a - b);
  return {
    appends: waits.length,
    p50Ms: percentile(waits, 50),
    p99Ms: percentile(waits, 99),
    maxMs: waits.at(-1) ?? 0,
    longestCommitMs: longestSeconds * 1000,
  };
}
