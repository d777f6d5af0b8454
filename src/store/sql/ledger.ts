import type { SqlQueries } from "./driver.js";

/**
 * The sinks' side-effect ledgers: one row per thing done (a comment, a mention), so that a retry,
 * a redelivery or GitLab's resend never does it twice. Keys compare byte by byte on every engine.
 */
export async function recordOnce(db: SqlQueries, sink: string, key: string, now: number): Promise<boolean> {
  return db.insertIfAbsent("ledger", { sink, record_key: key, created_at: now });
}

export async function hasRecord(db: SqlQueries, sink: string, key: string): Promise<boolean> {
  return (await db.all("SELECT 1 AS one FROM ledger WHERE sink = :sink AND record_key = :key", { sink, key })).length > 0;
}

export async function forgetRecord(db: SqlQueries, sink: string, key: string): Promise<void> {
  await db.run("DELETE FROM ledger WHERE sink = :sink AND record_key = :key", { sink, key });
}

/** The first string after every string that starts with `prefix` ("ab:" → "ab;"). */
function prefixEnd(prefix: string): string {
  const last = prefix.codePointAt(prefix.length - 1) ?? 0;
  return `${prefix.slice(0, -1)}${String.fromCodePoint(last + 1)}`;
}

export async function recordsWithPrefix(db: SqlQueries, sink: string, prefix: string): Promise<string[]> {
  // A range scan on the primary key, not LIKE: `%` and `_` may be part of a key.
  const rows = await db.all<{ record_key: string }>(
    "SELECT record_key FROM ledger WHERE sink = :sink AND record_key >= :prefix AND record_key < :end ORDER BY record_key",
    { sink, prefix, end: prefixEnd(prefix) },
  );
  return rows.map((row) => row.record_key);
}

/** See Store.takeRecord. */
export async function takeRecord(
  db: SqlQueries,
  sink: string,
  key: string,
  now: number,
  staleBefore: number,
): Promise<"new" | "stale" | null> {
  if (await recordOnce(db, sink, key, now)) return "new";
  const { changes } = await db.run(
    "UPDATE ledger SET created_at = :now WHERE sink = :sink AND record_key = :key AND created_at < :staleBefore",
    {
      sink,
      key,
      now,
      staleBefore,
    },
  );
  return changes > 0 ? "stale" : null;
}

export async function touchRecord(db: SqlQueries, sink: string, key: string, at: number): Promise<void> {
  await db.run("UPDATE ledger SET created_at = :at WHERE sink = :sink AND record_key = :key", { sink, key, at });
}
