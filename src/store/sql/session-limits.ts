/**
 * How long a server engine lets one of the daemon's sessions sit idle inside a transaction, or
 * (MariaDB) idle at all, before the server ends it. A daemon that freezes (SIGSTOP, a paused VM)
 * or vanishes while it holds the append lock or claimed rows holds them this long at most: what
 * it costs the other daemons' ingest. The daemon's own transactions never wait between two
 * statements for anything but the database.
 */
export const IDLE_SESSION_CUT_MS = 5000;

/**
 * How long a statement waits for a lock (the append lock, a row) before it fails: longer than
 * IDLE_SESSION_CUT_MS, so that a wait behind a frozen holder ends with the lock, not with a 503.
 */
export const LOCK_WAIT_MS = 15_000;

/** TCP keepalive's idle time on every connection to the database (the OS default is 2 hours). */
export const KEEPALIVE_IDLE_MS = 5000;

/**
 * Server-side prepared statements one connection keeps at most (MariaDB's max_prepared_stmt_count,
 * 16,382 by default, is shared by every user of the server); the ones past it are closed (MariaDB)
 * or run unprepared (PostgreSQL). Lists and multi-row inserts come in a few sizes (powers of two),
 * so the daemon's statements number well under it.
 */
export const MAX_PREPARED_STATEMENTS = 100;

/**
 * How long the daemon waits for the answer to any one statement before it takes its connection for
 * dead and closes it: longer than every limit the server applies itself (statement_timeout 30 s,
 * lock waits 15 s), so it fires only when the server cannot answer at all. A connection that dies
 * without a word (a NAT or firewall that forgot it, a host gone) otherwise holds its statement until
 * TCP gives up, about a quarter of an hour, and with it what waits on that statement: the append
 * pipeline, a delivery lane.
 */
export const STATEMENT_DEADLINE_MS = 35_000;

/**
 * The longest a statement runs on the server before the server cuts it (PostgreSQL
 * statement_timeout, MariaDB max_statement_time), under STATEMENT_DEADLINE_MS: a statement that is
 * slow, not lost, ends on the server too, not only for the daemon (an UPDATE cut only by the daemon
 * could still commit after its caller was told it failed). MariaDB's migrations lift it: they wait
 * up to a minute for another daemon's.
 */
export const SERVER_STATEMENT_LIMIT_MS = 30_000;
