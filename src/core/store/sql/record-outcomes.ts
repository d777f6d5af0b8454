import type { SqlQueries } from "./driver.js";

/** The longest error text kept per delivery. */
const MAX_ERROR_LENGTH = 2000;

export type Outcome =
  | { kind: "delivered"; sink: string; eventId: number; now: number }
  | { kind: "failed"; sink: string; eventId: number; error: string; retryAt: number | null; now: number };

/** Records outcomes and lets go of their claims, inside the caller's transaction. */
export async function recordOutcomes(tx: SqlQueries, outcomes: readonly Outcome[]): Promise<void> {
  for (const outcome of outcomes) {
    const { sink, eventId, now } = outcome;
    if (outcome.kind === "delivered") {
      await tx.run(
        `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_error = NULL, locked_by = NULL, locked_at = NULL,
           updated_at = :now WHERE sink = :sink AND event_id = :eventId`,
        { sink, eventId, now },
      );
    } else if (outcome.retryAt === null) {
      await tx.run(
        `UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = :error, locked_by = NULL, locked_at = NULL,
           updated_at = :now WHERE sink = :sink AND event_id = :eventId`,
        { sink, eventId, now, error: outcome.error.slice(0, MAX_ERROR_LENGTH) },
      );
    } else {
      await tx.run(
        `UPDATE deliveries SET attempts = attempts + 1, last_error = :error, next_attempt_at = :retryAt, locked_by = NULL, locked_at = NULL,
           updated_at = :now WHERE sink = :sink AND event_id = :eventId`,
        { sink, eventId, now, error: outcome.error.slice(0, MAX_ERROR_LENGTH), retryAt: outcome.retryAt },
      );
    }
  }
}
