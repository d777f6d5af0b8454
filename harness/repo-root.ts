import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository's root: the first folder above this module with a package.json, so that it is the
 * same from source (harness/) and compiled beside a harness (dist-chaos/harness/).
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
}

export const REPO_ROOT = findRoot();
