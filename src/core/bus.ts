import { EventEmitter } from "node:events";
import type { StoredEvent } from "./event.js";

/**
 * Carries committed events, in id order, to live listeners (delivery queues, the SSE feed).
 * Publishing only queues: listeners run on a later turn of the event loop, so the request that
 * stored the event is answered first and ingest never waits on a subscriber.
 */
export class Bus {
  private readonly emitter = new EventEmitter();
  private queued: StoredEvent[] = [];
  private scheduled = false;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(event: StoredEvent): void {
    this.queued.push(event);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  subscribe(listener: (events: readonly StoredEvent[]) => void): () => void {
    this.emitter.on("events", listener);
    return () => this.emitter.off("events", listener);
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queued;
    this.queued = [];
    this.emitter.emit("events", batch);
  }
}
