// What one network round trip to a server database costs, measured alone: the server engines'
// append pays several per commit (BEGIN, the append lock, the dedup look-up, the inserts, COMMIT).
import mysql from "mysql2/promise";
import pg from "pg";
import { MariaDbServer } from "../harness/mariadb-server.js";
import { PostgresServer } from "../harness/postgres-server.js";
import { percentile } from "./percentile.js";

export interface RoundTrips {
  count: number;
  p50Ms: number;
  p99Ms: number;
}

/** Statements in a row on one connection, each awaited: `SELECT 1`, so that the trip is all there is. */
async function timeTrips(query: () => Promise<unknown>, count: number): Promise<RoundTrips> {
  for (let i = 0; i < 100; i++) await query();
  const each: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await query();
    each.push(performance.now() - started);
  }
  each.sort((a, b) => a - b);
  return { count, p50Ms: percentile(each, 50), p99Ms: percentile(each, 99) };
}

/** Round trips to a fresh server of the engine, on this machine (loopback, as the benchmark's daemons reach it). */
export async function roundTrips(engine: "postgres" | "mariadb", count = 2000): Promise<RoundTrips> {
  if (engine === "postgres") {
    const server = await PostgresServer.start();
    const client = new pg.Client({ connectionString: await server.createDatabase() });
    try {
      await client.connect();
      return await timeTrips(() => client.query("SELECT 1"), count);
    } finally {
      await client.end().catch(() => undefined);
      await server.destroy();
    }
  }
  const server = await MariaDbServer.start();
  const connection = await mysql.createConnection(await server.createDatabase());
  try {
    return await timeTrips(() => connection.query("SELECT 1"), count);
  } finally {
    await connection.end().catch(() => undefined);
    await server.destroy();
  }
}
