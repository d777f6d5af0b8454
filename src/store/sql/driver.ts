import type { Engine } from "../../core/store.js";

export type SqlValue = string | number | null;
/** Named parameters (`:name` in the SQL); an array expands to a comma-separated list for `IN (:ids)`, and only there. */
export type SqlParams = Readonly<Record<string, SqlValue | readonly SqlValue[]>>;

/** What every engine answers alike, whether inside a transaction or on the pool. */
export interface SqlQueries {
  all<Row>(sql: string, params?: SqlParams): Promise<Row[]>;
  /** Runs a statement; `changes` counts the rows it matched. */
  run(sql: string, params?: SqlParams): Promise<{ changes: number }>;
  /** Inserts a row unless one with the same unique key exists; true when it was inserted. */
  insertIfAbsent(table: string, row: Readonly<Record<string, SqlValue>>): Promise<boolean>;
  /** Inserts rows of values, in `columns` order, in a few statements (runs of powers of two): inside a transaction. */
  insertRows(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<void>;
  /**
   * Inserts rows as insertRows does, except those whose unique key (`conflict`'s columns) is
   * taken, and answers the `returning` columns of the rows it stored, in no particular order:
   * one statement where an insert and a look-up would take two (or three). Left out where the
   * engine cannot (MySQL has no INSERT … RETURNING).
   */
  insertNewRows?<Row>(
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
    conflict: readonly string[],
    returning: readonly string[],
  ): Promise<Row[]>;
  /**
   * Sends `statement` (a whole statement, without parameters) with the transaction's COMMIT, in
   * the same round trip; offered only inside a transaction, by engines that can (PostgreSQL's
   * simple query protocol). Elsewhere, run the statement instead.
   */
  withCommit?(statement: string): void;
}

export interface TransactionOptions {
  /**
   * Serializes this transaction with every other one naming the same lock, across processes,
   * until after its commit is visible (appends: ids in commit order; claims: one claimer per sink).
   */
  lock?: string;
  /**
   * May be lost by a power failure or a crash of the database server, never by a crash of the
   * daemon: delivery bookkeeping, whose loss only makes a delivery run again.
   */
  relaxed?: boolean;
}

/** The few places where SQL differs between engines. */
export interface SqlDialect {
  /** `a || b` (MariaDB reads `||` as OR). */
  concat(...parts: string[]): string;
}

/** One engine's connection (SQLite's file, a pool of server connections). */
export interface SqlDriver extends SqlQueries {
  readonly engine: Engine;
  readonly dialect: SqlDialect;
  /** The largest text one statement may carry (MariaDB's max_allowed_packet); larger payloads go in parts. */
  readonly maxValueBytes: number;
  transaction<T>(work: (tx: SqlQueries) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** True for errors that mean "the database is unreachable", as opposed to "this statement failed". */
  isUnavailable(error: unknown): boolean;
  close(): Promise<void>;
}

/** The first row, or undefined. */
export async function first<Row>(queries: SqlQueries, sql: string, params?: SqlParams): Promise<Row | undefined> {
  return (await queries.all<Row>(sql, params))[0];
}

/** Numbers as the drivers return them: BIGINT aggregates may come as strings. */
export function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return typeof value === "number" ? value : Number(value);
}

/** A server engine's statements outside a transaction: each borrows a pooled connection for itself. */
export abstract class PooledStatements implements SqlQueries {
  protected abstract readonly pooled: SqlQueries;

  all<Row>(sql: string, params?: SqlParams): Promise<Row[]> {
    return this.pooled.all<Row>(sql, params);
  }

  run(sql: string, params?: SqlParams): Promise<{ changes: number }> {
    return this.pooled.run(sql, params);
  }

  insertIfAbsent(table: string, row: Readonly<Record<string, SqlValue>>): Promise<boolean> {
    return this.pooled.insertIfAbsent(table, row);
  }

  insertRows(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<void> {
    return this.pooled.insertRows(table, columns, rows);
  }
}
