import { existsSync } from "node:fs";
import { z } from "zod";

/** A configuration problem, told in one line that names the variable and what it accepts. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * The variables one part of the daemon reads (the daemon itself, or one sink): their schema, and
 * which of them hold secrets that are never echoed in an error, a log line or a page.
 */
export interface SettingsGroup<Shape extends z.ZodRawShape = z.ZodRawShape> {
  shape: Shape;
  secrets: readonly (keyof Shape & string)[];
}

export function settingsGroup<Shape extends z.ZodRawShape>(
  shape: Shape,
  secrets: readonly (keyof Shape & string)[] = [],
): SettingsGroup<Shape> {
  return { shape, secrets };
}

/** What a group's variables parse to. */
export type SettingsOf<Group extends { shape: z.ZodRawShape }> = z.infer<z.ZodObject<Group["shape"]>>;

export const list = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== ""),
  );

export const flag = z
  .enum(["true", "false", "1", "0", "yes", "no", ""], { message: "accepts true or false" })
  .default("false")
  .transform((value) => value === "true" || value === "1" || value === "yes");

export const integer = (fallback: number, min: number, max: number) =>
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

export const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));

export const optionalUrl = optionalText.pipe(z.url({ message: "accepts an http(s) URL", protocol: /^https?$/ }).optional());

/** Set but empty is a mistake worth a word (a template line left blank), not a silent default. */
export const notEmpty = (hint: string) => z.string().refine((value) => value.trim() !== "", { message: `is set but empty; ${hint}` });

/** Reads `.env` (when present) into the environment without overriding what is already set. */
export function loadDotEnv(path = ".env"): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/**
 * Parses the environment with `schema`; the first problem becomes one ConfigError naming the
 * variable, what it accepts, and (unless it is one of `secrets`) what it got.
 */
export function parseSettings<Output>(schema: z.ZodType<Output>, env: NodeJS.ProcessEnv, secrets: readonly string[]): Output {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = String(issue?.path[0] ?? "configuration");
  const got = env[variable];
  const shown = secrets.includes(variable) || got === undefined ? "" : ` (got ${JSON.stringify(got)})`;
  throw new ConfigError(`${variable} ${issue?.message ?? "is invalid"}${shown}`);
}

/**
 * The settings a sink cannot work without; when some are missing, one ConfigError naming every
 * one of them (not one per start-up).
 */
export function requireSettings<Config extends object, K extends keyof Config & string>(
  config: Config,
  names: readonly K[],
  sink: string,
): { [N in K]: NonNullable<Config[N]> } {
  const missing = names.filter((name) => config[name] === undefined || config[name] === null || config[name] === "");
  if (missing.length > 0) {
    const listed = missing.length === 1 ? `${missing[0]} is` : `${missing.slice(0, -1).join(", ")} and ${missing.at(-1)} are`;
    throw new ConfigError(
      `${listed} required by the ${sink} sink; set ${missing.length === 1 ? "it" : "them"}, or remove ${sink} from SINKS_ENABLED`,
    );
  }
  return Object.fromEntries(names.map((name) => [name, config[name]])) as { [N in K]: NonNullable<Config[N]> };
}

/** The password of a database URL, as written and decoded. */
function urlPasswords(url: string): string[] {
  const written = /^[a-z]+:\/\/[^:/@]*:([^@/]*)@/i.exec(url)?.[1];
  if (!written) return [];
  try {
    return [written, decodeURIComponent(written)];
  } catch {
    return [written];
  }
}

/**
 * Every secret value among `config`'s `secrets` (a URL among them: its password), for redaction in
 * logs; values shorter than 4 characters would redact ordinary words and are left out.
 */
export function secretValuesOf(config: Readonly<Record<string, unknown>>, secrets: readonly string[]): string[] {
  const values: string[] = [];
  for (const name of secrets) {
    const value = config[name];
    if (Array.isArray(value)) values.push(...value.filter((item): item is string => typeof item === "string"));
    else if (typeof value === "string") values.push(value, ...(/^[a-z]+:\/\//i.test(value) ? urlPasswords(value) : []));
  }
  return values.filter((value) => value.length >= 4);
}
