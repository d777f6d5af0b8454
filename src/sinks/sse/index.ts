import type { Request, Response } from "express";
import { Gauge } from "prom-client";
import type { StoredEvent } from "../../core/event.js";
import { sendError } from "../../http/json-errors.js";
import { bearerToken, matchesAnySecret } from "../../support/secrets.js";
import type { Sink, SinkFactory } from "../../core/sink.js";
import { publicEventJson } from "./public-payload.js";
import { FeedSlots } from "./feed-slots.js";
import { ReplayTurns } from "./replay-turns.js";
import { parseFormat, smeeJson } from "./smee-frame.js";
import { Subscriber } from "./subscriber.js";
import { parseFilters, subscriptionPredicate, withheldPredicate } from "./subscription.js";
import type { DaemonConfig } from "../../config/daemon-settings.js";
import type { SseSettings } from "./settings.js";
import { errorMessage } from "../../support/error-message.js";

/** What this sink reads of the configuration. */
type Settings = DaemonConfig & SseSettings;

/** How long a disconnected EventSource waits before it reconnects (the `retry:` hint). */
const RETRY_HINT_MS = 1000;

function parseCursor(value: unknown): number | null | { error: string } {
  if (value === undefined || value === "") return null;
  const text = String(value);
  if (!/^\d{1,15}$/.test(text))
    return { error: `since / Last-Event-ID must be an event id (a whole number), got ${JSON.stringify(text.slice(0, 40))}` };
  return Number(text);
}

/**
 * `sse`: the event feed at GET /sse/. Live events come from the bus, not from a delivery queue,
 * so the feed costs the store nothing per event; a subscriber resumes from the store by id.
 */
export const createSseSink: SinkFactory<Settings> = ({ config, store, logger, bus, router, metrics, signal }) => {
  const subscribers = new Set<Subscriber>();
  const slots = new FeedSlots(config.SSE_MAX_CLIENTS);
  // Admin tokens see everything too: the dashboard follows the feed with one.
  const readTokens = [...config.SSE_TOKEN, ...config.ADMIN_TOKEN];
  new Gauge({
    name: "gitlab_webhooks_sse_subscribers",
    help: "Subscribers connected to the /sse/ feed",
    registers: [metrics],
    collect() {
      this.set(slots.size);
    },
  });
  /** An event's SSE message, made once and shared by every subscriber: whole, or as anonymous ones see it. */
  const framer = (json: (event: StoredEvent) => string) => {
    const frames = new WeakMap<StoredEvent, Buffer>();
    return (event: StoredEvent): Buffer => {
      let bytes = frames.get(event);
      if (!bytes) {
        bytes = Buffer.from(`id: ${event.id}\ndata: ${json(event)}\n\n`);
        frames.set(event, bytes);
      }
      return bytes;
    };
  };
  const wholeFrame = framer((event) => event.json);
  const publicFrame = config.SSE_ANONYMOUS_FULL_PAYLOAD ? wholeFrame : framer(publicEventJson);
  const smeeFrames = {
    whole: framer((event) => smeeJson(event, true, true)),
    public: framer((event) => smeeJson(event, false, config.SSE_ANONYMOUS_FULL_PAYLOAD)),
  };
  const turns = new ReplayTurns();

  const unsubscribe = bus.subscribe((events) => {
    for (const subscriber of subscribers) subscriber.offer(events);
  });
  const keepalive = setInterval(() => {
    for (const subscriber of subscribers) {
      subscriber.tellWithheld();
      subscriber.write(": keepalive\n\n");
    }
  }, config.SSE_KEEPALIVE_SECONDS * 1000);
  keepalive.unref();

  const cors = { "Access-Control-Allow-Origin": "*" };

  router.options(["/sse", "/sse/"], (_req: Request, res: Response) => {
    res
      .status(204)
      .set({ ...cors, "Access-Control-Allow-Headers": "Authorization, Last-Event-ID", "Access-Control-Allow-Methods": "GET" })
      .end();
  });

  router.get(["/sse", "/sse/"], async (req: Request, res: Response) => {
    const query = req.query as Record<string, unknown>;
    const token = bearerToken(req.headers.authorization) ?? (typeof query.token === "string" ? query.token : undefined);
    if (token !== undefined && !matchesAnySecret(token, readTokens)) {
      const why = readTokens.length === 0 ? "this daemon has no SSE_TOKEN, so no token is valid" : "the token is not one of SSE_TOKEN";
      return sendError(res, 401, `${why}; connect without a token for public projects' events`, cors);
    }
    const filters = parseFilters(query);
    if ("error" in filters) return sendError(res, 400, filters.error, cors);
    const since = parseCursor(req.headers["last-event-id"] ?? query.since);
    if (since !== null && typeof since === "object") return sendError(res, 400, since.error, cors);
    const format = parseFormat(query.format);
    if (typeof format === "object") return sendError(res, 400, format.error, cors);
    const privileged = token !== undefined;
    const release = slots.take(privileged);
    if (!release) {
      const who = privileged ? "" : `, ${slots.reservedForTokens} of them kept for token holders`;
      return sendError(res, 503, `the feed has its maximum of ${config.SSE_MAX_CLIENTS} subscribers (SSE_MAX_CLIENTS${who}); retry later`, {
        ...cors,
        "Retry-After": "30",
      });
    }
    // Given back however the response ends: the client leaves (even while the store is read below),
    // the subscriber is cut off, the daemon stops, or an error answers the request.
    let gone = false;
    res.on("close", () => {
      gone = true;
      release();
    });

    const { oldest, newest } = await store.idRange();
    if (gone) return;
    // A close-delimited body instead of chunked encoding: each shared frame then goes to the socket
    // as it is, one write per subscriber, which is what fan-out to a thousand subscribers costs.
    res.useChunkedEncodingByDefault = false;
    res.writeHead(200, {
      ...cors,
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no",
      Connection: "close",
    });
    res.flushHeaders();
    const socket = req.socket;
    socket.setNoDelay(true);
    socket.write(`retry: ${RETRY_HINT_MS}\n: connected\n\n`);

    // Where replay starts, and why it cannot start where asked: events pruned (RETENTION_DAYS), or an
    // id this store never gave (the store was replaced: a fresh SQLite file after a restart).
    const firstKept = oldest ?? newest + 1;
    const stale =
      since === null
        ? null
        : since > newest
          ? "no stored event has this id or a later one: the store was replaced or reset, so everything it holds is sent again"
          : since + 1 < firstKept
            ? "older events were pruned (RETENTION_DAYS)"
            : !privileged && newest - since > config.SSE_MAX_REPLAY
              ? `a subscriber without a token replays at most SSE_MAX_REPLAY (${config.SSE_MAX_REPLAY}) events`
              : null;
    const resumeFrom = !privileged && newest + 1 - firstKept > config.SSE_MAX_REPLAY ? newest + 1 - config.SSE_MAX_REPLAY : firstKept;
    const cursor = since === null ? newest : stale === null ? since : resumeFrom - 1;

    const subscriber = new Subscriber(
      {
        res,
        socket,
        store,
        predicate: subscriptionPredicate(filters, privileged),
        withheld: privileged ? null : withheldPredicate(filters),
        frame: format === "smee" ? smeeFrames[privileged ? "whole" : "public"] : privileged ? wholeFrame : publicFrame,
        turns,
        maxBacklogBytes: config.SSE_MAX_BACKLOG_BYTES,
        onOverflow: () => {
          logger.warn("feed subscriber is not reading; disconnected (it can resume with Last-Event-ID)", { ip: req.ip });
          res.destroy();
        },
      },
      cursor,
    );
    subscribers.add(subscriber);
    res.on("close", () => subscribers.delete(subscriber));
    logger.debug("feed subscriber connected", { ip: req.ip, since, filters, privileged: token !== undefined });

    if (stale !== null)
      res.write(`event: stale\ndata: ${JSON.stringify({ requested: since, resumingFrom: cursor + 1, reason: stale })}\n\n`);
    try {
      await subscriber.replay();
    } catch (error) {
      // The store went away mid-replay: the subscriber reconnects and resumes from its last id.
      logger.warn("feed replay failed; the subscriber will resume", { error: errorMessage(error) });
      subscriber.end();
    }
  });

  const closeAll = () => {
    for (const subscriber of subscribers) {
      subscriber.write(": daemon stopping\n\n");
      subscriber.end();
    }
    subscribers.clear();
  };
  signal.addEventListener("abort", closeAll, { once: true });

  const sink: Sink = {
    name: "sse",
    // The feed follows the bus live and replays from the store: it needs no delivery queue.
    accepts: () => false,
    handle: async () => {},
    async stop() {
      clearInterval(keepalive);
      unsubscribe();
      closeAll();
    },
    health: () => ({ subscribers: slots.size }),
  };
  return sink;
};
