import type { Logger } from "winston";

/**
 * A log line that may repeat many times a second (a store that refuses every write): the first one
 * is written, then at most one per interval, saying how many were left out meanwhile.
 */
export function rateLimitedLog(logger: Logger, level: "error" | "warn", intervalMs = 30_000) {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (message: string, fields: Record<string, unknown> = {}): void => {
    const now = Date.now();
    if (now - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    logger.log(level, message, suppressed > 0 ? { ...fields, repeated: suppressed } : fields);
    lastAt = now;
    suppressed = 0;
  };
}
