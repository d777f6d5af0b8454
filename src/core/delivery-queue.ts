import type { Logger } from "winston";
import { retryDelayMs, type BackoffOptions } from "./backoff.js";
import { rateLimitedLog } from "../support/rate-limited-log.js";
import { classifyFailure } from "./failure.js";
import { ClaimLostError, runUnderClaim } from "./delivery-claim.js";
import { storedOrderingKey } from "./ordering-key.js";
import { SinkHealth } from "./sink-health.js";
import type { Sink, SinkContext } from "./sink.js";
import type { DueDelivery, Store } from "./store.js";
import { errorMessage } from "../support/error-message.js";

export interface DeliveryQueueOptions {
  maxAttempts: number;
  backoff: BackoffOptions;
  /** Who claims deliveries: this daemon, among every daemon on the store. */
  owner: string;
  /** A claim not renewed for this long is taken over by another daemon. */
  leaseMs: number;
  /** How many due deliveries one look at the store claims. */
  batchSize?: number;
  /** The longest a queue sleeps without looking at the store again. */
  maxIdleMs?: number;
  /** Takes secrets out of an error before it is stored or shown (a downstream may echo a token). */
  redact?: (text: string) => string;
}

/**
 * Deliveries a lane runs before it waits for their outcomes to be committed. Recording them in
 * bulk saves a commit per event; after a crash, at most this many per lane ran without being
 * recorded and run again (delivery is at least once; sinks with side effects keep ledgers).
 */
export const UNRECORDED_PER_LANE = 64;

/** The longest a downstream's Retry-After may park a delivery: a bogus date must not park it for years. */
const MAX_RETRY_AFTER_MS = 86_400_000;

/** Backoff for an outcome the store would not take (full disk, database away). */
const RECORD_RETRY: BackoffOptions = { minMs: 500, maxMs: 30_000 };

/**
 * A claim one of this queue's lanes holds. `controller` aborts the signal of the delivery running
 * under it the moment the claim is known gone, or must be assumed gone (not confirmed for two thirds
 * of the lease: another daemon may take it over once the lease lapses).
 */
interface HeldClaim {
  renewedAt: number;
  lost: boolean;
  controller: AbortController;
  /** What a delivery under this claim is handed: the claim's signal joined with the daemon's shutdown. */
  signal: AbortSignal;
  deadline: NodeJS.Timeout | undefined;
}

export interface DeliveryOutcome {
  sink: string;
  outcome: "delivered" | "retry" | "failed";
  durationMs: number;
}

/**
 * One sink's durable queue: claims its due deliveries in the store, runs them, records each
 * outcome, and schedules retries with backoff. Deliveries with one ordering key run one after
 * another in id order, whichever daemon runs them; different keys run side by side up to the
 * sink's concurrency.
 */
export class DeliveryQueue {
  /** Event ids claimed by this queue and not yet recorded or given back: never claimed again meanwhile. */
  private readonly running = new Set<number>();
  /** The claims this queue's lanes hold, and when the store last confirmed each. */
  private readonly claims = new Map<string, HeldClaim>();
  /** Lanes running now: each runs one ordering key's claimed deliveries one after another. */
  private readonly lanes = new Set<Promise<void>>();
  /**
   * The ordering keys of those lanes, as the store keeps them (a claim's): a new delivery of one
   * waits behind it, and its end looks again.
   */
  private readonly laneKeys = new Set<string>();
  private pumping = false;
  /**
   * Asked for while a look ran, and done once it ends: a look at everything (true), or at the
   * deliveries of these ordering keys, which a lane it started may have taken into its key since.
   */
  private pumpAgain: true | Set<string | null> | false = false;
  private timer: NodeJS.Timeout | undefined;
  /** No new deliveries start. */
  private stopped = false;
  /** Past the shutdown grace period: outcomes are no longer written (the store is closing). */
  private abandoned = false;
  private readonly concurrency: number;
  /** What this daemon saw of the sink's recent deliveries, for /healthz. */
  readonly health = new SinkHealth();
  private readonly storeTrouble: (message: string, fields?: Record<string, unknown>) => void;

  constructor(
    readonly sink: Sink,
    private readonly ctx: SinkContext,
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly options: DeliveryQueueOptions,
    private readonly onOutcome: (outcome: DeliveryOutcome) => void = () => {},
  ) {
    this.concurrency = Math.max(1, sink.concurrency ?? 4);
    this.storeTrouble = rateLimitedLog(logger, "error");
  }

  /**
   * New deliveries of these ordering keys were queued: looks for them now, unless every one waits
   * behind a lane of this queue running its key, which looks again when it ends. A claim now
   * would find them behind that lane (a transaction for nothing, at every commit under load).
   */
  wakeFor(keys: readonly (string | null)[]): void {
    if (keys.length > 0 && keys.every((key) => key !== null && this.laneKeys.has(storedOrderingKey(key) as string))) return;
    this.look(keys);
  }

  /** Looks for due deliveries now (new events, a requeue, start-up). */
  wake(): void {
    this.look(true);
  }

  private look(keys: true | readonly (string | null)[]): void {
    if (this.stopped) return;
    if (this.pumping) {
      if (keys === true || this.pumpAgain === true) this.pumpAgain = true;
      else {
        const pending = this.pumpAgain || new Set<string | null>();
        for (const key of keys) pending.add(key);
        this.pumpAgain = pending;
      }
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      const again = this.pumpAgain;
      this.pumpAgain = false;
      if (again === true) this.wake();
      else if (again) this.wakeFor([...again]);
    });
  }

  private async pump(): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.timer);
    try {
      const free = this.concurrency - this.lanes.size;
      if (free <= 0) return;
      const { owner, leaseMs } = this.options;
      const now = Date.now();
      // As many keys as there are free lanes: the rest stays for other daemons, or the next look.
      const due = await this.store.claimDeliveries(this.sink.name, {
        owner,
        now,
        leaseMs,
        limit: this.options.batchSize ?? 256,
        maxKeys: free,
        running: [...this.running],
      });
      for (const delivery of due) {
        this.running.add(delivery.event.id);
        if (!this.claims.has(delivery.claim)) this.track(delivery.claim, now);
      }
      if (this.stopped) return void (await this.release(due));
      for (const group of groupByClaim(due)) this.startLane(group);
      // With lanes to spare, come back when the next delivery falls due (a retry of another key),
      // not only when a running lane ends.
      if (this.lanes.size < this.concurrency) await this.sleepUntilNextDue();
    } catch (error) {
      if (this.stopped) return;
      this.storeTrouble("delivery queue could not read the store; trying again", { sink: this.sink.name, error: errorMessage(error) });
      this.schedule(1000);
    }
  }

  /** The claims to renew: those a lane still holds. */
  heldClaims(): string[] {
    return [...this.claims].filter(([, claim]) => !claim.lost).map(([token]) => token);
  }

  /** What a renewal at `at` found: the claims in `held` were extended; the others of ours are gone. */
  renewed(asked: readonly string[], held: ReadonlySet<string>, at: number): void {
    for (const token of asked) {
      const claim = this.claims.get(token);
      if (!claim) continue;
      if (claim.lost) continue;
      if (held.has(token)) {
        claim.renewedAt = Math.max(claim.renewedAt, at);
        this.armDeadline(token, claim);
      } else {
        this.lose(token, "another daemon took the delivery's claim over");
      }
    }
  }

  /** How long a claim may go unconfirmed before its lane must assume another daemon can take it over. */
  private get trustMs(): number {
    return (this.options.leaseMs * 2) / 3;
  }

  private track(token: string, claimedAt: number): void {
    const controller = new AbortController();
    // Joined once per claim, not per delivery: every AbortSignal.any leaves a weak reference on the
    // daemon's shutdown signal, and a claim covers a run of up to a batch of deliveries.
    const signal = AbortSignal.any([controller.signal, this.ctx.signal]);
    const claim: HeldClaim = { renewedAt: claimedAt, lost: false, controller, signal, deadline: undefined };
    this.claims.set(token, claim);
    this.armDeadline(token, claim);
  }

  /** Aborts the claim's delivery when no renewal has confirmed the claim within trustMs. */
  private armDeadline(token: string, claim: HeldClaim): void {
    clearTimeout(claim.deadline);
    claim.deadline = setTimeout(
      () => {
        // A renewal that came back meanwhile moved renewedAt on: look again then.
        if (Date.now() - claim.renewedAt >= this.trustMs)
          this.lose(token, `the delivery's claim was not renewed for ${Math.round(this.trustMs)} ms`);
        else this.armDeadline(token, claim);
      },
      Math.max(0, claim.renewedAt + this.trustMs - Date.now()),
    );
    claim.deadline.unref();
  }

  /** The claim is gone, or must be taken for gone: its running delivery is told to stop (its signal aborts). */
  private lose(token: string, why: string): void {
    const claim = this.claims.get(token);
    if (!claim || claim.lost) return;
    claim.lost = true;
    clearTimeout(claim.deadline);
    claim.controller.abort(new ClaimLostError(`${why}; the delivery is stopped and left to whoever holds it now`));
  }

  private untrack(token: string): void {
    const claim = this.claims.get(token);
    if (claim) clearTimeout(claim.deadline);
    this.claims.delete(token);
  }

  /**
   * Whether a lane may still act on its claim: not lost, and confirmed recently enough that no other
   * daemon can have taken it over (claims lapse after the lease; renewals come every third of it).
   */
  private holds(token: string): boolean {
    const claim = this.claims.get(token);
    if (claim === undefined || claim.lost) return false;
    // The deadline's timer may be late (a busy event loop): the clock decides.
    if (Date.now() - claim.renewedAt < this.trustMs) return true;
    this.lose(token, `the delivery's claim was not renewed for ${Math.round(this.trustMs)} ms`);
    return false;
  }

  /** Runs one key's claimed deliveries one after another, up to a failure that leaves the rest waiting. */
  private startLane(group: DueDelivery[]): void {
    const { claim: token, orderingKey } = group[0] as DueDelivery;
    if (orderingKey !== null) this.laneKeys.add(orderingKey);
    const run = (async () => {
      const unrecorded: Promise<void>[] = [];
      const left = [...group];
      try {
        while (left.length > 0 && !this.stopped) {
          if (!this.holds(token)) {
            this.logger.warn("a delivery claim lapsed or was taken over; leaving its deliveries to whoever holds them now", {
              sink: this.sink.name,
            });
            break;
          }
          const delivery = left.shift() as DueDelivery;
          const { ok, recorded, stopped } = await this.deliver(delivery);
          if (stopped) {
            // Stopped because its claim is gone: no outcome; given back like the rest, should the claim still be ours after all.
            left.unshift(delivery);
            break;
          }
          unrecorded.push(recorded.finally(() => this.running.delete(delivery.event.id)));
          if (unrecorded.length >= UNRECORDED_PER_LANE) await Promise.all(unrecorded.splice(0));
          // A retry keeps the rest of its key waiting behind it: those are given back.
          if (!ok) break;
        }
      } finally {
        await Promise.all(unrecorded);
        await this.release(left);
        this.untrack(token);
      }
    })().finally(() => {
      this.lanes.delete(run);
      if (orderingKey !== null) this.laneKeys.delete(orderingKey);
      this.wake();
    });
    this.lanes.add(run);
  }

  /** Gives claims back without an outcome; if that fails, they lapse with the lease (nobody renews them). */
  private async release(deliveries: readonly DueDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    for (const run of groupByClaim(deliveries)) {
      const claim = (run[0] as DueDelivery).claim;
      const ids = run.map(({ event }) => event.id);
      if (!this.abandoned) {
        await this.store.releaseClaims(this.sink.name, claim, ids).catch((error: unknown) => {
          this.storeTrouble("could not give back claimed deliveries; they are taken again once their lease lapses", {
            sink: this.sink.name,
            error: errorMessage(error),
          });
        });
      }
      for (const id of ids) this.running.delete(id);
    }
  }

  /**
   * Runs one delivery. `ok`: the key's next delivery may follow it. `recorded`: settles once the
   * outcome is committed, or known to be someone else's to record (the claim was lost); it never
   * rejects: an outcome the store will not take is tried again with backoff. `stopped`: the sink
   * gave up because the claim's signal aborted; no outcome is recorded.
   */
  private async deliver(delivery: DueDelivery): Promise<{ ok: boolean; recorded: Promise<void>; stopped?: true }> {
    const { event, claim } = delivery;
    const startedAt = Date.now();
    const started = performance.now();
    const sink = this.sink.name;
    const held = this.claims.get(claim);
    const claimSignal = held?.controller.signal ?? AbortSignal.abort(new ClaimLostError("the delivery's claim is gone"));
    // What the sink is handed: its context, with a signal of this delivery's (claim lost, or shutdown).
    const signal = held?.signal ?? claimSignal;
    try {
      await runUnderClaim({ holds: () => this.holds(claim), signal }, () => this.sink.handle(event.toEvent(), { ...this.ctx, signal }));
      const durationMs = performance.now() - started;
      this.health.delivered(Date.now());
      const recorded = this.record(delivery, () =>
        this.store.markDelivered(sink, event.id, { startedAt, durationMs, claim }, Date.now()),
      ).then((applied) => {
        if (applied && !this.abandoned) this.onOutcome({ sink, outcome: "delivered", durationMs });
      });
      return { ok: true, recorded };
    } catch (error) {
      if (this.abandoned) return { ok: false, recorded: Promise.resolve() };
      if (claimSignal.aborted) {
        this.logger.warn("a delivery was stopped: its claim is gone", {
          sink,
          eventId: event.id,
          why: (claimSignal.reason as Error).message,
        });
        return { ok: false, recorded: Promise.resolve(), stopped: true };
      }
      const durationMs = performance.now() - started;
      const attempts = delivery.attempts + 1;
      const failure = classifyFailure(error);
      if (this.options.redact) failure.message = this.options.redact(failure.message);
      const giveUp = failure.permanent || attempts >= this.options.maxAttempts;
      const retryAt = giveUp ? null : this.retryAt(attempts, failure.retryAt);
      this.health.failed(failure.message, failure.status, Date.now());
      // A failure is recorded before the key's next delivery may run.
      const applied = await this.record(delivery, () =>
        this.store.markFailed(
          sink,
          event.id,
          { startedAt, durationMs, claim, error: failure.message, status: failure.status, retryAt },
          Date.now(),
        ),
      );
      if (!applied) return { ok: false, recorded: Promise.resolve() };
      this.onOutcome({ sink, outcome: giveUp ? "failed" : "retry", durationMs });
      const fields = {
        sink,
        eventId: event.id,
        type: event.meta.type,
        attempts,
        error: failure.message,
        ...(failure.status !== null && { status: failure.status }),
      };
      if (giveUp) {
        const why = failure.permanent ? "permanent error" : `${attempts} attempts`;
        this.logger.error(`delivery failed for good (${why}); retry it from the admin API`, fields);
      } else {
        this.logger.warn("delivery failed; will retry", { ...fields, retryAt: new Date(retryAt ?? 0).toISOString() });
      }
      return { ok: giveUp, recorded: Promise.resolve() };
    }
  }

  /** The downstream's own time when it named one (Retry-After), else the backoff's. */
  private retryAt(attempts: number, requested: number | null): number {
    const now = Date.now();
    if (requested === null) return now + retryDelayMs(attempts, this.options.backoff);
    return Math.min(Math.max(requested, now), now + MAX_RETRY_AFTER_MS);
  }

  /**
   * Writes an outcome, again and again with backoff while the store refuses it, until shutdown
   * gives up. False: not recorded, because the claim is no longer this queue's (another daemon
   * took the delivery over and records its own outcome), or because shutdown gave up.
   */
  private async record(delivery: DueDelivery, write: () => Promise<boolean>): Promise<boolean> {
    for (let attempt = 1; !this.abandoned; attempt++) {
      try {
        const applied = await write();
        if (!applied) {
          this.lose(delivery.claim, "another daemon took the delivery's claim over");
          this.logger.warn("a delivery's claim was taken over while it ran; its outcome is left to the new holder", {
            sink: this.sink.name,
            eventId: delivery.event.id,
          });
        }
        return applied;
      } catch (error) {
        this.storeTrouble("could not record a delivery's outcome; trying again", {
          sink: this.sink.name,
          eventId: delivery.event.id,
          error: errorMessage(error),
        });
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt, RECORD_RETRY)).unref());
      }
    }
    return false;
  }

  private async sleepUntilNextDue(): Promise<void> {
    const now = Date.now();
    const next = await this.store.nextClaimAt(this.sink.name, now, this.options.leaseMs);
    const idle = this.options.maxIdleMs ?? 60_000;
    // Not sooner than a few milliseconds: a claim that lapses this very moment must not spin the
    // queue; while lanes run (their own claims may look lapsed to the store), not sooner than a quarter second.
    const soonest = this.lanes.size > 0 ? 250 : 5;
    this.schedule(next === null ? idle : Math.min(idle, Math.max(soonest, next - now)));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), delayMs);
    this.timer.unref();
  }

  /** Deliveries this queue holds now: running, or claimed and waiting for their lane. */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Stops taking deliveries and waits up to `timeoutMs` for those running. What has not
   * finished by then stays pending in the store and runs again (here at the next start, or on
   * another daemon once the claim lapses).
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

/** Claimed deliveries as runs that may go side by side: one run per claim (one ordering key's, in id order). */
function groupByClaim(due: readonly DueDelivery[]): DueDelivery[][] {
  const byClaim = new Map<string, DueDelivery[]>();
  for (const delivery of due) {
    const run = byClaim.get(delivery.claim);
    if (run) run.push(delivery);
    else byClaim.set(delivery.claim, [delivery]);
  }
  return [...byClaim.values()];
}
