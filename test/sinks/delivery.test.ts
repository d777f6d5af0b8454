import { describe, expect, inject, it } from "vitest";
import { createDatabase } from "../../harness/postgres-server.js";
import { PermanentError, RetryLaterError } from "../../src/core/sink.js";
import { postHook, startTestDaemon, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { recordingSink, type Recording } from "../helpers/recording-sink.js";
import { sleep } from "../helpers/sleep.js";
import { closeAfterTest } from "../helpers/teardown.js";
import type { ClaimRequest, DueDelivery, Store } from "../../src/core/store.js";
import { openSqliteStore } from "../../src/store/sqlite/open-sqlite-store.js";
import { openPostgresStore } from "../../src/store/postgres/open-postgres-store.js";
import { appendEvent } from "../helpers/store.js";

let t: TestDaemon | undefined;

const pushTo = (projectId: number, n: number) => ({
  object_kind: "push",
  n,
  project: { id: projectId, path_with_namespace: `g/p${projectId}`, visibility_level: 20 },
});

async function deliveryTo(sink: string, id: number) {
  return (await (t as TestDaemon).daemon.store.deliveriesOf(id)).find((d) => d.sink === sink);
}

/** The store, each claim of it passed through `claim` (to count claims, or to answer them late). */
function claimingThrough(claim: (sink: string, made: () => Promise<DueDelivery[]>) => Promise<DueDelivery[]>) {
  return (store: Store): Store =>
    new Proxy(store, {
      get(target, property, receiver) {
        if (property !== "claimDeliveries") return Reflect.get(target, property, receiver) as unknown;
        return (sink: string, request: ClaimRequest) => claim(sink, () => target.claimDeliveries(sink, request));
      },
    });
}

/**
 * A daemon whose one sink, `slow`, holds its lane on an event with `n: 0` until `open()` is called,
 * on a store passed through `wrap`.
 */
async function startWithHeldLane(wrap: (store: Store) => Store) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const slow = recordingSink("slow", (event) => ((event.payload as { n?: number }).n === 0 ? gate : undefined));
  t = closeAfterTest(
    await startTestDaemon({ SINKS_ENABLED: "slow" }, { slow: slow.factory }, undefined, {
      store: (config) => wrap(openSqliteStore(config.DATABASE_PATH)),
    }),
  );
  return { recording: slow.recording, open };
}

async function post(body: object): Promise<number> {
  const response = await postHook((t as TestDaemon).url, body);
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: number }).id;
}

describe("delivery", () => {
  it("retries a failing delivery with backoff until it succeeds", async () => {
    const { factory, recording } = recordingSink("flaky", (_event, attempt) => {
      if (attempt < 3) throw new Error(`downstream said no (${attempt})`);
    });
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "flaky" }, { flaky: factory }));
    const id = await post(pushTo(1, 1));
    await waitFor(() => (recording.delivered.includes(id) ? true : undefined));
    const times = recording.calls.map((call) => call.at);
    expect(times).toHaveLength(3);
    // RETRY_MIN_MS=20 doubling with jitter: the second wait is at least the first minimum doubled.
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(15);
    expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(35);
    // The outcome is committed just after the sink returns: wait for the record, not the call.
    const state = await waitFor(async () => {
      const recorded = await deliveryTo("flaky", id);
      return recorded?.status === "delivered" ? recorded : undefined;
    });
    expect(state).toMatchObject({ sink: "flaky", status: "delivered", attempts: 3, lastError: null });
  });

  it("dead-letters after MAX_ATTEMPTS, keeping the last error", async () => {
    const { factory, recording } = recordingSink("broken", () => {
      throw new Error("always down");
    });
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "broken", MAX_ATTEMPTS: "3" }, { broken: factory }));
    const id = await post(pushTo(1, 1));
    const state = await waitFor(async () => {
      const s = await deliveryTo("broken", id);
      return s?.status === "failed" ? s : undefined;
    });
    expect(state).toMatchObject({ attempts: 3, lastError: "always down" });
    await sleep(300);
    expect(recording.calls).toHaveLength(3);
  });

  it("takes secrets out of a sink's error before it is stored, listed or shown on /healthz", async () => {
    const secret = "gitlab-token-that-a-downstream-echoed";
    const { factory } = recordingSink("echo", () => {
      throw new Error(`refused token ${secret} at https://downstream.example/private-group/private-project/notes`);
    });
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "echo", MAX_ATTEMPTS: "1", GITLAB_TOKEN: secret }, { echo: factory }));
    const id = await post(pushTo(1, 1));
    const state = await waitFor(async () => {
      const s = await deliveryTo("echo", id);
      return s?.status === "failed" ? s : undefined;
    });
    expect(state.lastError).toBe("refused token [redacted] at https://downstream.example/private-group/private-project/notes");
    expect((await t.daemon.store.attemptsOf(id))[0]?.error).not.toContain(secret);
    const health = await (await fetch(`${t.url}/healthz`)).text();
    expect(health).not.toContain(secret);
    // The public page keeps the host of a URL, not the path that names a (maybe private) project.
    expect(health).toContain("https://downstream.example/…");
    expect(health).not.toContain("private-project");
  });

  it("does not retry a PermanentError", async () => {
    const { factory, recording } = recordingSink("picky", () => {
      throw new PermanentError("task T1 does not exist");
    });
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "picky" }, { picky: factory }));
    const id = await post(pushTo(1, 1));
    await waitFor(async () => ((await deliveryTo("picky", id))?.status === "failed" ? true : undefined));
    await sleep(200);
    expect(recording.calls).toHaveLength(1);
  });

  it("recognizes a plugin's own copy of PermanentError by its name", async () => {
    // What a plugin loaded from a path throws: a class of the same name, not ours.
    class PermanentError extends Error {
      override name = "PermanentError";
    }
    const { factory, recording } = recordingSink("plugin", () => {
      throw new PermanentError("this event is not for me");
    });
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "plugin" }, { plugin: factory }));
    const id = await post(pushTo(1, 1));
    await waitFor(async () => ((await deliveryTo("plugin", id))?.status === "failed" ? true : undefined));
    await sleep(200);
    expect(recording.calls).toHaveLength(1);
  });

  it("retries at the time a RetryLaterError names, not on the backoff's schedule, and keeps the status", async () => {
    const { factory, recording } = recordingSink("limited", (_event, attempt) => {
      if (attempt === 1) throw new RetryLaterError("downstream answered 429", Date.now() + 700, { status: 429 });
    });
    // The backoff alone would retry within 20–40 ms.
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "limited" }, { limited: factory }));
    const id = await post(pushTo(1, 1));
    const waiting = await waitFor(async () => {
      const state = await deliveryTo("limited", id);
      return state?.attempts === 1 ? state : undefined;
    });
    expect(waiting).toMatchObject({ status: "pending", lastError: "downstream answered 429", lastErrorStatus: 429 });
    await waitFor(() => (recording.delivered.includes(id) ? true : undefined), 3000);
    const [first, second] = recording.calls.map((call) => call.at);
    expect((second as number) - (first as number)).toBeGreaterThanOrEqual(650);
  });

  it("keeps the HTTP status an error carries, and a status of several failures together", async () => {
    const { factory } = recordingSink("refused", () => {
      const forbidden = Object.assign(new Error("T1: 403 Forbidden"), { status: 403 });
      throw new AggregateError([new Error("T2: no answer"), forbidden], "could not comment on T1, T2");
    });
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "refused", MAX_ATTEMPTS: "1" }, { refused: factory }));
    const id = await post(pushTo(1, 1));
    const state = await waitFor(async () => {
      const found = await deliveryTo("refused", id);
      return found?.status === "failed" ? found : undefined;
    });
    expect(state).toMatchObject({ lastError: "could not comment on T1, T2", lastErrorStatus: 403 });
    const attempts = (await t.daemon.store.attemptsOf(id)).filter((attempt) => attempt.sink === "refused");
    expect(attempts).toEqual([expect.objectContaining({ sink: "refused", outcome: "failed", errorStatus: 403 })]);
    expect(t.logs()).toMatch(/delivery failed for good.*status.*403|delivery failed for good.*403/);
  });

  it("delivers events of one project in order, even across a retry, while other projects go on", async () => {
    const { factory, recording } = recordingSink(
      "ordered",
      (event, attempt) => {
        const payload = event.payload as { n: number; project: { id: number } };
        if (payload.project.id === 1 && payload.n === 1 && attempt === 1) throw new Error("first try fails");
      },
      { concurrency: 4 },
    );
    // A retry long enough that project 2 is surely posted and delivered before it, on a loaded machine too.
    t = closeAfterTest(
      await startTestDaemon({ SINKS_ENABLED: "ordered", RETRY_MIN_MS: "1000", RETRY_MAX_MS: "2000" }, { ordered: factory }),
    );
    const a1 = await post(pushTo(1, 1));
    const a2 = await post(pushTo(1, 2));
    const b1 = await post(pushTo(2, 1));
    const a3 = await post(pushTo(1, 3));
    await waitFor(() => (recording.delivered.length === 4 ? true : undefined));
    const order = recording.delivered;
    expect(order.filter((id) => id !== b1)).toEqual([a1, a2, a3]);
    // Project 2 did not wait for project 1's retry.
    expect(order.indexOf(b1)).toBe(0);
  });

  it("keeps a failing or slow sink from delaying another", async () => {
    const slow = recordingSink("slow", () => sleep(2000));
    const failing = recordingSink("failing", () => {
      throw new Error("down");
    });
    const fast = recordingSink("fast");
    t = closeAfterTest(
      await startTestDaemon({ SINKS_ENABLED: "slow,failing,fast" }, { slow: slow.factory, failing: failing.factory, fast: fast.factory }),
    );
    const started = Date.now();
    const ids = [await post(pushTo(1, 1)), await post(pushTo(1, 2)), await post(pushTo(1, 3))];
    await waitFor(() => (fast.recording.delivered.length === 3 ? true : undefined), 1500);
    expect(fast.recording.delivered).toEqual(ids);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("queues an event only for the sinks that accept it", async () => {
    const merges = recordingSink("merges", undefined, { accepts: (event) => event.type === "merge_request" });
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "merges" }, { merges: merges.factory }));
    const push = await post(pushTo(1, 1));
    const mr = await post({ object_kind: "merge_request", object_attributes: { action: "open" } });
    await waitFor(() => (merges.recording.delivered.length === 1 ? true : undefined));
    expect(merges.recording.delivered).toEqual([mr]);
    expect((await t.daemon.store.deliveriesOf(push)).filter((d) => d.sink === "merges")).toEqual([]);
  });

  it("resumes undelivered events after a restart, without redelivering delivered ones", async () => {
    const first = recordingSink("resumable", (event) => {
      if ((event.payload as { n: number }).n === 2) return sleep(60_000);
    });
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "resumable", SHUTDOWN_TIMEOUT_MS: "100" }, { resumable: first.factory }));
    const dir = t.dir;
    const one = await post(pushTo(1, 1));
    const two = await post(pushTo(1, 2));
    const three = await post(pushTo(1, 3));
    await waitFor(() => (first.recording.calls.length === 2 ? true : undefined));
    await t.daemon.close();

    const second = recordingSink("resumable");
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "resumable" }, { resumable: second.factory }, dir));
    await waitFor(() => (second.recording.delivered.length === 2 ? true : undefined));
    expect(first.recording.delivered).toEqual([one]);
    expect(second.recording.delivered).toEqual([two, three]);
  });
});

describe("retention", () => {
  it("prunes delivered events older than RETENTION_DAYS and keeps undelivered ones", async () => {
    const never = recordingSink("never", () => sleep(60_000), { accepts: (event) => (event.payload as { keep?: boolean }).keep === true });
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "log,never", SHUTDOWN_TIMEOUT_MS: "50" }, { never: never.factory }));
    const delivered = await post({ object_kind: "push" });
    const kept = await post({ object_kind: "push", keep: true });
    await waitFor(async () => ((await deliveryTo("log", delivered))?.status === "delivered" ? true : undefined));
    expect(await t.daemon.store.prune(new Date(Date.now() - 60_000))).toBe(0);
    expect(await t.daemon.store.prune(new Date(Date.now() + 60_000))).toBe(1);
    expect(await t.daemon.store.getEvent(delivered)).toBeNull();
    expect(await t.daemon.store.getEvent(kept)).not.toBeNull();
  });

  it("wakes only the queues of sinks that want a new event: the others make no claim for it", async () => {
    const claims = new Map<string, number>();
    const counting = claimingThrough((sink, made) => {
      claims.set(sink, (claims.get(sink) ?? 0) + 1);
      return made();
    });
    const pushes = recordingSink("pushes", () => {}, { accepts: (event) => event.type === "push" });
    const issues = recordingSink("issues", () => {}, { accepts: (event) => event.type === "issue" });
    t = closeAfterTest(
      await startTestDaemon(
        { SINKS_ENABLED: "pushes,issues,sse", SSE_TOKEN: "x" },
        { pushes: pushes.factory, issues: issues.factory },
        undefined,
        {
          store: (config) => counting(openSqliteStore(config.DATABASE_PATH)),
        },
      ),
    );
    // Each queue looks once as the daemon starts.
    await waitFor(() => (claims.get("issues") === 1 && claims.get("sse") === 1 ? true : undefined));
    const ids: number[] = [];
    for (let n = 0; n < 5; n++) ids.push(await post(pushTo(1, n)));
    await waitFor(() => (pushes.recording.delivered.length === 5 ? true : undefined));
    await sleep(200);
    expect(pushes.recording.delivered).toEqual(ids);
    expect(claims.get("pushes")).toBeGreaterThanOrEqual(2);
    // Neither the issues sink nor the feed (which follows the bus, with no queue of its own to fill) looked again.
    expect(claims.get("issues")).toBe(1);
    expect(claims.get("sse")).toBe(1);
    // An event it wants wakes it.
    const issue = await post({
      object_kind: "issue",
      object_attributes: { action: "open" },
      project: { id: 1, path_with_namespace: "g/p1" },
    });
    await waitFor(() => (issues.recording.delivered.includes(issue) ? true : undefined));
    expect(claims.get("issues")).toBeGreaterThanOrEqual(2);
  });

  it("does not look at the store for new events of a key this daemon's lane runs: the lane takes them when it ends", async () => {
    const claims: string[] = [];
    const counting = claimingThrough((sink, made) => {
      claims.push(sink);
      return made();
    });
    // The first event of project 1 holds its lane until open().
    const { recording, open } = await startWithHeldLane(counting);
    const first = await post(pushTo(1, 0));
    await waitFor(() => (recording.calls.length === 1 ? true : undefined));
    const claimsOf = () => claims.filter((sink) => sink === "slow").length;
    const before = claimsOf();
    const behind: number[] = [];
    for (let n = 1; n <= 5; n++) behind.push(await post(pushTo(1, n)));
    await sleep(200);
    // Five events behind the running lane made no claim: each would have found its key busy.
    expect(claimsOf() - before).toBe(0);
    // Another key's event is looked for at once, and runs beside the lane.
    const other = await post(pushTo(2, 100));
    await waitFor(() => (recording.delivered.includes(other) ? true : undefined));
    expect(recording.delivered).toEqual([other]);
    open();
    await waitFor(() => (recording.delivered.length === 7 ? true : undefined));
    expect(recording.delivered).toEqual([other, first, ...behind]);
  });

  it("does not look at the store for new events of a long key (the store keeps it hashed) a lane runs", async () => {
    // No project id: the ordering key is the path's, and a path this long is stored as its hash.
    const longPath = `g/${"x".repeat(300)}`;
    const pushToLongPath = (n: number) => ({ object_kind: "push", n, project: { path_with_namespace: longPath, visibility_level: 20 } });
    const claims: string[] = [];
    const { recording, open } = await startWithHeldLane(
      claimingThrough((sink, made) => {
        claims.push(sink);
        return made();
      }),
    );
    const first = await post(pushToLongPath(0));
    await waitFor(() => (recording.calls.length === 1 ? true : undefined));
    const before = claims.filter((sink) => sink === "slow").length;
    const behind: number[] = [];
    for (let n = 1; n <= 5; n++) behind.push(await post(pushToLongPath(n)));
    await sleep(200);
    expect(claims.filter((sink) => sink === "slow").length - before).toBe(0);
    open();
    await waitFor(() => (recording.delivered.length === 6 ? true : undefined));
    expect(recording.delivered).toEqual([first, ...behind]);
  });

  it("does not look again for an event that came while it looked, once that look's lane runs its key", async () => {
    let slowClaims = 0;
    const claimsOf: string[] = [];
    // Each claim answers 300 ms after its SQL ran: long enough for an event to come in meanwhile, unseen by it.
    const slowToAnswer = claimingThrough(async (sink, made) => {
      claimsOf.push(sink);
      const due = await made();
      if (sink === "slow" && slowClaims++ > 0) await sleep(300);
      return due;
    });
    const { recording, open } = await startWithHeldLane(slowToAnswer);
    await waitFor(() => (slowClaims === 1 ? true : undefined)); // the look at start-up
    const first = await post(pushTo(1, 0));
    await sleep(100);
    // Committed while the look for the first event has not answered yet.
    const second = await post(pushTo(1, 1));
    await waitFor(() => (recording.calls.length === 1 ? true : undefined));
    await sleep(500);
    // The look that answered started the key's lane; the second event waits behind it, unlooked-for.
    expect(claimsOf.filter((sink) => sink === "slow")).toHaveLength(2);
    open();
    await waitFor(() => (recording.delivered.length === 2 ? true : undefined));
    expect(recording.delivered).toEqual([first, second]);
  });

  it("runs at once a delivery another daemon queued, even for an event this daemon's filter of that sink would refuse", async () => {
    const url = await createDatabase(inject("postgresUrl"));
    // Replicas configured differently for a while (a rolling deploy changing the filter).
    const issuesOnly = recordingSink("mirror", () => {}, { accepts: (event) => event.type === "issue" });
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "mirror", DATABASE_URL: url }, { mirror: issuesOnly.factory }));
    await sleep(300);
    // The other daemon queues a push for the sink, and stops at once: nobody else will run it.
    const other = await openPostgresStore(url, { poolSize: 2 });
    const { id } = await appendEvent(other, { type: "push" }, ["mirror"]);
    await other.close();
    // Far sooner than the queue's own look once a minute.
    await waitFor(() => (issuesOnly.recording.delivered.includes(id) ? true : undefined), 3000, "the other daemon's delivery");
  });
});

/** Deliveries of a few ms, a tenth of which fail once: the lane breaks, its key waits for the retry (20–200 ms). */
function flakySink(concurrency: number) {
  const failedOnce = new Set<number>();
  return recordingSink(
    "racy",
    async (event) => {
      await sleep(Math.floor(Math.random() * 3));
      if (event.id % 10 === 3 && !failedOnce.has(event.id)) {
        failedOnce.add(event.id);
        throw new Error("try again");
      }
    },
    { concurrency },
  );
}

/**
 * Bursts of 6 events posted at once, to `daemons` in turn, over three projects ("0"–"2") and events
 * of none ("3": no ordering key), a few ms apart: lanes end while new events commit.
 */
async function postBursts(bursts: number, daemons: readonly TestDaemon[]) {
  const keyOf = new Map<number, string>();
  const postedAt = new Map<number, number>();
  const ids: number[] = [];
  for (let burst = 0; burst < bursts; burst++) {
    const keys = Array.from({ length: 6 }, (_, i) => (burst * 6 + i) % 4);
    const posted = await Promise.all(
      keys.map(async (k, i) => {
        const n = burst * 6 + i;
        const body =
          k === 3
            ? { object_kind: "push", n }
            : { object_kind: "push", n, project: { id: k + 1, path_with_namespace: `g/p${k}`, visibility_level: 20 } };
        const response = await postHook((daemons[i % daemons.length] as TestDaemon).url, body);
        expect(response.status).toBe(202);
        return ((await response.json()) as { id: number }).id;
      }),
    );
    posted.forEach((id, i) => {
      keyOf.set(id, String(keys[i]));
      postedAt.set(id, Date.now());
    });
    ids.push(...posted);
    await sleep(Math.floor(Math.random() * 8));
  }
  return { ids, keyOf, postedAt };
}

/** Every posted event delivered within `withinMs` (far sooner than a queue's look once a minute), each key's in id order. */
async function expectDeliveredInKeyOrder(recording: Recording, posted: Awaited<ReturnType<typeof postBursts>>, withinMs: number) {
  const { ids, keyOf, postedAt } = posted;
  const deadline = Date.now() + withinMs;
  while (ids.some((id) => !recording.delivered.includes(id)) && Date.now() < deadline) await sleep(50);
  expect(ids.filter((id) => !recording.delivered.includes(id))).toEqual([]);
  const lastCall = new Map(recording.calls.map((call) => [call.id, call.at]));
  const slowest = Math.max(...ids.map((id) => (lastCall.get(id) as number) - (postedAt.get(id) as number)));
  expect(slowest).toBeLessThan(withinMs);
  const firsts = [...new Set(recording.delivered)];
  for (const key of ["0", "1", "2"]) {
    const order = firsts.filter((id) => keyOf.get(id) === key);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  }
}

describe("delivery queue wake-ups under racing commits", () => {
  for (const concurrency of [1, 2]) {
    it(`delivers every event soon and in key order while lanes end as new events commit (concurrency ${concurrency})`, async () => {
      const sink = flakySink(concurrency);
      t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "racy" }, { racy: sink.factory }));
      await expectDeliveredInKeyOrder(sink.recording, await postBursts(30, [t]), 10_000);
    }, 30_000);
  }

  it("delivers every event soon and in key order when two daemons on one PostgreSQL each take half", async () => {
    const url = await createDatabase(inject("postgresUrl"));
    const sink = flakySink(2);
    const a = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "racy", DATABASE_URL: url }, { racy: sink.factory }));
    const b = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "racy", DATABASE_URL: url }, { racy: sink.factory }));
    await expectDeliveredInKeyOrder(sink.recording, await postBursts(25, [a, b]), 15_000);
  }, 40_000);
});
