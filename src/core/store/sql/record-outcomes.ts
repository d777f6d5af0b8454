import type { DeliveredAttempt, FailedAttempt } from "../store.js";
import type { SqlQueries } from "./driver.js";

/** The longest error text kept per delivery. */
const MAX_ERROR_LENGTH = 2000;

export type Outcome =
  | { kind: "delivered"; sink: string; eventId: number; attempt: DeliveredAttempt; now: number }
  | { kind: "failed"; sink: string; eventId: number; attempt: FailedAttempt; now: number };

/**
 * Records outcomes and lets go of their claims, inside the caller's transaction. A failed attempt
 * also gets a row of its own (the event page lists them); a delivered one lives on its delivery.
 */
export async function recordOutcomes(tx: SqlQueries, outcomes: readonly Outcome[]): Promise<void> {
  for (const outcome of outcomes) {
    const { sink, eventId, now, attempt } = outcome;
    const timing = { startedAt: attempt.startedAt, durationMs: Math.round(attempt.durationMs) };
    const done = `attempts = attempts + 1, locked_by = NULL, locked_at = NULL, last_attempt_at = :startedAt, last_duration_ms = :durationMs, updated_at = :now`;
    if (outcome.kind === "delivered") {
      await tx.run(
        `UPDATE deliveries SET status = 'delivered', last_error = NULL, last_error_status = NULL, ${done} WHERE sink = :sink AND event_id = :eventId`,
        { sink, eventId, now, ...timing },
      );
      continue;
    }
    const failed = outcome.attempt;
    const error = failed.error.slice(0, MAX_ERROR_LENGTH);
    const status = failed.status;
    if (failed.retryAt === null) {
      await tx.run(
        `UPDATE deliveries SET status = 'failed', last_error = :error, last_error_status = :status, ${done} WHERE sink = :sink AND event_id = :eventId`,
        { sink, eventId, now, error, status, ...timing },
      );
    } else {
      await tx.run(
        `UPDATE deliveries SET last_error = :error, last_error_status = :status, next_attempt_at = :retryAt, ${done} WHERE sink = :sink AND event_id = :eventId`,
        { sink, eventId, now, error, status, retryAt: failed.retryAt, ...timing },
      );
    }
    await tx.run(
      `INSERT INTO delivery_attempts (event_id, sink, started_at, duration_ms, outcome, error, error_status)
       VALUES (:eventId, :sink, :startedAt, :durationMs, :outcome, :error, :status)`,
      { eventId, sink, outcome: failed.retryAt === null ? "failed" : "retry", error, status, ...timing },
    );
  }
}
