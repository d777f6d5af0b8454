import express, { type Router } from "express";
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { DeliveryOutcome } from "../../core/delivery-queue.js";
import type { HookKind } from "../../core/event.js";
import { KNOWN_EVENT_TYPES } from "../../gitlab/event-catalogue.js";
import type { CommitTotals, DeliveryCounts, Store } from "../../core/store.js";

interface DaemonMetrics {
  onResponse(route: string, method: string, status: number, durationMs: number): void;
  onAccepted(hook: HookKind, type: string, durationMs: number): void;
  onAuthFailure(): void;
  onDelivery(outcome: DeliveryOutcome): void;
}

/** The daemon's own metrics, in the registry served at /metrics (sinks add theirs to it too). */
export function createDaemonMetrics(registry: Registry, store: Store, sinkNames: () => readonly string[]): DaemonMetrics {
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "gitlab_webhooks_http_requests_total",
    help: "HTTP requests by route, method and status",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const received = new Counter({
    name: "gitlab_webhooks_events_received_total",
    help: "Events stored, by hook and type",
    labelNames: ["hook", "type"],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: "gitlab_webhooks_auth_failures_total",
    help: "Requests to /hooks refused for a missing or wrong token or signature",
    registers: [registry],
  });
  const ingestSeconds = new Histogram({
    name: "gitlab_webhooks_ingest_duration_seconds",
    help: "Time from a /hooks request's body to its committed acknowledgement",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: "gitlab_webhooks_deliveries_total",
    help: "Delivery attempts by sink and outcome (delivered, retry, failed)",
    labelNames: ["sink", "outcome"],
    registers: [registry],
  });
  /** A gauge per sink, read from the store's delivery counts at each scrape. */
  const perSink = (name: string, help: string, value: (counts: DeliveryCounts | undefined, now: number) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["sink"],
      registers: [registry],
      async collect() {
        const counts = await store.deliveryCounts();
        const now = Date.now();
        this.reset();
        for (const sink of sinkNames()) this.set({ sink }, value(counts.get(sink), now));
      },
    });
  // One read of the store's totals per scrape (its three counters are collected together), so that
  // they agree with each other.
  let reading: Promise<CommitTotals> | null = null;
  const appendTotals = () => (reading ??= store.appendTotals().finally(() => setImmediate(() => (reading = null))));
  /** A counter kept by the store's group commit of appends, read at each scrape. */
  const appendTotal = (name: string, help: string, value: (totals: CommitTotals) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      async collect() {
        const totals = await appendTotals();
        this.reset();
        this.inc(value(totals));
      },
    });
  appendTotal("gitlab_webhooks_store_append_batches_total", "Append transactions (group commits) since the store opened", (t) => t.batches);
  appendTotal("gitlab_webhooks_store_appends_total", "Appends in those transactions (a batch's events)", (t) => t.items);
  appendTotal(
    "gitlab_webhooks_store_append_seconds_total",
    "Time spent in append transactions, SQL and commit (fsync) together",
    (t) => t.seconds,
  );
  new Gauge({
    name: "gitlab_webhooks_store_append_longest_seconds",
    help: "The longest append transaction since the store opened (a stall on the commit path)",
    registers: [registry],
    async collect() {
      this.set((await appendTotals()).longestSeconds);
    },
  });
  perSink("gitlab_webhooks_delivery_queue_depth", "Pending deliveries per sink", (counts) => counts?.pending ?? 0);
  perSink("gitlab_webhooks_delivery_failed", "Dead-lettered deliveries per sink", (counts) => counts?.failed ?? 0);
  perSink(
    "gitlab_webhooks_delivery_oldest_pending_age_seconds",
    "Age of the oldest pending delivery per sink (0 when none)",
    (counts, now) => (counts?.oldestPendingAt == null ? 0 : Math.max(0, (now - counts.oldestPendingAt) / 1000)),
  );

  // Each label set's child is made once, not a labels object built and checked on every request.
  // Their number is bounded: routes are the daemon's own, methods those HTTP knows, types a catalogue,
  // sinks and outcomes the daemon's.
  const requestsBy = memoized((route: string, method: string, status: number) => requests.labels(route, method, String(status)));
  const receivedBy = memoized((hook: string, type: string) => received.labels(hook, type));
  const deliveriesBy = memoized((sink: string, outcome: string) => deliveries.labels(sink, outcome));
  return {
    onResponse: (route, method, status) => requestsBy(route, method, status).inc(),
    onAccepted: (hook, type, durationMs) => {
      receivedBy(hook, KNOWN_EVENT_TYPES.has(type) ? type : "other").inc();
      ingestSeconds.observe(durationMs / 1000);
    },
    onAuthFailure: () => authFailures.inc(),
    onDelivery: (outcome) => deliveriesBy(outcome.sink, outcome.outcome).inc(),
  };
}

/** `make`, remembered by its arguments (joined by a character none of them holds). */
function memoized<Args extends (string | number)[], T>(make: (...args: Args) => T): (...args: Args) => T {
  const made = new Map<string, T>();
  return (...args) => {
    const key = args.join("\n");
    let value = made.get(key);
    if (value === undefined) made.set(key, (value = make(...args)));
    return value;
  };
}

/** `GET /metrics` in Prometheus text format. */
export function createMetricsRouter(registry: Registry): Router {
  const router = express.Router();
  router.get("/metrics", async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
