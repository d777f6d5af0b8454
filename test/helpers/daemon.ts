import { rmSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { PassThrough } from "node:stream";
import { loadConfig, secretsToRedact, type Config } from "../../src/configuration.js";
import { startDaemon, type Daemon } from "../../src/daemon.js";
import { createLogger } from "../../src/support/logger.js";
import type { SinkFactory } from "../../src/core/sink.js";
import type { Store } from "../../src/core/store.js";
import { builtinSinks } from "../../src/sinks/index.js";
import { tempDir } from "../../harness/temp-dir.js";
import { sleep } from "./sleep.js";

export { tempDir };

export const TEST_TOKEN = "test-source-token-0123456789";

export interface TestDaemon {
  daemon: Daemon;
  /** Log lines the daemon wrote, as a user would read them. */
  logs(): string;
  config: Config;
  url: string;
  dir: string;
  close(): Promise<void>;
}

/** A daemon in this process on a free loopback port, with its store in a fresh temp directory. */
export async function startTestDaemon(
  env: Record<string, string> = {},
  extraSinks: Record<string, SinkFactory<Config>> = {},
  dir = tempDir(),
  options: { store?: (config: Config) => Store; onFatal?: (error: Error) => void } = {},
): Promise<TestDaemon> {
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    SOURCE_TOKEN: TEST_TOKEN,
    DATABASE_PATH: join(dir, "store.sqlite"),
    SINKS_ENABLED: "log",
    LOG_EVENTS_TO: join(dir, "events.log"),
    RETRY_MIN_MS: "20",
    RETRY_MAX_MS: "200",
    ...env,
  });
  let logs = "";
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => (logs += chunk.toString()));
  const logger = createLogger({ debug: true, json: false, stream, secrets: secretsToRedact(config) });
  const daemon = await startDaemon({
    config,
    logger,
    builtins: { ...builtinSinks, ...extraSinks },
    store: options.store?.(config),
    onFatal: options.onFatal,
  });
  return {
    daemon,
    logs: () => logs,
    config,
    url: daemon.url,
    dir,
    close: async () => {
      await daemon.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PostOptions {
  event?: string;
  token?: string | null;
  headers?: Record<string, string>;
  contentType?: string;
  deliveryId?: string;
}

/** POSTs a body to /hooks the way GitLab does. */
export async function postHook(url: string, body: string | Buffer | object, options: PostOptions = {}): Promise<Response> {
  const payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    "Content-Type": options.contentType ?? "application/json",
    "X-Gitlab-Event": options.event ?? "Push Hook",
    "Idempotency-Key": options.deliveryId ?? randomUUID(),
    ...options.headers,
  };
  if (options.token !== null) headers["X-Gitlab-Token"] = options.token ?? TEST_TOKEN;
  return fetch(`${url}/hooks`, { method: "POST", headers, body: typeof payload === "string" ? payload : new Uint8Array(payload) });
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
