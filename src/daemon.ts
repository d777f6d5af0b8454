import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import express from "express";
import { Registry } from "prom-client";
import type { Logger } from "winston";
import { createAdminApi } from "./http/routes/admin-api.js";
import { Bus } from "./core/bus.js";
import { ConfigError } from "./config/settings.js";
import { secretsToRedact, type Config } from "./configuration.js";
import { createDashboardRouter } from "./http/routes/dashboard.js";
import { Dispatcher } from "./core/dispatcher.js";
import { FIRST_RUN_TOKEN_COPY, firstRunToken } from "./sources/gitlab/first-run-token.js";
import { createHealthRouter } from "./http/routes/health.js";
import { defaultMaxConnections } from "./http/connection-guard.js";
import { createHttpServer } from "./http/app.js";
import { loadSinks, type LoadedSink } from "./core/load-sinks.js";
import { createDaemonMetrics, createMetricsRouter } from "./http/routes/metrics.js";
import { createRedactor } from "./support/logger.js";
import { compileProjectTokens, loadProjectTokens, type ProjectToken } from "./sources/gitlab/project-tokens.js";
import type { SharedSinkContext, Sink, SinkFactory } from "./core/sink.js";
import type { Store } from "./core/store.js";
import { openStore } from "./store/open-store.js";
import { createHooksHandler } from "./sources/gitlab/receive-hook.js";
import { createGitLabApi } from "./gitlab/api-client.js";
import { HooksWatch } from "./gitlab/hooks-watch.js";
import { errorMessage, errorWithStack } from "./support/error-message.js";

interface DaemonOptions {
  config: Config;
  logger: Logger;
  /** Built-in sinks by name; core knows none of them itself. */
  builtins: Readonly<Record<string, SinkFactory<Config>>>;
  /** A store opened by the caller (tests); by default the one the configuration names. The daemon closes it. */
  store?: Store;
  /**
   * The daemon cannot go on (its store's thread failed; it is logged, with its stack): `serve` stops
   * the process, so that its supervisor starts a new one, rather than leave it answering 503 for good.
   */
  onFatal?: (error: Error) => void;
}

export interface Daemon {
  url: string;
  server: Server;
  store: Store;
  sinks: readonly Sink[];
  dispatcher: Dispatcher;
  /** HOOKS_WATCH's view of GitLab's hooks; null when nothing is watched. */
  hooksWatch: HooksWatch | null;
  /** This daemon among others on one store: the owner of its delivery claims and leases. */
  owner: string;
  /** Reopens sinks' files (SIGHUP, after logrotate). */
  reopen(): Promise<void>;
  /** Stops accepting, lets running deliveries finish (up to SHUTDOWN_TIMEOUT_MS), closes the store. */
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;

/** The names of the sinks to run: SINKS_ENABLED, plus `log` whenever LOG_EVENTS_TO is set. */
function enabledSinkNames(config: Config): string[] {
  const names = [...config.SINKS_ENABLED];
  if (config.LOG_EVENTS_TO !== undefined && !names.includes("log")) names.push("log");
  return names;
}

/** Accepted ingest tokens; with none configured, a first-run token kept in the store. */
async function ingestTokens(config: Config, logger: Logger, store: Store, projectTokens: readonly ProjectToken[]): Promise<string[]> {
  if (config.SOURCE_TOKEN.length > 0 || config.SOURCE_SIGNING_TOKEN.length > 0 || projectTokens.length > 0) return config.SOURCE_TOKEN;
  const { token, created, copy } = await firstRunToken(store, FIRST_RUN_TOKEN_COPY);
  const where = copy === null ? "the store" : `the store (a copy readable by you only: ${copy})`;
  logger.warn(
    `no SOURCE_TOKEN or SOURCE_SIGNING_TOKEN is set: accepting only the token ${created ? "generated into" : "kept in"} ${where}; ` +
      "set SOURCE_TOKEN (comma-separated for rotation) to choose your own",
  );
  return [token];
}

/** Why the daemon could not listen, as the variable to change: a port in use is most often this daemon, already running. */
function listenError(error: unknown, config: Config): unknown {
  const code = (error as { code?: unknown }).code;
  const where = `${config.HOST}:${config.PORT}`;
  if (code === "EADDRINUSE") {
    return new ConfigError(
      `PORT ${config.PORT} is already in use on ${config.HOST} (${where}): another gitlab-webhooks daemon may be running there; stop it, or set PORT to a free port`,
    );
  }
  if (code === "EACCES")
    return new ConfigError(`PORT ${config.PORT} on ${config.HOST} needs privileges this process does not have: set PORT to 1024 or above`);
  if (code === "EADDRNOTAVAIL")
    return new ConfigError(`HOST ${config.HOST} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for all`);
  return error;
}

/** Who this daemon is among others on one store: host, process, and a random part against pid reuse. */
function daemonOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

/** HOOKS_WATCH's watcher, when it lists anything; it reads GitLab with GITLAB_TOKEN. */
function hooksWatchOf(config: Config, logger: Logger, metrics: Registry): HooksWatch | null {
  if (config.HOOKS_WATCH.length === 0) return null;
  if (!config.GITLAB_TOKEN)
    throw new ConfigError(
      "HOOKS_WATCH needs GITLAB_TOKEN: a token that may read the hooks (Maintainer of the projects, Owner of the groups)",
    );
  const api = createGitLabApi(config.GITLAB_URL, config.GITLAB_TOKEN, config.GITLAB_TIMEOUT_MS);
  return new HooksWatch(api, config.HOOKS_WATCH, config.HOOKS_WATCH_INTERVAL_SECONDS * 1000, logger, metrics);
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, logger } = options;
  const projectTokens = loadProjectTokens(config);
  const storeFailed = (error: Error) => {
    logger.error("the store's thread failed (a bug: please report it); the daemon cannot go on", {
      error: errorWithStack(error),
    });
    options.onFatal?.(error);
  };
  const store = options.store ?? (await openStore(config, logger, storeFailed));
  const owner = daemonOwner();
  const bus = new Bus(store, logger);
  const shutdown = new AbortController();
  const sinkRouter = express.Router();
  const metrics = new Registry();
  const ctx: SharedSinkContext<Config> = { config, store, logger, bus, router: sinkRouter, metrics, signal: shutdown.signal };
  const leaseMs = config.DELIVERY_LEASE_SECONDS * 1000;

  let loaded: LoadedSink<Config>[];
  let sinks: Sink[];
  let tokens: string[];
  let hooksWatch: HooksWatch | null;
  try {
    hooksWatch = hooksWatchOf(config, logger, metrics);
    // A sink's missing settings stop start-up: said before anything the operator need not act on yet.
    loaded = await loadSinks(enabledSinkNames(config), options.builtins, ctx, leaseMs);
    sinks = loaded.map(({ sink }) => sink);
    tokens = await ingestTokens(config, logger, store, projectTokens);
    for (const sink of sinks) await sink.start?.();
    await bus.start();
  } catch (error) {
    bus.stop();
    await store.close();
    throw error;
  }

  const daemonMetrics = createDaemonMetrics(metrics, store, () => sinks.map((sink) => sink.name));
  const dispatcher = new Dispatcher(
    loaded,
    store,
    bus,
    logger,
    {
      maxAttempts: config.MAX_ATTEMPTS,
      backoff: { minMs: config.RETRY_MIN_MS, maxMs: config.RETRY_MAX_MS },
      owner,
      leaseMs,
      redact: createRedactor(secretsToRedact(config)),
    },
    daemonMetrics.onDelivery,
  );

  const hooks = createHooksHandler({
    tokens,
    signingSecrets: config.SOURCE_SIGNING_TOKEN,
    projectTokens: compileProjectTokens(projectTokens),
    maxBodyBytes: config.MAX_BODY_BYTES,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    store,
    deliveriesFor: (event) => dispatcher.deliveriesFor(event),
    publish: (event) => {
      // One short line per new event (not per duplicate, never the payload): what an operator watches for first.
      const { id, type, action, project, hook } = event.meta;
      logger.info(`received event #${id} ${type}${action ? ` ${action}` : ""} ${project?.path ?? `(${hook} hook)`}`);
      bus.publish(event);
    },
    logger,
    onAuthFailure: daemonMetrics.onAuthFailure,
    onAccepted: (event, durationMs) => daemonMetrics.onAccepted(event.hook, event.type, durationMs),
  });
  const { server } = createHttpServer({
    logger,
    fastRoutes: { "/hooks": hooks, "/hooks/": hooks },
    routers: [
      createHealthRouter(store, dispatcher, hooksWatch),
      createMetricsRouter(metrics),
      createAdminApi(config.ADMIN_TOKEN, store, dispatcher, hooksWatch),
      sinkRouter,
      createDashboardRouter(),
    ],
    onResponse: daemonMetrics.onResponse,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    maxConnections: config.MAX_CONNECTIONS || defaultMaxConnections(),
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.PORT, config.HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    shutdown.abort();
    bus.stop();
    for (const sink of sinks) await sink.stop?.().catch(() => undefined);
    await store.close();
    throw listenError(error, config);
  }
  await dispatcher.start();
  hooksWatch?.start();

  // Pruning runs on one daemon at a time: the one holding the lease, renewed every hour.
  const prune = async () => {
    if (!(await store.acquireLease("prune", owner, HOUR_MS - 60_000, Date.now()))) return;
    const before = new Date(Date.now() - config.RETENTION_DAYS * 24 * HOUR_MS);
    const pruned = await store.prune(before);
    if (pruned > 0) logger.info("pruned delivered events past retention", { pruned, before: before.toISOString() });
  };
  const runPrune = () => void prune().catch((error: unknown) => logger.error("prune failed", { error: errorMessage(error) }));
  const pruneTimer = setInterval(runPrune, HOUR_MS);
  pruneTimer.unref();
  runPrune();

  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${address.port}`;
  logger.info(`listening on ${config.HOST}:${address.port}`, {
    sinks: sinks.map((sink) => sink.name),
    store: `${store.engine} ${store.location}`,
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(pruneTimer);
      hooksWatch?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Feed subscribers are told and let go; sinks' long waits end.
      shutdown.abort();
      bus.stop();
      // Requests already taken are answered (their events may be stored already) before anything else stops.
      let waited: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (waited = setTimeout(resolve, config.SHUTDOWN_TIMEOUT_MS)))]);
      clearTimeout(waited);
      await dispatcher.stop(config.SHUTDOWN_TIMEOUT_MS);
      for (const sink of sinks) {
        await sink
          .stop?.()
          .catch((error: unknown) => logger.error("sink did not stop cleanly", { sink: sink.name, error: errorMessage(error) }));
      }
      server.closeAllConnections();
      await closed;
      await store.close();
      logger.info("stopped");
    })());

  const reopen = async () => {
    for (const sink of sinks) await sink.reopen?.();
  };

  return { url, server, store, sinks, dispatcher, hooksWatch, owner, reopen, close };
}
