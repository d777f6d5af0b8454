/** The normalized event every sink and subscriber sees (README.md, "The event"). */

export type HookKind = "system" | "project" | "group" | "unknown";
export type Visibility = "public" | "internal" | "private";

export interface EventProject {
  id: number | null;
  path: string | null;
  url: string | null;
  visibility: Visibility | null;
}

export interface EventActor {
  username: string | null;
  name: string | null;
}

/** What a bot prints: the merge request, issue, comment, push, pipeline, … the event is about. */
export interface EventObject {
  /** merge_request, issue, work_item, note, push, tag, pipeline, job, release, deployment, wiki_page, … */
  kind: string;
  iid: number | null;
  id: number | null;
  title: string | null;
  url: string | null;
  /** The branch or tag (source branch of a merge request, the pushed branch, the pipeline's ref). */
  ref: string | null;
  state: string | null;
}

export interface GitLabEvent {
  id: number;
  deliveryId: string;
  receivedAt: string;
  instance: string | null;
  hook: HookKind;
  type: string;
  action: string | null;
  project: EventProject | null;
  actor: EventActor | null;
  object: EventObject | null;
  payload: unknown;
}

/** What a source hands to the store: everything but the id the store assigns. */
export type NewEvent = Omit<GitLabEvent, "id">;

/** An event's fields without the payload: enough to filter on without parsing the body. */
export type EventMeta = Omit<GitLabEvent, "payload">;

const STORED_JSON = Symbol("storedJson");

/**
 * The event as one line of JSON: the stored text when the event came from the store (no parse,
 * no re-serialization), else serialized now.
 */
export function eventJson(event: GitLabEvent): string {
  const stored = (event as GitLabEvent & { [STORED_JSON]?: string })[STORED_JSON];
  return stored ?? JSON.stringify(event);
}

/** A delivery queued for an event: which sink, and the ordering key it runs in. */
export interface QueuedDelivery {
  sink: string;
  orderingKey: string | null;
}

/**
 * A stored event as the store and bus carry it: the payload stays the compact JSON text it was
 * stored as, so that a feed with a thousand subscribers serializes each event once, not per subscriber.
 */
export class StoredEvent {
  private cachedJson: string | undefined;
  private cachedLine: string | undefined;
  private cachedPayload: { value: unknown } | undefined;

  constructor(
    readonly meta: EventMeta,
    /** The payload's JSON text as GitLab sent it, surrounding whitespace trimmed. */
    readonly payloadJson: string,
    /** The request's headers, credentials left out: read for one event's page and the feed (eventsAfter, the live bus), else null. */
    readonly requestHeaders: Readonly<Record<string, string>> | null = null,
    /**
     * The deliveries queued for it, each sink's with its ordering key, when this daemon has just
     * stored it (the bus wakes those queues only); null when read from the store, as another
     * daemon's events are.
     */
    readonly queuedFor: readonly QueuedDelivery[] | null = null,
  ) {}

  /** A new event as it is stored under `id`: what the store keeps of it, the parsed payload left behind. */
  static appended(
    id: number,
    event: NewEvent,
    payloadJson: string,
    requestHeaders: Readonly<Record<string, string>> | null,
    deliveries: readonly QueuedDelivery[],
  ): StoredEvent {
    const { payload: _payload, ...meta } = event;
    return new StoredEvent({ id, ...meta }, payloadJson, requestHeaders, deliveries);
  }

  get id(): number {
    return this.meta.id;
  }

  /**
   * The payload's text on one line, for a feed's `data:` line and the JSON-lines log. In JSON that
   * parsed, a raw line break can only be whitespace between tokens (inside strings it must be
   * escaped), so a space in its place changes nothing, and nothing is serialized again. Done here,
   * once per event that is read, rather than for every request (GitLab sends one line anyway).
   */
  get payloadLine(): string {
    // Two searches for one character each are the engine's fastest scan; GitLab's one-line text passes both.
    this.cachedLine ??=
      this.payloadJson.includes("\n") || this.payloadJson.includes("\r") ? this.payloadJson.replace(/[\r\n]/g, " ") : this.payloadJson;
    return this.cachedLine;
  }

  /** The whole event as one line of JSON, payload last. */
  get json(): string {
    if (this.cachedJson === undefined) {
      const head = JSON.stringify(this.meta);
      this.cachedJson = `${head.slice(0, -1)},"payload":${this.payloadLine}}`;
    }
    return this.cachedJson;
  }

  get payload(): unknown {
    this.cachedPayload ??= { value: JSON.parse(this.payloadJson) as unknown };
    return this.cachedPayload.value;
  }

  /** The event for a sink: the payload is parsed when first read, and eventJson() needs no parse at all. */
  toEvent(): GitLabEvent {
    const event = { ...this.meta } as GitLabEvent;
    Object.defineProperty(event, "payload", { get: () => this.payload, enumerable: true, configurable: true });
    // Made when first read (eventJson): a sink's filter looks at the fields, not at the line.
    Object.defineProperty(event, STORED_JSON, { get: () => this.json, enumerable: false });
    return event;
  }
}
