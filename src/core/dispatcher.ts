import type { Logger } from "winston";
import type { Bus } from "./bus.js";
import { DeliveryQueue, type DeliveryOutcome, type DeliveryQueueOptions } from "./delivery-queue.js";
import type { EventMeta, GitLabEvent, StoredEvent } from "./event.js";
import { rateLimitedLog } from "../support/rate-limited-log.js";
import type { LoadedSink } from "./load-sinks.js";
import type { Sink } from "./sink.js";
import { SinkHealth, type SinkCondition } from "./sink-health.js";
import { projectOrderingKey } from "./ordering-key.js";
import type { Store } from "./store.js";
import { errorMessage } from "../support/error-message.js";

/** Renewals sent at once at most, when the store is slow to answer them. */
const MAX_RENEWALS_IN_FLIGHT = 3;

export type SinkStatus = { name: string; pending: number; failed: number; inFlight: number } & SinkCondition & Record<string, unknown>;

/** Owns one delivery queue per enabled sink, wakes them as events are committed, and keeps their claims alive. */
export class Dispatcher {
  readonly queues: ReadonlyMap<string, DeliveryQueue>;
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Renewals sent and not yet answered. */
  private renewalsInFlight = 0;
  private readonly renewTrouble: (message: string, fields?: Record<string, unknown>) => void;

  readonly sinks: readonly Sink[];

  constructor(
    loaded: readonly LoadedSink[],
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly options: DeliveryQueueOptions,
    onOutcome?: (outcome: DeliveryOutcome) => void,
  ) {
    this.sinks = loaded.map(({ sink }) => sink);
    this.queues = new Map(loaded.map(({ sink, ctx }) => [sink.name, new DeliveryQueue(sink, ctx, store, logger, options, onOutcome)]));
    this.renewTrouble = rateLimitedLog(logger, "error");
  }

  /** The deliveries to store with this event: one per sink that wants it, with that sink's ordering key. */
  deliveriesFor(event: GitLabEvent): { sink: string; orderingKey: string | null }[] {
    return this.sinks
      .filter((sink) => this.accepts(sink, event))
      .map((sink) => ({ sink: sink.name, orderingKey: this.orderingKey(sink, event) }));
  }

  /** Names of the sinks that want this event. */
  sinksFor(event: GitLabEvent): string[] {
    return this.deliveriesFor(event).map((delivery) => delivery.sink);
  }

  /** A filter that throws queues the event anyway: its handle() then fails visibly, and nothing is lost. */
  private accepts(sink: Sink, event: GitLabEvent): boolean {
    try {
      return sink.accepts(event);
    } catch (error) {
      this.logger.error("a sink's accepts() threw; queuing the event for it anyway", { sink: sink.name, error: errorMessage(error) });
      return true;
    }
  }

  private orderingKey(sink: Sink, event: GitLabEvent): string | null {
    if (!sink.orderingKey) return projectOrderingKey(event);
    try {
      return sink.orderingKey(event);
    } catch (error) {
      this.logger.error("a sink's orderingKey() threw; ordering the event by project", { sink: sink.name, error: errorMessage(error) });
      return projectOrderingKey(event);
    }
  }

  /** Resumes every sink's undelivered events, then follows new ones. */
  async start(): Promise<void> {
    // A store only one daemon may use at a time (SQLite, locked while open) holds no live claim:
    // those of a previous run are void.
    if (!this.store.shared) await this.store.releaseAllClaims();
    this.scheduleRenewal(Date.now() + this.renewEveryMs);
    this.unsubscribe = this.bus.subscribe((events) => this.wakeFor(events));
    this.wakeAll();
  }

  /**
   * A lane trusts its claim for two thirds of the lease after the last renewal that confirmed it
   * (sent, not answered). Renewing every sixth of the lease leaves a renewal up to half the lease to
   * come back (measured on a loaded machine: up to a second) before its lane must stop.
   */
  private get renewEveryMs(): number {
    return Math.max(100, Math.floor(this.options.leaseMs / 6));
  }

  private scheduleRenewal(at: number): void {
    this.heartbeat = setTimeout(
      () => {
        const lateMs = Date.now() - at;
        void this.renewClaims(lateMs);
        this.scheduleRenewal(Math.max(Date.now(), at + this.renewEveryMs));
      },
      Math.max(0, at - Date.now()),
    );
    this.heartbeat.unref();
  }

  /** Extends the claims the lanes hold, and tells each queue which of its claims are gone. */
  private async renewClaims(lateMs: number): Promise<void> {
    // A slow renewal (stuck behind other statements, or on a connection that broke) does not hold
    // the next one back: each round is sent on time. A store that answers none does not pile them
    // up: past a few in flight, rounds wait.
    if (this.renewalsInFlight >= MAX_RENEWALS_IN_FLIGHT) {
      this.logger.warn("claim renewal skipped: the previous one is still running", { lateMs });
      return;
    }
    const asked = [...this.queues.values()].map((queue) => ({ queue, claims: queue.heldClaims() }));
    const all = asked.flatMap(({ claims }) => claims);
    if (all.length === 0) return;
    const at = Date.now();
    this.renewalsInFlight++;
    try {
      const held = new Set(await this.store.renewClaims(all, at));
      for (const { queue, claims } of asked) queue.renewed(claims, held, at);
      const tookMs = Date.now() - at;
      if (tookMs + lateMs > this.renewEveryMs / 2) this.logger.warn("claim renewal slow", { tookMs, lateMs, claims: all.length });
    } catch (error) {
      this.renewTrouble("could not renew this daemon's delivery claims; another daemon may take them over", { error: errorMessage(error) });
    } finally {
      this.renewalsInFlight--;
    }
  }

  wakeAll(): void {
    for (const queue of this.queues.values()) queue.wake();
  }

  /**
   * Wakes the queues these new events queued deliveries for: a queue looks at the store (a claim,
   * a transaction) each time it wakes, and a sink with nothing new (the feed never has deliveries)
   * need not. Events this daemon stored say which sinks they were queued for; an event read from
   * the store (another daemon's) does not, and wakes every queue.
   */
  private wakeFor(events: readonly StoredEvent[]): void {
    const keysBySink = new Map<string, (string | null)[]>();
    for (const event of events) {
      if (event.queuedFor === null) return this.wakeAll();
      for (const { sink, orderingKey } of event.queuedFor) {
        const keys = keysBySink.get(sink);
        if (keys) keys.push(orderingKey);
        else keysBySink.set(sink, [orderingKey]);
      }
    }
    for (const [sink, keys] of keysBySink) this.queues.get(sink)?.wakeFor(keys);
  }

  /** Each sink's condition (ok, degraded, failing and why), its queue, and what the sink itself reports; no secrets. */
  async sinkStates(): Promise<SinkStatus[]> {
    const counts = await this.store.deliveryCounts();
    return this.sinks.map((sink) => {
      const { problem, ...facts } = sink.health?.() ?? {};
      const queue = this.queues.get(sink.name);
      const found = counts.get(sink.name);
      return {
        name: sink.name,
        ...(queue?.health ?? new SinkHealth()).condition(found, typeof problem === "string" ? problem : undefined),
        pending: found?.pending ?? 0,
        failed: found?.failed ?? 0,
        inFlight: queue?.inFlight ?? 0,
        ...facts,
      };
    });
  }

  /** Queues an event again for the named sinks (by default, every sink that accepts it). */
  async requeue(event: EventMeta & { payload: unknown }, sinkNames?: readonly string[]): Promise<number> {
    const wanted = sinkNames
      ? this.sinks.filter((sink) => sinkNames.includes(sink.name))
      : this.sinks.filter((sink) => this.accepts(sink, event));
    const count = await this.store.requeue(
      wanted.map((sink) => ({ sink: sink.name, eventId: event.id, orderingKey: this.orderingKey(sink, event) })),
      Date.now(),
    );
    for (const sink of wanted) this.queues.get(sink.name)?.wake();
    return count;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.unsubscribe?.();
    clearTimeout(this.heartbeat);
    await Promise.all([...this.queues.values()].map((queue) => queue.stop(timeoutMs)));
  }
}
