import { z } from "zod";
import { flag, integer, list, notEmpty, optionalText, optionalUrl, settingsGroup, type SettingsOf } from "./settings.js";

/**
 * The daemon's own variables: its HTTP server, ingest credentials, store, delivery, and the GitLab
 * client several parts share. Each sink declares its own (src/sinks/<name>/settings.ts); the wiring
 * (src/configuration.ts) composes them all.
 */
export const daemonSettings = settingsGroup(
  {
    PORT: notEmpty("set a port number, or remove the line for the default 8000")
      .optional()
      .pipe(integer(8000, 0, 65535)),
    HOST: z
      .string()
      .default("0.0.0.0")
      // `HOST=localhost:8000` or `HOST=http://…`: an address with more than an address in it.
      .refine((value) => !/^(\w+:\/\/|[^:[\]]+:\d+$|\[[^\]]*\]:\d+$)/.test(value.trim()), {
        message: "takes a host name or address only: the port goes in PORT, and no scheme (e.g. HOST=127.0.0.1 PORT=8000)",
      }),
    SINKS_ENABLED: notEmpty("name at least one sink (e.g. sse,log), or remove the line for the default sse,log")
      .default("sse,log")
      .transform((value) => list.parse(value)),
    SOURCE_TOKEN: list,
    SOURCE_SIGNING_TOKEN: list.pipe(
      z.array(
        z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, {
          message: "accepts whsec_<base64> secrets, comma-separated",
        }),
      ),
    ),
    PROJECT_TOKENS: list,
    PROJECT_TOKENS_FILE: optionalText,
    DATABASE_PATH: z.string().default("data/gitlab-webhooks.sqlite"),
    DATABASE_URL: optionalText.pipe(
      z
        .string()
        .regex(/^(postgres|postgresql|mysql|mariadb):\/\//i, {
          message: "must start with postgres://, postgresql://, mysql:// or mariadb://",
        })
        .optional(),
    ),
    DATABASE_POOL_SIZE: integer(10, 1, 1000),
    /** libpq's variable: the sslmode of a postgres:// DATABASE_URL that names none (Heroku: require). */
    PGSSLMODE: optionalText,
    /** Toolforge puts the tool's ToolsDB credentials here; a mysql:// URL without credentials uses them. */
    TOOL_TOOLSDB_USER: optionalText,
    TOOL_TOOLSDB_PASSWORD: optionalText,
    DELIVERY_LEASE_SECONDS: integer(60, 1, 86_400),
    STORE_THREAD: z.enum(["worker", "main"], { message: "accepts worker or main" }).default("worker"),
    DEBUG: flag,
    NODE_ENV: z.string().default("development"),
    GITLAB_URL: optionalUrl.transform((value) => value ?? "https://gitlab.com"),
    GITLAB_TOKEN: optionalText,
    ADMIN_TOKEN: list,
    MAX_BODY_BYTES: integer(26214400, 1, 1024 * 1024 * 1024),
    RETENTION_DAYS: integer(30, 1, 36500),
    MAX_ATTEMPTS: integer(10, 1, 1000),
    RETRY_MIN_MS: integer(1000, 1, 86_400_000),
    RETRY_MAX_MS: integer(3_600_000, 1, 604_800_000),
    SHUTDOWN_TIMEOUT_MS: integer(10_000, 0, 600_000),
    REQUEST_TIMEOUT_MS: integer(10_000, 100, 600_000),
    /** Open connections at most; 0: what the open-file limit allows (see connection-guard). */
    MAX_CONNECTIONS: integer(0, 0, 1_000_000),
    /** Projects and groups whose hooks the daemon asks GitLab about (`path` or `path#hook id`). */
    HOOKS_WATCH: list,
    HOOKS_WATCH_INTERVAL_SECONDS: integer(300, 10, 86_400),
    GITLAB_TIMEOUT_MS: integer(15_000, 1, 600_000),
  },
  ["DATABASE_URL", "TOOL_TOOLSDB_PASSWORD", "SOURCE_TOKEN", "SOURCE_SIGNING_TOKEN", "PROJECT_TOKENS", "GITLAB_TOKEN", "ADMIN_TOKEN"],
);

export type DaemonConfig = SettingsOf<typeof daemonSettings>;
