import { readFileSync } from "node:fs";
import { ConfigError, secretValues, type Config } from "./config.js";
import { globMatcher } from "./glob.js";

export interface ProjectToken {
  glob: string;
  token: string;
}

/** `<project path glob>=<token>` (the first `=` separates them: a token may end in `=`). */
function parseEntry(entry: string, where: string): ProjectToken {
  const at = entry.indexOf("=");
  const glob = entry.slice(0, at).trim();
  const token = entry.slice(at + 1).trim();
  // Never echo the entry: it holds a secret.
  if (at <= 0 || glob === "" || token === "") throw new ConfigError(`${where} has an entry that is not <project path glob>=<token>`);
  return { glob, token };
}

/** PROJECT_TOKENS entries, then PROJECT_TOKENS_FILE lines (blank lines and # comments skipped). */
export function loadProjectTokens(config: Pick<Config, "PROJECT_TOKENS" | "PROJECT_TOKENS_FILE">): ProjectToken[] {
  const entries = config.PROJECT_TOKENS.map((entry) => parseEntry(entry, "PROJECT_TOKENS"));
  if (config.PROJECT_TOKENS_FILE) {
    let text: string;
    try {
      text = readFileSync(config.PROJECT_TOKENS_FILE, "utf8");
    } catch (error) {
      throw new ConfigError(`PROJECT_TOKENS_FILE cannot be read: ${(error as Error).message}`);
    }
    for (const line of text.split("\n")) {
      const trimmed = line.trim();
      if (trimmed !== "" && !trimmed.startsWith("#")) entries.push(parseEntry(trimmed, "PROJECT_TOKENS_FILE"));
    }
  }
  return entries;
}

/**
 * The tokens that may authenticate an event of this project: those of every entry whose glob
 * matches its path. An event without a project path gets none (only SOURCE_TOKEN works for it),
 * so a token of project A never authenticates an event of project B.
 */
export function projectTokenLookup(entries: readonly ProjectToken[]): (projectPath: string | null) => string[] {
  const compiled = entries.map((entry) => ({ matches: globMatcher([entry.glob]), token: entry.token }));
  return (projectPath) => (projectPath === null ? [] : compiled.filter((entry) => entry.matches(projectPath)).map((entry) => entry.token));
}

/** Every value to keep out of log lines: the secret settings, and each project token on its own. */
export function secretsToRedact(config: Config): string[] {
  return [...secretValues(config), ...loadProjectTokens(config).map((entry) => entry.token)];
}
