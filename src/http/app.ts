import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import express, { type Express, type Request, type Response, type Router } from "express";
import type { Logger } from "winston";
import { guardConnections } from "./connection-guard.js";
import { jsonErrorHandler, sendError } from "./json-errors.js";
import { observeResponses, type ResponseListener } from "./access-log.js";
import { errorMessage } from "../support/error-message.js";

/** A plain node:http handler; `logFields` adds facts (event id, type) to the request's log line. */
type FastHandler = (req: IncomingMessage, res: ServerResponse, logFields: (fields: object) => void) => void | Promise<void>;

interface HttpAppOptions {
  logger: Logger;
  /** Express routers in the order they are tried: operations, sinks, dashboard. */
  routers: readonly Router[];
  /** Plain node:http handlers by exact path, tried before Express (the ingest hot path). */
  fastRoutes: Readonly<Record<string, FastHandler>>;
  onResponse?: ResponseListener;
  /** GitLab gives up after 10 s: headers and body must have arrived within this. */
  requestTimeoutMs: number;
  maxConnections: number;
}

/** The daemon's HTTP surface; every answer, errors included, is JSON except the feed and the dashboard. */
export function createHttpServer(options: HttpAppOptions): { server: Server; app: Express } {
  const observe = observeResponses(options.logger, options.onResponse);
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", true);
  app.use((req: Request, res: Response, next) => {
    observe(req, res, () => ({
      route: typeof req.route?.path === "string" ? `${req.baseUrl}${req.route.path}` : "unmatched",
      // The whole path: a router mounted on /api (its token check) sees req.path without /api.
      path: req.originalUrl.split("?")[0] as string,
      fields: res.locals.logFields,
    }));
    next();
  });
  for (const router of options.routers) app.use(router);
  app.use((req: Request, res: Response) => sendError(res, 404, `no route for ${req.method} ${req.path}`));
  app.use(jsonErrorHandler(options.logger));

  const server = createServer({ requestTimeout: options.requestTimeoutMs, headersTimeout: options.requestTimeoutMs }, (req, res) => {
    const path = (req.url ?? "/").split("?")[0] as string;
    const fast = Object.hasOwn(options.fastRoutes, path) ? options.fastRoutes[path] : undefined;
    if (!fast) return void app(req, res);
    let fields: object | undefined;
    observe(req, res, () => ({ route: path.replace(/\/$/, ""), path, fields }));
    Promise.resolve(fast(req, res, (value) => (fields = value))).catch((error: unknown) => {
      options.logger.error("request failed", { method: req.method, path, error: errorMessage(error) });
      if (!res.headersSent) sendError(res, 500, "internal error; see the daemon's log");
    });
  });
  guardConnections(server, options.maxConnections, options.requestTimeoutMs, options.logger);
  return { server, app };
}
