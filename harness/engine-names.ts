import { mariadbAvailable } from "./mariadb-server.js";

/** The store engines, as `npm run bench` and `npm run chaos` name them in `--engines`. */
export type EngineName = "sqlite" | "postgres" | "mariadb";

/**
 * The engines of a comma-separated list, in its order; MariaDB is left out, with one line on stderr
 * saying how to install it, where mariadbd is not installed.
 */
export function selectEngines(list: string): EngineName[] {
  return list.split(",").filter((name): name is EngineName => {
    if (name === "mariadb" && !mariadbAvailable()) {
      process.stderr.write("mariadb: skipped, mariadbd is not installed (apt-get install mariadb-server)\n");
      return false;
    }
    return name === "sqlite" || name === "postgres" || name === "mariadb";
  });
}
