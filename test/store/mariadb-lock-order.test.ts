import mysql, { type RowDataPacket } from "mysql2/promise";
import { describe, expect, inject, it } from "vitest";
import { createMariaDbDatabase } from "../../harness/mariadb-server.js";
import { MariaDbDriver } from "../../src/store/mariadb/mariadb-driver.js";
import { createMariaDbPool } from "../../src/store/mariadb/open-mariadb-store.js";
import { mariadbConnection } from "../../src/store/mariadb/connection-config.js";
import { sleep } from "../helpers/sleep.js";

const available = inject("mariadbUrl") !== null;

describe.skipIf(!available)("a MariaDB transaction under a named lock", () => {
  for (const isolation of ["READ COMMITTED", "REPEATABLE READ"]) {
    it(`reads, after the lock, what the lock's previous holder committed (${isolation})`, async () => {
      const url = await createMariaDbDatabase(inject("mariadbUrl") as string);
      const admin = await mysql.createConnection(url);
      await admin.query("CREATE TABLE counter (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB");
      await admin.query("INSERT INTO counter VALUES (1, 0)");
      const { location: _location, ...connection } = mariadbConnection(url);
      const pool = createMariaDbPool(connection, 8);
      // Every session set as the daemon's are, then (for the second run) as if that SET were lost.
      pool.on("connection", (raw) => {
        (raw as unknown as { query(sql: string, cb: () => void): void }).query(
          `SET SESSION TRANSACTION ISOLATION LEVEL ${isolation}`,
          () => undefined,
        );
      });
      const driver = new MariaDbDriver(pool, connection.database, 1 << 20);
      try {
        const n = 8;
        // A read-modify-write under the lock: each must see the previous holder's commit, or one increment is lost.
        await Promise.all(
          Array.from({ length: n }, () =>
            driver.transaction(
              async (tx) => {
                const [row] = await tx.all<{ v: number }>("SELECT v FROM counter WHERE id = 1");
                await sleep(20);
                await tx.run("UPDATE counter SET v = :v WHERE id = 1", { v: (row?.v ?? 0) + 1 });
              },
              { lock: "counter" },
            ),
          ),
        );
        const [[row]] = await admin.query<({ v: number } & RowDataPacket)[]>("SELECT v FROM counter WHERE id = 1");
        expect(row?.v).toBe(n);
      } finally {
        await admin.end();
        await driver.close();
      }
    });
  }

  for (const how of ["times out", "is killed", "loses its session"] as const) {
    it(`leaves no transaction open on its connection when the lock wait ${how}`, async () => {
      const url = await createMariaDbDatabase(inject("mariadbUrl") as string);
      const admin = await mysql.createConnection(url);
      await admin.query("CREATE TABLE seen (id INT PRIMARY KEY) ENGINE=InnoDB");
      const { location: _location, ...connection } = mariadbConnection(url);
      // One connection: the failed transaction's is the next statement's.
      const pool = createMariaDbPool(connection, 1);
      const driver = new MariaDbDriver(pool, connection.database, 1 << 20);
      const holder = await mysql.createConnection(url);
      try {
        await holder.query("SELECT GET_LOCK(?, 60)", [driver.lockName("busy")]);
        // The session the waiting transaction runs on: other tests' transactions on this server are not its.
        const [session] = await driver.all<{ id: number }>("SELECT CONNECTION_ID() AS id");
        const waiting = driver.transaction(async (tx) => void (await tx.run("INSERT INTO seen VALUES (1)")), { lock: "busy" });
        const outcome = waiting.then(
          () => "committed",
          (error: Error) => error.message,
        );
        if (how !== "times out") {
          await sleep(500);
          const [[row]] = await admin.query<({ id: number } & RowDataPacket)[]>(
            "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT GET_LOCK%' AND ID <> CONNECTION_ID() LIMIT 1",
          );
          await admin.query(`KILL ${how === "is killed" ? "QUERY" : "CONNECTION"} ${row?.id}`);
        }
        expect(await outcome).not.toBe("committed");
        // The pool's only connection again: a statement outside a transaction commits at once.
        await driver.transaction(async (tx) => void (await tx.run("INSERT INTO seen VALUES (2)")));
        const [rows] = await admin.query<({ id: number } & RowDataPacket)[]>("SELECT id FROM seen ORDER BY id");
        expect(rows.map((r) => r.id)).toEqual([2]);
        const [[trx]] = await admin.query<({ n: number } & RowDataPacket)[]>(
          "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?",
          [session?.id],
        );
        expect(Number(trx?.n)).toBe(0);
      } finally {
        await holder.end();
        await admin.end();
        await driver.close();
      }
    }, 40_000);
  }
});
