import type { Logger } from "winston";
import { retryDelayMs, type BackoffOptions } from "./backoff.js";
import { PermanentError, type Sink, type SinkContext } from "./sink.js";
import type { DueDelivery, Store } from "./store.js";

export interface DeliveryQueueOptions {
  maxAttempts: number;
  backoff: BackoffOptions;
  /** How many due deliveries one look at the store fetches. */
  batchSize?: number;
  /** The longest a queue sleeps without looking at the store again. */
  maxIdleMs?: number;
}

/**
 * Deliveries a lane runs before it waits for their outcomes to be committed. Recording them in
 * bulk saves a commit per event; after a crash, at most this many per lane ran without being
 * recorded and run again (delivery is at least once; sinks with side effects keep ledgers).
 */
export const UNRECORDED_PER_LANE = 64;

export interface DeliveryOutcome {
  sink: string;
  outcome: "delivered" | "retry" | "failed";
  durationMs: number;
}

/**
 * One sink's durable queue: runs its due deliveries, records each outcome in the store, and
 * schedules retries with backoff. Events of one project run one after another in id order;
 * different projects run side by side up to the sink's concurrency.
 */
export class DeliveryQueue {
  private readonly running = new Map<number, string | null>();
  private readonly runningKeys = new Set<string>();
  /** Lanes running now: each runs its groups (one project's events each) one after another. */
  private readonly lanes = new Set<Promise<void>>();
  private pumping = false;
  private pumpAgain = false;
  private timer: NodeJS.Timeout | undefined;
  /** No new deliveries start. */
  private stopped = false;
  /** Past the shutdown grace period: outcomes are no longer written (the store is closing). */
  private abandoned = false;
  private readonly concurrency: number;

  constructor(
    readonly sink: Sink,
    private readonly ctx: SinkContext,
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly options: DeliveryQueueOptions,
    private readonly onOutcome: (outcome: DeliveryOutcome) => void = () => {},
  ) {
    this.concurrency = Math.max(1, sink.concurrency ?? 4);
  }

  /** Looks for due deliveries now (new events, a requeue, start-up). */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.wake();
      }
    });
  }

  private async pump(): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.timer);
    try {
      const now = Date.now();
      const free = this.concurrency - this.lanes.size;
      if (free <= 0) return;
      const [waiting, due] = await Promise.all([
        this.store.waitingKeys(this.sink.name, now),
        this.store.dueDeliveries(this.sink.name, now, this.options.batchSize ?? 256, [...this.running.keys()]),
      ]);
      // Every fetched group gets run: dealt round-robin over the free lanes.
      const groups = this.groupByKey(due, waiting);
      const lanes = Array.from({ length: Math.min(free, groups.length) }, (_, lane) => groups.filter((_, index) => index % free === lane));
      for (const lane of lanes) this.startLane(lane);
      if (this.lanes.size === 0) await this.sleepUntilNextDue();
    } catch (error) {
      if (this.stopped) return;
      this.logger.error("delivery queue could not read the store", { sink: this.sink.name, error: String(error) });
      this.schedule(1000);
    }
  }

  /** Splits due deliveries into runs that may go side by side; a key already running or waiting is skipped. */
  private groupByKey(due: DueDelivery[], waiting: Map<string, number>): DueDelivery[][] {
    const byKey = new Map<string, DueDelivery[]>();
    const groups: DueDelivery[][] = [];
    for (const delivery of due) {
      const key = delivery.orderingKey;
      if (key === null) {
        groups.push([delivery]);
        continue;
      }
      if (this.runningKeys.has(key)) continue;
      const firstWaiting = waiting.get(key);
      if (firstWaiting !== undefined && firstWaiting < delivery.event.id) continue;
      const group = byKey.get(key);
      if (group) group.push(delivery);
      else {
        const fresh = [delivery];
        byKey.set(key, fresh);
        groups.push(fresh);
      }
    }
    return groups;
  }

  private startLane(groups: DueDelivery[][]): void {
    for (const group of groups) {
      const key = group[0]?.orderingKey ?? null;
      if (key !== null) this.runningKeys.add(key);
      for (const delivery of group) this.running.set(delivery.event.id, key);
    }
    const run = (async () => {
      const unrecorded: Promise<void>[] = [];
      try {
        for (const group of groups) {
          for (const delivery of group) {
            if (this.stopped) return;
            const { ok, recorded } = await this.deliver(delivery);
            // Stays "running" until its outcome is committed, so no pump picks it up again.
            unrecorded.push(recorded.finally(() => this.running.delete(delivery.event.id)));
            if (unrecorded.length >= UNRECORDED_PER_LANE) await Promise.all(unrecorded.splice(0));
            // A retry keeps the rest of this project's events waiting behind it.
            if (!ok) break;
          }
        }
      } finally {
        await Promise.all(unrecorded);
      }
    })().finally(() => {
      for (const group of groups) {
        for (const delivery of group) this.running.delete(delivery.event.id);
        const key = group[0]?.orderingKey ?? null;
        if (key !== null) this.runningKeys.delete(key);
      }
      this.lanes.delete(run);
      this.wake();
    });
    this.lanes.add(run);
  }

  /**
   * Runs one delivery. `ok`: the project's next event may follow it. `recorded`: settles once the
   * outcome is committed (it never rejects: an outcome that cannot be recorded leaves the delivery
   * pending, to run again).
   */
  private async deliver(delivery: DueDelivery): Promise<{ ok: boolean; recorded: Promise<void> }> {
    const { event } = delivery;
    const started = performance.now();
    const sink = this.sink.name;
    const unrecordable = (error: unknown): void => {
      this.logger.error("could not record a delivery's outcome; it will run again", { sink, eventId: event.id, error: String(error) });
    };
    try {
      await this.sink.handle(event.toEvent(), this.ctx);
      if (this.abandoned) return { ok: false, recorded: Promise.resolve() };
      const recorded = this.store
        .markDelivered(sink, event.id, Date.now())
        .then(() => this.onOutcome({ sink, outcome: "delivered", durationMs: performance.now() - started }), unrecordable);
      return { ok: true, recorded };
    } catch (error) {
      if (this.abandoned) return { ok: false, recorded: Promise.resolve() };
      const attempts = delivery.attempts + 1;
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof PermanentError;
      const giveUp = permanent || attempts >= this.options.maxAttempts;
      const retryAt = giveUp ? null : Date.now() + retryDelayMs(attempts, this.options.backoff);
      // A failure is recorded before the project's next event may run.
      await this.store.markFailed(sink, event.id, message, retryAt, Date.now()).catch(unrecordable);
      this.onOutcome({ sink, outcome: giveUp ? "failed" : "retry", durationMs: performance.now() - started });
      const fields = { sink, eventId: event.id, type: event.meta.type, attempts, error: message };
      if (giveUp) {
        const why = permanent ? "permanent error" : `${attempts} attempts`;
        this.logger.error(`delivery failed for good (${why}); retry it from the admin API`, fields);
      } else {
        this.logger.warn("delivery failed; will retry", { ...fields, retryAt: new Date(retryAt ?? 0).toISOString() });
      }
      return { ok: giveUp, recorded: Promise.resolve() };
    }
  }

  private async sleepUntilNextDue(): Promise<void> {
    const next = await this.store.nextDueAt(this.sink.name);
    const idle = this.options.maxIdleMs ?? 60_000;
    this.schedule(next === null ? idle : Math.min(idle, Math.max(0, next - Date.now())));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), delayMs);
    this.timer.unref();
  }

  /** Busy deliveries: how many are running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Stops taking deliveries and waits up to `timeoutMs` for those running. What has not
   * finished by then stays pending in the store and runs again at the next start.
   */
  async stop(timeoutMs: number): Promise<void> {
    const waitFor = Promise.allSettled([...this.lanes]);
    this.stopped = true;
    clearTimeout(this.timer);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([waitFor, new Promise((resolve) => (timeout = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timeout);
    this.abandoned = true;
  }
}
