import { EventEmitter } from "node:events";
import type { Logger } from "winston";
import type { StoredEvent } from "./event.js";
import type { Store } from "./store.js";
import { errorMessage } from "../support/error-message.js";

/** Events read per look at the store when catching up. */
const CATCH_UP_PAGE = 500;
/** How soon a catch-up that could not read the store tries again. */
const RETRY_MS = 1000;

/**
 * Carries committed events to live listeners (delivery queues, the SSE feed) in strict id order,
 * without gap or duplicate, whichever daemon stored them. Events this daemon stored are published
 * as they are; events another daemon stored (or that this one has not seen) are read from the
 * store. Ids are assigned in commit order (Store), so reading after the last published id never
 * skips an event.
 *
 * Publishing only queues: listeners run on a later turn of the event loop, so the request that
 * stored the event is answered first and ingest never waits on a subscriber.
 */
export class Bus {
  private readonly emitter = new EventEmitter();
  private queued: StoredEvent[] = [];
  private scheduled = false;
  /** The highest id handed to listeners. */
  private published = 0;
  /** Work in id order: local batches and catch-ups, one after another. */
  private chain: Promise<void> = Promise.resolve();
  private catchUpQueued = false;
  private unwatch: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

  /** Starts after the newest stored event, and follows other daemons' commits. */
  async start(): Promise<void> {
    this.unwatch = this.store.watchCommits(() => this.catchUp());
    this.published = Math.max(this.published, (await this.store.idRange()).newest);
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    clearTimeout(this.retryTimer);
  }

  /** An event this daemon just committed. */
  publish(event: StoredEvent): void {
    this.queued.push(event);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flushLocal());
  }

  /** Reads what is new in the store (another daemon's commits). */
  catchUp(): void {
    if (this.catchUpQueued) return;
    this.catchUpQueued = true;
    this.enqueue(async () => {
      this.catchUpQueued = false;
      await this.readUntil(Number.MAX_SAFE_INTEGER);
    });
  }

  subscribe(listener: (events: readonly StoredEvent[]) => void): () => void {
    this.emitter.on("events", listener);
    return () => this.emitter.off("events", listener);
  }

  private flushLocal(): void {
    this.scheduled = false;
    const batch = this.queued.sort((a, b) => a.id - b.id);
    this.queued = [];
    this.enqueue(async () => {
      // Ids between ours that we have not published were committed before them, by another daemon
      // (two of our group commits may answer in one turn, around another daemon's commit): each gap
      // is read from the store before the event after it.
      let run: StoredEvent[] = [];
      for (const event of batch) {
        const before = run.at(-1)?.id ?? this.published;
        if (event.id > before + 1) {
          this.emit(run);
          run = [];
          await this.readUntil(event.id - 1);
        }
        run.push(event);
      }
      this.emit(run);
    });
  }

  private async readUntil(lastId: number): Promise<void> {
    for (;;) {
      // No more than the ids up to lastId can hold: a gap of one id (a resend's unused id) reads
      // one event, not a page of them with their payloads.
      const limit = Math.min(CATCH_UP_PAGE, lastId - this.published);
      if (limit <= 0) return;
      const read = await this.store.eventsAfter(this.published, limit);
      const page = read.filter((event) => event.id <= lastId);
      if (page.length === 0) return;
      this.emit(page);
      if (page.length < limit) return;
    }
  }

  private emit(events: readonly StoredEvent[]): void {
    const fresh = events.filter((event) => event.id > this.published);
    if (fresh.length === 0) return;
    this.published = (fresh.at(-1) as StoredEvent).id;
    this.emitter.emit("events", fresh);
  }

  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: unknown) => {
      // The store is unreachable: nothing is skipped, a later look reads on from the same id.
      if (this.stopped) return;
      this.logger.warn("could not read new events from the store; trying again", { error: errorMessage(error) });
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.catchUp(), RETRY_MS);
      this.retryTimer.unref();
    });
  }
}
