import type { DeliveredAttempt, FailedAttempt } from "../../core/store.js";
import { storableText } from "../../core/storable-text.js";
import type { SqlParams, SqlQueries } from "./driver.js";

/** The longest error text kept per delivery. */
const MAX_ERROR_LENGTH = 2000;

export type Outcome =
  | { kind: "delivered"; sink: string; eventId: number; attempt: DeliveredAttempt; now: number }
  | { kind: "failed"; sink: string; eventId: number; attempt: FailedAttempt; now: number };

/** Set by a requeue while the delivery was claimed: it runs again after the attempt that was running. */
const AGAIN = "redeliver = 1";

/**
 * How an outcome ends the attempt: the claim let go, the attempt's timing kept. A delivery asked for
 * again meanwhile stays pending with the attempts its requeue reset; otherwise this attempt counts.
 */
const ENDED = `attempts = CASE WHEN ${AGAIN} THEN attempts ELSE attempts + 1 END, redeliver = 0, locked_by = NULL, locked_at = NULL,
  last_attempt_at = :startedAt, last_duration_ms = :durationMs, updated_at = :now`;

/** Only while the attempt's claim is still held (when it names one): a lost claim's outcome is not ours to record. */
const held = (attempt: DeliveredAttempt) => (attempt.claim === undefined ? "" : " AND locked_by = :claim");

/**
 * Records outcomes and lets go of their claims, inside the caller's transaction; returns, per
 * outcome, whether it was recorded (false: its claim was lost). A failed attempt also gets a row
 * of its own (the event page lists them); a delivered one lives on its delivery.
 */
export async function recordOutcomes(tx: SqlQueries, outcomes: readonly Outcome[]): Promise<boolean[]> {
  const recorded: boolean[] = [];
  for (const outcome of outcomes) {
    const { sink, eventId, now, attempt } = outcome;
    const params: Record<string, SqlParams[string]> = {
      sink,
      eventId,
      now,
      startedAt: attempt.startedAt,
      durationMs: Math.round(attempt.durationMs),
    };
    if (attempt.claim !== undefined) params.claim = attempt.claim;
    const where = `WHERE sink = :sink AND event_id = :eventId${held(attempt)}`;
    if (outcome.kind === "delivered") {
      const status = `status = CASE WHEN ${AGAIN} THEN 'pending' ELSE 'delivered' END`;
      const { changes } = await tx.run(
        `UPDATE deliveries SET ${status}, last_error = NULL, last_error_status = NULL, ${ENDED} ${where}`,
        params,
      );
      recorded.push(changes > 0);
      continue;
    }
    const failed = outcome.attempt;
    // A downstream's answer may carry what an engine refuses (NUL, a lone surrogate, or one cut by
    // the slice): an outcome that could never be recorded would hold its delivery, and its key, forever.
    params.error = storableText(failed.error.slice(0, MAX_ERROR_LENGTH));
    params.status = failed.status;
    // Dead-lettered, or retried at retryAt; a redelivery asked for meanwhile keeps its own due time.
    const next =
      failed.retryAt === null
        ? `status = CASE WHEN ${AGAIN} THEN 'pending' ELSE 'failed' END`
        : `next_attempt_at = CASE WHEN ${AGAIN} THEN next_attempt_at ELSE :retryAt END`;
    if (failed.retryAt !== null) params.retryAt = failed.retryAt;
    const { changes } = await tx.run(
      `UPDATE deliveries SET ${next}, last_error = :error, last_error_status = :status, ${ENDED} ${where}`,
      params,
    );
    recorded.push(changes > 0);
    if (changes === 0) continue;
    await tx.run(
      `INSERT INTO delivery_attempts (event_id, sink, started_at, duration_ms, outcome, error, error_status)
       VALUES (:eventId, :sink, :startedAt, :durationMs, :outcome, :error, :status)`,
      {
        eventId,
        sink,
        startedAt: params.startedAt as number,
        durationMs: params.durationMs as number,
        outcome: failed.retryAt === null ? "failed" : "retry",
        error: params.error as string,
        status: failed.status,
      },
    );
  }
  return recorded;
}
