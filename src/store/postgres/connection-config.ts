import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { ConfigError } from "../../config/settings.js";

interface PostgresConnection {
  host: string;
  port: number;
  user: string | undefined;
  password: string | undefined;
  database: string | undefined;
  ssl: false | ConnectionOptions;
  /** The URL without its password, for logs and /healthz. */
  location: string;
}

/**
 * Reads a `postgres://` / `postgresql://` URL with libpq's meaning of `sslmode`: `require`
 * encrypts without checking the certificate (what Heroku Postgres needs), `verify-ca` checks the
 * chain, `verify-full` the host name too; `disable`, `allow` and `prefer` connect without TLS. A URL
 * without sslmode takes `defaultSslMode` (PGSSLMODE, as libpq does).
 * https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-SSLMODE-STATEMENTS
 */
export function postgresConnection(databaseUrl: string, defaultSslMode = "disable"): PostgresConnection {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new ConfigError("DATABASE_URL is not a URL; write postgres://user:password@host:5432/database");
  }
  const mode = url.searchParams.get("sslmode") ?? defaultSslMode;
  const rootCert = url.searchParams.get("sslrootcert");
  const ca = rootCert ? readFileSync(rootCert, "utf8") : undefined;
  let ssl: false | ConnectionOptions;
  switch (mode) {
    case "disable":
    case "allow":
    case "prefer":
      ssl = false;
      break;
    case "require":
    case "no-verify":
      ssl = { rejectUnauthorized: false };
      break;
    case "verify-ca":
      ssl = { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
      break;
    case "verify-full":
      ssl = { rejectUnauthorized: true, ca };
      break;
    default:
      throw new ConfigError(`DATABASE_URL (or PGSSLMODE) has sslmode=${mode}; it accepts disable, require, verify-ca or verify-full`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || undefined;
  const user = url.username ? decodeURIComponent(url.username) : undefined;
  const host = decodeURIComponent(url.hostname.replace(/^\[|\]$/g, "")) || "localhost";
  const port = url.port ? Number(url.port) : 5432;
  return {
    host,
    port,
    user,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database,
    ssl,
    location: `postgres://${user ? `${user}@` : ""}${url.host}/${database ?? ""}${mode === "disable" ? "" : ` (sslmode=${mode})`}`,
  };
}
