import { connect, createServer, type Server, type Socket } from "node:net";

type Mode = { kind: "pass" } | { kind: "delay"; ms: number } | { kind: "partition" };

/** Bytes one way through the proxy, kept in order, each released at its due time. */
class Lane {
  private readonly queue: { chunk: Buffer; due: number }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly proxy: FaultyProxy,
    private readonly to: () => Socket | null,
  ) {}

  push(chunk: Buffer): void {
    this.queue.push({ chunk, due: Date.now() + this.proxy.delayMs() });
    this.pump();
  }

  pump(): void {
    if (this.timer) return;
    const socket = this.to();
    while (this.queue.length > 0 && socket && !this.proxy.partitioned()) {
      const head = this.queue[0] as { chunk: Buffer; due: number };
      const wait = head.due - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, wait);
        return;
      }
      this.queue.shift();
      if (!socket.destroyed) socket.write(head.chunk);
    }
  }
}

/**
 * A TCP proxy between the daemons and their database: it passes traffic, delays it, or holds it
 * all (a partition: nothing gets through either way, connections stay open, as when a network
 * link goes dark), then heals and lets what it held through, in order.
 */
export class FaultyProxy {
  private mode: Mode = { kind: "pass" };
  private readonly lanes = new Set<Lane>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = "127.0.0.1"): Promise<FaultyProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const proxy = new FaultyProxy(server, (server.address() as { port: number }).port);
    server.on("connection", (client) => proxy.accept(client, targetPort, targetHost));
    return proxy;
  }

  delayMs(): number {
    return this.mode.kind === "delay" ? this.mode.ms : 0;
  }

  partitioned(): boolean {
    return this.mode.kind === "partition";
  }

  delay(ms: number): void {
    this.set({ kind: "delay", ms });
  }

  partition(): void {
    this.set({ kind: "partition" });
  }

  heal(): void {
    this.set({ kind: "pass" });
  }

  private set(mode: Mode): void {
    this.mode = mode;
    for (const lane of this.lanes) lane.pump();
    if (mode.kind !== "partition") for (const open of this.pendingConnects.splice(0)) open();
  }

  private readonly pendingConnects: (() => void)[] = [];

  private accept(client: Socket, targetPort: number, targetHost: string): void {
    let upstream: Socket | null = null;
    const toUpstream = new Lane(this, () => upstream);
    const toClient = new Lane(this, () => client);
    this.lanes.add(toUpstream).add(toClient);
    this.sockets.add(client);
    const close = () => {
      this.lanes.delete(toUpstream);
      this.lanes.delete(toClient);
      this.sockets.delete(client);
      client.destroy();
      if (upstream) {
        this.sockets.delete(upstream);
        upstream.destroy();
      }
    };
    client.on("data", (chunk: Buffer) => toUpstream.push(chunk));
    client.on("error", close).on("close", close);
    // During a partition even the connection attempt waits for the link to come back.
    const open = () => {
      if (client.destroyed) return;
      upstream = connect(targetPort, targetHost);
      this.sockets.add(upstream);
      upstream.on("connect", () => toUpstream.pump());
      upstream.on("data", (chunk: Buffer) => toClient.push(chunk));
      upstream.on("error", close).on("close", close);
    };
    if (this.partitioned()) this.pendingConnects.push(open);
    else open();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
