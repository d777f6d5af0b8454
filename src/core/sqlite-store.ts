import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { GroupCommit } from "./group-commit.js";
import { StoredEvent, type EventMeta, type HookKind, type NewEvent, type Visibility } from "./event.js";
import type {
  AppendResult,
  DeliveryCounts,
  DeliveryQuery,
  DeliveryState,
  DeliveryStatus,
  DueDelivery,
  EventQuery,
  Store,
} from "./store.js";

const MIGRATIONS: readonly string[] = [
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
];

interface EventRow {
  id: number;
  delivery_id: string;
  received_at: string;
  instance: string | null;
  hook: string;
  type: string;
  action: string | null;
  project_id: number | null;
  project_path: string | null;
  project_url: string | null;
  visibility: string | null;
  actor_username: string | null;
  actor_name: string | null;
  payload: string;
}

interface DeliveryRow {
  sink: string;
  event_id: number;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  updated_at: number;
}

interface PendingAppend {
  event: NewEvent;
  sinks: readonly string[];
  payloadJson: string | undefined;
}

function toStoredEvent(row: EventRow): StoredEvent {
  const hasProject = row.project_id !== null || row.project_path !== null || row.project_url !== null;
  const hasActor = row.actor_username !== null || row.actor_name !== null;
  const meta: EventMeta = {
    id: row.id,
    deliveryId: row.delivery_id,
    receivedAt: row.received_at,
    instance: row.instance,
    hook: row.hook as HookKind,
    type: row.type,
    action: row.action,
    project: hasProject
      ? {
          id: row.project_id,
          path: row.project_path,
          url: row.project_url,
          visibility: row.visibility as Visibility | null,
        }
      : null,
    actor: hasActor ? { username: row.actor_username, name: row.actor_name } : null,
  };
  return new StoredEvent(meta, row.payload);
}

function toDeliveryState(row: DeliveryRow): DeliveryState {
  return {
    sink: row.sink,
    eventId: row.event_id,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    lastError: row.last_error,
    nextAttemptAt: row.status === "pending" ? new Date(row.next_attempt_at).toISOString() : null,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** Events of one project are delivered in order; events without a project are not ordered. */
export function orderingKeyOf(event: Pick<NewEvent, "project">): string | null {
  if (event.project?.id != null) return `id:${event.project.id}`;
  if (event.project?.path != null) return `path:${event.project.path}`;
  return null;
}

export interface SqliteStoreOptions {
  /** "FULL" (default) syncs the WAL on every commit: an acknowledged event survives power loss too. */
  synchronous?: "FULL" | "NORMAL";
}

/**
 * The store on one SQLite file in WAL mode. Appends that arrive in the same turn of the event
 * loop are committed together in one transaction (group commit), and each caller is answered
 * only once that transaction is on disk.
 */
export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly appends: GroupCommit<PendingAppend, AppendResult>;
  private readonly writes: GroupCommit<() => void, void>;
  private readonly appendSync: "FULL" | "NORMAL";
  private readonly statements;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.appendSync = options.synchronous ?? "FULL";
    this.db.pragma(`synchronous = ${this.appendSync}`);
    this.db.pragma("foreign_keys = ON");
    this.db.pragma("busy_timeout = 5000");
    this.migrate();
    const db = this.db;
    this.appends = new GroupCommit((items) => db.transaction(() => items.map((item) => this.appendOne(item.event, item.sinks, item.payloadJson)))());
    this.writes = new GroupCommit((runs) => this.commitWrites(runs));
    this.statements = {
      findByDeliveryId: db.prepare<[string], { id: number }>("SELECT id FROM events WHERE delivery_id = ?"),
      insertEvent: db.prepare(
        `INSERT INTO events (delivery_id, received_at, instance, hook, type, action, project_id,
           project_path, project_url, visibility, actor_username, actor_name, payload)
         VALUES (@deliveryId, @receivedAt, @instance, @hook, @type, @action, @projectId,
           @projectPath, @projectUrl, @visibility, @actorUsername, @actorName, @payload)`,
      ),
      insertDelivery: db.prepare(
        `INSERT OR IGNORE INTO deliveries (sink, event_id, ordering_key, status, attempts, next_attempt_at, updated_at)
         VALUES (?, ?, ?, 'pending', 0, ?, ?)`,
      ),
      getEvent: db.prepare<[number], EventRow>("SELECT * FROM events WHERE id = ?"),
      eventsAfter: db.prepare<[number, number], EventRow>("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?"),
      oldest: db.prepare<[], { id: number | null }>("SELECT MIN(id) AS id FROM events"),
      newest: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'events'"),
      due: db.prepare<[string, number, number], { event_id: number; attempts: number; ordering_key: string | null }>(
        // Walk pending deliveries in event order and stop at the limit, whatever the backlog.
        `SELECT event_id, attempts, ordering_key FROM deliveries INDEXED BY deliveries_pending
         WHERE sink = ? AND status = 'pending' AND next_attempt_at <= ?
         ORDER BY event_id LIMIT ?`,
      ),
      eventsByIds: db.prepare<[string], EventRow>("SELECT * FROM events WHERE id IN (SELECT value FROM json_each(?))"),
      waiting: db.prepare<[string, number], { ordering_key: string; first: number }>(
        `SELECT ordering_key, MIN(event_id) AS first FROM deliveries INDEXED BY deliveries_waiting
         WHERE sink = ? AND status = 'pending' AND next_attempt_at > ? AND ordering_key IS NOT NULL
         GROUP BY ordering_key`,
      ),
      nextDue: db.prepare<[string], { at: number | null }>(
        "SELECT MIN(next_attempt_at) AS at FROM deliveries WHERE sink = ? AND status = 'pending'",
      ),
      delivered: db.prepare(
        `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_error = NULL, updated_at = ?
         WHERE sink = ? AND event_id = ?`,
      ),
      failed: db.prepare(
        `UPDATE deliveries SET status = CASE WHEN @retryAt IS NULL THEN 'failed' ELSE 'pending' END,
           attempts = attempts + 1, last_error = @error, next_attempt_at = COALESCE(@retryAt, next_attempt_at),
           updated_at = @now
         WHERE sink = @sink AND event_id = @eventId`,
      ),
      requeue: db.prepare(
        `INSERT INTO deliveries (sink, event_id, ordering_key, status, attempts, next_attempt_at, updated_at)
         VALUES (@sink, @eventId, @orderingKey, 'pending', 0, @now, @now)
         ON CONFLICT (sink, event_id) DO UPDATE SET status = 'pending', attempts = 0, last_error = NULL,
           next_attempt_at = @now, updated_at = @now`,
      ),
      retryFailed: db.prepare(
        `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = @now, updated_at = @now
         WHERE status = 'failed' AND (@sink IS NULL OR sink = @sink)`,
      ),
      deliveriesOf: db.prepare<[number], DeliveryRow>("SELECT * FROM deliveries WHERE event_id = ? ORDER BY sink"),
      // Only pending and failed rows, through their partial indexes: delivered ones pile up for RETENTION_DAYS.
      pendingCounts: db.prepare<[], { sink: string; n: number; oldest: number | null }>(
        "SELECT sink, COUNT(*) AS n, MIN(updated_at) AS oldest FROM deliveries INDEXED BY deliveries_pending WHERE status = 'pending' GROUP BY sink",
      ),
      failedCounts: db.prepare<[], { sink: string; n: number }>(
        "SELECT sink, COUNT(*) AS n FROM deliveries INDEXED BY deliveries_failed WHERE status = 'failed' GROUP BY sink",
      ),
      recordOnce: db.prepare("INSERT OR IGNORE INTO ledger (sink, key, created_at) VALUES (?, ?, ?)"),
      hasRecord: db.prepare<[string, string], { one: number }>("SELECT 1 AS one FROM ledger WHERE sink = ? AND key = ?"),
      forgetRecord: db.prepare("DELETE FROM ledger WHERE sink = ? AND key = ?"),
      recordsWithPrefix: db.prepare<[string, string, string], { key: string }>(
        "SELECT key FROM ledger WHERE sink = ? AND key >= ? AND key < ? ORDER BY key",
      ),
      prune: db.prepare(
        `DELETE FROM events WHERE received_at < ?
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status <> 'delivered')`,
      ),
    };
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    for (let next = version; next < MIGRATIONS.length; next++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[next] ?? "");
        this.db.pragma(`user_version = ${next + 1}`);
      })();
    }
  }

  append(event: NewEvent, sinks: readonly string[], payloadJson?: string): Promise<AppendResult> {
    return this.appends.push({ event, sinks, payloadJson });
  }

  private appendOne(event: NewEvent, sinks: readonly string[], payloadJson: string | undefined): AppendResult {
    const existing = this.statements.findByDeliveryId.get(event.deliveryId);
    if (existing) return { id: existing.id, duplicate: true, stored: null };
    const payload = payloadJson ?? JSON.stringify(event.payload);
    const info = this.statements.insertEvent.run({
      deliveryId: event.deliveryId,
      receivedAt: event.receivedAt,
      instance: event.instance,
      hook: event.hook,
      type: event.type,
      action: event.action,
      projectId: event.project?.id ?? null,
      projectPath: event.project?.path ?? null,
      projectUrl: event.project?.url ?? null,
      visibility: event.project?.visibility ?? null,
      actorUsername: event.actor?.username ?? null,
      actorName: event.actor?.name ?? null,
      payload,
    });
    const id = Number(info.lastInsertRowid);
    const now = Date.now();
    const key = orderingKeyOf(event);
    for (const sink of sinks) this.statements.insertDelivery.run(sink, id, key, now, now);
    const { payload: _payload, ...rest } = event;
    return { id, duplicate: false, stored: new StoredEvent({ id, ...rest }, payload) };
  }

  /**
   * Delivery bookkeeping, committed without waiting for fsync (WAL with synchronous=NORMAL): it
   * survives a crash of the process; only a power loss can undo it, and then a delivery merely
   * runs again, which the sinks' ledgers absorb. Events themselves are always appended with the
   * configured (FULL) durability.
   */
  private commitWrites(runs: (() => void)[]): void[] {
    if (!this.db.open) throw new Error("the store is closed");
    this.db.pragma("synchronous = NORMAL");
    try {
      this.db.transaction(() => runs.forEach((run) => run()))();
    } finally {
      this.db.pragma(`synchronous = ${this.appendSync}`);
    }
    return runs.map(() => undefined);
  }

  async getEvent(id: number): Promise<StoredEvent | null> {
    const row = this.statements.getEvent.get(id);
    return row ? toStoredEvent(row) : null;
  }

  async eventsAfter(afterId: number, limit: number): Promise<StoredEvent[]> {
    return this.statements.eventsAfter.all(afterId, limit).map(toStoredEvent);
  }

  async listEvents(query: EventQuery): Promise<StoredEvent[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.type?.length) {
      where.push(`type IN (${query.type.map(() => "?").join(",")})`);
      params.push(...query.type);
    }
    if (query.hook?.length) {
      where.push(`hook IN (${query.hook.map(() => "?").join(",")})`);
      params.push(...query.hook);
    }
    if (query.project !== undefined) {
      where.push("(project_path = ? OR CAST(project_id AS TEXT) = ?)");
      params.push(query.project, query.project);
    }
    if (query.before !== undefined) {
      where.push("id < ?");
      params.push(query.before);
    }
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
    return this.db
      .prepare<(string | number)[], EventRow>(sql)
      .all(...params, query.limit)
      .map(toStoredEvent);
  }

  async idRange(): Promise<{ oldest: number | null; newest: number }> {
    return {
      oldest: this.statements.oldest.get()?.id ?? null,
      newest: this.statements.newest.get()?.seq ?? 0,
    };
  }

  async dueDeliveries(sink: string, now: number, limit: number, skip: readonly number[]): Promise<DueDelivery[]> {
    // Ids first, from the index; payloads only for the deliveries that will run.
    const skipped = new Set(skip);
    const due = this.statements.due
      .all(sink, now, limit + skipped.size)
      .filter((row) => !skipped.has(row.event_id))
      .slice(0, limit);
    if (due.length === 0) return [];
    const events = new Map(this.statements.eventsByIds.all(JSON.stringify(due.map((row) => row.event_id))).map((row) => [row.id, row]));
    return due.flatMap((row) => {
      const event = events.get(row.event_id);
      return event ? [{ event: toStoredEvent(event), attempts: row.attempts, orderingKey: row.ordering_key }] : [];
    });
  }

  async waitingKeys(sink: string, now: number): Promise<Map<string, number>> {
    return new Map(this.statements.waiting.all(sink, now).map((row) => [row.ordering_key, row.first]));
  }

  async nextDueAt(sink: string): Promise<number | null> {
    return this.statements.nextDue.get(sink)?.at ?? null;
  }

  markDelivered(sink: string, eventId: number, now: number): Promise<void> {
    return this.writes.push(() => this.statements.delivered.run(now, sink, eventId));
  }

  markFailed(sink: string, eventId: number, error: string, retryAt: number | null, now: number): Promise<void> {
    return this.writes.push(() => this.statements.failed.run({ sink, eventId, error: error.slice(0, 2000), retryAt, now }));
  }

  async requeue(eventIds: readonly number[], sinks: readonly string[], now: number): Promise<number> {
    return this.db.transaction(() => {
      let count = 0;
      for (const eventId of eventIds) {
        const row = this.statements.getEvent.get(eventId);
        if (!row) continue;
        const orderingKey = orderingKeyOf(toStoredEvent(row).meta);
        for (const sink of sinks) count += this.statements.requeue.run({ sink, eventId, orderingKey, now }).changes;
      }
      return count;
    })();
  }

  async retryFailed(sink: string | null, now: number): Promise<number> {
    return this.statements.retryFailed.run({ sink, now }).changes;
  }

  async deliveriesOf(eventId: number): Promise<DeliveryState[]> {
    return this.statements.deliveriesOf.all(eventId).map(toDeliveryState);
  }

  async listDeliveries(query: DeliveryQuery): Promise<DeliveryState[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.status) {
      where.push("status = ?");
      params.push(query.status);
    }
    if (query.sink) {
      where.push("sink = ?");
      params.push(query.sink);
    }
    if (query.before !== undefined) {
      where.push("event_id < ?");
      params.push(query.before);
    }
    const sql = `SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY event_id DESC, sink LIMIT ?`;
    return this.db
      .prepare<(string | number)[], DeliveryRow>(sql)
      .all(...params, query.limit)
      .map(toDeliveryState);
  }

  async deliveryCounts(): Promise<Map<string, DeliveryCounts>> {
    const counts = new Map<string, DeliveryCounts>();
    const entry = (sink: string) => {
      let found = counts.get(sink);
      if (!found) counts.set(sink, (found = { pending: 0, failed: 0, oldestPendingAt: null }));
      return found;
    };
    for (const row of this.statements.pendingCounts.all()) Object.assign(entry(row.sink), { pending: row.n, oldestPendingAt: row.oldest });
    for (const row of this.statements.failedCounts.all()) entry(row.sink).failed = row.n;
    return counts;
  }

  async recordOnce(sink: string, key: string, now: number): Promise<boolean> {
    return this.statements.recordOnce.run(sink, key, now).changes === 1;
  }

  async hasRecord(sink: string, key: string): Promise<boolean> {
    return this.statements.hasRecord.get(sink, key) !== undefined;
  }

  async forgetRecord(sink: string, key: string): Promise<void> {
    this.statements.forgetRecord.run(sink, key);
  }

  async recordsWithPrefix(sink: string, prefix: string): Promise<string[]> {
    // A range scan on the primary key: every key that starts with prefix sorts between these two.
    return this.statements.recordsWithPrefix.all(sink, prefix, `${prefix}\uffff`).map((row) => row.key);
  }

  async prune(before: Date): Promise<number> {
    return this.statements.prune.run(before.toISOString()).changes;
  }

  async ping(): Promise<void> {
    this.db.prepare("SELECT 1").get();
  }

  async close(): Promise<void> {
    this.appends.flush();
    this.writes.flush();
    if (this.db.open) this.db.close();
  }
}
