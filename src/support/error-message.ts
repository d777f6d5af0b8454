/**
 * Anything thrown, as one line for a log or an error answer: an Error's message (an
 * AggregateError's, such as a connection refused on both IPv4 and IPv6, is its errors' messages),
 * anything else as text. Every log site and error text uses it, so that the same failure reads the
 * same everywhere.
 */
const PROGRAMMING_ERRORS = new Set(["TypeError", "RangeError", "ReferenceError", "EvalError", "URIError"]);

export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.message === "" && error.errors.length > 0) {
    return [...new Set(error.errors.map(errorMessage))].join("; ");
  }
  if (error instanceof Error) {
    if (error.message === "") return error.name;
    // A TypeError or RangeError says a program is wrong, not what failed: its class is the news.
    return PROGRAMMING_ERRORS.has(error.name) ? `${error.name}: ${error.message}` : error.message;
  }
  return String(error);
}

/** For a bug's report: an Error's stack (which begins with its message), else errorMessage(). */
export function errorWithStack(error: unknown): string {
  return error instanceof Error && error.stack ? error.stack : errorMessage(error);
}
