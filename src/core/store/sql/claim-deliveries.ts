import type { DueDelivery } from "../store.js";
import { toNumber, type SqlDriver } from "./driver.js";
import { EVENT_COLUMNS, toStoredEvents, type EventRow } from "./event-rows.js";

/**
 * Due deliveries nobody holds, whose ordering key has no earlier pending delivery that is held
 * or waiting for a retry: what is claimed is, per key, a run from its oldest pending delivery.
 * A claim older than the lease counts as released (its daemon died).
 */
const CLAIMABLE = `
  SELECT d.event_id, d.attempts, d.ordering_key FROM deliveries d
  WHERE d.sink = :sink AND d.status = 'pending' AND d.next_attempt_at <= :now
    AND (d.locked_at IS NULL OR d.locked_at < :staleBefore)
    AND NOT EXISTS (
      SELECT 1 FROM deliveries e
      WHERE e.sink = d.sink AND e.ordering_key = d.ordering_key AND e.status = 'pending' AND e.event_id < d.event_id
        AND (e.next_attempt_at > :now OR e.locked_at >= :staleBefore))
  ORDER BY d.event_id`;

/** The candidates of the first `maxKeys` keys, in order. */
function firstKeys<Row extends { ordering_key: string | null }>(rows: readonly Row[], maxKeys: number): Row[] {
  const keys = new Set<string>();
  let unkeyed = 0;
  return rows.filter((row) => {
    if (row.ordering_key === null) return keys.size + ++unkeyed <= maxKeys;
    if (keys.has(row.ordering_key)) return true;
    if (keys.size + unkeyed >= maxKeys) return false;
    keys.add(row.ordering_key);
    return true;
  });
}

/**
 * Claims up to `limit` deliveries of at most `maxKeys` keys of a sink for `owner`. Claims of one
 * sink are serialized across daemons (the transaction's lock), so two daemons never take the same
 * run, nor parts of one.
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
  return db.transaction(
    async (tx) => {
      const candidates = await tx.all<{ event_id: number | string; attempts: number; ordering_key: string | null }>(
        `${CLAIMABLE} LIMIT ${Math.max(1, Math.floor(limit))}`,
        { sink, now, staleBefore: now - leaseMs },
      );
      const rows = firstKeys(candidates, maxKeys);
      if (rows.length === 0) return [];
      const ids = rows.map((row) => toNumber(row.event_id) as number);
      await tx.run("UPDATE deliveries SET locked_by = :owner, locked_at = :now WHERE sink = :sink AND event_id IN (:ids)", { owner, now, sink, ids });
      const events = await toStoredEvents(tx, await tx.all<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id IN (:ids)`, { ids }));
      const byId = new Map(events.map((event) => [event.id, event]));
      return rows.flatMap((row) => {
        const event = byId.get(toNumber(row.event_id) as number);
        return event ? [{ event, attempts: row.attempts, orderingKey: row.ordering_key }] : [];
      });
    },
    { lock: `claim:${sink}`, relaxed: true },
  );
}
