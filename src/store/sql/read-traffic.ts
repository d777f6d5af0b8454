import type { MinuteCount, SinkTraffic, Traffic } from "../../core/store.js";
import { first, toNumber, type SqlQueries } from "./driver.js";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The q-quantile of sorted values, nearest rank. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
}

function addTo(counts: Map<number, number>, minute: number, count = 1): void {
  counts.set(minute, (counts.get(minute) ?? 0) + count);
}

function toMinuteCounts(counts: Map<number, number>): MinuteCount[] {
  return [...counts].sort(([a], [b]) => a - b).map(([minute, count]) => ({ minute, count }));
}

/**
 * See Store.readTraffic. Received times are ISO text (their first 16 characters name the minute);
 * outcome times are epoch ms. Deliveries and attempts are found through the id range of the events
 * received since a day before the window, so that the read follows indexes whatever RETENTION_DAYS keeps.
 */
export async function readTraffic(db: SqlQueries, since: number, until: number): Promise<Traffic> {
  const window = { since, until, sinceIso: new Date(since).toISOString(), untilIso: new Date(until).toISOString() };
  const received = new Map<number, number>();
  const rows = await db.all<{ minute: string; n: unknown }>(
    `SELECT SUBSTR(received_at, 1, 16) AS minute, COUNT(*) AS n FROM events
     WHERE received_at >= :sinceIso AND received_at < :untilIso GROUP BY SUBSTR(received_at, 1, 16)`,
    window,
  );
  for (const row of rows) addTo(received, Date.parse(`${row.minute}:00Z`), toNumber(row.n) ?? 0);

  // The first event received since the lookback, through the received_at index (MIN(id) would read
  // every row); ids follow receipt closely enough for a day's margin.
  const oldest = await first<{ id: unknown }>(db, "SELECT id FROM events WHERE received_at >= :lookback ORDER BY received_at LIMIT 1", {
    lookback: new Date(since - DAY_MS).toISOString(),
  });
  const firstId = toNumber(oldest?.id);
  const sinks: Record<string, SinkTraffic> = {};
  if (firstId === null) return { received: toMinuteCounts(received), sinks };

  const perSink = new Map<
    string,
    { delivered: Map<number, number>; retried: Map<number, number>; failed: Map<number, number>; delays: number[] }
  >();
  const of = (sink: string) => {
    let found = perSink.get(sink);
    if (!found) perSink.set(sink, (found = { delivered: new Map(), retried: new Map(), failed: new Map(), delays: [] }));
    return found;
  };
  const delivered = await db.all<{ sink: string; updated_at: unknown; received_at: string }>(
    `SELECT d.sink, d.updated_at, e.received_at FROM deliveries d JOIN events e ON e.id = d.event_id
     WHERE d.event_id >= :firstId AND d.status = 'delivered' AND d.updated_at >= :since AND d.updated_at < :until`,
    { ...window, firstId },
  );
  for (const row of delivered) {
    const at = toNumber(row.updated_at) as number;
    const sink = of(row.sink);
    addTo(sink.delivered, at - (at % MINUTE_MS));
    sink.delays.push(Math.max(0, at - Date.parse(row.received_at)));
  }
  const attempts = await db.all<{ sink: string; outcome: string; minute: unknown; n: unknown }>(
    `SELECT sink, outcome, started_at - (started_at % ${MINUTE_MS}) AS minute, COUNT(*) AS n FROM delivery_attempts
     WHERE event_id >= :firstId AND started_at >= :since AND started_at < :until
     GROUP BY sink, outcome, started_at - (started_at % ${MINUTE_MS})`,
    { ...window, firstId },
  );
  for (const row of attempts) {
    const sink = of(row.sink);
    addTo(row.outcome === "failed" ? sink.failed : sink.retried, toNumber(row.minute) as number, toNumber(row.n) ?? 0);
  }

  for (const [name, found] of perSink) {
    const delays = found.delays.sort((a, b) => a - b);
    sinks[name] = {
      delivered: toMinuteCounts(found.delivered),
      retried: toMinuteCounts(found.retried),
      failed: toMinuteCounts(found.failed),
      delayMs: delays.length === 0 ? null : { p50: quantile(delays, 0.5), p95: quantile(delays, 0.95), count: delays.length },
    };
  }
  return { received: toMinuteCounts(received), sinks };
}
