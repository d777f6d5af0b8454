import type { Logger } from "winston";
import type { Bus } from "./bus.js";
import { DeliveryQueue, type DeliveryOutcome, type DeliveryQueueOptions } from "./delivery-queue.js";
import type { GitLabEvent } from "./event.js";
import type { Sink, SinkContext } from "./sink.js";
import type { Store } from "./store.js";

/** Owns one delivery queue per enabled sink and wakes them as events are committed. */
export class Dispatcher {
  readonly queues: ReadonlyMap<string, DeliveryQueue>;
  private unsubscribe: (() => void) | undefined;

  constructor(
    readonly sinks: readonly Sink[],
    ctx: SinkContext,
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly logger: Logger,
    options: DeliveryQueueOptions,
    onOutcome?: (outcome: DeliveryOutcome) => void,
  ) {
    this.queues = new Map(
      sinks.map((sink) => [sink.name, new DeliveryQueue(sink, ctx, store, logger, options, onOutcome)]),
    );
  }

  /** Names of the sinks that want this event: each gets a durable delivery, stored with the event. */
  sinksFor(event: GitLabEvent): string[] {
    return this.sinks.filter((sink) => this.accepts(sink, event)).map((sink) => sink.name);
  }

  /** A filter that throws queues the event anyway: its handle() then fails visibly, and nothing is lost. */
  private accepts(sink: Sink, event: GitLabEvent): boolean {
    try {
      return sink.accepts(event);
    } catch (error) {
      this.logger.error("a sink's accepts() threw; queuing the event for it anyway", { sink: sink.name, error: String(error) });
      return true;
    }
  }

  /** Resumes every sink's undelivered events, then follows new ones. */
  start(): void {
    this.unsubscribe = this.bus.subscribe(() => this.wakeAll());
    this.wakeAll();
  }

  wakeAll(): void {
    for (const queue of this.queues.values()) queue.wake();
  }

  /** Each sink's queue (pending, failed, in flight) and what the sink itself reports; no secrets. */
  async sinkStates(): Promise<({ name: string; pending: number; failed: number; inFlight: number } & Record<string, unknown>)[]> {
    const counts = await this.store.deliveryCounts();
    return this.sinks.map((sink) => ({
      name: sink.name,
      pending: counts.get(sink.name)?.pending ?? 0,
      failed: counts.get(sink.name)?.failed ?? 0,
      inFlight: this.queues.get(sink.name)?.inFlight ?? 0,
      ...sink.health?.(),
    }));
  }

  async requeue(eventIds: readonly number[], sinks?: readonly string[]): Promise<number> {
    const names = sinks ?? [...this.queues.keys()];
    const count = await this.store.requeue(eventIds, names, Date.now());
    for (const name of names) this.queues.get(name)?.wake();
    return count;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.unsubscribe?.();
    await Promise.all([...this.queues.values()].map((queue) => queue.stop(timeoutMs)));
  }
}
