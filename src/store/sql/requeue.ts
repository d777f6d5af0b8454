import type { Requeue } from "../../core/store.js";
import type { SqlDriver } from "./driver.js";
import { storedOrderingKey } from "../../core/ordering-key.js";

/**
 * Held by a requeue and by pruning: an event queued again is never pruned by a look at the store
 * taken before the requeue.
 */
export const EVENT_RETENTION_LOCK = "retention";

/**
 * Queues deliveries again: a row that exists goes back to pending with its attempts reset; a
 * missing one is created (for a stored event) with the given ordering key. A row claimed now
 * (its attempt running) is marked to run again after that attempt, whatever its outcome.
 */
export async function requeue(db: SqlDriver, deliveries: readonly Requeue[], now: number): Promise<number> {
  return db.transaction(
    async (tx) => {
      let count = 0;
      for (const { sink, eventId, orderingKey } of deliveries) {
        const { changes } = await tx.run(
          `UPDATE deliveries SET status = 'pending', attempts = 0, last_error = NULL, next_attempt_at = :now, updated_at = :now,
           redeliver = CASE WHEN locked_by IS NULL THEN 0 ELSE 1 END
         WHERE sink = :sink AND event_id = :eventId`,
          { sink, eventId, now },
        );
        if (changes > 0) {
          count++;
          continue;
        }
        const stored = await tx.all("SELECT id FROM events WHERE id = :eventId", { eventId });
        if (stored.length === 0) continue;
        const row = {
          sink,
          event_id: eventId,
          ordering_key: storedOrderingKey(orderingKey),
          status: "pending",
          attempts: 0,
          next_attempt_at: now,
          updated_at: now,
        };
        if (await tx.insertIfAbsent("deliveries", row)) count++;
      }
      return count;
    },
    { lock: EVENT_RETENTION_LOCK },
  );
}

export async function retryFailed(db: SqlDriver, sink: string | null, now: number): Promise<number> {
  const { changes } = await db.run(
    `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = :now, updated_at = :now
     WHERE status = 'failed'${sink === null ? "" : " AND sink = :sink"}`,
    sink === null ? { now } : { now, sink },
  );
  return changes;
}
