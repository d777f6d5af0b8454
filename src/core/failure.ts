import { errorMessage } from "../support/error-message.js";

/**
 * How a sink says what went wrong, and how the delivery queue reads it. Errors are recognized by
 * `name` as well as by class: a plugin loaded from a path may carry its own copy of these classes.
 */

/** A failure that retrying cannot fix (a task that does not exist, a payload the sink cannot use): dead-lettered at once. */
export class PermanentError extends Error {
  override name = "PermanentError";
}

/** Try again at `retryAt` (epoch ms), not sooner: a downstream's `Retry-After` on a 429 or 503. */
export class RetryLaterError extends Error {
  override name = "RetryLaterError";
  readonly retryAt: number;
  /** The downstream's HTTP status, when it answered. */
  readonly status: number | null;

  constructor(message: string, retryAt: Date | number, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAt = typeof retryAt === "number" ? retryAt : retryAt.getTime();
    this.status = options.status ?? null;
  }
}

export function isPermanentError(error: unknown): boolean {
  return error instanceof PermanentError || (error instanceof Error && error.name === "PermanentError");
}

/** What the queue does with a failed delivery, and what the operator sees of it. */
export interface Failure {
  message: string;
  /** Dead-letter now. */
  permanent: boolean;
  /** Not before this time (epoch ms); null: the queue's backoff decides. */
  retryAt: number | null;
  /** The downstream's HTTP status when it answered: 401/403 is configuration, 429/5xx is "try later". */
  status: number | null;
}

type ErrorLike = { name?: unknown; message?: unknown; status?: unknown; retryAt?: unknown; errors?: unknown };

const httpStatus = (value: unknown): number | null =>
  typeof value === "number" && Number.isInteger(value) && value >= 100 && value <= 599 ? value : null;
/** A time as epoch ms; an invalid Date or a NaN (a plugin's unreadable date) is no time at all. */
const time = (value: unknown): number | null => {
  const ms = value instanceof Date ? value.getTime() : value;
  return typeof ms === "number" && Number.isFinite(ms) ? ms : null;
};

/**
 * Reads any thrown value. A numeric `status` (100–599) and `retryAt` are honoured on any error, so a
 * plugin's own error classes can carry them; an AggregateError (several tasks, several failures)
 * is permanent only when every part is, waits for the latest `retryAt`, and keeps the first status.
 */
export function classifyFailure(error: unknown): Failure {
  const message = errorMessage(error);
  const parts = error instanceof AggregateError && error.errors.length > 0 ? (error.errors as unknown[]) : [error];
  const read = parts.map((part) => {
    const fields = (typeof part === "object" && part !== null ? part : {}) as ErrorLike;
    return { permanent: isPermanentError(part), retryAt: time(fields.retryAt), status: httpStatus(fields.status) };
  });
  const retryAts = read.map((part) => part.retryAt).filter((at): at is number => at !== null);
  return {
    message,
    permanent: read.every((part) => part.permanent),
    retryAt: retryAts.length > 0 ? Math.max(...retryAts) : null,
    status: read.find((part) => part.status !== null)?.status ?? null,
  };
}

/** `Retry-After` as epoch ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function retryAfter(header: string | null | undefined, now = Date.now()): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return now + Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : at;
}
