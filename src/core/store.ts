import type { HookKind, NewEvent, StoredEvent } from "./event.js";

/**
 * The durable store behind the daemon. Everything is async so that a server database can stand
 * in for SQLite later (deployments with several replicas) without touching callers.
 */
export interface Store {
  /**
   * Stores an event and queues one delivery per named sink, in one transaction.
   * A delivery id seen before stores nothing and returns the first event's id. `payloadJson`,
   * when given, is the payload already as one line of JSON (as GitLab sent it).
   */
  append(event: NewEvent, sinks: readonly string[], payloadJson?: string): Promise<AppendResult>;
  getEvent(id: number): Promise<StoredEvent | null>;
  /** Events with id > afterId, oldest first. */
  eventsAfter(afterId: number, limit: number): Promise<StoredEvent[]>;
  listEvents(query: EventQuery): Promise<StoredEvent[]>;
  /** The lowest id still stored and the highest id ever assigned (0 when none). */
  idRange(): Promise<{ oldest: number | null; newest: number }>;

  /** Pending deliveries of a sink that are due, oldest event first, skipping the ids given. */
  dueDeliveries(sink: string, now: number, limit: number, skip: readonly number[]): Promise<DueDelivery[]>;
  /** Ordering keys of a sink that wait for a retry, with their oldest waiting event id. */
  waitingKeys(sink: string, now: number): Promise<Map<string, number>>;
  /** When the next pending delivery of a sink falls due, or null when none is pending. */
  nextDueAt(sink: string): Promise<number | null>;
  markDelivered(sink: string, eventId: number, now: number): Promise<void>;
  /** Records a failed attempt: retried at `retryAt`, or dead-lettered when retryAt is null. */
  markFailed(sink: string, eventId: number, error: string, retryAt: number | null, now: number): Promise<void>;
  /** Queues events again for the named sinks; returns how many deliveries were (re)queued. */
  requeue(eventIds: readonly number[], sinks: readonly string[], now: number): Promise<number>;
  /** Dead letters of a sink (or of all sinks) back to pending; returns how many. */
  retryFailed(sink: string | null, now: number): Promise<number>;
  deliveriesOf(eventId: number): Promise<DeliveryState[]>;
  listDeliveries(query: DeliveryQuery): Promise<DeliveryState[]>;
  /** Pending and failed deliveries per sink; cheap enough for every health probe and scrape. */
  deliveryCounts(): Promise<Map<string, DeliveryCounts>>;

  /** Side-effect ledger: true when the key was newly recorded, false when it was there already. */
  recordOnce(sink: string, key: string, now: number): Promise<boolean>;
  hasRecord(sink: string, key: string): Promise<boolean>;
  forgetRecord(sink: string, key: string): Promise<void>;
  /** Ledger keys of a sink that start with `prefix`. */
  recordsWithPrefix(sink: string, prefix: string): Promise<string[]>;

  /** Deletes events received before `before` whose deliveries are all done; returns how many. */
  prune(before: Date): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface AppendResult {
  id: number;
  duplicate: boolean;
  /** The stored event, when it was newly stored. */
  stored: StoredEvent | null;
}

export interface EventQuery {
  type?: string[];
  project?: string;
  hook?: HookKind[];
  /** Only events with id < before (pagination cursor). */
  before?: number;
  limit: number;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface DueDelivery {
  event: StoredEvent;
  attempts: number;
  /** Deliveries with the same key run in event order; null for events without a project. */
  orderingKey: string | null;
}

export interface DeliveryState {
  sink: string;
  eventId: number;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  updatedAt: string;
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  sink?: string;
  before?: number;
  limit: number;
}

export interface DeliveryCounts {
  pending: number;
  failed: number;
  oldestPendingAt: number | null;
}
