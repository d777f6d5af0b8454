import type { ConnectionOptions } from "mysql2";
import { ConfigError } from "../../config/settings.js";

export interface MariaDbConnection {
  host: string;
  port: number;
  user: string | undefined;
  password: string | undefined;
  database: string;
  ssl: ConnectionOptions["ssl"] | undefined;
  /** The URL without its password, for logs and /healthz. */
  location: string;
}

export interface MariaDbCredentials {
  /** Used when the URL names no user (Toolforge: TOOL_TOOLSDB_USER). */
  user?: string;
  /** Used when the URL carries no password (Toolforge: TOOL_TOOLSDB_PASSWORD). */
  password?: string;
}

/**
 * Reads a `mysql://` / `mariadb://` URL. A URL without credentials takes them from `fallback`, so
 * that on Toolforge `DATABASE_URL=mysql://tools.db.svc.wikimedia.cloud/<user>__gitlab_webhooks`
 * is enough: the platform keeps the credentials in TOOL_TOOLSDB_USER / TOOL_TOOLSDB_PASSWORD.
 * `sslmode` reads as for PostgreSQL: require (encrypt), verify-full (and check), disable (default).
 */
export function mariadbConnection(databaseUrl: string, fallback: MariaDbCredentials = {}): MariaDbConnection {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new ConfigError("DATABASE_URL is not a URL; write mysql://user:password@host:3306/database");
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (database === "")
    throw new ConfigError("DATABASE_URL names no database; write mysql://host/<database> (on Toolforge: <user>__gitlab_webhooks)");
  const mode = url.searchParams.get("sslmode") ?? "disable";
  const ssl =
    mode === "disable"
      ? undefined
      : mode === "require"
        ? { rejectUnauthorized: false }
        : mode === "verify-full"
          ? { rejectUnauthorized: true }
          : null;
  if (ssl === null) throw new ConfigError(`DATABASE_URL has sslmode=${mode}; it accepts disable, require or verify-full`);
  const user = url.username ? decodeURIComponent(url.username) : fallback.user;
  const host = decodeURIComponent(url.hostname.replace(/^\[|\]$/g, "")) || "localhost";
  return {
    host,
    port: url.port ? Number(url.port) : 3306,
    user,
    password: url.password ? decodeURIComponent(url.password) : fallback.password,
    database,
    ssl,
    location: `mysql://${user ? `${user}@` : ""}${url.host}/${database}${mode === "disable" ? "" : ` (sslmode=${mode})`}`,
  };
}
