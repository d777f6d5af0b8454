import pg from "pg";
import { CommitPoller, type CommitWatcher } from "../sql/poll-for-commits.js";
import type { StoreLogger } from "../../core/store.js";
import { errorMessage } from "../../support/error-message.js";
import { within } from "../../support/within.js";

/** The channel appends notify on, with the newest id as payload. */
export const COMMITS_CHANNEL = "gitlab_webhooks_events";

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;
/**
 * How often the connection is asked a `SELECT 1`, and how long it has to answer: a connection
 * that died without a word (a NAT forgot it; TCP keepalive takes minutes more to give up) is
 * dropped and opened again within CHECK_MS + CHECK_TIMEOUT_MS.
 */
const CHECK_MS = 5000;
const CHECK_TIMEOUT_MS = 5000;
/** Meanwhile, the newest id is looked at this often, as on MariaDB but slower: no event waits longer. */
const FALLBACK_POLL_MS = 2000;

/**
 * A connection of its own that LISTENs for other daemons' appends, reconnecting with backoff when
 * the server goes away or the connection stops answering. Every (re)connection also calls the
 * listeners once: notifications sent while it was away are lost, so listeners look at the store
 * to catch up. A slow poll of the newest id (`newestId`) backs it up.
 */
export class CommitListener implements CommitWatcher {
  private readonly listeners = new Set<() => void>();
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | undefined;
  private delay = RECONNECT_MIN_MS;
  private stopped = false;
  private connecting = false;
  private readonly fallback: CommitPoller;
  private unpoll: (() => void) | undefined;
  private check: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly logger: StoreLogger | undefined,
    newestId: () => Promise<number>,
  ) {
    this.fallback = new CommitPoller(newestId, FALLBACK_POLL_MS);
  }

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    if (!this.client && !this.connecting) void this.connect();
    this.unpoll ??= this.fallback.add(() => this.notify());
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.unpoll?.();
        this.unpoll = undefined;
      }
    };
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
      clearInterval(this.check);
      void letGo(client);
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
      this.check = setInterval(() => {
        const answered = within<unknown>(client.query("SELECT 1"), CHECK_TIMEOUT_MS, () => {
          throw new Error(`the connection did not answer a check within ${CHECK_TIMEOUT_MS} ms`);
        });
        answered.then(() => undefined, lost);
      }, CHECK_MS);
      this.check.unref();
      this.notify();
    } catch (error) {
      void letGo(client);
      this.retry();
      this.logger?.debug("database notification connection failed", { error: errorMessage(error) });
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
    clearInterval(this.check);
    this.listeners.clear();
    await this.fallback.stop();
    const client = this.client;
    this.client = null;
    if (client) await letGo(client);
  }
}

/** How long a closing connection may take to say goodbye before its socket is simply closed. */
const END_WAIT_MS = 1000;

/**
 * Lets a connection go: deaf to it from now on (a late error of it is nobody's business), ended,
 * and its socket closed once the server said goodbye or END_WAIT_MS passed, whichever is first: on a
 * connection that died without a word, end() would wait until TCP gives up, and shutdown with it.
 */
async function letGo(client: pg.Client): Promise<void> {
  client.removeAllListeners();
  client.on("error", () => undefined);
  await within(
    client.end().catch(() => undefined),
    END_WAIT_MS,
    () => undefined,
  );
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
