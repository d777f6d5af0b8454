import type { Logger } from "winston";
import { ConfigError, type Config } from "./core/config.js";
import { openMariaDbStore } from "./core/store/mariadb/open-mariadb-store.js";
import { openPostgresStore } from "./core/store/postgres/open-postgres-store.js";
import { openSqliteStore } from "./core/store/sqlite/open-sqlite-store.js";
import type { Store } from "./core/store/store.js";

/** The engine DATABASE_URL names, from its scheme. */
export function engineOf(databaseUrl: string): "postgres" | "mariadb" {
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

/** The store the configuration asks for: DATABASE_URL's server database, else SQLite at DATABASE_PATH. */
export async function openStore(config: Config, logger: Logger): Promise<Store> {
  const url = config.DATABASE_URL;
  if (url === undefined) return openSqliteStore(config.DATABASE_PATH);
  const engine = engineOf(url);
  try {
    if (engine === "postgres") return await openPostgresStore(url, { poolSize: config.DATABASE_POOL_SIZE, sslMode: config.PGSSLMODE, logger });
    return await openMariaDbStore(url, {
      poolSize: config.DATABASE_POOL_SIZE,
      logger,
      user: config.TOOL_TOOLSDB_USER,
      password: config.TOOL_TOOLSDB_PASSWORD,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`could not open the ${engine} database of DATABASE_URL (${withoutPassword(url)}): ${why}`);
  }
}
