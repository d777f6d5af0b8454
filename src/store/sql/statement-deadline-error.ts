/**
 * A statement got no answer within the deadline (STATEMENT_DEADLINE_MS): its connection is taken for
 * dead and closed. The engines count it as the database being unavailable.
 */
export class StatementDeadlineError extends Error {
  override name = "StatementDeadlineError";

  constructor(deadlineMs: number) {
    super(`no answer from the database within ${deadlineMs / 1000} s; the connection is taken for dead and closed`);
  }
}
