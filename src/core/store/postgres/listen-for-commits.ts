import pg from "pg";
import type { CommitWatcher } from "../sql/poll-for-commits.js";
import type { StoreLogger } from "../store.js";

/** The channel appends notify on, with the newest id as payload. */
export const COMMITS_CHANNEL = "gitlab_webhooks_events";

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

/**
 * A connection of its own that LISTENs for other daemons' appends, reconnecting with backoff when
 * the server goes away. Every (re)connection also calls the listeners once: notifications sent
 * while it was away are lost, so listeners look at the store to catch up.
 */
export class CommitListener implements CommitWatcher {
  private readonly listeners = new Set<() => void>();
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | undefined;
  private delay = RECONNECT_MIN_MS;
  private stopped = false;
  private connecting = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly logger: StoreLogger | undefined,
  ) {}

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    if (!this.client && !this.connecting) void this.connect();
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.connecting = true;
    const client = new pg.Client(this.config);
    const lost = (why: unknown) => {
      if (this.client !== client) return;
      this.client = null;
      client.removeAllListeners();
      client.on("error", () => undefined);
      void client.end().catch(() => undefined);
      this.logger?.warn("lost the database notification connection; reconnecting", { error: String(why) });
      this.retry();
    };
    client.on("error", lost);
    client.on("end", () => lost("connection ended"));
    client.on("notification", () => this.notify());
    try {
      await client.connect();
      await client.query(`LISTEN ${COMMITS_CHANNEL}`);
      this.client = client;
      this.delay = RECONNECT_MIN_MS;
      this.notify();
    } catch (error) {
      client.removeAllListeners();
      client.on("error", () => undefined);
      void client.end().catch(() => undefined);
      this.retry();
      this.logger?.debug("database notification connection failed", { error: String(error) });
    } finally {
      this.connecting = false;
    }
    if (this.stopped) await this.stop();
  }

  private retry(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), this.delay);
    this.timer.unref();
    this.delay = Math.min(RECONNECT_MAX_MS, this.delay * 2);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.listeners.clear();
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners();
      client.on("error", () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
