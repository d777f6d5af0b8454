import type { Connection as CallbackConnection } from "mysql2";
import mysql, { type RowDataPacket } from "mysql2/promise";
import { CommitPoller } from "../sql/poll-for-commits.js";
import { SqlStore } from "../sql/sql-store.js";
import type { Store, StoreLogger } from "../store.js";
import { mariadbConnection, type MariaDbCredentials } from "./connection-config.js";
import { MariaDbDriver } from "./mariadb-driver.js";
import { migrateMariaDb } from "./migrations.js";

/**
 * How often each daemon looks for other daemons' commits: MariaDB has no LISTEN/NOTIFY, so this
 * is the most a feed subscriber or a delivery waits for an event stored through another daemon.
 */
export const MARIADB_POLL_MS = 100;

export interface MariaDbStoreOptions extends MariaDbCredentials {
  poolSize?: number;
  logger?: StoreLogger;
}

/**
 * The store on MariaDB or MySQL (DATABASE_URL=mysql://…), for Toolforge's ToolsDB: several
 * daemons may share it. Each connection runs READ COMMITTED in strict mode, so a value too long
 * for its column is an error, never a truncation.
 */
export async function openMariaDbStore(databaseUrl: string, options: MariaDbStoreOptions = {}): Promise<Store> {
  const { location, ...connection } = mariadbConnection(databaseUrl, options);
  const pool = mysql.createPool({
    ...connection,
    connectionLimit: options.poolSize ?? 10,
    charset: "utf8mb4_bin",
    supportBigNumbers: true,
    dateStrings: true,
    connectTimeout: 5000,
    enableKeepAlive: true,
  });
  // mysql2 hands this event the connection of its callback API, whatever its typings say.
  pool.on("connection", (promised) => {
    const raw = promised as unknown as CallbackConnection;
    // A connection that breaks while idle must not be an unhandled 'error' event.
    raw.on("error", (error: Error) => options.logger?.warn("a database connection broke; it will be replaced", { error: error.message }));
    // Queued before anything else on the connection; a failure here is the broken connection reported above.
    const ignore = () => undefined;
    raw.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", ignore);
    raw.query("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES')", ignore);
  });
  let driver: MariaDbDriver;
  const setup = await pool.getConnection();
  try {
    const [packet] = await setup.query<({ bytes: number } & RowDataPacket)[]>("SELECT @@max_allowed_packet AS bytes");
    driver = new MariaDbDriver(pool, connection.database, Math.floor(Number(packet[0]?.bytes ?? 4 * 1024 * 1024) / 2));
    await migrateMariaDb(setup, driver.lockName("migrate"));
  } catch (error) {
    setup.release();
    await pool.end();
    throw error;
  }
  setup.release();

  return new SqlStore({
    driver,
    shared: true,
    location,
    commits: new CommitPoller(async () => {
      const [rows] = await pool.query<({ newest: number | null } & RowDataPacket)[]>("SELECT MAX(id) AS newest FROM events");
      return Number(rows[0]?.newest ?? 0);
    }, MARIADB_POLL_MS),
  });
}
