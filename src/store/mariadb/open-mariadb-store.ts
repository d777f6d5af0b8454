import type { Connection as CallbackConnection } from "mysql2";
import mysql, { type Pool, type RowDataPacket } from "mysql2/promise";
import { CommitPoller, newestEventId } from "../sql/poll-for-commits.js";
import {
  IDLE_SESSION_CUT_MS,
  KEEPALIVE_IDLE_MS,
  LOCK_WAIT_MS,
  MAX_PREPARED_STATEMENTS,
  SERVER_STATEMENT_LIMIT_MS,
} from "../sql/session-limits.js";
import { SqlStore } from "../sql/sql-store.js";
import type { Store, StoreLogger } from "../../core/store.js";
import { mariadbConnection, type MariaDbConnection, type MariaDbCredentials } from "./connection-config.js";
import { MariaDbDriver } from "./mariadb-driver.js";
import { migrateMariaDb } from "./migrations.js";

/**
 * How often each daemon looks for other daemons' commits: MariaDB has no LISTEN/NOTIFY, so this
 * is the most a feed subscriber or a delivery waits for an event stored through another daemon.
 */
const MARIADB_POLL_MS = 100;

interface MariaDbStoreOptions extends MariaDbCredentials {
  poolSize?: number;
  logger?: StoreLogger;
  /** How long a statement may go unanswered before its connection is taken for dead (STATEMENT_DEADLINE_MS). */
  statementDeadlineMs?: number;
}

/**
 * The daemon's connections to MariaDB, each set up for it (READ COMMITTED, strict mode, a frozen
 * holder's session cut after IDLE_SESSION_CUT_MS) before its first statement.
 */
export function createMariaDbPool(connection: Omit<MariaDbConnection, "location">, connectionLimit: number, logger?: StoreLogger): Pool {
  const pool = mysql.createPool({
    ...connection,
    connectionLimit,
    // The server ends a session idle for IDLE_SESSION_CUT_MS (wait_timeout, below): the pool retires
    // a free connection well before (it looks every second), so that it never hands out one the
    // server is closing. mysql2 retires idle connections only with maxIdle below connectionLimit.
    maxIdle: connectionLimit - 1,
    idleTimeout: IDLE_SESSION_CUT_MS / 2 - 1000,
    // Server-side statements are shared by every user of the server (max_prepared_stmt_count):
    // each connection keeps its most recently used ones and closes the others.
    maxPreparedStatements: MAX_PREPARED_STATEMENTS,
    charset: "utf8mb4_bin",
    supportBigNumbers: true,
    dateStrings: true,
    connectTimeout: 5000,
    enableKeepAlive: true,
    keepAliveInitialDelay: KEEPALIVE_IDLE_MS,
  });
  // mysql2 hands this event the connection of its callback API, whatever its typings say.
  pool.on("connection", (promised) => {
    const raw = promised as unknown as CallbackConnection;
    // A connection that breaks while idle must not be an unhandled 'error' event.
    raw.on("error", (error: Error) => logger?.warn("a database connection broke; it will be replaced", { error: error.message }));
    // Queued before anything else on the connection; a failure here is the broken connection reported above.
    const ignore = () => undefined;
    raw.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", ignore);
    raw.query("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES')", ignore);
    // A daemon that freezes or vanishes holding GET_LOCK or row locks loses its session (and them) after
    // wait_timeout; a row lock wait outlasts that (GET_LOCK's wait is the driver's).
    raw.query(`SET SESSION wait_timeout = ${IDLE_SESSION_CUT_MS / 1000}, innodb_lock_wait_timeout = ${LOCK_WAIT_MS / 1000}`, ignore);
    // A statement runs on the server no longer than the daemon waits for it (MariaDB only: MySQL
    // refuses the variable, and the error is ignored); a wait for a table's metadata lock likewise.
    raw.query(`SET SESSION max_statement_time = ${SERVER_STATEMENT_LIMIT_MS / 1000}`, ignore);
    raw.query(`SET SESSION lock_wait_timeout = ${LOCK_WAIT_MS / 1000}`, ignore);
  });
  return pool;
}

/**
 * The store on MariaDB or MySQL (DATABASE_URL=mysql://…), for Toolforge's ToolsDB: several
 * daemons may share it. Each connection runs READ COMMITTED in strict mode, so a value too long
 * for its column is an error, never a truncation.
 */
export async function openMariaDbStore(databaseUrl: string, options: MariaDbStoreOptions = {}): Promise<Store> {
  const { location, ...connection } = mariadbConnection(databaseUrl, options);
  const pool = createMariaDbPool(connection, options.poolSize ?? 10, options.logger);
  let driver: MariaDbDriver;
  const setup = await pool.getConnection();
  try {
    const [packet] = await setup.query<({ bytes: number } & RowDataPacket)[]>("SELECT @@max_allowed_packet AS bytes");
    driver = new MariaDbDriver(
      pool,
      connection.database,
      Math.floor(Number(packet[0]?.bytes ?? 4 * 1024 * 1024) / 2),
      options.statementDeadlineMs,
    );
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
    commits: new CommitPoller(() => newestEventId(driver), MARIADB_POLL_MS),
  });
}
