import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "winston";

export type ResponseListener = (route: string, method: string, status: number, durationMs: number) => void;

/** Routes whose every hit is not worth a log line (probes and scrapes). */
const QUIET = new Set(["/healthz", "/metrics"]);

/**
 * A log line per refused or failed request (warn for 4xx, error for 5xx; successes with DEBUG=true)
 * and a metrics sample for every one, when the response is finished. Only the path is logged, never
 * the query string: it may carry ?token=.
 */
export function observeResponses(logger: Logger, onResponse?: ResponseListener) {
  const debug = logger.isDebugEnabled();
  return (req: IncomingMessage, res: ServerResponse, describe: () => { route: string; path: string; fields?: object }): void => {
    const started = performance.now();
    res.once("finish", () => {
      const durationMs = performance.now() - started;
      const { route, path, fields } = describe();
      onResponse?.(route, req.method ?? "GET", res.statusCode, durationMs);
      if (QUIET.has(route) || (res.statusCode < 400 && !debug)) return;
      const line = { method: req.method, path, status: res.statusCode, ms: Math.round(durationMs * 10) / 10, ...fields };
      if (res.statusCode >= 500) logger.error("request", line);
      else if (res.statusCode >= 400) logger.warn("request", line);
      // Success is counted in /metrics; a line for each costs more than storing the event (DEBUG=true shows them).
      else logger.debug("request", line);
    });
  };
}
