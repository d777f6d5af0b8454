import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The delivery running in this async context: whether it still holds its claim, and a signal that
 * aborts once it does not (or the daemon shuts down). A sink's ledger asks right before it acts, and
 * the built-in sinks' HTTP clients pass the signal on: a daemon whose claim lapsed (its renewals fell
 * behind, it froze past its lease, another daemon took the delivery over) must stop, not act on a
 * delivery another daemon now runs.
 */
interface RunningDelivery {
  holds: () => boolean;
  signal: AbortSignal;
}

const current = new AsyncLocalStorage<RunningDelivery>();

export function runUnderClaim<T>(delivery: RunningDelivery, work: () => Promise<T>): Promise<T> {
  return current.run(delivery, work);
}

/** True outside a delivery (nothing to lose), else whether its claim is still held. */
export function claimStillHeld(): boolean {
  const delivery = current.getStore();
  return delivery === undefined || (!delivery.signal.aborted && delivery.holds());
}

/** The running delivery's signal (undefined outside a delivery): for requests made deep inside a sink. */
function deliverySignal(): AbortSignal | undefined {
  return current.getStore()?.signal;
}

/** The reason a delivery's signal aborts when its claim is gone: `handle` may throw it as it is. */
export class ClaimLostError extends Error {
  override name = "ClaimLostError";
}

/** `signal` (a request's timeout) joined with the running delivery's, when there is one. */
export function withDeliverySignal(signal: AbortSignal): AbortSignal;
export function withDeliverySignal(signal: AbortSignal | undefined): AbortSignal | undefined;
export function withDeliverySignal(signal: AbortSignal | undefined): AbortSignal | undefined {
  const delivery = deliverySignal();
  if (delivery === undefined || signal === undefined) return signal ?? delivery;
  return AbortSignal.any([signal, delivery]);
}

/**
 * After a request failed: when the running delivery was stopped, its reason (a ClaimLostError, or
 * the shutdown) is what the sink throws, rather than a network error that would be retried as one.
 */
export function throwIfDeliveryStopped(): void {
  const signal = deliverySignal();
  if (signal?.aborted) throw signal.reason;
}
