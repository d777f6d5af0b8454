import { StoredEvent, type EventMeta, type HookKind, type Visibility } from "../../core/event.js";
import { toNumber, type SqlQueries } from "./driver.js";

/** The columns of `events` every engine has. */
export interface EventRow {
  id: number | string;
  delivery_id: string;
  received_at: string;
  instance: string | null;
  hook: string;
  type: string;
  action: string | null;
  project_id: number | string | null;
  project_path: string | null;
  project_url: string | null;
  visibility: string | null;
  actor_username: string | null;
  actor_name: string | null;
  object_kind: string | null;
  object_id: number | string | null;
  object_iid: number | string | null;
  object_title: string | null;
  object_url: string | null;
  object_ref: string | null;
  object_state: string | null;
  /** Selected by the reads that show an event's request (EVENT_COLUMNS_WITH_HEADERS). */
  headers?: string | null;
  payload: string;
  /** Payloads too large for one statement of the engine are stored in parts (event_payload_parts). */
  payload_parts: number | string;
}

/** Every column a reader needs; the dedup scope stays inside the store. */
export const EVENT_COLUMNS =
  "id, delivery_id, received_at, instance, hook, type, action, project_id, project_path, project_url, visibility, actor_username, actor_name, " +
  "object_kind, object_id, object_iid, object_title, object_url, object_ref, object_state, payload, payload_parts";

/** The same, with the request's headers: for one event's page, not for every read. */
export const EVENT_COLUMNS_WITH_HEADERS = `${EVENT_COLUMNS}, headers`;

/** Events from their rows, with payloads stored in parts put back together. */
export async function toStoredEvents(db: SqlQueries, rows: readonly EventRow[]): Promise<StoredEvent[]> {
  const split = rows.filter((row) => (toNumber(row.payload_parts) ?? 0) > 0).map((row) => toNumber(row.id) as number);
  const payloads = new Map<number, string>();
  if (split.length > 0) {
    const parts = await db.all<{ event_id: number | string; chunk: string }>(
      "SELECT event_id, chunk FROM event_payload_parts WHERE event_id IN (:ids) ORDER BY event_id, part",
      { ids: split },
    );
    for (const part of parts) {
      const id = toNumber(part.event_id) as number;
      payloads.set(id, (payloads.get(id) ?? "") + part.chunk);
    }
  }
  return rows.map((row) => toStoredEvent(row, payloads.get(toNumber(row.id) as number)));
}

function toStoredEvent(row: EventRow, payload = row.payload): StoredEvent {
  const hasProject = row.project_id !== null || row.project_path !== null || row.project_url !== null;
  const hasActor = row.actor_username !== null || row.actor_name !== null;
  const meta: EventMeta = {
    id: toNumber(row.id) as number,
    deliveryId: row.delivery_id,
    receivedAt: row.received_at,
    instance: row.instance,
    hook: row.hook as HookKind,
    type: row.type,
    action: row.action,
    project: hasProject
      ? {
          id: toNumber(row.project_id),
          path: row.project_path,
          url: row.project_url,
          visibility: row.visibility as Visibility | null,
        }
      : null,
    actor: hasActor ? { username: row.actor_username, name: row.actor_name } : null,
    object:
      row.object_kind === null
        ? null
        : {
            kind: row.object_kind,
            iid: toNumber(row.object_iid),
            id: toNumber(row.object_id),
            title: row.object_title,
            url: row.object_url,
            ref: row.object_ref,
            state: row.object_state,
          },
  };
  return new StoredEvent(meta, payload, row.headers ? (JSON.parse(row.headers) as Record<string, string>) : null);
}
