import type { DeliveryCounts } from "./store.js";

type SinkState = "ok" | "degraded" | "failing";

interface SinkError {
  message: string;
  /** The downstream's HTTP status, when it answered. */
  status: number | null;
  at: string;
}

export interface SinkCondition {
  state: SinkState;
  /** Why, in a sentence; null when ok. */
  reason: string | null;
  /** Since when the sink has been in this state (null when ok, or not known). */
  since: string | null;
  lastError: SinkError | null;
  lastDeliveredAt: string | null;
}

/** Failures in a row, with no success between, that make a sink failing rather than degraded. */
const FAILING_AFTER = 3;

/**
 * A refused credential fails every delivery until someone changes the configuration: 401 and
 * 403 are told as such at once, not after the retries.
 */
const isConfigurationStatus = (status: number | null): boolean => status === 401 || status === 403;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * One sink's recent outcomes on this daemon, and what they say with the store's counts (which
 * every replica shares, and which outlive a restart): ok, degraded or failing, since when, and why.
 */
export class SinkHealth {
  private failuresInARow = 0;
  private failingSince: number | null = null;
  private lastError: SinkError | null = null;
  private lastDeliveredAt: number | null = null;

  delivered(at: number): void {
    this.failuresInARow = 0;
    this.failingSince = null;
    this.lastDeliveredAt = at;
  }

  failed(message: string, status: number | null, at: number): void {
    this.failuresInARow++;
    this.failingSince ??= at;
    this.lastError = { message, status, at: new Date(at).toISOString() };
  }

  condition(counts: DeliveryCounts | undefined, problem?: string): SinkCondition {
    const lastError = this.lastError ?? counts?.lastRetryError ?? null;
    const base = { lastError, lastDeliveredAt: iso(this.lastDeliveredAt) };
    const since = iso(this.failingSince) ?? counts?.lastRetryError?.at ?? null;
    const failing = this.failingSince !== null;
    if (failing && this.lastError && isConfigurationStatus(this.lastError.status)) {
      return {
        ...base,
        state: "failing",
        since,
        reason: `the downstream refuses its credentials (HTTP ${this.lastError.status}): check the sink's token`,
      };
    }
    if (failing && this.failuresInARow >= FAILING_AFTER) {
      return { ...base, state: "failing", since, reason: `${this.failuresInARow} deliveries in a row failed` };
    }
    if (failing) return { ...base, state: "degraded", since, reason: "its last delivery failed and will be retried" };
    const retrying = counts?.retrying ?? 0;
    if (retrying > 0)
      return {
        ...base,
        state: "degraded",
        since,
        reason: `${retrying} ${retrying === 1 ? "delivery waits" : "deliveries wait"} to be retried`,
      };
    if (problem) return { ...base, state: "degraded", since: null, reason: problem };
    return { ...base, state: "ok", since: null, reason: null };
  }
}
