import { z } from "zod";
import { daemonSettings } from "./config/daemon-settings.js";
import { parseSettings, secretValuesOf } from "./config/settings.js";
import { builtinSinkSettings } from "./sinks/settings.js";
import { loadProjectTokens } from "./sources/gitlab/project-tokens.js";

/**
 * The whole configuration: the daemon's own variables and every built-in sink's, composed here
 * (the wiring) so that each part declares only what it reads.
 */
const shape = { ...daemonSettings.shape, ...builtinSinkSettings.shape };
const schema = z.object(shape);

export type Config = z.infer<typeof schema>;

/** Every variable the daemon reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(shape);

/** Variables whose values are secrets: never echoed in an error, a log line or a page. */
const SECRET_VARIABLES: readonly string[] = [...daemonSettings.secrets, ...builtinSinkSettings.secrets];

export { loadDotEnv } from "./config/settings.js";

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseSettings(schema, env, SECRET_VARIABLES);
}

/** A few settings, checked as the daemon checks them: for a command that reads only those. */
export function loadSettings<K extends keyof Config & string>(names: readonly K[], env: NodeJS.ProcessEnv = process.env): Pick<Config, K> {
  const some: z.ZodType = z.object(Object.fromEntries(names.map((name) => [name, shape[name]])));
  return parseSettings(some, env, SECRET_VARIABLES) as Pick<Config, K>;
}

/** Every secret value in the configuration, for redaction in logs. */
function secretValues(config: Config): string[] {
  return secretValuesOf(config, SECRET_VARIABLES);
}

/** Every value to keep out of log lines: the secret settings, and each project token on its own. */
export function secretsToRedact(config: Config): string[] {
  return [...secretValues(config), ...loadProjectTokens(config).map((entry) => entry.token)];
}
