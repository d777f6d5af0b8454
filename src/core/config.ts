import { existsSync } from "node:fs";
import { z } from "zod";

/** A configuration problem, told in one line that names the variable and what it accepts. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const list = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== ""),
  );

const flag = z
  .enum(["true", "false", "1", "0", "yes", "no", ""], { message: "accepts true or false" })
  .default("false")
  .transform((value) => value === "true" || value === "1" || value === "yes");

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((value) => (value.trim() === "" ? fallback : Number(value)))
    .pipe(
      z
        .number({ message: "accepts a whole number" })
        .int({ message: "accepts a whole number" })
        .min(min, { message: `accepts a whole number from ${min} to ${max}` })
        .max(max, { message: `accepts a whole number from ${min} to ${max}` }),
    );

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));

const optionalUrl = optionalText.pipe(
  z.url({ message: "accepts an http(s) URL", protocol: /^https?$/ }).optional(),
);

/** Set but empty is a mistake worth a word (a template line left blank), not a silent default. */
const notEmpty = (hint: string) => z.string().refine((value) => value.trim() !== "", { message: `is set but empty; ${hint}` });

/** The configuration table of DESIGN.md, plus the settings the sinks' issues add. */
const schema = z.object({
  PORT: notEmpty("set a port number, or remove the line for the default 8000").optional().pipe(integer(8000, 0, 65535)),
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
      .regex(/^(postgres|postgresql|mysql|mariadb):\/\//i, { message: "must start with postgres://, postgresql://, mysql:// or mariadb://" })
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
  LOG_EVENTS_TO: optionalText,
  DEBUG: flag,
  NODE_ENV: z.string().default("development"),
  GITLAB_URL: optionalUrl.transform((value) => value ?? "https://gitlab.com"),
  GITLAB_TOKEN: optionalText,
  PHABRICATOR_URL: optionalUrl,
  PHABRICATOR_TOKEN: optionalText,
  PHABRICATOR_PATCH_FOR_REVIEW: optionalText,
  PHABRICATOR_DRY_RUN: flag,
  PHABRICATOR_PRIVATE: flag,
  REVIEWERS_URL: optionalUrl,
  REVIEWERS_FILE: optionalText,
  REVIEWERS_TTL: integer(600, 1, 604800),
  SSE_TOKEN: list,
  SSE_MAX_CLIENTS: integer(1000, 1, 1_000_000),
  SSE_KEEPALIVE_SECONDS: integer(15, 1, 3600),
  SSE_MAX_BACKLOG_BYTES: integer(4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  SSE_MAX_REPLAY: integer(10_000, 1, 100_000_000),
  SSE_ANONYMOUS_FULL_PAYLOAD: flag,
  /** The `http` sink's endpoints: a JSON file (src/sinks/http/endpoints.ts reads it). */
  HTTP_SINK_FILE: optionalText,
  HTTP_SINK_TIMEOUT_MS: integer(10_000, 1, 600_000),
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
  PHABRICATOR_TIMEOUT_MS: integer(15_000, 1, 600_000),
  GITLAB_TIMEOUT_MS: integer(15_000, 1, 600_000),
});

export type Config = z.infer<typeof schema>;

/** Every variable the daemon reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

/** Variables whose values are secrets: never echoed in an error, a log line or a page. */
export const SECRET_VARIABLES = [
  "DATABASE_URL",
  "TOOL_TOOLSDB_PASSWORD",
  "SOURCE_TOKEN",
  "SOURCE_SIGNING_TOKEN",
  "PROJECT_TOKENS",
  "GITLAB_TOKEN",
  "PHABRICATOR_TOKEN",
  "SSE_TOKEN",
  "ADMIN_TOKEN",
] as const;

/** Reads `.env` (when present) into the environment without overriding what is already set. */
export function loadDotEnv(path = ".env"): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/** The first problem as one line naming the variable, what it accepts, and (unless a secret) what it got. */
function configError(error: z.ZodError, env: NodeJS.ProcessEnv): ConfigError {
  const issue = error.issues[0];
  const variable = String(issue?.path[0] ?? "configuration");
  const secret = (SECRET_VARIABLES as readonly string[]).includes(variable);
  const got = env[variable];
  const shown = secret || got === undefined ? "" : ` (got ${JSON.stringify(got)})`;
  return new ConfigError(`${variable} ${issue?.message ?? "is invalid"}${shown}`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) throw configError(result.error, env);
  return result.data;
}

/** A few settings, checked as the daemon checks them: for a command that reads only those. */
export function loadSettings<K extends keyof Config>(names: readonly K[], env: NodeJS.ProcessEnv = process.env): Pick<Config, K> {
  const some: z.ZodType = z.object(Object.fromEntries(names.map((name) => [name, schema.shape[name]])));
  const result = some.safeParse(env);
  if (!result.success) throw configError(result.error, env);
  return result.data as Pick<Config, K>;
}

/**
 * The settings a sink cannot work without; when some are missing, one ConfigError naming every
 * one of them (not one per start-up).
 */
export function requireSettings<K extends keyof Config>(config: Config, names: readonly K[], sink: string): { [N in K]: NonNullable<Config[N]> } {
  const missing = names.filter((name) => config[name] === undefined || config[name] === null || config[name] === "");
  if (missing.length > 0) {
    const listed = missing.length === 1 ? `${String(missing[0])} is` : `${missing.slice(0, -1).join(", ")} and ${String(missing.at(-1))} are`;
    throw new ConfigError(`${listed} required by the ${sink} sink; set ${missing.length === 1 ? "it" : "them"}, or remove ${sink} from SINKS_ENABLED`);
  }
  return Object.fromEntries(names.map((name) => [name, config[name]])) as { [N in K]: NonNullable<Config[N]> };
}

/** The password of a database URL, as written and decoded. */
function urlPasswords(url: string | undefined): string[] {
  const written = url === undefined ? undefined : /^[a-z]+:\/\/[^:/@]*:([^@/]*)@/i.exec(url)?.[1];
  if (!written) return [];
  try {
    return [written, decodeURIComponent(written)];
  } catch {
    return [written];
  }
}

/** Every secret value in the configuration, for redaction in logs. */
export function secretValues(config: Config): string[] {
  const values: string[] = [];
  for (const name of SECRET_VARIABLES) {
    const value = config[name];
    if (Array.isArray(value)) values.push(...value);
    else if (typeof value === "string") values.push(value);
  }
  values.push(...urlPasswords(config.DATABASE_URL));
  return values.filter((value) => value.length >= 4);
}
