import type { Router } from "express";
import type { Registry } from "prom-client";
import type { Logger } from "winston";
import type { Bus } from "./bus.js";
import type { GitLabEvent } from "./event.js";
import type { SinkLedger } from "./ledger.js";
import type { Store } from "./store.js";

/**
 * What a sink is given: a sink is a function of its context (the Probot way). `Config` is what the
 * wiring parsed from the environment: the plugin API (src/index.ts) gives plugins the whole of it.
 */
export interface SinkContext<Config extends object = object> {
  config: Config;
  store: Store;
  logger: Logger;
  /** Stored events, in id order, as they are committed: for sinks that serve live subscribers. */
  bus: Bus;
  /** Routes a sink serves (the SSE feed, a read API), mounted on the daemon's HTTP app. */
  router: Router;
  /** Prometheus registry served at /metrics: sinks add their own gauges and counters. */
  metrics: Registry;
  /** A signal that aborts when the daemon shuts down: pass it to long waits and requests. */
  signal: AbortSignal;
  /**
   * This sink's side-effect ledger: `ledger.once(key, act, { wasApplied })` acts once per key,
   * whatever the retries, redeliveries and daemons (use it in handle(), not in the factory).
   */
  ledger: SinkLedger;
}

/** What every sink shares; each sink's own context adds its ledger. */
export type SharedSinkContext<Config extends object = object> = Omit<SinkContext<Config>, "ledger">;

export interface Sink<Config extends object = object> {
  name: string;
  /** Cheap filter, no I/O: run at ingest, inside the transaction that stores the event. */
  accepts(event: GitLabEvent): boolean;
  /**
   * Throw to retry with backoff; throw PermanentError to dead-letter at once, RetryLaterError to retry
   * at a time the downstream named. An error's numeric `status` is kept as the downstream's HTTP status.
   */
  handle(event: GitLabEvent, ctx: SinkContext<Config>): Promise<void>;
  /**
   * Which deliveries must run one after another, in id order: those with the same key. Null lets
   * a delivery run beside any other. Default: one project's events in order.
   */
  orderingKey?(event: GitLabEvent): string | null;
  /** Deliveries run at once for this sink (deliveries of one ordering key always run one after another). */
  concurrency?: number;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /** Reopen files after log rotation (SIGHUP). */
  reopen?(): Promise<void>;
  /**
   * Facts for /healthz and the dashboard (no secrets): who the sink posts as, a token's expiry.
   * A `problem` (a sentence) shows the sink as degraded, e.g. a token about to expire.
   */
  health?(): Record<string, unknown>;
}

/** Makes a sink; or several, each with its own name and queue (the `http` sink: one per endpoint). */
export type SinkFactory<Config extends object = object> = (
  ctx: SinkContext<Config>,
) => Sink<Config> | readonly Sink<Config>[] | Promise<Sink<Config> | readonly Sink<Config>[]>;

export type { OnceOptions, SinkLedger } from "./ledger.js";
export { classifyFailure, isPermanentError, PermanentError, RetryLaterError, type Failure } from "./failure.js";
