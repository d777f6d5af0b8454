import type { TestProject } from "vitest/node";
import { MariaDbServer, mariadbAvailable } from "../helpers/mariadb-server.js";
import { PostgresServer } from "../helpers/postgres-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** An admin URL of the PostgreSQL server every test file shares (each creates its own database). */
    postgresUrl: string;
    /** The same for MariaDB, or null where mariadbd is not installed. */
    mariadbUrl: string | null;
  }
}

/** Starts the database servers once for the whole run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [postgres, mariadb] = await Promise.all([PostgresServer.start(), mariadbAvailable() ? MariaDbServer.start() : null]);
  project.provide("postgresUrl", postgres.url());
  project.provide("mariadbUrl", mariadb?.url() ?? null);
  if (!mariadb) {
    console.log("The MariaDB suite did not run: mariadbd is not installed (apt-get install mariadb-server, as .ci/run does).");
  }
  return async () => {
    await Promise.all([postgres.destroy(), mariadb?.destroy()]);
  };
}
