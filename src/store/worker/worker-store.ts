import { Worker } from "node:worker_threads";
import { StoredEvent, type NewEvent } from "../../core/event.js";
import type { InventoryStore } from "../../core/inventory-store.js";
import { compiledWorkerUrl } from "../compiled-worker.js";
import type { StoreSpec } from "../open-engine-store.js";
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
  StoreLogger,
  Traffic,
} from "../../core/store.js";
import { decode, decodeError, type Call, type MainMessage, type WorkerMessage } from "./protocol.js";

/** The compiled worker, beside this module (`dist/` when running from sources under test). */
function defaultWorkerUrl(): URL {
  return compiledWorkerUrl("worker/store-worker.js");
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * A store whose connection lives on a thread of its own (store-worker.ts): every call is a
 * message, and the calls of one turn of the event loop leave together. The main thread keeps HTTP,
 * parsing and sinks; commits, fsyncs and SQL run beside it, on the second core.
 */
export class WorkerStore implements Store {
  readonly inventory: InventoryStore;
  private readonly pending = new Map<number, Pending>();
  private queued: Call[] = [];
  private scheduled = false;
  private nextId = 1;
  private stopped: Error | null = null;
  private readonly watchers = new Set<() => void>();

  private constructor(
    private readonly worker: Worker,
    readonly engine: Engine,
    readonly shared: boolean,
    readonly location: string,
    private readonly onFailure: ((error: Error) => void) | undefined,
  ) {
    worker.on("message", (message: WorkerMessage) => this.receive(message));
    worker.on("error", (error) => this.fail(error, `the store's thread failed: ${error.message}`));
    worker.on("exit", (code) => this.fail(new Error(`the store's thread stopped (exit code ${code})`), "the store's thread has stopped"));
    const call =
      <T>(method: string) =>
      (...args: unknown[]) =>
        this.call<T>(method, ...args);
    this.inventory = {
      apply: call("inventory.apply"),
      listProjects: call("inventory.listProjects"),
      projectById: call("inventory.projectById"),
      projectByPath: call("inventory.projectByPath"),
      branches: call("inventory.branches"),
      groupExists: call("inventory.groupExists"),
    } as InventoryStore;
  }

  /**
   * Starts the store's thread and waits until its store is open (migrations run). `onFailure` hears
   * of the thread failing afterwards (an uncaught error there: a bug), once: every call fails from
   * then on, and the daemon is better restarted than left half alive.
   */
  static open(
    spec: StoreSpec,
    logger?: StoreLogger,
    workerUrl: URL = defaultWorkerUrl(),
    onFailure?: (error: Error) => void,
  ): Promise<WorkerStore> {
    const worker = new Worker(workerUrl, { workerData: spec });
    return new Promise((resolve, reject) => {
      const first = (message: WorkerMessage) => {
        if (message.kind === "log") return void logger?.[message.level](message.message, message.fields);
        worker.off("message", first);
        worker.off("error", failed);
        if (message.kind === "ready") {
          const store = new WorkerStore(worker, message.engine, message.shared, message.location, onFailure);
          worker.on("message", (later: WorkerMessage) => {
            if (later.kind === "log") logger?.[later.level](later.message, later.fields);
          });
          resolve(store);
        } else {
          void worker.terminate();
          reject(message.kind === "failed" ? decodeError(message.error) : new Error("the store's thread did not start"));
        }
      };
      const failed = (error: Error) => reject(error);
      worker.on("message", first);
      worker.once("error", failed);
    });
  }

  private receive(message: WorkerMessage): void {
    if (message.kind === "commits") {
      for (const listener of this.watchers) listener();
      return;
    }
    if (message.kind !== "results") return;
    for (const result of message.results) {
      const waiting = this.pending.get(result.id);
      if (!waiting) continue;
      this.pending.delete(result.id);
      if ("error" in result) waiting.reject(decodeError(result.error));
      else waiting.resolve(decode(result.value));
    }
  }

  /** The thread failed or stopped without being closed: calls fail with `reason`, and onFailure hears why. */
  private fail(cause: Error, reason: string): void {
    if (this.stopped) return;
    this.stop(new Error(reason));
    this.onFailure?.(cause);
  }

  private stop(error: Error): void {
    if (this.stopped) return;
    this.stopped = error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  private send(message: MainMessage): void {
    this.worker.postMessage(message);
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.queued.push({ id, method, args });
      if (this.scheduled) return;
      this.scheduled = true;
      // The calls made in one go (a sink's, a request's) leave together, without waiting for the next turn.
      queueMicrotask(() => {
        this.scheduled = false;
        const calls = this.queued;
        this.queued = [];
        if (!this.stopped) this.send({ kind: "calls", calls });
      });
    });
  }

  async append(event: NewEvent, options: AppendOptions): Promise<AppendResult> {
    // The store keeps the payload's text; the parsed copy need not cross, and the stored event is
    // built here again from what this thread has (encodeResult).
    const { id, duplicate } = await this.call<{ id: number; duplicate: boolean }>("append", { ...event, payload: null }, options);
    return {
      id,
      duplicate,
      stored: duplicate ? null : StoredEvent.appended(id, event, options.payloadJson, options.headers ?? null, options.deliveries),
    };
  }
  getEvent(id: number): Promise<StoredEvent | null> {
    return this.call("getEvent", id);
  }
  eventsAfter(afterId: number, limit: number): Promise<StoredEvent[]> {
    return this.call("eventsAfter", afterId, limit);
  }
  listEvents(query: EventQuery): Promise<StoredEvent[]> {
    return this.call("listEvents", query);
  }
  idRange(): Promise<{ oldest: number | null; newest: number }> {
    return this.call("idRange");
  }
  claimDeliveries(sink: string, claim: ClaimRequest): Promise<DueDelivery[]> {
    return this.call("claimDeliveries", sink, claim);
  }
  renewClaims(claims: readonly string[], now: number): Promise<string[]> {
    return this.call("renewClaims", claims, now);
  }
  releaseClaims(sink: string, claim: string, eventIds: readonly number[]): Promise<void> {
    return this.call("releaseClaims", sink, claim, eventIds);
  }
  releaseAllClaims(): Promise<number> {
    return this.call("releaseAllClaims");
  }
  nextClaimAt(sink: string, now: number, leaseMs: number): Promise<number | null> {
    return this.call("nextClaimAt", sink, now, leaseMs);
  }
  markDelivered(sink: string, eventId: number, attempt: DeliveredAttempt, now: number): Promise<boolean> {
    return this.call("markDelivered", sink, eventId, attempt, now);
  }
  markFailed(sink: string, eventId: number, attempt: FailedAttempt, now: number): Promise<boolean> {
    return this.call("markFailed", sink, eventId, attempt, now);
  }
  requeue(deliveries: readonly Requeue[], now: number): Promise<number> {
    return this.call("requeue", deliveries, now);
  }
  retryFailed(sink: string | null, now: number): Promise<number> {
    return this.call("retryFailed", sink, now);
  }
  deliveriesOf(eventId: number): Promise<DeliveryState[]> {
    return this.call("deliveriesOf", eventId);
  }
  attemptsOf(eventId: number): Promise<DeliveryAttempt[]> {
    return this.call("attemptsOf", eventId);
  }
  listDeliveries(query: DeliveryQuery): Promise<DeliveryState[]> {
    return this.call("listDeliveries", query);
  }
  deliveryCounts(): Promise<Map<string, DeliveryCounts>> {
    return this.call("deliveryCounts");
  }
  appendTotals(): Promise<CommitTotals> {
    return this.call("appendTotals");
  }

  readTraffic(since: number, until: number): Promise<Traffic> {
    return this.call("readTraffic", since, until);
  }
  recordOnce(sink: string, key: string, now: number): Promise<boolean> {
    return this.call("recordOnce", sink, key, now);
  }
  takeRecord(sink: string, key: string, now: number, staleBefore: number): Promise<"new" | "stale" | null> {
    return this.call("takeRecord", sink, key, now, staleBefore);
  }
  touchRecord(sink: string, key: string, at: number): Promise<void> {
    return this.call("touchRecord", sink, key, at);
  }
  hasRecord(sink: string, key: string): Promise<boolean> {
    return this.call("hasRecord", sink, key);
  }
  forgetRecord(sink: string, key: string): Promise<void> {
    return this.call("forgetRecord", sink, key);
  }
  recordsWithPrefix(sink: string, prefix: string): Promise<string[]> {
    return this.call("recordsWithPrefix", sink, prefix);
  }
  acquireLease(name: string, owner: string, ttlMs: number, now: number): Promise<boolean> {
    return this.call("acquireLease", name, owner, ttlMs, now);
  }
  settingOrCreate(name: string, value: string): Promise<string> {
    return this.call("settingOrCreate", name, value);
  }
  projectIdentity(id: number, path: string): Promise<ProjectIdentity> {
    return this.call("projectIdentity", id, path);
  }
  bindProject(id: number, path: string, confirmed: boolean, now: number): Promise<void> {
    return this.call("bindProject", id, path, confirmed, now);
  }
  rememberUser(id: number, username: string, now: number): Promise<void> {
    return this.call("rememberUser", id, username, now);
  }
  usernameOf(id: number): Promise<string | null> {
    return this.call("usernameOf", id);
  }
  prune(before: Date): Promise<number> {
    return this.call("prune", before);
  }
  ping(): Promise<void> {
    return this.call("ping");
  }

  watchCommits(listener: () => void): () => void {
    this.watchers.add(listener);
    if (this.watchers.size === 1) this.send({ kind: "watch", on: true });
    return () => {
      this.watchers.delete(listener);
      if (this.watchers.size === 0 && !this.stopped) this.send({ kind: "watch", on: false });
    };
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.call("close");
    } finally {
      this.stop(new Error("the store is closed"));
      await this.worker.terminate();
    }
  }
}
