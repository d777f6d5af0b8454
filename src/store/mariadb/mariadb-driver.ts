import { createHash } from "node:crypto";
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import {
  PooledStatements,
  type SqlDialect,
  type SqlDriver,
  type SqlParams,
  type SqlQueries,
  type SqlValue,
  type TransactionOptions,
} from "../sql/driver.js";
import { multiRowInsertSql, powerOfTwoRuns } from "../sql/multi-row-insert.js";
import { LOCK_WAIT_MS, STATEMENT_DEADLINE_MS } from "../sql/session-limits.js";
import { compileNamed } from "../sql/named-params.js";
import { StatementDeadlineError } from "../sql/statement-deadline-error.js";
import { within } from "../../support/within.js";

const DIALECT: SqlDialect = { concat: (...parts) => `CONCAT(${parts.join(", ")})` };

/** How long a transaction waits for its named lock: past a frozen holder's session being ended (wait_timeout). */
const LOCK_WAIT_SECONDS = LOCK_WAIT_MS / 1000;
/** Runs of a transaction that deadlocked or waited too long for a row lock. */
const CONFLICT_ATTEMPTS = 3;

const ER_DUP_ENTRY = 1062;
/** Deadlock found; lock wait timeout exceeded: InnoDB rolled the transaction back, and it may run again. */
const CONFLICTS = new Set([1213, 1205]);

interface MySqlError {
  errno?: number;
  code?: string;
  fatal?: boolean;
}

/**
 * Errors that mean the server cannot be reached or cannot take writes now: lost or refused
 * connections (fatal in mysql2), a server shutting down, too many connections, a read-only server,
 * a full disk. https://mariadb.com/kb/en/mariadb-error-code-reference/
 */
function isMariaDbUnavailable(error: unknown): boolean {
  if (error instanceof StatementDeadlineError) return true;
  const { errno, code, fatal } = (error ?? {}) as MySqlError;
  if (fatal) return true;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return true;
  return errno !== undefined && [1040, 1053, 1152, 1158, 1159, 1160, 1161, 1290, 1836, 1021, 1114, 2002, 2003, 2006, 2013].includes(errno);
}

/**
 * Closes a connection and its socket now. mysql2's destroy() only ends the socket politely, which a
 * dead path never acknowledges: the socket, and the statement waiting on it, would linger until TCP
 * gives up.
 */
function closeAtOnce(connection: PoolConnection): void {
  connection.destroy();
  (connection as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** A connection that can no longer be used: it broke, or it went silent and was closed. */
const isDead = (error: unknown) => error instanceof StatementDeadlineError || (error as MySqlError | null)?.fatal === true;

/**
 * A statement's answer, or, past the deadline, a StatementDeadlineError and the connection closed:
 * mysql2 would wait for an answer on it as long as TCP keeps it open, and give it back to the pool
 * still waiting.
 */
function withinDeadline<T>(connection: PoolConnection, deadlineMs: number, statement: Promise<T>): Promise<T> {
  return within(statement, deadlineMs, () => {
    closeAtOnce(connection);
    throw new StatementDeadlineError(deadlineMs);
  });
}

function queriesOn(connection: PoolConnection, deadlineMs: number): SqlQueries {
  const send = (text: string, values: SqlValue[]) => withinDeadline(connection, deadlineMs, connection.execute(text, values));
  const execute = async (sql: string, params: SqlParams = {}) => {
    const { text, values } = compileNamed(sql, params, "question");
    const [result] = await send(text, values);
    return result;
  };
  return {
    all: async <Row>(sql: string, params?: SqlParams) => {
      const result = await execute(sql, params);
      return (Array.isArray(result) ? result : []) as Row[];
    },
    run: async (sql: string, params?: SqlParams) => ({ changes: ((await execute(sql, params)) as ResultSetHeader).affectedRows ?? 0 }),
    // A plain INSERT whose duplicate-key error is the answer: INSERT IGNORE would also turn a too-long value into a silent truncation.
    insertIfAbsent: async (table: string, row: Readonly<Record<string, SqlValue>>) => {
      const columns = Object.keys(row);
      try {
        await execute(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((column) => `:${column}`).join(", ")})`, row);
        return true;
      } catch (error) {
        if ((error as MySqlError).errno === ER_DUP_ENTRY) return false;
        throw error;
      }
    },
    insertRows: async (table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]) => {
      for (const run of powerOfTwoRuns(rows)) await send(multiRowInsertSql(table, columns, run.length, "question"), run.flat());
    },
  };
}

/**
 * Statements outside a transaction, each on a connection taken from the pool for it: given back
 * after, or closed when it broke or went silent (the pool's own execute would give it back).
 */
function pooledQueries(pool: Pool, deadlineMs: number): SqlQueries {
  const onConnection = async <T>(work: (queries: SqlQueries) => Promise<T>): Promise<T> => {
    const connection = await pool.getConnection();
    let dead = false;
    try {
      return await work(queriesOn(connection, deadlineMs));
    } catch (error) {
      dead = isDead(error);
      throw error;
    } finally {
      if (dead) connection.destroy();
      else connection.release();
    }
  };
  return {
    all: <Row>(sql: string, params?: SqlParams) => onConnection((queries) => queries.all<Row>(sql, params)),
    run: (sql: string, params?: SqlParams) => onConnection((queries) => queries.run(sql, params)),
    insertIfAbsent: (table: string, row: Readonly<Record<string, SqlValue>>) =>
      onConnection((queries) => queries.insertIfAbsent(table, row)),
    insertRows: (table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]) =>
      onConnection((queries) => queries.insertRows(table, columns, rows)),
  };
}

/**
 * MariaDB (and MySQL) through a mysql2 pool. Named locks (GET_LOCK) are server-wide: their names
 * carry a hash of the database's, so that tools sharing a server (ToolsDB) never meet.
 */
export class MariaDbDriver extends PooledStatements implements SqlDriver {
  readonly engine = "mariadb" as const;
  readonly dialect = DIALECT;
  protected readonly pooled: SqlQueries;

  constructor(
    private readonly pool: Pool,
    private readonly database: string,
    /** Half of the server's max_allowed_packet: what one value of a statement may carry. */
    readonly maxValueBytes: number,
    /** How long a statement may go unanswered before its connection is taken for dead (STATEMENT_DEADLINE_MS). */
    private readonly deadlineMs = STATEMENT_DEADLINE_MS,
  ) {
    super();
    this.pooled = pooledQueries(pool, deadlineMs);
  }

  /** A GET_LOCK name of at most 64 characters, unique to this database. */
  lockName(name: string): string {
    return `glw_${createHash("sha1").update(`${this.database}\n${name}`).digest("hex")}`;
  }

  async transaction<T>(work: (tx: SqlQueries) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactionOnce(work, options);
      } catch (error) {
        if (attempt >= CONFLICT_ATTEMPTS || !CONFLICTS.has((error as MySqlError).errno ?? 0)) throw error;
      }
    }
  }

  private async transactionOnce<T>(work: (tx: SqlQueries) => Promise<T>, options: TransactionOptions): Promise<T> {
    const connection = await this.pool.getConnection();
    const answered = <R>(statement: Promise<R>) => withinDeadline(connection, this.deadlineMs, statement);
    const lock = options.lock ? this.lockName(options.lock) : null;
    let broken = false;
    try {
      // Begun before the lock is asked for, so that the lock is not held through one more round trip:
      // each statement reads what is committed when it runs (READ COMMITTED), the first after the lock.
      await answered(connection.beginTransaction());
      try {
        if (lock) {
          const [rows] = await answered(
            connection.query<({ got: number | null } & RowDataPacket)[]>("SELECT GET_LOCK(?, ?) AS got", [lock, LOCK_WAIT_SECONDS]),
          );
          if (rows[0]?.got !== 1) throw new Error(`could not take the database lock "${options.lock}" within ${LOCK_WAIT_SECONDS} s`);
        }
        const result = await work(queriesOn(connection, this.deadlineMs));
        await answered(connection.commit());
        return result;
      } catch (error) {
        // A connection that went silent is closed already: nothing to roll back on it.
        if (!isDead(error)) await answered(connection.rollback()).catch(() => (broken = true));
        throw error;
      }
    } catch (error) {
      if (isDead(error)) broken = true;
      throw error;
    } finally {
      // Released after the commit returned, so that the next holder's writes are visible after ours.
      if (lock && !broken) await answered(connection.query("DO RELEASE_LOCK(?)", [lock])).catch(() => (broken = true));
      // A broken connection (its session locks die with it) is closed, not given back to the pool.
      if (broken) connection.destroy();
      else connection.release();
    }
  }

  isUnavailable(error: unknown): boolean {
    return isMariaDbUnavailable(error);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
