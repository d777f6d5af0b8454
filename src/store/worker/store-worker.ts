import { parentPort, workerData } from "node:worker_threads";
import { openEngineStore, type StoreSpec } from "../open-engine-store.js";
import type { Store } from "../../core/store.js";
import { errorWithStack } from "../../support/error-message.js";
import { encodeError, encodeResult, type Call, type MainMessage, type Result, type WorkerMessage } from "./protocol.js";

/**
 * The store's own thread: it owns the database connection, group-commits appends and delivery
 * bookkeeping, and answers the main thread's calls in batches, so that SQL never holds up the
 * thread that answers HTTP.
 */
const port = parentPort;
if (!port) throw new Error("store-worker runs as a worker thread");
const post = (message: WorkerMessage) => port.postMessage(message);

const logger = {
  warn: (message: string, fields?: Record<string, unknown>) => post({ kind: "log", level: "warn", message, fields }),
  debug: (message: string, fields?: Record<string, unknown>) => post({ kind: "log", level: "debug", message, fields }),
};

// As on the main thread: a promise nobody awaited is a bug to report, not a reason to take the
// store down (which would now stop the whole daemon).
process.on("unhandledRejection", (reason: unknown) =>
  logger.warn("unhandled rejection on the store's thread (a bug: please report it)", {
    error: errorWithStack(reason),
  }),
);

let pending: Result[] = [];
let flushing = false;
/** Answers that are ready together leave together. */
function answer(result: Result): void {
  pending.push(result);
  if (flushing) return;
  flushing = true;
  // A batch's answers, resolved together, leave in one message, at once.
  queueMicrotask(() => {
    flushing = false;
    const results = pending;
    pending = [];
    post({ kind: "results", results });
  });
}

function methodOf(store: Store, name: string): (...args: unknown[]) => Promise<unknown> {
  const [owner, method] = name.startsWith("inventory.") ? [store.inventory, name.slice("inventory.".length)] : [store, name];
  const fn = (owner as unknown as Record<string, unknown>)[method];
  if (typeof fn !== "function") throw new Error(`the store has no method ${name}`);
  return (fn as (...args: unknown[]) => Promise<unknown>).bind(owner);
}

async function serve(store: Store, call: Call): Promise<void> {
  try {
    answer({ id: call.id, value: encodeResult(call.method, await methodOf(store, call.method)(...call.args)) });
  } catch (error) {
    answer({ id: call.id, error: encodeError(error) });
  }
}

try {
  const store = await openEngineStore(workerData as StoreSpec, logger);
  let unwatch: (() => void) | undefined;
  port.on("message", (message: MainMessage) => {
    if (message.kind === "watch") {
      unwatch?.();
      unwatch = message.on ? store.watchCommits(() => post({ kind: "commits" })) : undefined;
      return;
    }
    for (const call of message.calls) void serve(store, call);
  });
  post({ kind: "ready", engine: store.engine, shared: store.shared, location: store.location });
} catch (error) {
  post({ kind: "failed", error: encodeError(error) });
}
