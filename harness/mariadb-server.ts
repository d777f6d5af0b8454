import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { freePort } from "./free-port.js";
import { tempDir } from "./temp-dir.js";

const PASSWORD = "test-mariadb-password";
const SEARCH_PATH = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"];

function findProgram(name: string): string | null {
  for (const dir of SEARCH_PATH) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return null;
}

/** Whether Debian's mariadb-server (mariadbd, mariadb-install-db) is installed. */
export function mariadbAvailable(): boolean {
  return findProgram("mariadbd") !== null && findProgram("mariadb-install-db") !== null;
}

/**
 * A throwaway MariaDB server in a temp directory on a loopback port, from Debian's mariadb-server
 * package. It keeps MariaDB's default max_allowed_packet (16 MB): the store must cope with it.
 */
export class MariaDbServer {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly durable: boolean,
  ) {}

  /** `durable`: commits wait for the redo log to reach the disk, as in production (benchmarks). */
  static async start(options: { durable?: boolean } = {}): Promise<MariaDbServer> {
    const server = new MariaDbServer(await freePort(), tempDir("glw-mariadb-"), options.durable ?? false);
    const installed = spawnSync(
      findProgram("mariadb-install-db") as string,
      ["--no-defaults", `--datadir=${server.dataDir}`, "--auth-root-authentication-method=normal", "--skip-test-db", ...server.userArgs()],
      { encoding: "utf8" },
    );
    if (installed.status !== 0) throw new Error(`mariadb-install-db failed: ${installed.stderr || installed.stdout}`);
    await server.restart();
    const root = await mysql.createConnection({ socketPath: server.socket, user: "root" });
    await root.query(`CREATE USER 'test'@'%' IDENTIFIED BY '${PASSWORD}'`);
    await root.query("GRANT ALL PRIVILEGES ON *.* TO 'test'@'%' WITH GRANT OPTION");
    await root.end();
    return server;
  }

  private get dataDir(): string {
    return join(this.dir, "data");
  }

  private get socket(): string {
    return join(this.dir, "mariadb.sock");
  }

  private userArgs(): string[] {
    // mariadbd refuses to run as root unless told to.
    return process.getuid?.() === 0 ? ["--user=root"] : [];
  }

  url(database = "mysql"): string {
    return `mysql://test:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabase(): Promise<string> {
    return createMariaDbDatabase(this.url());
  }

  /** Starts (again) on the same port and data, and waits until it answers. */
  async restart(): Promise<void> {
    const child = spawn(
      findProgram("mariadbd") as string,
      [
        "--no-defaults",
        `--datadir=${this.dataDir}`,
        `--socket=${this.socket}`,
        `--port=${this.port}`,
        "--bind-address=127.0.0.1",
        "--skip-name-resolve",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=128M",
        `--innodb-flush-log-at-trx-commit=${this.durable ? 1 : 0}`,
        "--max-connections=300",
        `--pid-file=${join(this.dir, "mariadb.pid")}`,
        ...this.userArgs(),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    child.stderr?.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    this.child = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const connection = await mysql.createConnection({ socketPath: this.socket, user: "root" });
        await connection.end();
        return;
      } catch {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mariadbd did not start:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Creates an empty database on the server of `adminUrl` and returns its URL. */
export async function createMariaDbDatabase(adminUrl: string): Promise<string> {
  const name = `t_${Math.random().toString(36).slice(2, 12)}`;
  const connection = await mysql.createConnection(adminUrl);
  try {
    await connection.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await connection.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
