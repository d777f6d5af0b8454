import { connect, createServer, type Server, type Socket } from "node:net";
import pg from "pg";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { WorkerStore } from "../../src/store/worker/worker-store.js";
import { createDatabase } from "../../harness/postgres-server.js";
import { appendEvent } from "../helpers/store.js";
import { sleep } from "../helpers/sleep.js";
import { closeAfterTest } from "../helpers/teardown.js";

/**
 * A proxy to PostgreSQL that ends each new session the moment it is ready: it holds the server's
 * first ReadyForQuery, has the session terminated (pg_terminate_backend, as an administrator or a
 * failover does), and passes the ReadyForQuery and the FATAL error on in one write, as TCP may
 * well deliver them. The client reads both in one go: the pool hands the connection out on the
 * first, the second arrives before anyone holding it can listen.
 */
class TerminateOnReady {
  terminated = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly terminate: (pid: number) => Promise<void>,
  ) {}

  static async start(targetPort: number, terminate: (pid: number) => Promise<void>): Promise<TerminateOnReady> {
    const server = createServer();
    const proxy = new TerminateOnReady(server, terminate);
    server.on("connection", (client) => proxy.forward(client, connect(targetPort, "127.0.0.1")));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** How many of the next new connections are attacked: the store must come back on those after. */
  attacks = 0;

  private forward(client: Socket, upstream: Socket): void {
    this.sockets.add(client).add(upstream);
    client.on("data", (chunk: Buffer) => upstream.write(chunk));
    const attack = this.attacks-- > 0;
    let pending = Buffer.alloc(0);
    let pid: number | null = null;
    let holding: Buffer | null = null;
    upstream.on("data", (chunk: Buffer) => {
      if (holding) return void (holding = Buffer.concat([holding, chunk]));
      if (!attack) return void client.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      // Backend messages: a type byte, then a length that counts itself.
      let at = 0;
      while (pending.length - at >= 5) {
        const type = String.fromCharCode(pending[at] as number);
        const length = pending.readInt32BE(at + 1);
        if (pending.length - at < 1 + length) break;
        if (type === "K") pid = pending.readInt32BE(at + 5);
        at += 1 + length;
        if (type === "Z" && pid !== null) {
          holding = pending;
          pending = Buffer.alloc(0);
          void this.terminate(pid).then(() => this.terminated++);
          return;
        }
      }
      client.write(pending.subarray(0, at));
      pending = pending.subarray(at);
    });
    const close = () => {
      if (holding) client.write(holding);
      holding = null;
      client.end();
      upstream.destroy();
    };
    upstream.on("end", close).on("error", close);
    client.on("close", () => upstream.destroy()).on("error", () => upstream.destroy());
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe("a PostgreSQL session terminated the moment it is ready", () => {
  it("costs the store that connection, not its thread", { timeout: 60_000 }, async () => {
    const url = new URL(await createDatabase(inject("postgresUrl")));
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    onTestFinished(() => admin.end());
    const proxy = closeAfterTest(
      await TerminateOnReady.start(Number(url.port), async (pid) => {
        await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      }),
    );
    url.port = String(proxy.port);
    const store = closeAfterTest(await WorkerStore.open({ engine: "postgres", url: url.toString(), poolSize: 2 }));
    await appendEvent(store);

    // The store's sessions ended, so that its next calls open new connections, and those are attacked.
    proxy.attacks = 3;
    // Only this test's database: other test files' stores share the server.
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gitlab-webhooks' AND datname = current_database()",
    );
    await sleep(200);

    // Calls on the attacked connections fail (the database ended their sessions); then they work again.
    let stored = 0;
    for (let i = 0; i < 20 && stored < 3; i++) {
      const appended = await appendEvent(store).then(
        () => true,
        (error: unknown) => {
          expect(String(error)).not.toMatch(/store's thread/);
          return false;
        },
      );
      if (appended) stored++;
    }
    expect(proxy.terminated).toBeGreaterThan(0);
    expect(stored).toBe(3);
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
