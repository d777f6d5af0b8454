import { readFileSync } from "node:fs";
import { ConfigError } from "../../config/settings.js";
import { type DaemonConfig } from "../../config/daemon-settings.js";
import { globMatcher, globProblem } from "../../core/glob.js";
import { errorMessage } from "../../support/error-message.js";

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
  const problem = globProblem(glob);
  if (problem !== null) throw new ConfigError(`${where}: ${problem}`);
  return { glob, token };
}

/** PROJECT_TOKENS entries, then PROJECT_TOKENS_FILE lines (blank lines and # comments skipped). */
export function loadProjectTokens(config: Pick<DaemonConfig, "PROJECT_TOKENS" | "PROJECT_TOKENS_FILE">): ProjectToken[] {
  const entries = config.PROJECT_TOKENS.map((entry) => parseEntry(entry, "PROJECT_TOKENS"));
  if (config.PROJECT_TOKENS_FILE) {
    let text: string;
    try {
      text = readFileSync(config.PROJECT_TOKENS_FILE, "utf8");
    } catch (error) {
      throw new ConfigError(`PROJECT_TOKENS_FILE cannot be read: ${errorMessage(error)}`);
    }
    for (const line of text.split("\n")) {
      const trimmed = line.trim();
      if (trimmed !== "" && !trimmed.startsWith("#")) entries.push(parseEntry(trimmed, "PROJECT_TOKENS_FILE"));
    }
  }
  return entries;
}

/** A PROJECT_TOKENS entry ready for requests: its glob compiled once. */
export interface ProjectTokenEntry extends ProjectToken {
  matches(projectPath: string): boolean;
}

export function compileProjectTokens(entries: readonly ProjectToken[]): ProjectTokenEntry[] {
  return entries.map((entry) => ({ ...entry, matches: globMatcher([entry.glob]) }));
}
