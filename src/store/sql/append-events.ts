import { StoredEvent, type NewEvent } from "../../core/event.js";
import type { AppendOptions, AppendResult } from "../../core/store.js";
import { toNumber, type SqlQueries, type SqlValue } from "./driver.js";
import { storedOrderingKey } from "../../core/ordering-key.js";

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

type IdRow = { id: number | string; dedup_scope: string; delivery_id: string };

const ID_COLUMNS = ["id", "dedup_scope", "delivery_id"] as const;
const DEDUP_KEY_COLUMNS = ["delivery_id", "dedup_scope"] as const;

function idsByKey(rows: readonly IdRow[], into = new Map<string, number>()): Map<string, number> {
  for (const row of rows) into.set(dedupKey(row.dedup_scope, row.delivery_id), toNumber(row.id) as number);
  return into;
}

async function idsOf(tx: SqlQueries, deliveryIds: readonly string[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (let start = 0; start < deliveryIds.length; start += ROWS_PER_STATEMENT) {
    const rows = await tx.all<IdRow>("SELECT id, dedup_scope, delivery_id FROM events WHERE delivery_id IN (:ids)", {
      ids: deliveryIds.slice(start, start + ROWS_PER_STATEMENT),
    });
    idsByKey(rows, ids);
  }
  return ids;
}

const deliveryIdsOf = (items: Iterable<PendingAppend>) => [...new Set([...items].map((item) => item.event.deliveryId))];

/** The batch's first event of each key, as event rows in statements of bounded size. */
function eventRowGroups(candidates: readonly PendingAppend[], maxValueBytes: number) {
  const parts = new Map(candidates.map((item) => [item, payloadParts(item.options.payloadJson, maxValueBytes)]));
  const inlineLength = (item: PendingAppend) => ((parts.get(item) as string[]).length > 0 ? 0 : item.options.payloadJson.length);
  const groups = chunks(candidates, inlineLength).map((group) => group.map((item) => eventRow(item, parts.get(item) as string[])));
  return { parts, groups };
}

/**
 * Which of the candidates (one per key) are new, with the ids they were stored under, and the ids
 * of those already stored. Where the engine can say which rows an INSERT stored (SQLite,
 * PostgreSQL), one statement does it all and a look-up follows only for duplicates; elsewhere
 * (MariaDB: no RETURNING on MySQL) the ids are looked up before and after.
 */
async function storeNew(
  tx: SqlQueries,
  candidates: Map<string, PendingAppend>,
  maxValueBytes: number,
): Promise<{ inserted: Map<string, number>; existing: Map<string, number>; parts: Map<PendingAppend, string[]> }> {
  const insertNewRows = tx.insertNewRows?.bind(tx);
  if (insertNewRows) {
    const { parts, groups } = eventRowGroups([...candidates.values()], maxValueBytes);
    const inserted = new Map<string, number>();
    for (const rows of groups)
      idsByKey(await insertNewRows<IdRow>("events", EVENT_INSERT_COLUMNS, rows, DEDUP_KEY_COLUMNS, ID_COLUMNS), inserted);
    const taken = [...candidates].filter(([key]) => !inserted.has(key));
    const existing = taken.length > 0 ? await idsOf(tx, deliveryIdsOf(taken.map(([, item]) => item))) : new Map<string, number>();
    // Pruning does not take the append lock: the event a resend conflicted with may be gone by now.
    // Failed, this batch is tried again item by item (GroupCommit), and the resend is stored anew.
    if (taken.some(([key]) => !existing.has(key))) throw new Error("an event a resend matched was pruned meanwhile; storing it again");
    return { inserted, existing, parts };
  }
  const existing = await idsOf(tx, deliveryIdsOf(candidates.values()));
  const fresh = [...candidates].filter(([key]) => !existing.has(key));
  const freshItems = fresh.map(([, item]) => item);
  const { parts, groups } = eventRowGroups(freshItems, maxValueBytes);
  for (const rows of groups) await tx.insertRows("events", EVENT_INSERT_COLUMNS, rows);
  const assigned = fresh.length > 0 ? await idsOf(tx, deliveryIdsOf(freshItems)) : new Map<string, number>();
  const inserted = new Map(fresh.map(([key]) => [key, assigned.get(key) as number]));
  return { inserted, existing, parts };
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
  const candidates = new Map<string, PendingAppend>();
  items.forEach((item, index) => {
    const key = keys[index] as string;
    if (!candidates.has(key)) candidates.set(key, item);
  });
  const { inserted, existing, parts } = await storeNew(tx, candidates, maxValueBytes);
  const deliveries: SqlValue[][] = [];
  for (const [key, id] of inserted) {
    const item = candidates.get(key) as PendingAppend;
    for (const { sink, orderingKey } of item.options.deliveries)
      deliveries.push([sink, id, storedOrderingKey(orderingKey), "pending", 0, now, now]);
    for (const [part, chunk] of (parts.get(item) as string[]).entries()) {
      await tx.run("INSERT INTO event_payload_parts (event_id, part, chunk) VALUES (:id, :part, :chunk)", { id, part, chunk });
    }
  }
  for (const group of chunks(deliveries, () => 0)) await tx.insertRows("deliveries", DELIVERY_INSERT_COLUMNS, group);
  return items.map((item, index) => {
    const key = keys[index] as string;
    const id = inserted.get(key);
    if (id === undefined || candidates.get(key) !== item) return { id: (id ?? existing.get(key)) as number, duplicate: true, stored: null };
    return {
      id,
      duplicate: false,
      stored: StoredEvent.appended(id, item.event, item.options.payloadJson, item.options.headers ?? null, item.options.deliveries),
    };
  });
}
