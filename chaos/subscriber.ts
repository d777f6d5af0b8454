import { EventSource } from "eventsource";

/**
 * A feed subscriber on one daemon, as a downstream tool runs it: EventSource, with a token. When the
 * connection drops (the daemon was killed, a 503 while it starts) it opens the feed again with
 * `Last-Event-ID` set to the last id it received.
 */
export class Subscriber {
  /** Ids of the data messages, in the order received. */
  readonly ids: number[] = [];
  /** `event: stale` notices: the feed could not replay from where it was asked. */
  readonly stale: string[] = [];
  reconnects = 0;
  private source: EventSource | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly daemon: string,
    private readonly url: string,
    private readonly token: string,
    /** The id it has seen up to when it first connects: 0 for every event from the first. */
    private readonly from = 0,
  ) {}

  get lastId(): number | null {
    return this.ids.at(-1) ?? null;
  }

  open(): void {
    if (this.closed) return;
    const resumeFrom = this.lastId ?? this.from;
    const source = new EventSource(`${this.url}/sse/`, {
      fetch: (input, init) => {
        const headers: Record<string, string> = { ...(init.headers as Record<string, string>), Authorization: `Bearer ${this.token}` };
        // EventSource sends the id it saw last when it reconnects by itself; a new one starts from ours.
        if (headers["Last-Event-ID"] === undefined) headers["Last-Event-ID"] = String(resumeFrom);
        return fetch(input, { ...init, headers });
      },
    });
    source.onmessage = (message) => this.ids.push(Number(message.lastEventId));
    source.addEventListener("stale", (message) => this.stale.push(message.data));
    source.onerror = () => {
      // A refused answer (503 while the daemon starts) closes an EventSource for good: open another.
      if (source.readyState === source.CLOSED && !this.closed) {
        this.reconnects++;
        this.timer = setTimeout(() => this.open(), 500);
      } else if (!this.closed) this.reconnects++;
    };
    this.source = source;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.source?.close();
  }
}
