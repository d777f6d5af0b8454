import { join } from "node:path";
import { inject } from "vitest";
import type { Store } from "../../src/core/store.js";
import { openPostgresStore } from "../../src/store/postgres/open-postgres-store.js";
import { openSqliteStore } from "../../src/store/sqlite/open-sqlite-store.js";
import { WorkerStore } from "../../src/store/worker/worker-store.js";
import { openMariaDbStore } from "../../src/store/mariadb/open-mariadb-store.js";
import { createMariaDbDatabase, MariaDbServer } from "../../harness/mariadb-server.js";
import { createDatabase, PostgresServer } from "../../harness/postgres-server.js";
import { tempDir } from "../../harness/temp-dir.js";

/** One engine under test: a fresh, empty location, and a store on it (several may share one location). */
export interface TestEngine {
  name: "sqlite" | "sqlite through its worker thread" | "postgres" | "mariadb";
  /** A database server several daemons may share. */
  server: boolean;
  /** False when the engine's server is not installed here (MariaDB without Debian's mariadb-server). */
  available: boolean;
  freshLocation(): Promise<string>;
  open(location: string): Promise<Store>;
  /** The environment that makes a daemon use this location. */
  env(location: string): Record<string, string>;
  /** A server of its own, to be stopped and started under a running daemon (server engines only). */
  dedicatedServer?(): Promise<DedicatedServer>;
}

export interface DedicatedServer {
  location: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  destroy(): Promise<void>;
}

async function dedicated(server: {
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  destroy(): Promise<void>;
}): Promise<DedicatedServer> {
  return {
    location: await server.createDatabase(),
    stop: () => server.stop(),
    restart: () => server.restart(),
    destroy: () => server.destroy(),
  };
}

export const ENGINES: readonly TestEngine[] = [
  {
    name: "sqlite",
    server: false,
    available: true,
    freshLocation: async () => join(tempDir(), "store.sqlite"),
    open: async (path) => openSqliteStore(path),
    env: (path) => ({ DATABASE_PATH: path }),
  },
  {
    // What the daemon runs: every call a message to the store's thread (the compiled worker).
    name: "sqlite through its worker thread",
    server: false,
    available: true,
    freshLocation: async () => join(tempDir(), "store.sqlite"),
    open: (path) => WorkerStore.open({ engine: "sqlite", path }),
    env: (path) => ({ DATABASE_PATH: path }),
  },
  {
    name: "postgres",
    server: true,
    available: true,
    freshLocation: () => createDatabase(inject("postgresUrl")),
    open: (url) => openPostgresStore(url, { poolSize: 5 }),
    env: (url) => ({ DATABASE_URL: url }),
    dedicatedServer: async () => dedicated(await PostgresServer.start()),
  },
  {
    name: "mariadb",
    server: true,
    available: inject("mariadbUrl") !== null,
    freshLocation: () => createMariaDbDatabase(inject("mariadbUrl") as string),
    open: (url) => openMariaDbStore(url, { poolSize: 5 }),
    env: (url) => ({ DATABASE_URL: url }),
    dedicatedServer: async () => dedicated(await MariaDbServer.start()),
  },
];

export const SERVER_ENGINES = ENGINES.filter((engine) => engine.server);
