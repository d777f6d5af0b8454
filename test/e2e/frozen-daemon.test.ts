import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { postHook, TEST_TOKEN, waitFor } from "../helpers/daemon.js";
import { SERVER_ENGINES } from "../helpers/engines.js";
import { spawnDaemon, type SpawnedDaemon } from "../../harness/spawn-daemon.js";
import { tempDir } from "../../harness/temp-dir.js";
import { sleep } from "../helpers/sleep.js";

/** Longer than every timeout that cuts a frozen holder's session (5 s). */
const FROZEN_MS = 12_000;
/** What a request to the other daemon may take meanwhile: the cut, and a margin for a busy machine. */
const BOUND_MS = 9_000;

const push = (n: number) => ({ object_kind: "push", project: { id: n % 7, path_with_namespace: `g/p${n % 7}`, visibility_level: 20 }, n });

/**
 * A daemon that freezes (SIGSTOP, a paused VM) while it holds the append lock or a claim must not
 * stall the others' ingest for longer than the database takes to end its session.
 */
describe.each(SERVER_ENGINES)("a frozen daemon on a shared $name database", (engine) => {
  const daemons: SpawnedDaemon[] = [];
  afterEach(async () => {
    for (const daemon of daemons.splice(0)) {
      if (daemon.child.exitCode === null && daemon.child.signalCode === null) {
        daemon.child.kill("SIGCONT");
        daemon.child.kill("SIGKILL");
      }
      await daemon.exited;
    }
  });
  const test = engine.available ? it : it.skip;

  test("costs the other daemon's ingest a few seconds at most, and carries on once thawed", { timeout: 90_000 }, async () => {
    const location = await engine.freshLocation();
    const start = async () => {
      const dir = tempDir();
      const daemon = await spawnDaemon(
        {
          ...engine.env(location),
          SOURCE_TOKEN: TEST_TOKEN,
          SINKS_ENABLED: "log",
          LOG_EVENTS_TO: join(dir, "events.log"),
          DELIVERY_LEASE_SECONDS: "3",
        },
        dir,
      );
      daemons.push(daemon);
      return daemon;
    };
    const [a, b] = await Promise.all([start(), start()]);

    // Steady, large appends to A, so that it is most likely inside its append transaction when it stops.
    const padding = "x".repeat(512 * 1024);
    let loading = true;
    let sent = 0;
    const load = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (loading)
          await postHook(a.url, { ...push(sent++), padding }).then(
            (response) => response.body?.cancel(),
            () => undefined,
          );
      }),
    );
    const timings: { at: number; ms: number; status: number }[] = [];
    const probe = async (until: number) => {
      while (Date.now() < until) {
        const began = Date.now();
        const response = await postHook(b.url, push(sent++));
        await response.body?.cancel();
        timings.push({ at: began, ms: Date.now() - began, status: response.status });
      }
    };

    await probe(Date.now() + 1000);
    // A stop at a moment A holds nothing costs nothing: stop it until a request to B has to wait.
    let stopped = 0;
    for (let attempt = 1; attempt <= 10 && stopped === 0; attempt++) {
      a.child.kill("SIGSTOP");
      const before = timings.length;
      const at = Date.now();
      await probe(at + 1);
      if ((timings[before]?.ms ?? 0) > 500) stopped = at;
      else {
        a.child.kill("SIGCONT");
        await sleep(300);
      }
    }
    expect(stopped, "A never held a lock when stopped").toBeGreaterThan(0);
    await probe(stopped + FROZEN_MS);
    a.child.kill("SIGCONT");
    loading = false;
    await load;

    const during = timings.filter((timing) => timing.at >= stopped);
    expect(Math.max(...during.map((timing) => timing.ms))).toBeLessThan(BOUND_MS);
    expect(during.filter((timing) => timing.status !== 202)).toEqual([]);
    expect(during.length).toBeGreaterThan(2);

    // Thawed, A finds its session gone, reconnects and takes events again.
    await waitFor(
      async () => ((await postHook(a.url, push(sent++))).status === 202 ? true : undefined),
      15_000,
      "the thawed daemon accepting events",
    );
    expect(a.child.exitCode).toBeNull();
    expect(a.output()).not.toMatch(/unhandled rejection|uncaught/i);
  });
});
