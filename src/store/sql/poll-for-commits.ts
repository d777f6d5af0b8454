import { first, toNumber, type SqlQueries } from "./driver.js";

/** How a store learns that another process committed events: see Store.watchCommits. */
export interface CommitWatcher {
  add(listener: () => void): () => void;
  stop(): Promise<void>;
}

/**
 * For engines that cannot notify: a cheap look at the store at an interval, from the first
 * listener to the last; listeners are called when what it sees (a counter, the newest id) changes.
 * A look that fails (the server is away) only waits for the next one; the store's other calls
 * report the outage.
 */
export class CommitPoller implements CommitWatcher {
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private last: unknown;
  private looking = false;

  constructor(
    private readonly look: () => unknown,
    private readonly intervalMs: number,
  ) {}

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      this.timer.unref();
      void this.tick();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.clear();
    };
  }

  private async tick(): Promise<void> {
    if (this.looking) return;
    this.looking = true;
    try {
      const seen = await this.look();
      const changed = this.last !== undefined && seen !== this.last;
      this.last = seen;
      if (changed) for (const listener of this.listeners) listener();
    } catch {
      // Tried again at the next tick.
    } finally {
      this.looking = false;
    }
  }

  private clear(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  async stop(): Promise<void> {
    this.listeners.clear();
    this.clear();
  }
}

/** What a server engine's poll looks at: the newest event's id (0 when there is none). */
export async function newestEventId(db: SqlQueries): Promise<number> {
  return toNumber((await first<{ newest: unknown }>(db, "SELECT MAX(id) AS newest FROM events"))?.newest) ?? 0;
}
