import type { Logger } from "winston";
import { ConfigError } from "../config/settings.js";
import { type DaemonConfig } from "../config/daemon-settings.js";
import { openEngineStore, type StoreSpec } from "./open-engine-store.js";
import type { Store } from "../core/store.js";
import { WorkerStore } from "./worker/worker-store.js";
import { errorMessage } from "../support/error-message.js";

/** The engine DATABASE_URL names, from its scheme. */
function engineOf(databaseUrl: string): "postgres" | "mariadb" {
  const scheme = databaseUrl.slice(0, databaseUrl.indexOf(":")).toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") return "postgres";
  if (scheme === "mysql" || scheme === "mariadb") return "mariadb";
  throw new ConfigError("DATABASE_URL must start with postgres://, postgresql://, mysql:// or mariadb://");
}

/** A database URL as it may be shown: without its password. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(not a URL)";
  }
}

/** The store the configuration names: DATABASE_URL's server database, else SQLite at DATABASE_PATH. */
function storeSpec(config: DaemonConfig): StoreSpec {
  const url = config.DATABASE_URL;
  // A daemon stopping takes up to twice SHUTDOWN_TIMEOUT_MS (requests, then deliveries): the next one on its file waits that long and a margin.
  if (url === undefined) {
    return {
      engine: "sqlite",
      path: config.DATABASE_PATH,
      singleDaemonWaitMs: 2 * config.SHUTDOWN_TIMEOUT_MS + 5000,
      backgroundCheckpoints: true,
    };
  }
  if (engineOf(url) === "postgres") return { engine: "postgres", url, poolSize: config.DATABASE_POOL_SIZE, sslMode: config.PGSSLMODE };
  return {
    engine: "mariadb",
    url,
    poolSize: config.DATABASE_POOL_SIZE,
    user: config.TOOL_TOOLSDB_USER,
    password: config.TOOL_TOOLSDB_PASSWORD,
  };
}

/**
 * Opens the configured store, on a thread of its own unless STORE_THREAD=main; `onFailure` hears of
 * that thread failing once the store is open.
 */
export async function openStore(config: DaemonConfig, logger: Logger, onFailure?: (error: Error) => void): Promise<Store> {
  const spec = storeSpec(config);
  try {
    return config.STORE_THREAD === "main"
      ? await openEngineStore(spec, logger)
      : await WorkerStore.open(spec, logger, undefined, onFailure);
  } catch (error) {
    if (error instanceof ConfigError || spec.engine === "sqlite") throw error;
    const why = errorMessage(error);
    throw new Error(`could not open the ${spec.engine} database of DATABASE_URL (${withoutPassword(spec.url)}): ${why}`);
  }
}
