import type { StoredEvent } from "../../core/event.js";
import type { EventQuery } from "../../core/store.js";
import { first, toNumber, type SqlParams, type SqlQueries } from "./driver.js";
import { EVENT_COLUMNS, EVENT_COLUMNS_WITH_HEADERS, toStoredEvents, type EventRow } from "./event-rows.js";

export async function getEvent(db: SqlQueries, id: number): Promise<StoredEvent | null> {
  const row = await first<EventRow>(db, `SELECT ${EVENT_COLUMNS_WITH_HEADERS} FROM events WHERE id = :id`, { id });
  return row ? ((await toStoredEvents(db, [row]))[0] as StoredEvent) : null;
}

export async function eventsAfter(db: SqlQueries, afterId: number, limit: number): Promise<StoredEvent[]> {
  // With the request's headers: the feed's smee format sends them to token holders.
  const rows = await db.all<EventRow>(
    `SELECT ${EVENT_COLUMNS_WITH_HEADERS} FROM events WHERE id > :afterId ORDER BY id LIMIT ${Math.floor(limit)}`,
    { afterId },
  );
  return toStoredEvents(db, rows);
}

export async function listEvents(db: SqlQueries, query: EventQuery): Promise<StoredEvent[]> {
  const where: string[] = [];
  const params: Record<string, SqlParams[string]> = {};
  if (query.type?.length) {
    where.push("type IN (:types)");
    params.types = query.type;
  }
  if (query.hook?.length) {
    where.push("hook IN (:hooks)");
    params.hooks = query.hook;
  }
  if (query.action?.length) {
    where.push("action IN (:actions)");
    params.actions = query.action;
  }
  if (query.deliveryStatus !== undefined || query.sink !== undefined) {
    const conditions = ["d.event_id = events.id"];
    if (query.deliveryStatus !== undefined) conditions.push("d.status = :deliveryStatus");
    if (query.sink !== undefined) conditions.push("d.sink = :sink");
    where.push(`EXISTS (SELECT 1 FROM deliveries d WHERE ${conditions.join(" AND ")})`);
    if (query.deliveryStatus !== undefined) params.deliveryStatus = query.deliveryStatus;
    if (query.sink !== undefined) params.sink = query.sink;
  }
  if (query.since !== undefined) {
    where.push("received_at >= :since");
    params.since = query.since;
  }
  if (query.until !== undefined) {
    where.push("received_at < :until");
    params.until = query.until;
  }
  if (query.search !== undefined) {
    // Every word somewhere; LIKE's own wildcards in a word match themselves ('!' escapes them).
    query.search
      .toLowerCase()
      .split(/\s+/)
      .filter((word) => word !== "")
      .slice(0, 8)
      .forEach((word, n) => {
        const columns = ["object_title", "project_path", "actor_username", "delivery_id"].map(
          (column) => `LOWER(${column}) LIKE :word${n} ESCAPE '!'`,
        );
        where.push(`(${columns.join(" OR ")})`);
        params[`word${n}`] = `%${word.replace(/[!%_]/g, (char) => `!${char}`)}%`;
      });
  }
  if (query.project !== undefined) {
    // A path, or an id: comparing numbers avoids casting the column on every row.
    if (/^\d{1,15}$/.test(query.project)) {
      where.push("(project_path = :project OR project_id = :projectId)");
      params.projectId = Number(query.project);
    } else where.push("project_path = :project");
    params.project = query.project;
  }
  if (query.before !== undefined) {
    where.push("id < :before");
    params.before = query.before;
  }
  const sql = `SELECT ${EVENT_COLUMNS} FROM events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${Math.floor(query.limit)}`;
  return toStoredEvents(db, await db.all<EventRow>(sql, params));
}

export async function idRange(db: SqlQueries): Promise<{ oldest: number | null; newest: number }> {
  const row = await first<{ oldest: unknown; newest: unknown }>(db, "SELECT MIN(id) AS oldest, MAX(id) AS newest FROM events");
  return { oldest: toNumber(row?.oldest), newest: toNumber(row?.newest) ?? 0 };
}
