import pg from "pg";
import { newestEventId } from "../sql/poll-for-commits.js";
import {
  IDLE_SESSION_CUT_MS,
  KEEPALIVE_IDLE_MS,
  LOCK_WAIT_MS,
  SERVER_STATEMENT_LIMIT_MS,
  STATEMENT_DEADLINE_MS,
} from "../sql/session-limits.js";
import { SqlStore } from "../sql/sql-store.js";
import type { Store, StoreLogger } from "../../core/store.js";
import { errorMessage } from "../../support/error-message.js";
import { postgresConnection } from "./connection-config.js";
import { CommitListener, COMMITS_CHANNEL } from "./listen-for-commits.js";
import { migratePostgres } from "./migrations.js";
import { PostgresDriver } from "./postgres-driver.js";

interface PostgresStoreOptions {
  /** Connections in the pool. */
  poolSize?: number;
  /** The sslmode of a URL that names none (PGSSLMODE). */
  sslMode?: string;
  logger?: StoreLogger;
  /** How long a statement may go unanswered before its connection is taken for dead (STATEMENT_DEADLINE_MS). */
  statementDeadlineMs?: number;
}

/** BIGINT (int8) as a JavaScript number: ids and millisecond times stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * The store on PostgreSQL (DATABASE_URL=postgres://…): several daemons may share it. Appends
 * NOTIFY the others, which LISTEN on a connection of their own.
 */
export async function openPostgresStore(databaseUrl: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const { location, ...connection } = postgresConnection(databaseUrl, options.sslMode);
  const deadlineMs = options.statementDeadlineMs ?? STATEMENT_DEADLINE_MS;
  const clientConfig: pg.ClientConfig = {
    ...connection,
    types,
    application_name: "gitlab-webhooks",
    connectionTimeoutMillis: 5000,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    // Session settings sent with every connection's start-up: the server ends a session left idle in
    // a transaction (its holder froze or vanished, the advisory lock and row locks with it), and a
    // wait for a lock outlasts that; a statement running for longer than 30 s is cut.
    idle_in_transaction_session_timeout: IDLE_SESSION_CUT_MS,
    lock_timeout: LOCK_WAIT_MS,
    statement_timeout: SERVER_STATEMENT_LIMIT_MS,
    // No answer at all, past every limit above: the connection died without a word (see STATEMENT_DEADLINE_MS).
    query_timeout: deadlineMs,
  };
  const pool = new pg.Pool({ ...clientConfig, max: options.poolSize ?? 10, idleTimeoutMillis: 30_000 });
  // An idle connection that breaks (the server restarts) is dropped from the pool; the next query opens a new one.
  pool.on("error", (error) => options.logger?.warn("a database connection broke; it will be replaced", { error: error.message }));
  // Every connection listens for errors from its first moment. The pool hands a new one out as it
  // reads the server's first ReadyForQuery; an error read in the same chunk (the session terminated
  // at once: an administrator, a failover) comes before its holder can listen, and an 'error' with
  // no listener took the store's thread down. Its holder still learns of it: the connection's next
  // statement fails, and the connection is dropped.
  pool.on("connect", (client) =>
    client.on("error", (error) => options.logger?.debug("a database connection broke", { error: errorMessage(error) })),
  );
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => (broken = error);
  client.on("error", onError);
  try {
    await migratePostgres(client);
  } finally {
    client.off("error", onError);
    client.release(broken);
  }
  const driver = new PostgresDriver(pool, deadlineMs);
  return new SqlStore({
    driver,
    shared: true,
    location,
    afterAppend: async (tx, newestId) => {
      // Leaves with the COMMIT, in its round trip: the channel is ours, the id a whole number.
      if (tx.withCommit && Number.isSafeInteger(newestId)) tx.withCommit(`SELECT pg_notify('${COMMITS_CHANNEL}', '${newestId}')`);
      else await tx.run("SELECT pg_notify(:channel, :newest)", { channel: COMMITS_CHANNEL, newest: String(newestId) });
    },
    commits: new CommitListener(clientConfig, options.logger, () => newestEventId(driver)),
  });
}
