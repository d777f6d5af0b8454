import express, { type Request, type Response, type Router } from "express";
import { z } from "zod";
import { requireAdminToken } from "../admin-auth.js";
import type { Dispatcher } from "../../core/dispatcher.js";
import type { HooksWatch } from "../../gitlab/hooks-watch.js";
import type { HookKind, StoredEvent } from "../../core/event.js";
import { eventTypesOf } from "../../gitlab/event-catalogue.js";
import { sendError } from "../json-errors.js";
import type { MinuteCount, Store } from "../../core/store.js";
import { VERSION } from "../../support/version.js";
import { wholeNumberIn } from "../../core/whole-number.js";

const HOOKS = ["system", "project", "group", "unknown"] as const;
const csv = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== ""),
  )
  .optional();
/** A whole number in plain decimal digits within [min, max], as a query or a path spells it. */
const wholeNumber = (min: number, max: number, message: string) =>
  z.string({ message }).transform((text, context) => {
    const value = wholeNumberIn(text, min, max);
    if (value === null) context.addIssue({ code: "custom", message });
    return value ?? z.NEVER;
  });
const id = wholeNumber(1, Number.MAX_SAFE_INTEGER, "must be a whole number from 1 (an event id), in plain digits");
const limit = wholeNumber(1, 500, "must be from 1 to 500").default(50);

const time = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), { message: "must be a time, e.g. 2026-11-22T08:00:00Z" })
  .transform((value) => new Date(value).toISOString())
  .optional();
const STATUSES = ["pending", "delivered", "failed"] as const;
/** What the traffic panel shows: the last 24 hours. */
const TRAFFIC_WINDOW_MS = 24 * 3_600_000;
/** How long one reading of the traffic answers every dashboard. */
const TRAFFIC_REUSE_MS = 15_000;

const eventsQuery = z
  .object({
    // Object kinds, or GitLab's hook-scope names (merge_requests, push_events).
    type: csv.transform((names) => (names ? eventTypesOf(names) : undefined)),
    action: csv,
    project: z.string().min(1).optional(),
    hook: csv.pipe(z.array(z.enum(HOOKS, { message: `must be among ${HOOKS.join(", ")}` })).optional()),
    /** Events with a delivery in this state (of `sink`, when given). */
    status: z.enum(STATUSES, { message: `must be ${STATUSES.join(", ")}` }).optional(),
    sink: z.string().min(1).optional(),
    since: time,
    until: time,
    /** Words in the title, project path, username or delivery id. */
    q: z.string().trim().min(1).max(200, { message: "must be at most 200 characters" }).optional(),
    before: id.optional(),
    limit,
  })
  .strict();
const deliveriesQuery = z
  .object({
    status: z.enum(STATUSES, { message: `must be ${STATUSES.join(", ")}` }).optional(),
    sink: z.string().min(1).optional(),
    before: id.optional(),
    limit,
  })
  .strict();
const redeliverBody = z
  .object({ sinks: z.array(z.string().min(1), { message: "must be a list of sink names" }).min(1).optional() })
  .strict();
const retryBody = z.object({ sink: z.string().min(1, { message: "must be a sink name" }).optional() }).strict();

/** The first problem of a zod result as "`name` what is wrong". */
function problem(error: z.ZodError, what: string): string {
  const issue = error.issues[0];
  // A misspelt filter must say so, not quietly list everything.
  if (issue?.code === "unrecognized_keys") return `unknown parameter "${issue.keys[0] ?? ""}"`;
  const where = issue?.path.length ? issue.path.join(".") : what;
  return `${where} ${issue?.message ?? "is invalid"}`;
}

/** A query, a body or (`what` names it) one value such as an id in the path; a 400 naming the problem. */
function parse<T>(schema: z.ZodType<T>, value: unknown, res: Response, what = "body"): T | undefined {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  sendError(res, 400, problem(result.error, what));
  return undefined;
}

const EVENT_ID_IN_PATH = "event id in the path";

/**
 * `/api`: events with their per-sink delivery state, redelivery, and dead letters in bulk — what
 * GitLab's "Recent deliveries" page gives, for every sink.
 */
export function createAdminApi(
  adminTokens: readonly string[],
  store: Store,
  dispatcher: Dispatcher,
  hooksWatch: HooksWatch | null = null,
): Router {
  const router = express.Router();
  const durableSinks = () => dispatcher.sinks.map((sink) => sink.name);
  /** A `sink` that names no enabled sink is a mistake to say, not an empty list. */
  const unknownSink = (res: Response, name: string | undefined): boolean => {
    if (name === undefined || durableSinks().includes(name)) return false;
    sendError(res, 400, `sink "${name}" is not enabled (enabled: ${durableSinks().join(", ")})`);
    return true;
  };
  router.use("/api", requireAdminToken(adminTokens), express.json({ limit: "64kb" }));

  const withDeliveries = async (event: StoredEvent, payload: boolean) => ({
    ...(payload ? event.toEvent() : event.meta),
    deliveries: await store.deliveriesOf(event.id),
  });

  // What HOOKS_WATCH found: each watched hook, its state, why, and how to re-enable it.
  router.get("/api/hooks", (_req: Request, res: Response) => {
    res.json(hooksWatch?.state ?? { watching: [], checkedAt: null, hooks: [], problems: [] });
  });

  router.get("/api/events", async (req: Request, res: Response) => {
    const query = parse(eventsQuery, req.query, res);
    if (!query || unknownSink(res, query.sink)) return;
    const { status, q, ...rest } = query;
    const events = await store.listEvents({ ...rest, hook: query.hook as HookKind[] | undefined, deliveryStatus: status, search: q });
    const next = events.length === query.limit ? events.at(-1)?.id : undefined;
    res.json({ events: await Promise.all(events.map((event) => withDeliveries(event, false))), next: next ?? null });
  });

  router.get("/api/events/:id", async (req: Request, res: Response) => {
    const eventId = parse(id, req.params.id, res, EVENT_ID_IN_PATH);
    if (eventId === undefined) return;
    const event = await store.getEvent(eventId);
    if (!event) return sendError(res, 404, `no event ${eventId} (it may have been pruned after RETENTION_DAYS)`);
    res.json({
      ...(await withDeliveries(event, true)),
      requestHeaders: event.requestHeaders ?? {},
      attempts: await store.attemptsOf(eventId),
    });
  });

  router.post("/api/events/:id/redeliver", async (req: Request, res: Response) => {
    const eventId = parse(id, req.params.id, res, EVENT_ID_IN_PATH);
    const body = parse(redeliverBody, req.body, res);
    if (eventId === undefined || !body) return;
    const event = await store.getEvent(eventId);
    if (!event) return sendError(res, 404, `no event ${eventId} (it may have been pruned after RETENTION_DAYS)`);
    const unknown = body.sinks?.find((name) => !durableSinks().includes(name));
    if (unknown !== undefined)
      return sendError(res, 400, `sinks names "${unknown}", which is not enabled (enabled: ${durableSinks().join(", ")})`);
    const sinks = body.sinks ?? dispatcher.sinksFor(event.toEvent());
    const requeued = await dispatcher.requeue(event.toEvent(), sinks);
    res.status(202).json({ id: eventId, sinks, requeued });
  });

  router.get("/api/deliveries", async (req: Request, res: Response) => {
    const query = parse(deliveriesQuery, req.query, res);
    if (!query || unknownSink(res, query.sink)) return;
    const deliveries = await store.listDeliveries(query);
    const next = deliveries.length === query.limit ? deliveries.at(-1)?.eventId : undefined;
    res.json({ deliveries, next: next ?? null });
  });

  router.post("/api/deliveries/retry", async (req: Request, res: Response) => {
    const body = parse(retryBody, req.body, res);
    if (!body || unknownSink(res, body.sink)) return;
    const retried = await store.retryFailed(body.sink ?? null, Date.now());
    dispatcher.wakeAll();
    res.status(202).json({ retried });
  });

  router.get("/api/sinks", async (_req: Request, res: Response) => {
    res.json({ sinks: await dispatcher.sinkStates() });
  });

  // The dashboard's traffic panel: the last day, per minute, read from the store, so that it
  // survives restarts and every daemon on one database shows the same.
  // A day of deliveries is read in a fraction of a second, on the store's thread: dashboards open
  // side by side share one reading for a while, until a new event arrives.
  let lastTraffic: { at: number; newest: number; body: unknown } | null = null;
  router.get("/api/traffic", async (req: Request, res: Response) => {
    if (!parse(z.object({}).strict(), req.query, res)) return;
    const until = Date.now();
    const { newest } = await store.idRange();
    if (lastTraffic && lastTraffic.newest === newest && until - lastTraffic.at < TRAFFIC_REUSE_MS) return res.json(lastTraffic.body);
    const since = until - TRAFFIC_WINDOW_MS;
    const traffic = await store.readTraffic(since, until);
    const perMinute = (counts: readonly MinuteCount[]) =>
      counts.map(({ minute, count }) => ({ minute: new Date(minute).toISOString(), count }));
    const body = {
      since: new Date(since).toISOString(),
      until: new Date(until).toISOString(),
      received: perMinute(traffic.received),
      sinks: durableSinks().map((name) => {
        const found = traffic.sinks[name];
        return {
          name,
          delivered: perMinute(found?.delivered ?? []),
          retried: perMinute(found?.retried ?? []),
          failed: perMinute(found?.failed ?? []),
          delayMs: found?.delayMs ?? null,
        };
      }),
    };
    lastTraffic = { at: until, newest, body };
    res.json(body);
  });

  // The dashboard's health panel: everything /healthz says, with the errors in full, and who runs where.
  router.get("/api/status", async (_req: Request, res: Response) => {
    const uptimeSeconds = Math.round(process.uptime());
    res.json({
      version: VERSION,
      startedAt: new Date(Date.now() - uptimeSeconds * 1000).toISOString(),
      uptimeSeconds,
      store: { engine: store.engine, location: store.location },
      sinks: await dispatcher.sinkStates(),
      hooks: hooksWatch?.state ?? null,
    });
  });

  return router;
}
