import retry from "retry";

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
}

/** Delay before retry number `attempt` (1 = first retry): doubling from minMs, capped, with jitter. */
export function retryDelayMs(attempt: number, options: BackoffOptions): number {
  return retry.createTimeout(Math.max(0, attempt - 1), {
    factor: 2,
    minTimeout: options.minMs,
    maxTimeout: options.maxMs,
    randomize: true,
  });
}
