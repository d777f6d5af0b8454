import { connect, createServer, type Server, type Socket } from "node:net";

interface Pair {
  client: Socket;
  upstream: Socket;
  /** What the client sent so far, as text (to tell a connection by what it said). */
  said: string;
  silent: boolean;
}

/**
 * A TCP proxy on 127.0.0.1 to a local port, whose connections can be made silently dead: a
 * silenced connection stays open at both ends and forwards nothing more, not even the other
 * end's close, as a NAT that dropped it does.
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private readonly server: Server;

  private constructor(targetPort: number) {
    this.server = createServer((client) => this.forward(client, connect(targetPort, "127.0.0.1")));
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  private forward(client: Socket, upstream: Socket): void {
    const pair: Pair = { client, upstream, said: "", silent: false };
    this.pairs.add(pair);
    client.on("data", (chunk: Buffer) => {
      if (pair.said.length < 65_536) pair.said += chunk.toString("latin1");
      if (!pair.silent) upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!pair.silent) client.write(chunk);
    });
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", close).on("error", close);
    // A silenced connection's end does not reach the client either (the server ending its session,
    // say): nothing comes through a dropped connection, not even its close.
    const upstreamClosed = () => {
      if (pair.silent) upstream.destroy();
      else close();
    };
    upstream.on("close", upstreamClosed).on("error", upstreamClosed);
  }

  /** Silences the open connections whose client sent `text`; returns how many. */
  silence(text: string): number {
    const matching = [...this.pairs].filter((pair) => pair.said.includes(text));
    for (const pair of matching) pair.silent = true;
    return matching.length;
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
