import type { Socket } from "node:net";
import type { Response } from "express";
import type { EventMeta, StoredEvent } from "../../core/event.js";
import type { Store } from "../../core/store.js";
import type { ReplayTurns } from "./replay-turns.js";

/** Events per replay turn: small enough that one turn never holds the daemon up for long. */
const REPLAY_PAGE = 200;
/** The shortest time between two `withheld` notices to one subscriber. */
const WITHHELD_NOTICE_MS = 5000;
const WITHHELD_REASON =
  "events of private and internal projects, and events about no project, are sent only to subscribers with a token (SSE_TOKEN or ADMIN_TOKEN)";
/** Live events held back while a replay runs; past this the replay just reads further from the store. */
const HELD_LIVE_LIMIT = 10_000;

interface SubscriberOptions {
  res: Response;
  /** The connection: frames are written to it directly (the response is close-delimited, not chunked). */
  socket: Socket;
  store: Store;
  predicate: (meta: EventMeta) => boolean;
  /** Events the subscriber asked for but may not see without a token: counted, and told (null: none are). */
  withheld: ((meta: EventMeta) => boolean) | null;
  /** The bytes of an event's SSE message, shared by every subscriber. */
  frame: (event: StoredEvent) => Buffer;
  maxBacklogBytes: number;
  onOverflow: (subscriber: Subscriber) => void;
  /** Replays of every subscriber take turns, a page each. */
  turns: ReplayTurns;
}

/**
 * One connection to /sse/. It first replays stored events after its cursor, page by page and
 * respecting backpressure, while holding back live events; then it sends the held ones it has not
 * sent and follows live. The cursor only moves forward, so the seam has neither gap nor duplicate.
 */
export class Subscriber {
  private cursor: number;
  private live = false;
  private held: StoredEvent[] = [];
  private heldOverflowed = false;
  /** Events withheld since the subscriber was last told, and when that was. */
  private withheldCount = 0;
  private withheldToldAt = 0;
  closed = false;

  constructor(
    private readonly options: SubscriberOptions,
    cursor: number,
  ) {
    this.cursor = cursor;
    options.res.on("close", () => (this.closed = true));
  }

  /** Replays everything after the cursor, a page per turn, then switches to live. */
  async replay(): Promise<void> {
    const { store, socket, turns } = this.options;
    for (;;) {
      const done = await turns.take();
      let page: StoredEvent[];
      try {
        if (this.closed) return;
        page = await store.eventsAfter(this.cursor, REPLAY_PAGE);
        socket.cork();
        for (const event of page) this.send(event);
        socket.uncork();
      } finally {
        done();
      }
      // Waiting for a slow reader is not a turn: the others replay meanwhile.
      if (socket.writableNeedDrain) await this.drained();
      if (page.length === REPLAY_PAGE) continue;
      if (this.heldOverflowed) {
        this.heldOverflowed = false;
        continue;
      }
      break;
    }
    const held = this.held;
    this.held = [];
    this.live = true;
    for (const event of held) this.send(event);
  }

  /** Committed events, in id order (one turn of the event loop's worth). */
  offer(events: readonly StoredEvent[]): void {
    if (this.closed) return;
    if (!this.live) {
      for (const event of events) this.hold(event);
      return;
    }
    const { socket } = this.options;
    // What is still unsent from earlier events: a reader keeping up has (almost) none.
    if (socket.writableLength > this.options.maxBacklogBytes) return this.options.onOverflow(this);
    // Several events at once leave in one writev instead of one write each.
    socket.cork();
    for (const event of events) this.send(event);
    socket.uncork();
  }

  private hold(event: StoredEvent): void {
    if (this.held.length < HELD_LIVE_LIMIT) this.held.push(event);
    else {
      this.held = [];
      this.heldOverflowed = true;
    }
  }

  write(text: string): void {
    if (!this.closed) this.options.socket.write(text);
  }

  /** Ends the stream; an EventSource reconnects after the retry hint and resumes from its last id. */
  end(): void {
    this.closed = true;
    this.options.res.end();
  }

  private send(event: StoredEvent): void {
    if (event.id <= this.cursor) return;
    this.cursor = event.id;
    if (this.options.predicate(event.meta)) this.options.socket.write(this.options.frame(event));
    else if (this.options.withheld?.(event.meta)) {
      this.withheldCount++;
      if (Date.now() - this.withheldToldAt >= WITHHELD_NOTICE_MS) this.tellWithheld();
    }
  }

  /**
   * Tells the subscriber how many events it was not sent for want of a token: a `withheld` event
   * without an id (a resume is not moved by it), at most every few seconds, and on keepalive.
   */
  tellWithheld(): void {
    if (this.withheldCount === 0 || this.closed) return;
    const notice = { count: this.withheldCount, reason: WITHHELD_REASON };
    this.options.socket.write(`event: withheld\ndata: ${JSON.stringify(notice)}\n\n`);
    this.withheldCount = 0;
    this.withheldToldAt = Date.now();
  }

  private drained(): Promise<void> {
    const { socket } = this.options;
    return new Promise((resolve) => {
      const done = () => {
        socket.off("drain", done);
        socket.off("close", done);
        resolve();
      };
      socket.on("drain", done);
      socket.on("close", done);
    });
  }
}
