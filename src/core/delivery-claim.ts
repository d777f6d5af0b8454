import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Whether the delivery running in this async context still holds its claim. A sink's ledger asks
 * right before it acts: a daemon that froze past its lease (SIGSTOP, a paused VM) and thawed
 * mid-delivery must not act on a delivery another daemon has taken over.
 */
const current = new AsyncLocalStorage<() => boolean>();

export function runUnderClaim<T>(holds: () => boolean, work: () => Promise<T>): Promise<T> {
  return current.run(holds, work);
}

/** True outside a delivery (nothing to lose), else whether its claim is still held. */
export function claimStillHeld(): boolean {
  return current.getStore()?.() ?? true;
}
