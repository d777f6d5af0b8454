import type Database from "better-sqlite3";
import type { SqlDialect, SqlDriver, SqlParams, SqlQueries, SqlValue, TransactionOptions } from "../sql/driver.js";
import { multiRowInsertSql, newRowsClause, powerOfTwoRuns } from "../sql/multi-row-insert.js";
import { compileNamed } from "../sql/named-params.js";

type Synchronous = "FULL" | "NORMAL";

const DIALECT: SqlDialect = {
  concat: (...parts) => `(${parts.join(" || ")})`,
};

interface SqliteDriverOptions {
  /** The level of every write but a relaxed transaction's; FULL by default. */
  durable?: Synchronous;
  /** Called before the file is closed, once its last transaction is done: the checkpoint thread stops. */
  beforeClose?: () => Promise<void>;
  /** Called once the file is closed: the single-daemon lock is let go. */
  afterClose?: () => void;
}

/** better-sqlite3 codes that say the file cannot be written at all, whatever the statement. */
const UNAVAILABLE = /^SQLITE_(?:READONLY|FULL|IOERR|CANTOPEN|CORRUPT|NOTADB|BUSY|PROTOCOL)/;

/**
 * The SQLite driver: better-sqlite3 is synchronous, so a statement outside a transaction runs at
 * once; a transaction keeps the connection to itself until it ends, and statements issued
 * meanwhile wait their turn (they would otherwise run inside it and see what it may roll back).
 */
export class SqliteDriver implements SqlDriver {
  readonly engine = "sqlite" as const;
  readonly dialect = DIALECT;
  /** Statements are not size-limited here (SQLite takes 1 GB values, PostgreSQL 1 GB): payloads stay whole. */
  readonly maxValueBytes = Infinity;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly direct: SqlQueries;
  private inTransaction = false;
  private queue: Promise<unknown> = Promise.resolve();
  private synchronous: Synchronous;

  /** FULL: an acknowledged event survives a power loss too. */
  private readonly durable: Synchronous;
  private readonly beforeClose: (() => Promise<void>) | undefined;
  private readonly afterClose: (() => void) | undefined;

  constructor(
    readonly db: Database.Database,
    options: SqliteDriverOptions = {},
  ) {
    this.durable = options.durable ?? "FULL";
    this.beforeClose = options.beforeClose;
    this.afterClose = options.afterClose;
    this.synchronous = this.durable;
    this.db.pragma(`synchronous = ${this.durable}`);
    this.direct = {
      all: <Row>(sql: string, params?: SqlParams) => settle(() => this.allNow<Row>(sql, params)),
      run: (sql: string, params?: SqlParams) => settle(() => this.runNow(sql, params)),
      insertIfAbsent: (table: string, row: Readonly<Record<string, SqlValue>>) => settle(() => this.insertNow(table, row)),
      insertRows: (table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]) =>
        settle(() => this.insertRowsNow(table, columns, rows)),
      insertNewRows: <Row>(
        table: string,
        columns: readonly string[],
        rows: readonly (readonly SqlValue[])[],
        conflict: readonly string[],
        returning: readonly string[],
      ) => settle(() => this.insertNewRowsNow<Row>(table, columns, rows, newRowsClause(conflict, returning))),
    };
  }

  all<Row>(sql: string, params?: SqlParams): Promise<Row[]> {
    return this.whenFree(() => this.allNow<Row>(sql, params));
  }

  run(sql: string, params?: SqlParams): Promise<{ changes: number }> {
    return this.whenFree(() => this.runNow(sql, params));
  }

  insertIfAbsent(table: string, row: Readonly<Record<string, SqlValue>>): Promise<boolean> {
    return this.whenFree(() => this.insertNow(table, row));
  }

  insertRows(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<void> {
    return this.whenFree(() => this.insertRowsNow(table, columns, rows));
  }

  transaction<T>(work: (tx: SqlQueries) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    // One process owns the file: BEGIN IMMEDIATE already serializes writers, so `lock` needs nothing more.
    return this.enqueue(async () => {
      // Relaxed for this transaction only: the statements after it (ledger, settings) are durable writes.
      if (options.relaxed) this.setSynchronous("NORMAL");
      this.db.exec("BEGIN IMMEDIATE");
      this.inTransaction = true;
      try {
        const result = await work(this.direct);
        this.db.exec("COMMIT");
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw error;
      } finally {
        this.inTransaction = false;
        this.setSynchronous(this.durable);
      }
    });
  }

  isUnavailable(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    return (typeof code === "string" && UNAVAILABLE.test(code)) || !this.db.open;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.beforeClose?.();
    if (this.db.open) this.db.close();
    this.afterClose?.();
  }

  private setSynchronous(level: Synchronous): void {
    if (this.synchronous === level) return;
    this.db.pragma(`synchronous = ${level}`);
    this.synchronous = level;
  }

  private whenFree<T>(job: () => T): Promise<T> {
    return this.inTransaction ? this.enqueue(async () => job()) : settle(job);
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const result = this.queue.then(job);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private statement(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private allNow<Row>(sql: string, params: SqlParams = {}): Row[] {
    const { text, values } = compileNamed(sql, params, "question");
    const statement = this.statement(text);
    if (statement.reader) return statement.all(...values) as Row[];
    statement.run(...values);
    return [];
  }

  private runNow(sql: string, params: SqlParams = {}): { changes: number } {
    const { text, values } = compileNamed(sql, params, "question");
    return { changes: this.statement(text).run(...values).changes };
  }

  private insertRowsNow(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): void {
    for (const run of powerOfTwoRuns(rows)) this.statement(multiRowInsertSql(table, columns, run.length, "question")).run(...run.flat());
  }

  private insertNewRowsNow<Row>(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], suffix: string): Row[] {
    return powerOfTwoRuns(rows).flatMap(
      (run) => this.statement(multiRowInsertSql(table, columns, run.length, "question", suffix)).all(...run.flat()) as Row[],
    );
  }

  private insertNow(table: string, row: Readonly<Record<string, SqlValue>>): boolean {
    const columns = Object.keys(row);
    const sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((column) => `:${column}`).join(", ")}) ON CONFLICT DO NOTHING`;
    return this.runNow(sql, row).changes === 1;
  }
}

/** A synchronous result (or throw) as a settled promise. */
function settle<T>(job: () => T): Promise<T> {
  try {
    return Promise.resolve(job());
  } catch (error) {
    return Promise.reject(error);
  }
}
