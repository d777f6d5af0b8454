import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { mariadbConnection } from "../../src/store/mariadb/connection-config.js";
import { MariaDbDriver } from "../../src/store/mariadb/mariadb-driver.js";
import { createMariaDbPool } from "../../src/store/mariadb/open-mariadb-store.js";
import { PostgresDriver } from "../../src/store/postgres/postgres-driver.js";
import type { SqlDriver } from "../../src/store/sql/driver.js";
import { MAX_PREPARED_STATEMENTS } from "../../src/store/sql/session-limits.js";
import { createMariaDbDatabase, mariadbAvailable, MariaDbServer } from "../../harness/mariadb-server.js";
import { createDatabase } from "../../harness/postgres-server.js";

/** Every list length and insert size from 1 to this: each would be a statement of its own. */
const SHAPES = 300;

/**
 * Runs an `IN (:ids)` of every length and a multi-row insert of every size on a driver of one
 * connection, then answers how many statements the server holds prepared (`countSql`), and closes it.
 */
async function preparedAfterEveryShape(driver: SqlDriver, countSql: string): Promise<number> {
  try {
    await runEveryShape(driver);
    return Number((await driver.all<{ count: unknown }>(countSql))[0]?.count);
  } finally {
    await driver.close();
  }
}

async function runEveryShape(driver: SqlDriver): Promise<void> {
  await driver.run("CREATE TABLE shapes (n INTEGER NOT NULL)");
  for (let length = 1; length <= SHAPES; length++) {
    const ids = Array.from({ length }, (_, index) => index);
    await driver.transaction(async (tx) => {
      await tx.run("DELETE FROM shapes");
      await tx.insertRows(
        "shapes",
        ["n"],
        ids.map((id) => [id]),
      );
      const rows = await tx.all<{ n: number }>("SELECT COUNT(*) AS n FROM shapes WHERE n IN (:ids)", { ids });
      expect(Number(rows[0]?.n)).toBe(length);
    });
  }
}

/**
 * Server-side prepared statements are bounded per connection: on MariaDB they count against the
 * server's max_prepared_stmt_count, shared by every user of the server (reaching it fails them all).
 */
describe("server-side prepared statements", () => {
  it("stay under the bound on PostgreSQL, whatever the list lengths and insert sizes", async () => {
    const url = await createDatabase(inject("postgresUrl"));
    const driver = new PostgresDriver(new pg.Pool({ connectionString: url, max: 1 }));
    expect(await preparedAfterEveryShape(driver, "SELECT COUNT(*) AS count FROM pg_prepared_statements")).toBeLessThanOrEqual(
      MAX_PREPARED_STATEMENTS,
    );
  });

  describe.skipIf(!mariadbAvailable())("on MariaDB", () => {
    // A server of its own: Prepared_stmt_count counts every client's statements.
    let server: MariaDbServer;
    beforeAll(async () => {
      server = await MariaDbServer.start();
    }, 60_000);
    afterAll(() => server?.destroy());

    it("stay under the bound, whatever the list lengths and insert sizes", async () => {
      const { location: _location, ...connection } = mariadbConnection(await createMariaDbDatabase(server.url()));
      const pool = createMariaDbPool(connection, 1);
      const driver = new MariaDbDriver(pool, connection.database, 1024 * 1024);
      expect(
        await preparedAfterEveryShape(
          driver,
          "SELECT VARIABLE_VALUE AS count FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'PREPARED_STMT_COUNT'",
        ),
      ).toBeLessThanOrEqual(MAX_PREPARED_STATEMENTS);
    });
  });
});
