import { openMariaDbStore } from "./mariadb/open-mariadb-store.js";
import { openPostgresStore } from "./postgres/open-postgres-store.js";
import { openSqliteStore } from "./sqlite/open-sqlite-store.js";
import type { Store, StoreLogger } from "../core/store.js";

/** Which store to open, as plain data (it crosses to the store's worker thread). */
export type StoreSpec =
  | {
      engine: "sqlite";
      path: string;
      /** Set by a daemon: see SqliteStoreOptions.singleDaemonWaitMs. */
      singleDaemonWaitMs?: number;
      /** Set by a daemon: see SqliteStoreOptions.backgroundCheckpoints. */
      backgroundCheckpoints?: boolean;
    }
  | { engine: "postgres"; url: string; poolSize: number; sslMode?: string }
  | { engine: "mariadb"; url: string; poolSize: number; user?: string; password?: string };

/** Opens the store a spec names, in this thread. */
export function openEngineStore(spec: StoreSpec, logger?: StoreLogger): Promise<Store> {
  switch (spec.engine) {
    case "sqlite":
      return Promise.resolve(
        openSqliteStore(spec.path, {
          singleDaemonWaitMs: spec.singleDaemonWaitMs,
          backgroundCheckpoints: spec.backgroundCheckpoints,
          logger,
        }),
      );
    case "postgres":
      return openPostgresStore(spec.url, { poolSize: spec.poolSize, sslMode: spec.sslMode, logger });
    case "mariadb":
      return openMariaDbStore(spec.url, { poolSize: spec.poolSize, user: spec.user, password: spec.password, logger });
  }
}
