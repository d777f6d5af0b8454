import { StoredEvent, type NewEvent } from "../../event.js";
import type { AppendOptions, AppendResult } from "../store.js";
import { toNumber, type SqlQueries, type SqlValue } from "./driver.js";

export interface PendingAppend {
  event: NewEvent;
  options: AppendOptions;
}

/** Rows per INSERT, and payload bytes per INSERT: well below every engine's statement limits. */
const ROWS_PER_STATEMENT = 100;
const BYTES_PER_STATEMENT = 1024 * 1024;

const EVENT_INSERT_COLUMNS = [
  "dedup_scope", "delivery_id", "received_at", "instance", "hook", "type", "action", "project_id",
  "project_path", "project_url", "visibility", "actor_username", "actor_name", "payload",
] as const;

const dedupKey = (scope: string, deliveryId: string) => `${scope}\n${deliveryId}`;

function eventRow(item: PendingAppend): SqlValue[] {
  const { event, options } = item;
  return [
    options.scope, event.deliveryId, event.receivedAt, event.instance, event.hook, event.type, event.action,
    event.project?.id ?? null, event.project?.path ?? null, event.project?.url ?? null, event.project?.visibility ?? null,
    event.actor?.username ?? null, event.actor?.name ?? null, options.payloadJson,
  ];
}

/** Splits rows into INSERT statements that each stay under the row and byte bounds. */
function chunks<T>(items: readonly T[], bytes: (item: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const itemBytes = bytes(item);
    if (current.length > 0 && (current.length >= ROWS_PER_STATEMENT || size + itemBytes > BYTES_PER_STATEMENT)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += itemBytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** A multi-row INSERT with positional-style named parameters (:r0c0, :r0c1, …). */
async function insertRows(tx: SqlQueries, table: string, columns: readonly string[], rows: readonly SqlValue[][]): Promise<void> {
  const params: Record<string, SqlValue> = {};
  const tuples = rows.map((row, r) => `(${row.map((value, c) => ((params[`r${r}c${c}`] = value), `:r${r}c${c}`)).join(", ")})`);
  await tx.run(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples.join(", ")}`, params);
}

async function idsOf(tx: SqlQueries, deliveryIds: readonly string[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (let start = 0; start < deliveryIds.length; start += ROWS_PER_STATEMENT) {
    const rows = await tx.all<{ id: number | string; dedup_scope: string; delivery_id: string }>(
      "SELECT id, dedup_scope, delivery_id FROM events WHERE delivery_id IN (:ids)",
      { ids: deliveryIds.slice(start, start + ROWS_PER_STATEMENT) },
    );
    for (const row of rows) ids.set(dedupKey(row.dedup_scope, row.delivery_id), toNumber(row.id) as number);
  }
  return ids;
}

/**
 * Stores a batch of events with their deliveries, inside the caller's transaction (which holds
 * the append lock, so no other writer can store the same delivery id meanwhile). A delivery id
 * already stored in its scope, or twice in the batch, resolves to the first event's id.
 */
export async function appendEvents(tx: SqlQueries, items: readonly PendingAppend[], now: number): Promise<AppendResult[]> {
  const keys = items.map((item) => dedupKey(item.options.scope, item.event.deliveryId));
  const existing = await idsOf(tx, [...new Set(items.map((item) => item.event.deliveryId))]);
  const fresh = new Map<string, PendingAppend>();
  items.forEach((item, index) => {
    const key = keys[index] as string;
    if (!existing.has(key) && !fresh.has(key)) fresh.set(key, item);
  });
  if (fresh.size > 0) {
    for (const group of chunks([...fresh.values()], (item) => item.options.payloadJson.length)) {
      await insertRows(tx, "events", EVENT_INSERT_COLUMNS, group.map(eventRow));
    }
    const assigned = await idsOf(tx, [...new Set([...fresh.values()].map((item) => item.event.deliveryId))]);
    const deliveries: SqlValue[][] = [];
    for (const [key, item] of fresh) {
      const id = assigned.get(key) as number;
      existing.set(key, id);
      for (const { sink, orderingKey } of item.options.deliveries) deliveries.push([sink, id, orderingKey, "pending", 0, now, now]);
    }
    for (const group of chunks(deliveries, () => 0)) {
      await insertRows(tx, "deliveries", ["sink", "event_id", "ordering_key", "status", "attempts", "next_attempt_at", "updated_at"], group);
    }
  }
  return items.map((item, index) => {
    const key = keys[index] as string;
    const id = existing.get(key) as number;
    if (fresh.get(key) !== item) return { id, duplicate: true, stored: null };
    const { payload: _payload, ...meta } = item.event;
    return { id, duplicate: false, stored: new StoredEvent({ id, ...meta }, item.options.payloadJson) };
  });
}
