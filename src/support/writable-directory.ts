import { accessSync, constants, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../config/settings.js";

/**
 * Creates the directory of the file a setting names and checks that it can be written: a
 * read-only app directory stops start-up with one line naming the setting, not an EACCES trace.
 */
export function writableDirectoryOf(path: string, variable: string, remedy: string): string {
  const directory = dirname(resolve(path));
  try {
    mkdirSync(directory, { recursive: true });
    accessSync(directory, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new ConfigError(`${variable} is in ${directory}, which cannot be written (${code}); ${remedy}`);
  }
  return directory;
}
