import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { Bus } from "../../src/core/bus.js";
import { StoreLedger } from "../../src/core/ledger.js";
import { createLogger } from "../../src/support/logger.js";
import { RetryLaterError } from "../../src/core/sink.js";
import type { Store } from "../../src/core/store.js";
import { postHook, startTestDaemon, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { ENGINES } from "../helpers/engines.js";
import { faultyStore } from "../helpers/faulty-store.js";
import { recordingSink } from "../helpers/recording-sink.js";
import { sleep } from "../helpers/sleep.js";
import { appendEvent } from "../helpers/store.js";

const ADMIN = "admin-token-for-fault-tests";
const POSTGRES = ENGINES.find((engine) => engine.name === "postgres");
if (!POSTGRES) throw new Error("the postgres test engine is missing");

const opened: Store[] = [];
let t: TestDaemon | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

async function openTwice(): Promise<[Store, Store]> {
  const location = await POSTGRES!.freshLocation();
  const pair = [await POSTGRES!.open(location), await POSTGRES!.open(location)] as [Store, Store];
  opened.push(...pair);
  return pair;
}

const quietLogger = () => createLogger({ debug: false, json: false, stream: new PassThrough() });
const push = (project: number) => ({
  object_kind: "push",
  project: { id: project, path_with_namespace: `g/p${project}`, visibility_level: 20 },
});

describe("the bus under interleaved commits", () => {
  it("emits another daemon's event committed between two of this daemon's, though both of ours come in one turn", async () => {
    const [ours, theirs] = await openTwice();
    // Notifications off: what is tested is the bus's own reading of gaps, not a catch-up that happens to come.
    const withoutNotifications = new Proxy(ours, {
      get: (target, property, receiver) => (property === "watchCommits" ? () => () => {} : Reflect.get(target, property, receiver)),
    });
    const bus = new Bus(withoutNotifications, quietLogger());
    await bus.start();
    const seen: number[] = [];
    bus.subscribe((events) => seen.push(...events.map((event) => event.id)));
    const first = await appendEvent(ours);
    const between = await appendEvent(theirs);
    const last = await appendEvent(ours);
    bus.publish(first.stored!);
    bus.publish(last.stored!);
    await waitFor(() => (seen.includes(last.id) ? true : undefined), 5000, "the last event");
    await sleep(50);
    expect(seen).toEqual([first.id, between.id, last.id]);
    bus.stop();
  });
});

describe("a delivery's claim", () => {
  it("runs a redelivery asked for while the delivery runs, after it", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const recorder = recordingSink("recorder", async (_event, attempt) => {
      if (attempt === 1) await gate;
    });
    t = await startTestDaemon({ ADMIN_TOKEN: ADMIN, SINKS_ENABLED: "recorder", LOG_EVENTS_TO: "" }, { recorder: recorder.factory });
    const { id } = (await (await postHook(t.url, push(1))).json()) as { id: number };
    await waitFor(() => (recorder.recording.calls.length === 1 ? true : undefined), 5000, "the first run");
    const asked = await fetch(`${t.url}/api/events/${id}/redeliver`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      body: "{}",
    });
    expect(await asked.json()).toMatchObject({ requeued: 1 });
    release();
    await waitFor(() => (recorder.recording.delivered.length === 2 ? true : undefined), 5000, "the redelivery");
    expect(recorder.recording.delivered).toEqual([id, id]);
    await waitFor(async () => ((await t!.daemon.store.deliveriesOf(id))[0]?.status === "delivered" ? true : undefined));
  });

  it("is let go when another daemon took it over: the first daemon records no outcome and starts none of the key's next deliveries", async () => {
    const [ours, theirs] = await openTwice();
    let renewalsFail = false;
    // This daemon's renewals fail (the store is away for it alone), for longer than the lease.
    const store = faultyStore(ours, ["renewClaims"], () => renewalsFail);
    opened.splice(opened.indexOf(ours), 1); // the daemon closes it
    const recorder = recordingSink("slow", async (event) => {
      if ((event.payload as { slow?: boolean }).slow) {
        renewalsFail = true;
        await sleep(2500);
      }
    });
    t = await startTestDaemon(
      { SINKS_ENABLED: "slow", LOG_EVENTS_TO: "", DELIVERY_LEASE_SECONDS: "1" },
      { slow: recorder.factory },
      undefined,
      { store: () => store },
    );
    const slow = (await (await postHook(t.url, { ...push(1), slow: true })).json()) as { id: number };
    const next = (await (await postHook(t.url, push(1))).json()) as { id: number };
    await waitFor(() => (renewalsFail ? true : undefined), 5000, "the slow delivery");
    // Another daemon takes both over once the lease has lapsed.
    await sleep(1200);
    const taken = await theirs.claimDeliveries("slow", { owner: "daemon-b", now: Date.now(), leaseMs: 1000, limit: 10 });
    expect(taken.map((delivery) => delivery.event.id)).toEqual([slow.id, next.id]);
    const renewing = setInterval(() => void theirs.renewClaims([taken[0]?.claim as string], Date.now()), 200);
    await sleep(2500).finally(() => clearInterval(renewing));
    expect(recorder.recording.calls.map((call) => call.id)).toEqual([slow.id]);
    expect((await theirs.deliveriesOf(slow.id))[0]).toMatchObject({ status: "pending", attempts: 0 });
    expect(await theirs.markDelivered("slow", slow.id, { startedAt: Date.now(), durationMs: 1, claim: taken[0]?.claim }, Date.now())).toBe(
      true,
    );
    expect(t.logs()).toMatch(/taken over/);
  });
});

describe("the sinks' ledger", () => {
  it("lets one of two runs at the same moment act; the other waits, and a later run finds it done", async () => {
    const [store, other] = await openTwice();
    const acts: string[] = [];
    const act = (who: string) => async () => {
      acts.push(who);
      await sleep(100);
    };
    const results = await Promise.allSettled([
      new StoreLedger(store, 60_000, "phabricator").once("12!4:T1:open", act("a")),
      new StoreLedger(other, 60_000, "phabricator").once("12!4:T1:open", act("b")),
    ]);
    expect(acts).toHaveLength(1);
    expect(
      results.filter((result) => result.status === "fulfilled").map((result) => (result as PromiseFulfilledResult<boolean>).value),
    ).toEqual([true]);
    expect((results.find((result) => result.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(RetryLaterError);
    expect(await new StoreLedger(store, 60_000, "phabricator").once("12!4:T1:open", act("c"))).toBe(false);
    expect(acts).toHaveLength(1);
  });

  it("asks the downstream after an act that was never answered, and acts again only when it did not happen", async () => {
    const [store] = await openTwice();
    const ledger = new StoreLedger(store, 60_000, "gitlab-mentions");
    let posts = 0;
    const unanswered = Object.assign(new Error("GitLab did not answer"), { status: null });
    const unansweredPost = async () => {
      posts++;
      throw unanswered;
    };
    await expect(ledger.once("n1", unansweredPost)).rejects.toThrow(/did not answer/);
    let asked = 0;
    // It happened after all: nothing is posted again.
    expect(await ledger.once("n1", async () => void posts++, { wasApplied: async () => (asked++, true) })).toBe(false);
    expect([posts, asked]).toEqual([1, 1]);
    // Refused with a 4xx: nothing happened, so the next run acts without asking.
    await expect(
      ledger.once(
        "n2",
        async () => {
          throw Object.assign(new Error("403"), { status: 403 });
        },
        { wasApplied: async () => (asked++, true) },
      ),
    ).rejects.toThrow();
    expect(await ledger.once("n2", async () => void posts++, { wasApplied: async () => (asked++, true) })).toBe(true);
    expect([posts, asked]).toEqual([2, 1]);
  });
});
