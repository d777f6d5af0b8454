import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { generateToken } from "./secrets.js";

/** Where the daemon keeps the token it made up when none was configured: beside the store. */
export function firstRunTokenPath(databasePath: string): string {
  return join(dirname(databasePath), "source-token");
}

/**
 * The token to accept when neither SOURCE_TOKEN nor SOURCE_SIGNING_TOKEN is set: made once,
 * kept in a file only its owner can read (never in a log line), reused on every later start.
 */
export function firstRunToken(databasePath: string): { token: string; path: string; created: boolean } {
  const path = firstRunTokenPath(databasePath);
  if (existsSync(path)) {
    const token = readFileSync(path, "utf8").trim();
    if (token !== "") return { token, path, created: false };
  }
  mkdirSync(dirname(path), { recursive: true });
  const token = generateToken();
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return { token, path, created: true };
}
