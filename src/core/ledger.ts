import { claimStillHeld } from "./delivery-claim.js";
import { classifyFailure, RetryLaterError } from "./failure.js";
import type { Store } from "./store.js";

export interface OnceOptions {
  /**
   * Asks the downstream whether an earlier run's act took effect after all (it began, and never
   * said how it ended: a crash, a timeout, a 5xx). Without it such an act is done again.
   */
  wasApplied?: () => Promise<boolean>;
  /**
   * Whether a failed act may have taken effect anyway. Default: unless the downstream answered
   * with a 4xx status (it refused), or the error says `mayHaveApplied: false`.
   */
  mayHaveApplied?: (error: unknown) => boolean;
}

/** A sink's side-effect ledger: what it did, so that a retry, a replay or GitLab's resend never does it twice. */
export interface SinkLedger {
  /**
   * Does `act` once for `key`, whatever the retries, redeliveries and daemons: true when it acted
   * now, false when it was done before. The intent is recorded, atomically, before acting: while
   * one run acts, another run of the same key waits (a RetryLaterError) instead of acting too. A
   * run that began and never finished (a crash, an unanswered request) is settled by `wasApplied`.
   */
  once(key: string, act: () => Promise<void>, options?: OnceOptions): Promise<boolean>;
  /** Whether `key` was done. */
  has(key: string): Promise<boolean>;
  /** Records `key` as done without acting (it was found done some other way). */
  record(key: string): Promise<void>;
  /** Keys done that start with `prefix`, in order. */
  keysWithPrefix(prefix: string): Promise<string[]>;
}

const INTENT = "intent:";

function defaultMayHaveApplied(error: unknown): boolean {
  const flagged = (error as { mayHaveApplied?: unknown } | null)?.mayHaveApplied;
  if (typeof flagged === "boolean") return flagged;
  const { status } = classifyFailure(error);
  return status === null || status >= 500;
}

/**
 * The ledger of one sink in the store. An intent younger than `staleMs` (the delivery lease: no
 * other daemon runs the delivery before then) belongs to a run still going; an older one to a run
 * that ended without saying how.
 */
export class StoreLedger implements SinkLedger {
  private sinkName: string | null;

  constructor(
    private readonly store: Store,
    private readonly staleMs: number,
    sinkName?: string,
  ) {
    this.sinkName = sinkName ?? null;
  }

  /** The sink whose ledger this is: known once its factory has returned it. */
  bind(sinkName: string): void {
    this.sinkName = sinkName;
  }

  private get sink(): string {
    if (this.sinkName === null) throw new Error("the ledger is used before its sink was created (use it in handle(), not in the factory)");
    return this.sinkName;
  }

  async once(key: string, act: () => Promise<void>, options: OnceOptions = {}): Promise<boolean> {
    const { store, sink } = this;
    if (await store.hasRecord(sink, key)) return false;
    const intent = `${INTENT}${key}`;
    const now = Date.now();
    const taken = await store.takeRecord(sink, intent, now, now - this.staleMs);
    if (taken === null) throw new RetryLaterError(`another run is doing "${key}" right now; trying again after it`, now + this.staleMs);
    // Looked at again now that the intent is ours: a run that finished just before recorded it done
    // (before it let go of its intent), and an earlier run that began and never said how it ended
    // may have acted after all.
    const done =
      (await store.hasRecord(sink, key)) || (taken === "stale" && options.wasApplied !== undefined && (await options.wasApplied()));
    if (done) {
      await this.finish(key);
      return false;
    }
    // A daemon that froze past its lease and thawed here must not act: another one has the delivery.
    if (!claimStillHeld()) {
      await store.forgetRecord(sink, intent);
      throw new RetryLaterError(`the delivery's claim was lost before "${key}" was done; its new holder does it`, now);
    }
    // An act that outlasts staleMs keeps its intent young, so that no other run takes it for abandoned.
    const keepAlive = setInterval(
      () => void store.touchRecord(sink, intent, Date.now()).catch(() => undefined),
      Math.max(50, Math.floor(this.staleMs / 3)),
    );
    try {
      await act();
    } catch (error) {
      clearInterval(keepAlive);
      // Refused: nothing happened, a retry may act. Unanswered: the next run asks wasApplied first.
      if ((options.mayHaveApplied ?? defaultMayHaveApplied)(error)) await store.touchRecord(sink, intent, 0);
      else await store.forgetRecord(sink, intent);
      throw error;
    }
    clearInterval(keepAlive);
    await this.finish(key);
    return true;
  }

  private async finish(key: string): Promise<void> {
    await this.store.recordOnce(this.sink, key, Date.now());
    await this.store.forgetRecord(this.sink, `${INTENT}${key}`);
  }

  has(key: string): Promise<boolean> {
    return this.store.hasRecord(this.sink, key);
  }

  async record(key: string): Promise<void> {
    await this.store.recordOnce(this.sink, key, Date.now());
  }

  keysWithPrefix(prefix: string): Promise<string[]> {
    return this.store.recordsWithPrefix(this.sink, prefix);
  }
}
