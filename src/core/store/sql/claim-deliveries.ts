import type { DueDelivery } from "../store.js";
import { first, toNumber, type SqlDriver, type SqlQueries } from "./driver.js";
import { EVENT_COLUMNS, toStoredEvents, type EventRow } from "./event-rows.js";

interface PendingRow {
  event_id: number | string;
  attempts: number;
  ordering_key: string | null;
  next_attempt_at: number | string;
  locked_at: number | string | null;
}

const PENDING_COLUMNS = "event_id, attempts, ordering_key, next_attempt_at, locked_at";

/**
 * The oldest pending delivery of every ordering key of a sink: only these can run next. Keys are
 * walked one by one through the index (a skip scan), so the cost follows the number of keys, not
 * the backlog waiting behind a busy one.
 */
const KEY_HEADS = `
  WITH RECURSIVE pending_keys (k) AS (
    SELECT MIN(ordering_key) FROM deliveries WHERE sink = :sink AND status = 'pending'
    UNION ALL
    SELECT (SELECT MIN(ordering_key) FROM deliveries WHERE sink = :sink AND status = 'pending' AND ordering_key > pending_keys.k)
    FROM pending_keys WHERE pending_keys.k IS NOT NULL
  )
  SELECT d.event_id, d.attempts, d.ordering_key, d.next_attempt_at, d.locked_at
  FROM pending_keys
  JOIN deliveries d ON d.sink = :sink AND d.event_id = (
    SELECT MIN(event_id) FROM deliveries WHERE sink = :sink AND status = 'pending' AND ordering_key = pending_keys.k)
  WHERE pending_keys.k IS NOT NULL`;

/** Deliveries without a key wait for nothing but their own retry. */
const UNKEYED = `SELECT ${PENDING_COLUMNS} FROM deliveries WHERE sink = :sink AND status = 'pending' AND ordering_key IS NULL`;

/** Free to run at `now`: due, and not held by a claim younger than the lease. */
const free = (row: PendingRow, now: number, staleBefore: number) =>
  (toNumber(row.next_attempt_at) as number) <= now && (row.locked_at === null || (toNumber(row.locked_at) as number) < staleBefore);

const idOf = (row: PendingRow) => toNumber(row.event_id) as number;

/** A key's run: its pending deliveries from the oldest, up to the first one that is not free. */
async function runOf(tx: SqlQueries, sink: string, key: string, limit: number, now: number, staleBefore: number): Promise<PendingRow[]> {
  const rows = await tx.all<PendingRow>(
    `SELECT ${PENDING_COLUMNS} FROM deliveries WHERE sink = :sink AND status = 'pending' AND ordering_key = :key ORDER BY event_id LIMIT ${limit}`,
    { sink, key },
  );
  const stop = rows.findIndex((row) => !free(row, now, staleBefore));
  return stop === -1 ? rows : rows.slice(0, stop);
}

/**
 * Claims, for `owner`, the runs of at most `maxKeys` keys (up to `limit` deliveries each) whose
 * oldest pending delivery is free, oldest first; a delivery without a key is a run of its own.
 * Claims of one sink are serialized across daemons (the transaction's lock), so two daemons never
 * take the same run, nor parts of one.
 */
export function claimDeliveries(
  db: SqlDriver,
  sink: string,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
  maxKeys = Number.MAX_SAFE_INTEGER,
): Promise<DueDelivery[]> {
  const staleBefore = now - leaseMs;
  const perKey = Math.max(1, Math.floor(limit));
  return db.transaction(
    async (tx) => {
      const heads = (await tx.all<PendingRow>(KEY_HEADS, { sink })).filter((row) => free(row, now, staleBefore));
      const unkeyed = await tx.all<PendingRow>(
        `${UNKEYED} AND next_attempt_at <= :now AND (locked_at IS NULL OR locked_at < :staleBefore) ORDER BY event_id LIMIT ${Math.min(perKey, maxKeys)}`,
        { sink, now, staleBefore },
      );
      const chosen = [...heads, ...unkeyed].sort((a, b) => idOf(a) - idOf(b)).slice(0, maxKeys);
      const rows: PendingRow[] = [];
      for (const head of chosen) {
        rows.push(...(head.ordering_key === null ? [head] : await runOf(tx, sink, head.ordering_key, perKey, now, staleBefore)));
      }
      if (rows.length === 0) return [];
      rows.sort((a, b) => idOf(a) - idOf(b));
      const ids = rows.map(idOf);
      await tx.run("UPDATE deliveries SET locked_by = :owner, locked_at = :now WHERE sink = :sink AND event_id IN (:ids)", { owner, now, sink, ids });
      const events = await toStoredEvents(tx, await tx.all<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id IN (:ids)`, { ids }));
      const byId = new Map(events.map((event) => [event.id, event]));
      return rows.flatMap((row) => {
        const event = byId.get(idOf(row));
        return event ? [{ event, attempts: row.attempts, orderingKey: row.ordering_key }] : [];
      });
    },
    { lock: `claim:${sink}`, relaxed: true },
  );
}

/** When a pending row can be claimed: when it falls due, or when its claim lapses. */
const claimableAt = (row: PendingRow, staleBefore: number, leaseMs: number) =>
  row.locked_at !== null && (toNumber(row.locked_at) as number) >= staleBefore
    ? (toNumber(row.locked_at) as number) + leaseMs
    : (toNumber(row.next_attempt_at) as number);

/** Only the oldest pending delivery of each key can be claimed next; the others wait behind it. */
export async function nextClaimAt(db: SqlQueries, sink: string, now: number, leaseMs: number): Promise<number | null> {
  const staleBefore = now - leaseMs;
  const heads = await db.all<PendingRow>(KEY_HEADS, { sink });
  const unkeyed = await first<{ due: unknown; locked: unknown }>(
    db,
    `SELECT MIN(CASE WHEN locked_at IS NULL OR locked_at < :staleBefore THEN next_attempt_at END) AS due,
            MIN(CASE WHEN locked_at >= :staleBefore THEN locked_at END) AS locked
     FROM deliveries WHERE sink = :sink AND status = 'pending' AND ordering_key IS NULL`,
    { sink, staleBefore },
  );
  const times = heads.map((row) => claimableAt(row, staleBefore, leaseMs));
  const due = toNumber(unkeyed?.due);
  const locked = toNumber(unkeyed?.locked);
  if (due !== null) times.push(due);
  if (locked !== null) times.push(locked + leaseMs);
  return times.length === 0 ? null : Math.min(...times);
}
