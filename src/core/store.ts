import type { HookKind, NewEvent, StoredEvent } from "./event.js";
import type { InventoryStore } from "./inventory-store.js";

export type Engine = "sqlite" | "postgres" | "mariadb";

/** What a store says about its connection's health (a winston Logger is one). */
export interface StoreLogger {
  warn(message: string, fields?: Record<string, unknown>): unknown;
  debug(message: string, fields?: Record<string, unknown>): unknown;
}

/**
 * The durable store behind the daemon: events, one delivery per sink and event, the sinks'
 * ledgers, leases for periodic work, settings and the inventory. Every engine passes the same
 * contract tests (test/store-contract.ts).
 *
 * Ids are assigned in commit order: once an event is visible, every event with a lower id that
 * will ever exist is visible too. A reader that follows ids can therefore never skip one, even
 * with several daemons writing to one database.
 */
/** Who claims deliveries (claimDeliveries), until when, and how many. */
export interface ClaimRequest {
  owner: string;
  now: number;
  leaseMs: number;
  /** Deliveries per ordering key, at most. */
  limit: number;
  /** Ordering keys, at most (default: no limit). */
  maxKeys?: number | undefined;
  /** Event ids of this sink the caller still runs (default: none). */
  running?: readonly number[] | undefined;
}

/**
 * What a store's group commit of appends has done since the store opened: batches (committed or
 * failed; an append retried alone after its batch failed is a batch again), the appends in them,
 * and the time they took, SQL and commit. Under load, appends per batch and time per batch are the
 * ingest pipeline's shape (README, "Performance").
 */
export interface CommitTotals {
  batches: number;
  items: number;
  seconds: number;
  /** The longest batch: a stall on the commit path (a slow fsync, a checkpoint, a lock) shows here. */
  longestSeconds: number;
}

export interface Store {
  readonly engine: Engine;
  /** True when several daemons may share it (server databases); SQLite serves one daemon. */
  readonly shared: boolean;
  /** Where the data lives, without credentials: for logs and /healthz. */
  readonly location: string;

  /**
   * Stores an event and queues its deliveries, in one transaction. An event whose (scope,
   * deliveryId) was stored before stores nothing and returns the first event's id.
   */
  append(event: NewEvent, options: AppendOptions): Promise<AppendResult>;
  getEvent(id: number): Promise<StoredEvent | null>;
  /** Events with id > afterId, oldest first. */
  eventsAfter(afterId: number, limit: number): Promise<StoredEvent[]>;
  listEvents(query: EventQuery): Promise<StoredEvent[]>;
  /** The lowest and the highest id stored (the newest event is never pruned); null/0 when empty. */
  idRange(): Promise<{ oldest: number | null; newest: number }>;

  /**
   * Claims due deliveries of a sink for `owner` until `now + leaseMs` (renewed by renewClaims):
   * pending, due, not claimed by a live owner, and with no other pending delivery of the same
   * ordering key that is claimed (by anyone, or listed in `running`) or waiting for a retry. Oldest
   * event first; the runs of at most `maxKeys` ordering keys (a delivery without a key counts as
   * one), up to `limit` deliveries per key, so that a daemon takes no more than it can start now.
   * Every run (one key's deliveries, or one delivery without a key) is a claim with a token of its
   * own (DueDelivery.claim): renewals, outcomes and give-backs name it, and apply only while the
   * claim is still that token's.
   * `running`: event ids of this sink the caller still runs, whatever the age of their claims: a
   * daemon never claims again what it still runs (its renewals may have failed for a while).
   */
  claimDeliveries(sink: string, claim: ClaimRequest): Promise<DueDelivery[]>;
  /** Extends the named claims; returns those still held (a claim taken over by another daemon is gone). */
  renewClaims(claims: readonly string[], now: number): Promise<string[]>;
  /** Gives claimed deliveries back without an outcome (shutdown, or behind a failed one), while the claim is still held. */
  releaseClaims(sink: string, claim: string, eventIds: readonly number[]): Promise<void>;
  /** Drops every claim: for a store only one daemon uses, at its start (it holds the store's lock). */
  releaseAllClaims(): Promise<number>;
  /**
   * When claimDeliveries may next find something for a sink: the earliest time the oldest pending
   * delivery of a key falls due or its claim lapses. Null when nothing is pending.
   */
  nextClaimAt(sink: string, now: number, leaseMs: number): Promise<number | null>;
  /**
   * Records a delivered attempt; false when `attempt.claim` is no longer held (the outcome is then
   * not recorded: whoever holds the claim now records its own). A delivery asked for again while
   * this attempt ran (requeue) stays pending, due now.
   */
  markDelivered(sink: string, eventId: number, attempt: DeliveredAttempt, now: number): Promise<boolean>;
  /** Records a failed attempt: retried at `attempt.retryAt`, or dead-lettered when that is null. False as for markDelivered. */
  markFailed(sink: string, eventId: number, attempt: FailedAttempt, now: number): Promise<boolean>;
  /**
   * Queues deliveries again (creating the missing ones); returns how many were (re)queued. A
   * delivery running now runs again after the running attempt, whatever that attempt's outcome.
   */
  requeue(deliveries: readonly Requeue[], now: number): Promise<number>;
  /** Dead letters of a sink (or of all sinks) back to pending; returns how many. */
  retryFailed(sink: string | null, now: number): Promise<number>;
  deliveriesOf(eventId: number): Promise<DeliveryState[]>;
  /** Every recorded attempt at an event's deliveries, oldest first: the failed ones and each delivered one. */
  attemptsOf(eventId: number): Promise<DeliveryAttempt[]>;
  listDeliveries(query: DeliveryQuery): Promise<DeliveryState[]>;
  /** Pending and failed deliveries per sink; cheap enough for every health probe and scrape. */
  deliveryCounts(): Promise<Map<string, DeliveryCounts>>;
  /** The append group commit's totals since the store opened (no SQL: counted as it commits). */
  appendTotals(): Promise<CommitTotals>;

  /**
   * The traffic of `since` ≤ t < `until` (epoch ms), per minute: events received, and each sink's
   * deliveries, retries and dead letters, with its delay from receipt to delivery. Counts the
   * deliveries of events received up to a day before `since` (an index range, not every row kept).
   */
  readTraffic(since: number, until: number): Promise<Traffic>;

  /** Side-effect ledger: true when the key was newly recorded, false when it was there already. */
  recordOnce(sink: string, key: string, now: number): Promise<boolean>;
  /**
   * Records the key, or takes it over when it was recorded before `staleBefore`: "new" or
   * "stale" (taken over); null while a younger record holds it. One statement each way, so two
   * callers never both take it.
   */
  takeRecord(sink: string, key: string, now: number, staleBefore: number): Promise<"new" | "stale" | null>;
  /** Sets when a record was made: now, to keep an intent alive while its act runs; 0, to make it stale at once. */
  touchRecord(sink: string, key: string, at: number): Promise<void>;
  hasRecord(sink: string, key: string): Promise<boolean>;
  forgetRecord(sink: string, key: string): Promise<void>;
  /** Ledger keys of a sink that start with `prefix`, in order. */
  recordsWithPrefix(sink: string, prefix: string): Promise<string[]>;

  /**
   * Takes or extends the lease `name` for `owner` until now + ttlMs; false while another owner
   * holds it. Periodic work (pruning) runs on one daemon at a time this way.
   */
  acquireLease(name: string, owner: string, ttlMs: number, now: number): Promise<boolean>;
  /** The setting's stored value; when it has none, stores `value` first (the first caller wins). */
  settingOrCreate(name: string, value: string): Promise<string>;

  /**
   * What the store knows of a project's identity: the path its id is bound to, and the id its path
   * is bound to. `confirmed` bindings come from instance-wide credentials (SOURCE_TOKEN, a signing
   * secret); the others from the first project token that named them.
   */
  projectIdentity(id: number, path: string): Promise<ProjectIdentity>;
  /**
   * Binds a project id to a path. Confirmed: it replaces what was bound to either (renames,
   * transfers, a path reused). Unconfirmed: only when neither is bound yet (first use).
   */
  bindProject(id: number, path: string, confirmed: boolean, now: number): Promise<void>;

  /**
   * Binds a GitLab user id to its username, as an event from an instance-wide credential showed
   * them together; usernameOf reads it back for events that name the user by id only (system pushes).
   */
  rememberUser(id: number, username: string, now: number): Promise<void>;
  usernameOf(id: number): Promise<string | null>;

  /** Deletes events received before `before` whose deliveries are all done; returns how many. */
  prune(before: Date): Promise<number>;

  /**
   * Calls `listener` when another process may have committed events (a server database's
   * notification, or a look at the store at a short interval). The store stays the truth: the
   * listener reads what is new itself.
   */
  watchCommits(listener: () => void): () => void;

  readonly inventory: InventoryStore;

  /** Fails when the store cannot take a write now. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ProjectIdentity {
  pathOfId: { path: string; confirmed: boolean } | null;
  idOfPath: { id: number; confirmed: boolean } | null;
}

export interface AppendOptions {
  /** Sinks that get a delivery of this event, each with its ordering key. */
  deliveries: readonly { sink: string; orderingKey: string | null }[];
  /** Delivery ids deduplicate only within one scope (the credential and project that sent them). */
  scope: string;
  /** The payload's JSON text as GitLab sent it (trimmed; StoredEvent.payloadLine has it on one line). */
  payloadJson: string;
  /** The request's headers to keep with the event (credentials already left out). */
  headers?: Readonly<Record<string, string>>;
}

export interface AppendResult {
  id: number;
  duplicate: boolean;
  /** The stored event, when it was newly stored. */
  stored: StoredEvent | null;
}

export interface EventQuery {
  type?: string[];
  action?: string[];
  /** A path or an id. */
  project?: string;
  hook?: HookKind[];
  /** Events with a delivery in this state (of `sink`, when given). */
  deliveryStatus?: DeliveryStatus;
  sink?: string;
  /** Received at or after `since`, before `until` (ISO times). */
  since?: string;
  until?: string;
  /** Words in the object's title, the project path, the actor's username or the delivery id (any case). */
  search?: string;
  /** Only events with id < before (pagination cursor). */
  before?: number;
  limit: number;
}

export interface Requeue {
  sink: string;
  eventId: number;
  /** The key a newly created delivery gets (an existing one keeps its own). */
  orderingKey: string | null;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface DueDelivery {
  event: StoredEvent;
  /** The claim's token: what renewals, outcomes and give-backs name. */
  claim: string;
  attempts: number;
  /** Deliveries with the same key run in event order; null runs on its own. */
  orderingKey: string | null;
}

export interface DeliveredAttempt {
  /** When the sink's handle() was called (epoch ms). */
  startedAt: number;
  durationMs: number;
  /**
   * The claim the attempt ran under: the outcome is recorded only while it is still held. Without
   * one (tools, tests) the outcome is recorded whoever holds the delivery.
   */
  claim?: string;
}

export interface FailedAttempt extends DeliveredAttempt {
  error: string;
  /** The downstream's HTTP status, when it answered. */
  status: number | null;
  /** When to try again (epoch ms); null: dead-lettered. */
  retryAt: number | null;
}

export interface DeliveryAttempt {
  sink: string;
  eventId: number;
  startedAt: string;
  durationMs: number;
  outcome: "delivered" | "retry" | "failed";
  error: string | null;
  errorStatus: number | null;
}

export interface DeliveryState {
  sink: string;
  eventId: number;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  /** The downstream's HTTP status in the last failure, when it answered (401/403: configuration; 429/5xx: try later). */
  lastErrorStatus: number | null;
  lastAttemptAt: string | null;
  lastDurationMs: number | null;
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
  /** Pending deliveries that have failed before (waiting for their retry). */
  retrying: number;
  /** The latest error among them. */
  lastRetryError: { message: string; status: number | null; at: string } | null;
}

/** How many in the minute that starts at `minute` (epoch ms); minutes with none are left out. */
export interface MinuteCount {
  minute: number;
  count: number;
}

export interface SinkTraffic {
  /** By the minute each delivery was recorded. */
  delivered: MinuteCount[];
  /** Failed attempts to be tried again, and attempts that dead-lettered a delivery, by the minute they started. */
  retried: MinuteCount[];
  failed: MinuteCount[];
  /** From an event's receipt to its delivery, over the window's deliveries; null without any. */
  delayMs: { p50: number; p95: number; count: number } | null;
}

export interface Traffic {
  received: MinuteCount[];
  /** By sink name; a sink with nothing in the window is absent. */
  sinks: Record<string, SinkTraffic>;
}
