import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import { Registry } from "prom-client";
import type { Logger } from "winston";
import { Bus } from "./bus.js";
import type { Config } from "./config.js";
import { createAdminApi } from "./admin-api.js";
import { createDashboardRouter } from "./dashboard.js";
import { Dispatcher } from "./dispatcher.js";
import { firstRunToken } from "./first-run-token.js";
import { createHealthRouter } from "./health.js";
import { createHttpServer } from "./http-app.js";
import { loadSinks } from "./load-sinks.js";
import { createDaemonMetrics, createMetricsRouter } from "./metrics.js";
import { loadProjectTokens, projectTokenLookup, type ProjectToken } from "./project-tokens.js";
import type { Sink, SinkContext, SinkFactory } from "./sink.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";
import { createHooksHandler } from "../sources/gitlab/receive-hook.js";

export interface DaemonOptions {
  config: Config;
  logger: Logger;
  /** Built-in sinks by name; core knows none of them itself. */
  builtins: Readonly<Record<string, SinkFactory>>;
}

export interface Daemon {
  url: string;
  server: Server;
  store: Store;
  sinks: readonly Sink[];
  dispatcher: Dispatcher;
  /** Reopens sinks' files (SIGHUP, after logrotate). */
  reopen(): Promise<void>;
  /** Stops accepting, lets running deliveries finish (up to SHUTDOWN_TIMEOUT_MS), closes the store. */
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;

/** The names of the sinks to run: SINKS_ENABLED, plus `log` whenever LOG_EVENTS_TO is set. */
export function enabledSinkNames(config: Config): string[] {
  const names = [...config.SINKS_ENABLED];
  if (config.LOG_EVENTS_TO !== undefined && !names.includes("log")) names.push("log");
  return names;
}

/** Accepted ingest tokens; with none configured, a first-run token kept beside the store. */
function ingestTokens(config: Config, logger: Logger, projectTokens: readonly ProjectToken[]): string[] {
  if (config.SOURCE_TOKEN.length > 0 || config.SOURCE_SIGNING_TOKEN.length > 0 || projectTokens.length > 0) return config.SOURCE_TOKEN;
  const { token, path, created } = firstRunToken(config.DATABASE_PATH);
  logger.warn(
    `no SOURCE_TOKEN or SOURCE_SIGNING_TOKEN is set: accepting only the token ${created ? "generated into" : "kept in"} ${path}; ` +
      "set SOURCE_TOKEN (comma-separated for rotation) to choose your own",
  );
  return [token];
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, logger } = options;
  const projectTokens = loadProjectTokens(config);
  const tokens = ingestTokens(config, logger, projectTokens);
  const store = new SqliteStore(config.DATABASE_PATH);
  const bus = new Bus();
  const shutdown = new AbortController();
  const sinkRouter = express.Router();
  const metrics = new Registry();
  const ctx: SinkContext = { config, store, logger, bus, router: sinkRouter, metrics, signal: shutdown.signal };

  let sinks: Sink[];
  try {
    sinks = await loadSinks(enabledSinkNames(config), options.builtins, ctx);
    for (const sink of sinks) await sink.start?.();
  } catch (error) {
    await store.close();
    throw error;
  }

  const daemonMetrics = createDaemonMetrics(metrics, store, () => sinks.map((sink) => sink.name));
  const dispatcher = new Dispatcher(
    sinks,
    ctx,
    store,
    bus,
    logger,
    { maxAttempts: config.MAX_ATTEMPTS, backoff: { minMs: config.RETRY_MIN_MS, maxMs: config.RETRY_MAX_MS } },
    daemonMetrics.onDelivery,
  );

  const hooks = createHooksHandler({
    tokens,
    signingSecrets: config.SOURCE_SIGNING_TOKEN,
    projectTokens: projectTokenLookup(projectTokens),
    maxBodyBytes: config.MAX_BODY_BYTES,
    store,
    sinksFor: (event) => dispatcher.sinksFor(event),
    publish: (event) => bus.publish(event),
    logger,
    onAuthFailure: daemonMetrics.onAuthFailure,
    onAccepted: (event, durationMs) => daemonMetrics.onAccepted(event.hook, event.type, durationMs),
  });
  const { server } = createHttpServer({
    logger,
    fastRoutes: { "/hooks": hooks, "/hooks/": hooks },
    routers: [
      createHealthRouter(store, dispatcher),
      createMetricsRouter(metrics),
      createAdminApi(config.ADMIN_TOKEN, store, dispatcher),
      sinkRouter,
      createDashboardRouter(),
    ],
    onResponse: daemonMetrics.onResponse,
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // GitLab gives up after 10 s; a slow client must not hold a socket for longer than that.
  server.requestTimeout = 30_000;
  dispatcher.start();

  const prune = async () => {
    const before = new Date(Date.now() - config.RETENTION_DAYS * 24 * HOUR_MS);
    const pruned = await store.prune(before);
    if (pruned > 0) logger.info("pruned delivered events past retention", { pruned, before: before.toISOString() });
  };
  const pruneTimer = setInterval(() => void prune().catch((error) => logger.error("prune failed", { error: String(error) })), HOUR_MS);
  pruneTimer.unref();
  void prune().catch((error) => logger.error("prune failed", { error: String(error) }));

  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${address.port}`;
  logger.info(`listening on ${config.HOST}:${address.port}`, { sinks: sinks.map((sink) => sink.name), database: config.DATABASE_PATH });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(pruneTimer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      shutdown.abort();
      await dispatcher.stop(config.SHUTDOWN_TIMEOUT_MS);
      for (const sink of sinks) {
        await sink.stop?.().catch((error: unknown) => logger.error("sink did not stop cleanly", { sink: sink.name, error: String(error) }));
      }
      server.closeAllConnections();
      await closed;
      await store.close();
      logger.info("stopped");
    })());

  const reopen = async () => {
    for (const sink of sinks) await sink.reopen?.();
  };

  return { url, server, store, sinks, dispatcher, reopen, close };
}
