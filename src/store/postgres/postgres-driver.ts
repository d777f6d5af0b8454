import pg from "pg";
import {
  PooledStatements,
  type SqlDialect,
  type SqlDriver,
  type SqlParams,
  type SqlQueries,
  type SqlValue,
  type TransactionOptions,
} from "../sql/driver.js";
import { multiRowInsertSql, newRowsClause, powerOfTwoRuns } from "../sql/multi-row-insert.js";
import { compileNamed } from "../sql/named-params.js";
import { lockKey } from "../sql/lock-key.js";
import { MAX_PREPARED_STATEMENTS, STATEMENT_DEADLINE_MS } from "../sql/session-limits.js";
import { StatementDeadlineError } from "../sql/statement-deadline-error.js";

const DIALECT: SqlDialect = { concat: (...parts) => `(${parts.join(" || ")})` };

/** The first number of every advisory lock this daemon takes ("GLWH"), so it never meets another application's. */
export const ADVISORY_LOCK_CLASS = 0x474c5748;

/**
 * Errors that mean the server cannot be reached or cannot take writes now, whatever the
 * statement: SQLSTATE classes 08 (connection), 53 (resources), 57P (shutdown), and socket errors.
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
function isPostgresUnavailable(error: unknown): boolean {
  if (error instanceof StatementDeadlineError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (/^(08|53|57P)/.test(code) || code === "25006" || /^E[A-Z]+$/.test(code))) return true;
  const message = error instanceof Error ? error.message : "";
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|Client was closed/i.test(
    message,
  );
}

/**
 * Statements prepared once per connection, by name: a plan is not parsed again on every call.
 * Named statements live as long as their connection, so only the first MAX_PREPARED_STATEMENTS
 * texts get a name (the daemon's statements are fewer: lists and inserts come in a few sizes);
 * any text past them runs as an unnamed statement, parsed each time.
 */
class StatementNames {
  private readonly names = new Map<string, string>();
  nameOf(text: string): string | undefined {
    let name = this.names.get(text);
    if (!name && this.names.size < MAX_PREPARED_STATEMENTS) this.names.set(text, (name = `glw${this.names.size}`));
    return name;
  }
}

/** node-postgres's error when a statement went unanswered past query_timeout (the client's deadline). */
const isReadTimeout = (error: unknown) => error instanceof Error && error.message === "Query read timeout";

/**
 * A statement's answer, or, past the deadline, a StatementDeadlineError: node-postgres gives up on
 * the statement, and the connection it was sent on is closed, not used again (a pool query's by
 * the pool, a transaction's by transaction()).
 */
async function answered<T>(deadlineMs: number, statement: Promise<T>): Promise<T> {
  try {
    return await statement;
  } catch (error) {
    throw isReadTimeout(error) ? new StatementDeadlineError(deadlineMs) : error;
  }
}

function queriesOn(client: pg.Pool | pg.PoolClient, statements: StatementNames, deadlineMs: number): SqlQueries {
  const send = (text: string, values: SqlValue[]) => answered(deadlineMs, client.query({ name: statements.nameOf(text), text, values }));
  const query = async (sql: string, params: SqlParams = {}) => {
    const { text, values } = compileNamed(sql, params, "dollar");
    return send(text, values);
  };
  return {
    all: async <Row>(sql: string, params?: SqlParams) => (await query(sql, params)).rows as Row[],
    run: async (sql: string, params?: SqlParams) => ({ changes: (await query(sql, params)).rowCount ?? 0 }),
    insertIfAbsent: async (table: string, row: Readonly<Record<string, SqlValue>>) => {
      const columns = Object.keys(row);
      const sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((column) => `:${column}`).join(", ")}) ON CONFLICT DO NOTHING`;
      return (await query(sql, row)).rowCount === 1;
    },
    insertRows: async (table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]) => {
      for (const run of powerOfTwoRuns(rows)) await send(multiRowInsertSql(table, columns, run.length, "dollar"), run.flat());
    },
    insertNewRows: async <Row>(
      table: string,
      columns: readonly string[],
      rows: readonly (readonly SqlValue[])[],
      conflict: readonly string[],
      returning: readonly string[],
    ) => {
      const stored: Row[] = [];
      for (const run of powerOfTwoRuns(rows)) {
        const sql = multiRowInsertSql(table, columns, run.length, "dollar", newRowsClause(conflict, returning));
        stored.push(...((await send(sql, run.flat())).rows as Row[]));
      }
      return stored;
    },
  };
}

/** PostgreSQL through a node-postgres pool. */
export class PostgresDriver extends PooledStatements implements SqlDriver {
  readonly engine = "postgres" as const;
  readonly dialect = DIALECT;
  /** Statements are not size-limited here (SQLite takes 1 GB values, PostgreSQL 1 GB): payloads stay whole. */
  readonly maxValueBytes = Infinity;
  private readonly statements = new StatementNames();
  protected readonly pooled: SqlQueries;

  /** `deadlineMs`: the pool's query_timeout, named in the error of a statement that went unanswered. */
  constructor(
    readonly pool: pg.Pool,
    private readonly deadlineMs = STATEMENT_DEADLINE_MS,
  ) {
    super();
    this.pooled = queriesOn(pool, this.statements, deadlineMs);
  }

  async transaction<T>(work: (tx: SqlQueries) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out connection has no listener of the pool's: a break between two statements would
    // otherwise be an unhandled 'error' event. The next statement fails with it instead.
    const onError = (error: Error) => (broken = error);
    client.on("error", onError);
    const statement = <T extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
      answered(this.deadlineMs, client.query<T>(text, values));
    // Statements without parameters go in one query string (the simple protocol): each round trip
    // saved is one the transaction, which holds the append lock, no longer waits for.
    const begin = [options.relaxed ? "BEGIN; SET LOCAL synchronous_commit = off" : "BEGIN"];
    // Released at the end of the transaction, after its commit is visible to everyone. Both numbers are ours.
    if (options.lock) begin.push(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_CLASS}, ${lockKey(options.lock)})`);
    const atCommit: string[] = [];
    try {
      await statement(begin.join("; "));
      const result = await work({ ...queriesOn(client, this.statements, this.deadlineMs), withCommit: (text) => void atCommit.push(text) });
      await statement([...atCommit, "COMMIT"].join("; "));
      return result;
    } catch (error) {
      // A connection that did not answer is dead: a ROLLBACK would wait out another deadline on it.
      if (error instanceof StatementDeadlineError) broken = error;
      else await statement("ROLLBACK").catch((rollback: Error) => (broken = rollback));
      throw error;
    } finally {
      client.off("error", onError);
      // A connection that broke, or could not even roll back, is closed, not given back to the pool.
      client.release(broken);
    }
  }

  isUnavailable(error: unknown): boolean {
    return isPostgresUnavailable(error);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
