/** Waits `ms` milliseconds: a pause a test means, not a poll (for a condition, use waitFor). */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
