import { rmSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { MariaDbServer } from "../harness/mariadb-server.js";
import { PostgresServer } from "../harness/postgres-server.js";
import { tempDir } from "../harness/temp-dir.js";
import type { EngineName } from "../harness/engine-names.js";
import { FaultyProxy } from "./proxy.js";
import type { Seeded } from "./seeded.js";

/** The store the daemons of one engine share, and the faults it can be given. */
export interface ChaosDatabase {
  engine: EngineName;
  /** Daemons on it at once: one on a SQLite file, several on a server. */
  daemons: number;
  /** The store variables of daemon `index` (a server is reached through that daemon's proxy). */
  env(index: number): Record<string, string>;
  /** The proxy between daemon `index` and the server; null for SQLite. */
  proxy(index: number): FaultyProxy | null;
  server: {
    stop(): Promise<void>;
    restart(): Promise<void>;
    /** Ends up to `count` of the daemons' sessions, chosen at random; resolves with how many. */
    terminateSessions(random: Seeded, count: number): Promise<number>;
    /** The chaos sink's pending deliveries as the store holds them (who holds each, since when), for the report. */
    pendingDeliveries(): Promise<Record<string, unknown>[]>;
  } | null;
  destroy(): Promise<void>;
}

const databaseName = (url: string) => new URL(url).pathname.slice(1);

function throughProxy(url: string, proxy: FaultyProxy): string {
  const proxied = new URL(url);
  proxied.port = String(proxy.port);
  return proxied.toString();
}

function pickSome<T>(random: Seeded, items: T[], count: number): T[] {
  const left = [...items];
  const picked: T[] = [];
  while (picked.length < count && left.length > 0) picked.push(left.splice(Math.floor(random.next() * left.length), 1)[0] as T);
  return picked;
}

/** SQL on a database of the server, outside the daemons' proxies. */
interface AdminSession {
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** The daemons' sessions, and how to end one, in each server's dialect. */
interface Dialect {
  sessionsOf: string;
  end: (id: number) => string;
}

const PENDING =
  "SELECT event_id, ordering_key, attempts, locked_by, locked_at, next_attempt_at FROM deliveries WHERE sink = 'chaos' AND status = 'pending' ORDER BY event_id LIMIT 20";

async function serverDatabase(
  engine: "postgres" | "mariadb",
  daemons: number,
  server: PostgresServer | MariaDbServer,
  connect: (url: string) => Promise<AdminSession>,
  dialect: Dialect,
): Promise<ChaosDatabase> {
  const url = await server.createDatabase();
  const proxies = await Promise.all(Array.from({ length: daemons }, () => FaultyProxy.start(server.port)));
  const withSession = async <T>(on: string, work: (session: AdminSession) => Promise<T>): Promise<T> => {
    const session = await connect(on);
    try {
      return await work(session);
    } finally {
      await session.close();
    }
  };
  return {
    engine,
    daemons,
    env: (index) => ({ DATABASE_URL: throughProxy(url, proxies[index] as FaultyProxy), DATABASE_POOL_SIZE: "5" }),
    proxy: (index) => proxies[index] ?? null,
    server: {
      stop: () => server.stop(),
      restart: () => server.restart(),
      // The admin session is on another database, so it never ends itself.
      terminateSessions: (random, count) =>
        withSession(server.url(), async (session) => {
          const ids = (await session.query(dialect.sessionsOf, [databaseName(url)])).map((row) => Number(Object.values(row)[0]));
          const chosen = pickSome(random, ids, count);
          for (const id of chosen) await session.query(dialect.end(id)).catch(() => undefined);
          return chosen.length;
        }),
      pendingDeliveries: () => withSession(url, (session) => session.query(PENDING)),
    },
    async destroy() {
      await Promise.all(proxies.map((proxy) => proxy.close()));
      await server.destroy();
    },
  };
}

/** A dedicated server (or file) for one engine's run: it is stopped, cut off and restarted under the daemons. */
export async function openChaosDatabase(engine: EngineName, daemons: number): Promise<ChaosDatabase> {
  if (engine === "sqlite") {
    const dir = tempDir("glw-chaos-sqlite-");
    return {
      engine,
      daemons: 1,
      env: () => ({ DATABASE_PATH: join(dir, "store.sqlite") }),
      proxy: () => null,
      server: null,
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (engine === "postgres") {
    const connect = async (url: string): Promise<AdminSession> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return {
        query: async (sql, params) => (await client.query(sql, params)).rows as Record<string, unknown>[],
        close: () => client.end(),
      };
    };
    const dialect = {
      sessionsOf: "SELECT pid FROM pg_stat_activity WHERE datname = $1",
      end: (pid: number) => `SELECT pg_terminate_backend(${Math.floor(pid)})`,
    };
    return serverDatabase(engine, daemons, await PostgresServer.start(), connect, dialect);
  }
  const connect = async (url: string): Promise<AdminSession> => {
    const connection = await mysql.createConnection(url);
    return {
      query: async (sql, params) => (await connection.query(sql, params))[0] as Record<string, unknown>[],
      close: () => connection.end(),
    };
  };
  const dialect = {
    sessionsOf: "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
    end: (id: number) => `KILL CONNECTION ${Math.floor(id)}`,
  };
  return serverDatabase(engine, daemons, await MariaDbServer.start(), connect, dialect);
}
