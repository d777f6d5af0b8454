import type { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { WorkerStore } from "../../src/store/worker/worker-store.js";
import { startTestDaemon } from "../helpers/daemon.js";
import { closeAfterTest } from "../helpers/teardown.js";

/**
 * The store's thread owns the database connection; should it ever fail (an uncaught error there,
 * a bug), every store call fails from then on. A daemon left so answers 503 to every hook and feeds
 * nothing, for good: it must say why, with the stack, and stop, so that its supervisor starts a new one.
 */
describe("a daemon whose store's thread fails", () => {
  it("logs the failure with its stack and asks to be stopped", { timeout: 30_000 }, async () => {
    const fatal: Error[] = [];
    const daemon = closeAfterTest(await startTestDaemon({}, {}, undefined, { onFatal: (error) => fatal.push(error) }));
    expect(daemon.daemon.store).toBeInstanceOf(WorkerStore);
    expect((await fetch(`${daemon.url}/healthz`)).status).toBe(200);

    // The thread ends without the store being closed: what an uncaught error there does.
    await (daemon.daemon.store as unknown as { worker: Worker }).worker.terminate();

    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.message).toMatch(/the store's thread stopped/);
    expect(daemon.logs()).toMatch(/the store's thread failed \(a bug: please report it\); the daemon cannot go on/);
    expect((await fetch(`${daemon.url}/healthz`)).status).toBe(503);
  });
});
