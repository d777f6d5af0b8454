import { first, toNumber, type SqlDriver, type SqlQueries } from "./driver.js";
import { newestEventId } from "./poll-for-commits.js";
import { EVENT_RETENTION_LOCK } from "./requeue.js";

/** Events deleted per statement: small enough that pruning never holds a long lock. */
const PRUNE_BATCH = 500;

/**
 * Deletes events received before `before` whose deliveries are all done (their delivery rows
 * go with them). The newest event always stays, so that ids and resumes stay meaningful. Each
 * batch is looked up and deleted in one transaction holding the lock a requeue takes, so that an
 * event queued again meanwhile is never deleted.
 */
export async function prune(db: SqlDriver, before: Date): Promise<number> {
  const newest = await newestEventId(db);
  if (newest === 0) return 0;
  let pruned = 0;
  for (;;) {
    const { found, deleted } = await db.transaction(
      async (tx) => {
        const rows = await tx.all<{ id: number | string }>(
          `SELECT id FROM events WHERE received_at < :before AND id < :newest
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status <> 'delivered')
           ORDER BY id LIMIT ${PRUNE_BATCH}`,
          { before: before.toISOString(), newest },
        );
        if (rows.length === 0) return { found: 0, deleted: 0 };
        const ids = rows.map((row) => toNumber(row.id) as number);
        await tx.run("DELETE FROM deliveries WHERE event_id IN (:ids)", { ids });
        await tx.run("DELETE FROM delivery_attempts WHERE event_id IN (:ids)", { ids });
        await tx.run("DELETE FROM event_payload_parts WHERE event_id IN (:ids)", { ids });
        return { found: rows.length, deleted: (await tx.run("DELETE FROM events WHERE id IN (:ids)", { ids })).changes };
      },
      { lock: EVENT_RETENTION_LOCK },
    );
    pruned += deleted;
    if (found < PRUNE_BATCH) return pruned;
  }
}

/** Takes the lease when it is free, expired, or already ours; extends it to now + ttlMs. */
export async function acquireLease(db: SqlDriver, name: string, owner: string, ttlMs: number, now: number): Promise<boolean> {
  const expiresAt = now + ttlMs;
  if (await db.insertIfAbsent("leases", { name, owner, expires_at: expiresAt })) return true;
  const { changes } = await db.run(
    "UPDATE leases SET owner = :owner, expires_at = :expiresAt WHERE name = :name AND (owner = :owner OR expires_at < :now)",
    { name, owner, expiresAt, now },
  );
  return changes > 0;
}

export async function settingOrCreate(db: SqlQueries, name: string, value: string): Promise<string> {
  await db.insertIfAbsent("settings", { name, value });
  const row = await first<{ value: string }>(db, "SELECT value FROM settings WHERE name = :name", { name });
  return row?.value ?? value;
}
