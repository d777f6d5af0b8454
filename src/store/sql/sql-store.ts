import type { NewEvent, StoredEvent } from "../../core/event.js";
import { GroupCommit } from "../group-commit.js";
import type { InventoryStore } from "../../core/inventory-store.js";
import type {
  AppendOptions,
  AppendResult,
  CommitTotals,
  DeliveredAttempt,
  DeliveryAttempt,
  DeliveryCounts,
  FailedAttempt,
  DeliveryQuery,
  DeliveryState,
  ClaimRequest,
  DueDelivery,
  Engine,
  EventQuery,
  ProjectIdentity,
  Requeue,
  Store,
  Traffic,
} from "../../core/store.js";
import { appendEvents, type PendingAppend } from "./append-events.js";
import { claimDeliveries, nextClaimAt } from "./claim-deliveries.js";
import type { SqlDriver } from "./driver.js";
import type { CommitWatcher } from "./poll-for-commits.js";
import { SqlInventoryStore } from "./inventory-sql.js";
import { forgetRecord, hasRecord, recordOnce, recordsWithPrefix, takeRecord, touchRecord } from "./ledger.js";
import { renewClaims } from "./renew-claims.js";
import { acquireLease, prune, settingOrCreate } from "./maintenance.js";
import { bindProject, projectIdentity } from "./project-identities.js";
import { rememberUser, usernameOf } from "./known-users.js";
import { attemptsOf, deliveriesOf, deliveryCounts, listDeliveries } from "./read-deliveries.js";
import { eventsAfter, getEvent, idRange, listEvents } from "./read-events.js";
import { readTraffic } from "./read-traffic.js";
import { recordOutcomes, type Outcome } from "./record-outcomes.js";
import { requeue, retryFailed } from "./requeue.js";

/** What differs per engine around the shared SQL. */
interface SqlStoreEngine {
  driver: SqlDriver;
  shared: boolean;
  location: string;
  /** Statements run in the append transaction after the events are in (PostgreSQL's NOTIFY). */
  afterAppend?: (tx: Parameters<Parameters<SqlDriver["transaction"]>[0]>[0], newestId: number) => Promise<void>;
  /** See Store.watchCommits; stopped when the store closes. */
  commits: CommitWatcher;
}

/** The append lock: ids are assigned, and become visible, in commit order. */
const APPEND_LOCK = "append";

/**
 * The store on an SQL engine: every operation is written once, in SQL all three engines speak,
 * over the engine's driver. Appends and delivery bookkeeping are group-committed.
 */
export class SqlStore implements Store {
  readonly engine: Engine;
  readonly shared: boolean;
  readonly location: string;
  readonly inventory: InventoryStore;
  private readonly db: SqlDriver;
  private readonly appends: GroupCommit<PendingAppend, AppendResult>;
  private readonly outcomes: GroupCommit<Outcome, boolean>;

  constructor(private readonly parts: SqlStoreEngine) {
    this.db = parts.driver;
    this.engine = parts.driver.engine;
    this.shared = parts.shared;
    this.location = parts.location;
    this.inventory = new SqlInventoryStore(this.db);
    const retryAlone = (error: unknown) => !this.db.isUnavailable(error);
    this.appends = new GroupCommit(
      (items) =>
        this.db.transaction(
          async (tx) => {
            const results = await appendEvents(tx, items, Date.now(), this.db.maxValueBytes);
            const newest = Math.max(0, ...results.filter((result) => !result.duplicate).map((result) => result.id));
            if (newest > 0) await parts.afterAppend?.(tx, newest);
            return results;
          },
          { lock: APPEND_LOCK },
        ),
      { maxBatch: 500, retryAlone },
    );
    this.outcomes = new GroupCommit((items) => this.db.transaction((tx) => recordOutcomes(tx, items), { relaxed: true }), {
      maxBatch: 1000,
      retryAlone,
    });
  }

  append(event: NewEvent, options: AppendOptions): Promise<AppendResult> {
    return this.appends.push({ event, options });
  }

  getEvent(id: number): Promise<StoredEvent | null> {
    return getEvent(this.db, id);
  }

  eventsAfter(afterId: number, limit: number): Promise<StoredEvent[]> {
    return eventsAfter(this.db, afterId, limit);
  }

  listEvents(query: EventQuery): Promise<StoredEvent[]> {
    return listEvents(this.db, query);
  }

  idRange(): Promise<{ oldest: number | null; newest: number }> {
    return idRange(this.db);
  }

  claimDeliveries(sink: string, claim: ClaimRequest): Promise<DueDelivery[]> {
    return claimDeliveries(this.db, sink, claim);
  }

  renewClaims(claims: readonly string[], now: number): Promise<string[]> {
    return renewClaims(this.db, claims, now);
  }

  async releaseClaims(sink: string, claim: string, eventIds: readonly number[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.db.run(
      "UPDATE deliveries SET locked_by = NULL, locked_at = NULL WHERE sink = :sink AND locked_by = :claim AND event_id IN (:ids)",
      {
        sink,
        claim,
        ids: eventIds,
      },
    );
  }

  async releaseAllClaims(): Promise<number> {
    return (await this.db.run("UPDATE deliveries SET locked_by = NULL, locked_at = NULL WHERE locked_by IS NOT NULL")).changes;
  }

  nextClaimAt(sink: string, now: number, leaseMs: number): Promise<number | null> {
    return nextClaimAt(this.db, sink, now, leaseMs);
  }

  markDelivered(sink: string, eventId: number, attempt: DeliveredAttempt, now: number): Promise<boolean> {
    return this.outcomes.push({ kind: "delivered", sink, eventId, attempt, now });
  }

  markFailed(sink: string, eventId: number, attempt: FailedAttempt, now: number): Promise<boolean> {
    return this.outcomes.push({ kind: "failed", sink, eventId, attempt, now });
  }

  requeue(deliveries: readonly Requeue[], now: number): Promise<number> {
    return requeue(this.db, deliveries, now);
  }

  retryFailed(sink: string | null, now: number): Promise<number> {
    return retryFailed(this.db, sink, now);
  }

  deliveriesOf(eventId: number): Promise<DeliveryState[]> {
    return deliveriesOf(this.db, eventId);
  }

  attemptsOf(eventId: number): Promise<DeliveryAttempt[]> {
    return attemptsOf(this.db, eventId);
  }

  listDeliveries(query: DeliveryQuery): Promise<DeliveryState[]> {
    return listDeliveries(this.db, query);
  }

  deliveryCounts(): Promise<Map<string, DeliveryCounts>> {
    return deliveryCounts(this.db);
  }

  appendTotals(): Promise<CommitTotals> {
    return Promise.resolve({ ...this.appends.totals });
  }

  readTraffic(since: number, until: number): Promise<Traffic> {
    return readTraffic(this.db, since, until);
  }

  recordOnce(sink: string, key: string, now: number): Promise<boolean> {
    return recordOnce(this.db, sink, key, now);
  }

  takeRecord(sink: string, key: string, now: number, staleBefore: number): Promise<"new" | "stale" | null> {
    return takeRecord(this.db, sink, key, now, staleBefore);
  }

  touchRecord(sink: string, key: string, at: number): Promise<void> {
    return touchRecord(this.db, sink, key, at);
  }

  hasRecord(sink: string, key: string): Promise<boolean> {
    return hasRecord(this.db, sink, key);
  }

  forgetRecord(sink: string, key: string): Promise<void> {
    return forgetRecord(this.db, sink, key);
  }

  recordsWithPrefix(sink: string, prefix: string): Promise<string[]> {
    return recordsWithPrefix(this.db, sink, prefix);
  }

  acquireLease(name: string, owner: string, ttlMs: number, now: number): Promise<boolean> {
    return acquireLease(this.db, name, owner, ttlMs, now);
  }

  settingOrCreate(name: string, value: string): Promise<string> {
    return settingOrCreate(this.db, name, value);
  }

  projectIdentity(id: number, path: string): Promise<ProjectIdentity> {
    return projectIdentity(this.db, id, path);
  }

  bindProject(id: number, path: string, confirmed: boolean, now: number): Promise<void> {
    return bindProject(this.db, id, path, confirmed, now);
  }

  rememberUser(id: number, username: string, now: number): Promise<void> {
    return rememberUser(this.db, id, username, now);
  }

  usernameOf(id: number): Promise<string | null> {
    return usernameOf(this.db, id);
  }

  prune(before: Date): Promise<number> {
    return prune(this.db, before);
  }

  watchCommits(listener: () => void): () => void {
    return this.parts.commits.add(listener);
  }

  /** A write, not a read: a read-only or full store must fail it. */
  ping(): Promise<void> {
    const now = String(Date.now());
    return this.db.transaction(
      async (tx) => {
        if (!(await tx.insertIfAbsent("settings", { name: "health_check", value: now }))) {
          await tx.run("UPDATE settings SET value = :now WHERE name = 'health_check'", { now });
        }
      },
      { relaxed: true },
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.appends.drain(), this.outcomes.drain()]);
    await this.parts.commits.stop();
    await this.db.close();
  }
}
