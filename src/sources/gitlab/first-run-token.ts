import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { generateToken } from "../../support/secrets.js";
import type { Store } from "../../core/store.js";

const SETTING = "first_run_token";

/**
 * Where the daemon keeps a copy of the token it made up, for `send` and `hooks recover` run from
 * the same directory: `data/source-token` of the working directory, wherever the store is (a
 * DATABASE_PATH elsewhere, or a server database).
 */
export const FIRST_RUN_TOKEN_COPY = join("data", "source-token");

function writeCopy(path: string, token: string): boolean {
  try {
    if (readFileSync(path, "utf8").trim() === token) return true;
  } catch {
    // No copy yet.
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${token}\n`, { mode: 0o600 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The token to accept when no token or signing secret is configured: made once and kept in the
 * store (a server database keeps it across restarts on a fresh filesystem), never in a log line;
 * a copy readable by its owner only is written to `copyPath` when the directory allows.
 */
export async function firstRunToken(store: Store, copyPath: string): Promise<{ token: string; created: boolean; copy: string | null }> {
  const candidate = generateToken();
  const token = await store.settingOrCreate(SETTING, candidate);
  return { token, created: token === candidate, copy: writeCopy(copyPath, token) ? copyPath : null };
}
