import express, { type Express, type Request, type Response, type Router } from "express";
import type { Logger } from "winston";
import { jsonErrorHandler, sendError } from "./http-errors.js";

export interface HttpAppOptions {
  logger: Logger;
  /** Routers in the order they are tried: source, operations, sinks. */
  routers: readonly Router[];
  onResponse?: (route: string, method: string, status: number, durationMs: number) => void;
}

/** The daemon's HTTP surface; every answer, errors included, is JSON except the feed and the dashboard. */
export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", true);

  app.use((req: Request, res: Response, next) => {
    const started = performance.now();
    res.on("finish", () => {
      const durationMs = performance.now() - started;
      const route = typeof req.route?.path === "string" ? `${req.baseUrl}${req.route.path}` : "unmatched";
      options.onResponse?.(route, req.method, res.statusCode, durationMs);
      // The feed logs its own connections; a line per health probe or scrape would drown the rest.
      if (route === "/healthz" || route === "/metrics") return;
      const fields = { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(durationMs * 10) / 10, ...(res.locals.logFields ?? {}) };
      if (res.statusCode >= 500) options.logger.error("request", fields);
      else if (res.statusCode >= 400) options.logger.warn("request", fields);
      else options.logger.info("request", fields);
    });
    next();
  });

  for (const router of options.routers) app.use(router);
  app.use((req: Request, res: Response) => sendError(res, 404, `no route for ${req.method} ${req.path}`));
  app.use(jsonErrorHandler(options.logger));
  return app;
}
