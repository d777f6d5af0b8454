import type { CommitTotals } from "../core/store.js";

interface GroupCommitOptions {
  /** Items per commit; what is over waits for the next one. */
  maxBatch?: number;
  /**
   * Whether a failed batch is worth committing again item by item (so that one item the database
   * refuses fails alone), or failed for everyone (the database is unreachable).
   */
  retryAlone?: (error: unknown) => boolean;
}

interface Entry<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Commits what callers push in batches: the calls of one turn of the event loop go together, and
 * while a batch commits, the next one gathers. One transaction (and one fsync) per batch; each
 * caller is answered once its batch is committed.
 */
export class GroupCommit<T, R> {
  private queue: Entry<T, R>[] = [];
  private scheduled = false;
  private committing: Promise<void> | null = null;
  private readonly maxBatch: number;
  /** Read for /metrics: under load, items per batch and time per batch are the pipeline's shape. */
  readonly totals: CommitTotals = { batches: 0, items: 0, seconds: 0, longestSeconds: 0 };

  /** `commit` stores the whole batch at once and returns one result per item, in order. */
  constructor(
    private readonly commit: (items: T[]) => Promise<R[]>,
    private readonly options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
  }

  push(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.scheduled || this.committing) return;
      this.scheduled = true;
      setImmediate(() => void this.next());
    });
  }

  /** Resolves once everything pushed so far is committed (or failed): for close. */
  async drain(): Promise<void> {
    while (this.committing || this.queue.length > 0) {
      if (!this.committing) await this.next();
      else await this.committing;
    }
  }

  private next(): Promise<void> {
    this.scheduled = false;
    if (this.committing || this.queue.length === 0) return this.committing ?? Promise.resolve();
    const batch = this.queue.splice(0, this.maxBatch);
    this.committing = this.run(batch).finally(() => {
      this.committing = null;
      if (this.queue.length > 0) void this.next();
    });
    return this.committing;
  }

  private async run(batch: Entry<T, R>[]): Promise<void> {
    try {
      const results = await this.counted(batch.map((entry) => entry.item));
      batch.forEach((entry, index) => entry.resolve(results[index] as R));
    } catch (error) {
      if (batch.length === 1 || !this.options.retryAlone?.(error)) {
        for (const entry of batch) entry.reject(error);
        return;
      }
      // One item may be what the database refused: each on its own, so that only that one fails.
      for (const entry of batch) {
        try {
          entry.resolve((await this.counted([entry.item]))[0] as R);
        } catch (alone) {
          entry.reject(alone);
        }
      }
    }
  }

  /** One commit, counted in the totals whether it succeeds or fails. */
  private async counted(items: T[]): Promise<R[]> {
    const started = performance.now();
    try {
      return await this.commit(items);
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.totals.batches++;
      this.totals.items += items.length;
      this.totals.seconds += seconds;
      this.totals.longestSeconds = Math.max(this.totals.longestSeconds, seconds);
    }
  }
}
