import type { DeliveryAttempt, DeliveryCounts, DeliveryQuery, DeliveryState, DeliveryStatus } from "../../core/store.js";
import { toNumber, type SqlParams, type SqlQueries } from "./driver.js";

interface DeliveryRow {
  sink: string;
  event_id: number | string;
  status: string;
  attempts: number;
  next_attempt_at: number | string;
  last_error: string | null;
  last_error_status: number | null;
  last_attempt_at: number | string | null;
  last_duration_ms: number | null;
  updated_at: number | string;
}

const DELIVERY_COLUMNS =
  "sink, event_id, status, attempts, next_attempt_at, last_error, last_error_status, last_attempt_at, last_duration_ms, updated_at";

const isoTime = (ms: unknown): string | null => {
  const value = toNumber(ms);
  return value === null ? null : new Date(value).toISOString();
};

function toDeliveryState(row: DeliveryRow): DeliveryState {
  return {
    sink: row.sink,
    eventId: toNumber(row.event_id) as number,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    lastError: row.last_error,
    lastErrorStatus: toNumber(row.last_error_status),
    lastAttemptAt: isoTime(row.last_attempt_at),
    lastDurationMs: toNumber(row.last_duration_ms),
    nextAttemptAt: row.status === "pending" ? isoTime(row.next_attempt_at) : null,
    updatedAt: isoTime(row.updated_at) as string,
  };
}

export async function deliveriesOf(db: SqlQueries, eventId: number): Promise<DeliveryState[]> {
  const rows = await db.all<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE event_id = :eventId ORDER BY sink`, { eventId });
  return rows.map(toDeliveryState);
}

/** Failed attempts from their own rows, and each delivered attempt from its delivery, oldest first. */
export async function attemptsOf(db: SqlQueries, eventId: number): Promise<DeliveryAttempt[]> {
  const failed = await db.all<{
    sink: string;
    started_at: unknown;
    duration_ms: unknown;
    outcome: string;
    error: string | null;
    error_status: unknown;
  }>("SELECT sink, started_at, duration_ms, outcome, error, error_status FROM delivery_attempts WHERE event_id = :eventId ORDER BY id", {
    eventId,
  });
  const attempts: DeliveryAttempt[] = failed.map((row) => ({
    sink: row.sink,
    eventId,
    startedAt: isoTime(row.started_at) as string,
    durationMs: toNumber(row.duration_ms) ?? 0,
    outcome: row.outcome === "failed" ? "failed" : "retry",
    error: row.error,
    errorStatus: toNumber(row.error_status),
  }));
  for (const delivery of await deliveriesOf(db, eventId)) {
    if (delivery.status !== "delivered" || delivery.lastAttemptAt === null) continue;
    attempts.push({
      sink: delivery.sink,
      eventId,
      startedAt: delivery.lastAttemptAt,
      durationMs: delivery.lastDurationMs ?? 0,
      outcome: "delivered",
      error: null,
      errorStatus: null,
    });
  }
  return attempts.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

export async function listDeliveries(db: SqlQueries, query: DeliveryQuery): Promise<DeliveryState[]> {
  const where: string[] = [];
  const params: Record<string, SqlParams[string]> = {};
  if (query.status) {
    where.push("status = :status");
    params.status = query.status;
  }
  if (query.sink) {
    where.push("sink = :sink");
    params.sink = query.sink;
  }
  if (query.before !== undefined) {
    where.push("event_id < :before");
    params.before = query.before;
  }
  const sql = `SELECT ${DELIVERY_COLUMNS} FROM deliveries ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
               ORDER BY event_id DESC, sink LIMIT ${Math.floor(query.limit)}`;
  return (await db.all<DeliveryRow>(sql, params)).map(toDeliveryState);
}

/** Only pending and failed rows, through their partial indexes: delivered ones pile up for RETENTION_DAYS. */
export async function deliveryCounts(db: SqlQueries): Promise<Map<string, DeliveryCounts>> {
  const counts = new Map<string, DeliveryCounts>();
  const entry = (sink: string) => {
    let found = counts.get(sink);
    if (!found) counts.set(sink, (found = { pending: 0, failed: 0, oldestPendingAt: null, retrying: 0, lastRetryError: null }));
    return found;
  };
  const pending = await db.all<{ sink: string; n: unknown; oldest: unknown; retrying: unknown }>(
    `SELECT sink, COUNT(*) AS n, MIN(updated_at) AS oldest, SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS retrying
     FROM deliveries WHERE status = 'pending' GROUP BY sink`,
  );
  for (const row of pending) {
    Object.assign(entry(row.sink), {
      pending: toNumber(row.n),
      oldestPendingAt: toNumber(row.oldest),
      retrying: toNumber(row.retrying) ?? 0,
    });
  }
  const failed = await db.all<{ sink: string; n: unknown }>(
    "SELECT sink, COUNT(*) AS n FROM deliveries WHERE status = 'failed' GROUP BY sink",
  );
  for (const row of failed) entry(row.sink).failed = toNumber(row.n) as number;
  for (const [sink, found] of counts) {
    if (found.retrying === 0) continue;
    const [latest] = await db.all<{ last_error: string | null; last_error_status: unknown; last_attempt_at: unknown }>(
      `SELECT last_error, last_error_status, last_attempt_at FROM deliveries
       WHERE status = 'pending' AND sink = :sink AND attempts > 0 ORDER BY last_attempt_at DESC LIMIT 1`,
      { sink },
    );
    if (latest?.last_error)
      found.lastRetryError = {
        message: latest.last_error,
        status: toNumber(latest.last_error_status),
        at: isoTime(latest.last_attempt_at) as string,
      };
  }
  return counts;
}
