import { StoredEvent, type NewEvent } from "../../core/event.js";
import type { AppendOptions, AppendResult } from "../../core/store.js";
import { toNumber, type SqlQueries, type SqlValue } from "./driver.js";
import { storedOrderingKey } from "./ordering-key-column.js";

export interface PendingAppend {
  event: NewEvent;
  options: AppendOptions;
}

/** Rows per INSERT, and payload bytes per INSERT: well below every engine's statement limits. */
const ROWS_PER_STATEMENT = 100;
const BYTES_PER_STATEMENT = 1024 * 1024;

const EVENT_INSERT_COLUMNS = [
  "dedup_scope",
  "delivery_id",
  "received_at",
  "instance",
  "hook",
  "type",
  "action",
  "project_id",
  "project_path",
  "project_url",
  "visibility",
  "actor_username",
  "actor_name",
  "object_kind",
  "object_id",
  "object_iid",
  "object_title",
  "object_url",
  "object_ref",
  "object_state",
  "headers",
  "payload",
  "payload_parts",
] as const;

const DELIVERY_INSERT_COLUMNS = ["sink", "event_id", "ordering_key", "status", "attempts", "next_attempt_at", "updated_at"] as const;

const dedupKey = (scope: string, deliveryId: string) => `${scope}\n${deliveryId}`;

function eventRow(item: PendingAppend, parts: readonly string[]): SqlValue[] {
  const { event, options } = item;
  return [
    options.scope,
    event.deliveryId,
    event.receivedAt,
    event.instance,
    event.hook,
    event.type,
    event.action,
    event.project?.id ?? null,
    event.project?.path ?? null,
    event.project?.url ?? null,
    event.project?.visibility ?? null,
    event.actor?.username ?? null,
    event.actor?.name ?? null,
    event.object?.kind ?? null,
    event.object?.id ?? null,
    event.object?.iid ?? null,
    event.object?.title ?? null,
    event.object?.url ?? null,
    event.object?.ref ?? null,
    event.object?.state ?? null,
    options.headers ? JSON.stringify(options.headers) : null,
    parts.length > 0 ? "" : options.payloadJson,
    parts.length,
  ];
}

/**
 * A payload too large for one statement, in parts that each fit: `maxBytes / 3` UTF-16 units are
 * at most maxBytes of UTF-8, and a cut never falls inside a surrogate pair.
 */
function payloadParts(payload: string, maxBytes: number): string[] {
  if (!Number.isFinite(maxBytes) || payload.length * 3 <= maxBytes || Buffer.byteLength(payload) <= maxBytes) return [];
  const size = Math.max(2, Math.floor(maxBytes / 3));
  const parts: string[] = [];
  for (let start = 0; start < payload.length;) {
    let end = Math.min(payload.length, start + size);
    const last = payload.charCodeAt(end - 1);
    if (end < payload.length && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(payload.slice(start, end));
    start = end;
  }
  return parts;
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
export async function appendEvents(
  tx: SqlQueries,
  items: readonly PendingAppend[],
  now: number,
  maxValueBytes = Infinity,
): Promise<AppendResult[]> {
  const keys = items.map((item) => dedupKey(item.options.scope, item.event.deliveryId));
  const existing = await idsOf(tx, [...new Set(items.map((item) => item.event.deliveryId))]);
  const fresh = new Map<string, PendingAppend>();
  items.forEach((item, index) => {
    const key = keys[index] as string;
    if (!existing.has(key) && !fresh.has(key)) fresh.set(key, item);
  });
  if (fresh.size > 0) {
    const parts = new Map([...fresh.values()].map((item) => [item, payloadParts(item.options.payloadJson, maxValueBytes)]));
    const inlineLength = (item: PendingAppend) => ((parts.get(item) as string[]).length > 0 ? 0 : item.options.payloadJson.length);
    for (const group of chunks([...fresh.values()], inlineLength)) {
      await tx.insertRows(
        "events",
        EVENT_INSERT_COLUMNS,
        group.map((item) => eventRow(item, parts.get(item) as string[])),
      );
    }
    const assigned = await idsOf(tx, [...new Set([...fresh.values()].map((item) => item.event.deliveryId))]);
    const deliveries: SqlValue[][] = [];
    for (const [key, item] of fresh) {
      const id = assigned.get(key) as number;
      existing.set(key, id);
      for (const { sink, orderingKey } of item.options.deliveries)
        deliveries.push([sink, id, storedOrderingKey(orderingKey), "pending", 0, now, now]);
      for (const [part, chunk] of (parts.get(item) as string[]).entries()) {
        await tx.run("INSERT INTO event_payload_parts (event_id, part, chunk) VALUES (:id, :part, :chunk)", { id, part, chunk });
      }
    }
    for (const group of chunks(deliveries, () => 0)) {
      await tx.insertRows("deliveries", DELIVERY_INSERT_COLUMNS, group);
    }
  }
  return items.map((item, index) => {
    const key = keys[index] as string;
    const id = existing.get(key) as number;
    if (fresh.get(key) !== item) return { id, duplicate: true, stored: null };
    return { id, duplicate: false, stored: StoredEvent.appended(id, item.event, item.options.payloadJson, item.options.headers ?? null) };
  });
}
