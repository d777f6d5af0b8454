import { randomBytes } from "node:crypto";
import type { ClaimRequest, DueDelivery } from "../../core/store.js";
import { first, toNumber, type SqlDriver, type SqlQueries } from "./driver.js";
import { EVENT_COLUMNS, toStoredEvents, type EventRow } from "./event-rows.js";

interface PendingRow {
  event_id: number | string;
  attempts: number;
  ordering_key: string | null;
  next_attempt_at: number | string;
  locked_by: string | null;
  locked_at: number | string | null;
}

const PENDING_COLUMNS = "event_id, attempts, ordering_key, next_attempt_at, locked_by, locked_at";

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
  SELECT d.event_id, d.attempts, d.ordering_key, d.next_attempt_at, d.locked_by, d.locked_at
  FROM pending_keys
  JOIN deliveries d ON d.sink = :sink AND d.event_id = (
    SELECT MIN(event_id) FROM deliveries WHERE sink = :sink AND status = 'pending' AND ordering_key = pending_keys.k)
  WHERE pending_keys.k IS NOT NULL`;

/**
 * Keys with a live claim anywhere among their pending deliveries, not only at their head: an older
 * delivery queued again (a redelivery) must not start while a newer one of its key runs.
 */
const LOCKED_KEYS = `
  SELECT ordering_key, MAX(locked_at) AS locked FROM deliveries
  WHERE locked_by IS NOT NULL AND sink = :sink AND status = 'pending' AND locked_at >= :staleBefore AND ordering_key IS NOT NULL
  GROUP BY ordering_key`;

/** Deliveries without a key wait for nothing but their own retry. */
const UNKEYED = `SELECT ${PENDING_COLUMNS} FROM deliveries WHERE sink = :sink AND status = 'pending' AND ordering_key IS NULL`;

const idOf = (row: PendingRow) => toNumber(row.event_id) as number;

/** What keeps deliveries from being claimed now, besides their own due time and claim. */
interface Busy {
  /** Keys with a live claim, and when the newest of those claims lapses. */
  keys: Map<string, number>;
  /** Event ids the claimer still runs. */
  running: Set<number>;
}

async function busyOf(tx: SqlQueries, sink: string, staleBefore: number, leaseMs: number, running: readonly number[]): Promise<Busy> {
  const keys = new Map<string, number>();
  for (const row of await tx.all<{ ordering_key: string; locked: unknown }>(LOCKED_KEYS, { sink, staleBefore })) {
    keys.set(row.ordering_key, (toNumber(row.locked) as number) + leaseMs);
  }
  if (running.length > 0) {
    const rows = await tx.all<{ ordering_key: string | null }>(
      "SELECT ordering_key FROM deliveries WHERE sink = :sink AND event_id IN (:running)",
      { sink, running },
    );
    // A key this claimer still runs is busy until its lane ends (which looks at the store again).
    for (const row of rows) if (row.ordering_key !== null) keys.set(row.ordering_key, Number.MAX_SAFE_INTEGER);
  }
  return { keys, running: new Set(running) };
}

/** Free to run at `now`: due, not held by a live claim, not run by the claimer, and its key not busy. */
function isFree(row: PendingRow, now: number, staleBefore: number, busy: Busy): boolean {
  if ((toNumber(row.next_attempt_at) as number) > now) return false;
  if (row.locked_at !== null && (toNumber(row.locked_at) as number) >= staleBefore) return false;
  if (busy.running.has(idOf(row))) return false;
  return row.ordering_key === null || !busy.keys.has(row.ordering_key);
}

/** A key's run: its pending deliveries from the oldest, up to the first one that is not free. */
async function runOf(tx: SqlQueries, sink: string, key: string, limit: number, free: (row: PendingRow) => boolean): Promise<PendingRow[]> {
  const rows = await tx.all<PendingRow>(
    `SELECT ${PENDING_COLUMNS} FROM deliveries WHERE sink = :sink AND status = 'pending' AND ordering_key = :key ORDER BY event_id LIMIT ${limit}`,
    { sink, key },
  );
  const stop = rows.findIndex((row) => !free(row));
  return stop === -1 ? rows : rows.slice(0, stop);
}

let claimsMade = 0;

/** A token no other claim has, of any daemon: the owner, this process's random part and a counter. */
const processPart = randomBytes(4).toString("hex");
const newClaimToken = (owner: string) => `${owner}/${processPart}.${(claimsMade++).toString(36)}`;

/**
 * Claims, for `owner`, the runs of at most `maxKeys` keys (up to `limit` deliveries each) whose
 * oldest pending delivery is free, oldest first; a delivery without a key is a run of its own.
 * Claims of one sink are serialized across daemons (the transaction's lock), so two daemons never
 * take the same run, nor parts of one; the UPDATE checks again what it takes, since outcomes and
 * requeues do not take that lock.
 */
export function claimDeliveries(db: SqlDriver, sink: string, claim: ClaimRequest): Promise<DueDelivery[]> {
  const { owner, now, leaseMs, limit, maxKeys = Number.MAX_SAFE_INTEGER, running = [] } = claim;
  const staleBefore = now - leaseMs;
  const perKey = Math.max(1, Math.floor(limit));
  return db.transaction(
    async (tx) => {
      const busy = await busyOf(tx, sink, staleBefore, leaseMs, running);
      const free = (row: PendingRow) => isFree(row, now, staleBefore, busy);
      const heads = (await tx.all<PendingRow>(KEY_HEADS, { sink })).filter(free);
      const unkeyed = (
        await tx.all<PendingRow>(
          `${UNKEYED} AND next_attempt_at <= :now AND (locked_at IS NULL OR locked_at < :staleBefore) ORDER BY event_id LIMIT ${Math.min(perKey, maxKeys) + running.length}`,
          { sink, now, staleBefore },
        )
      ).filter(free);
      const chosen = [...heads, ...unkeyed].sort((a, b) => idOf(a) - idOf(b)).slice(0, maxKeys);
      // A run per chosen head: its key's deliveries, or the one delivery without a key.
      const runs: PendingRow[][] = [];
      for (const head of chosen) runs.push(head.ordering_key === null ? [head] : await runOf(tx, sink, head.ordering_key, perKey, free));
      const rows = runs.flat();
      if (rows.length === 0) return [];
      // A lapsed claim taken over in part is void as a whole: its holder, were it to thaw, must find
      // it gone, not go on to deliveries that are now someone else's.
      const lapsed = [...new Set(rows.map((row) => row.locked_by).filter((claim): claim is string => claim !== null))];
      if (lapsed.length > 0)
        await tx.run("UPDATE deliveries SET locked_by = NULL, locked_at = NULL WHERE sink = :sink AND locked_by IN (:lapsed)", {
          sink,
          lapsed,
        });
      // A claim per run: each lane renews, records and gives back its own, and loses only its own.
      const kept: { row: PendingRow; claim: string }[] = [];
      for (const run of runs) {
        if (run.length === 0) continue;
        const claim = newClaimToken(owner);
        await tx.run(
          `UPDATE deliveries SET locked_by = :claim, locked_at = :now, redeliver = 0
           WHERE sink = :sink AND event_id IN (:ids) AND status = 'pending' AND (locked_at IS NULL OR locked_at < :staleBefore)`,
          { claim, now, sink, ids: run.map(idOf), staleBefore },
        );
        const taken = new Set(
          (
            await tx.all<{ event_id: number | string }>("SELECT event_id FROM deliveries WHERE sink = :sink AND locked_by = :claim", {
              sink,
              claim,
            })
          ).map((row) => toNumber(row.event_id) as number),
        );
        // A row changed between the look and the UPDATE (an outcome, a requeue): the run ends before it.
        const cut = run.findIndex((row) => !taken.has(idOf(row)));
        const head = cut === -1 ? run : run.slice(0, cut);
        const dropped = run.slice(head.length).filter((row) => taken.has(idOf(row)));
        if (dropped.length > 0) {
          await tx.run(
            "UPDATE deliveries SET locked_by = NULL, locked_at = NULL WHERE sink = :sink AND locked_by = :claim AND event_id IN (:ids)",
            {
              sink,
              claim,
              ids: dropped.map(idOf),
            },
          );
        }
        kept.push(...head.map((row) => ({ row, claim })));
      }
      if (kept.length === 0) return [];
      kept.sort((a, b) => idOf(a.row) - idOf(b.row));
      const ids = kept.map(({ row }) => idOf(row));
      const events = await toStoredEvents(tx, await tx.all<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id IN (:ids)`, { ids }));
      const byId = new Map(events.map((event) => [event.id, event]));
      return kept.flatMap(({ row, claim }) => {
        const event = byId.get(idOf(row));
        return event ? [{ event, claim, attempts: row.attempts, orderingKey: row.ordering_key }] : [];
      });
    },
    { lock: `claim:${sink}`, relaxed: true },
  );
}

/** When a pending row can be claimed: when it falls due, or when its claim (or its key's) lapses. */
function claimableAt(row: PendingRow, staleBefore: number, leaseMs: number, busy: Busy): number {
  const due = toNumber(row.next_attempt_at) as number;
  const lockedAt = toNumber(row.locked_at);
  const ownLapse = lockedAt !== null && lockedAt >= staleBefore ? lockedAt + leaseMs : 0;
  const keyLapse = row.ordering_key === null ? 0 : (busy.keys.get(row.ordering_key) ?? 0);
  return Math.max(due, ownLapse, keyLapse);
}

/** Only the oldest pending delivery of each key can be claimed next; the others wait behind it. */
export async function nextClaimAt(db: SqlQueries, sink: string, now: number, leaseMs: number): Promise<number | null> {
  const staleBefore = now - leaseMs;
  const busy = await busyOf(db, sink, staleBefore, leaseMs, []);
  const heads = await db.all<PendingRow>(KEY_HEADS, { sink });
  const unkeyed = await first<{ due: unknown; locked: unknown }>(
    db,
    `SELECT MIN(CASE WHEN locked_at IS NULL OR locked_at < :staleBefore THEN next_attempt_at END) AS due,
            MIN(CASE WHEN locked_at >= :staleBefore THEN locked_at END) AS locked
     FROM deliveries WHERE sink = :sink AND status = 'pending' AND ordering_key IS NULL`,
    { sink, staleBefore },
  );
  const times = heads.map((row) => claimableAt(row, staleBefore, leaseMs, busy));
  const due = toNumber(unkeyed?.due);
  const locked = toNumber(unkeyed?.locked);
  if (due !== null) times.push(due);
  if (locked !== null) times.push(locked + leaseMs);
  return times.length === 0 ? null : Math.min(...times);
}
