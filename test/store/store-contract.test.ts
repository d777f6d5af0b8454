import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { InventoryChange } from "../../src/core/inventory-store.js";
import type { AppendResult, DeliveredAttempt, FailedAttempt, Store } from "../../src/core/store.js";
import { ENGINES } from "../helpers/engines.js";
import { appendEvent, newEvent } from "../helpers/store.js";
import { sleep } from "../helpers/sleep.js";

/** An attempt that started 5 ms before `now` and took 5 ms. */
const took = (now: number): DeliveredAttempt => ({ startedAt: now - 5, durationMs: 5 });
const failedWith = (error: string, retryAt: number | null, now: number, status: number | null = null): FailedAttempt => ({
  ...took(now),
  error,
  retryAt,
  status,
});

/**
 * The store contract: every engine runs these same tests, unchanged. What one engine does here,
 * every engine does.
 */
describe.each(ENGINES)("store contract: $name", (engine) => {
  let location: string;
  let store: Store;
  const others: Store[] = [];

  /** A second store on the same data: another daemon. */
  const another = async () => {
    const opened = await engine.open(location);
    others.push(opened);
    return opened;
  };

  beforeEach(async () => {
    if (!engine.available) return;
    location = await engine.freshLocation();
    store = await engine.open(location);
  });
  afterEach(async () => {
    await Promise.all([store?.close(), ...others.splice(0).map((other) => other.close())]);
  });
  const test = engine.available ? it : it.skip;

  const project = (id: number) => ({ id, path: `g/p${id}`, url: `https://gitlab.example.com/g/p${id}`, visibility: "public" as const });
  const claim = (sink: string, owner = "daemon-a", now = Date.now(), limit = 100, leaseMs = 60_000, maxKeys?: number) =>
    store.claimDeliveries(sink, { owner, now, leaseMs, limit, maxKeys }).then((due) => due.map((delivery) => delivery.event.id));

  test("migrates a fresh location once when several daemons open it at the same moment", async () => {
    const fresh = await engine.freshLocation();
    const opened = await Promise.all(Array.from({ length: 4 }, () => engine.open(fresh)));
    others.push(...opened);
    const ids = await Promise.all(opened.map((one) => appendEvent(one).then((result) => result.id)));
    expect(new Set(ids).size).toBe(4);
  });

  describe("events", () => {
    test("stores an event with its payload as sent and gives it the next id", async () => {
      const first = await appendEvent(
        store,
        { type: "merge_request", action: "open", project: project(7), actor: { username: "ada", name: "Ada" } },
        ["log"],
      );
      const second = await appendEvent(store, { payload: { text: 'zürich ✓ \u2028 "quoted"', n: [1, 2] } }, ["log"]);
      expect(first.duplicate).toBe(false);
      expect(second.id).toBeGreaterThan(first.id);
      const stored = await store.getEvent(first.id);
      expect(stored?.meta).toMatchObject({
        id: first.id,
        type: "merge_request",
        action: "open",
        project: project(7),
        actor: { username: "ada", name: "Ada" },
      });
      expect(first.stored?.meta).toEqual(stored?.meta);
      expect((await store.getEvent(second.id))?.payload).toEqual({ text: 'zürich ✓ \u2028 "quoted"', n: [1, 2] });
      expect(await store.getEvent(second.id + 1000)).toBeNull();
    });

    test("keeps the event's object summary, and its request headers for the event's own page and the feed", async () => {
      const object = {
        kind: "merge_request",
        iid: 16,
        id: 99,
        title: "Add input validation ✓",
        url: "https://gitlab.example.com/g/p7/-/merge_requests/16",
        ref: "feature/x",
        state: "opened",
      };
      const event = newEvent({ type: "merge_request", project: project(7), object });
      const headers = { "x-gitlab-event": "Merge Request Hook", "idempotency-key": event.deliveryId };
      const { id, stored } = await store.append(event, { deliveries: [], scope: "", payloadJson: "{}", headers });
      expect((await store.getEvent(id))?.meta.object).toEqual(object);
      expect((await store.getEvent(id))?.requestHeaders).toEqual(headers);
      // The feed gets them too, live (the appended event) and replayed (eventsAfter).
      expect(stored?.requestHeaders).toEqual(headers);
      expect((await store.eventsAfter(id - 1, 1))[0]?.requestHeaders).toEqual(headers);
      const [listed] = await store.listEvents({ limit: 1 });
      expect(listed?.meta.object).toEqual(object);
      expect(listed?.requestHeaders).toBeNull();
      expect((await appendEvent(store, { object: null })).stored?.meta.object).toBeNull();
    });

    test("keeps a 20 MB payload whole", async () => {
      const big = { object_kind: "push", blob: "x".repeat(20 * 1024 * 1024) };
      const { id } = await appendEvent(store, { payload: big });
      expect((await store.getEvent(id))?.payloadJson).toBe(JSON.stringify(big));
    });

    test("answers a delivery id seen before in the same scope with the first id, and stores nothing", async () => {
      const first = await appendEvent(store, { deliveryId: "key-1" }, ["log"], "scope-a");
      const again = await appendEvent(store, { deliveryId: "key-1", type: "changed" }, ["log"], "scope-a");
      const otherScope = await appendEvent(store, { deliveryId: "key-1" }, ["log"], "scope-b");
      expect(again).toEqual({ id: first.id, duplicate: true, stored: null });
      expect(otherScope.duplicate).toBe(false);
      expect(otherScope.id).not.toBe(first.id);
      expect((await store.getEvent(first.id))?.meta.type).toBe("push");
      expect(await store.deliveriesOf(first.id)).toHaveLength(1);
    });

    test("answers each append of one batch for itself: new events, a resend, a key sent twice at once, a key of another scope", async () => {
      const earlier = await appendEvent(store, { deliveryId: "sent-before" }, ["log"], "scope-a");
      // Made in one go, so committed together.
      const results = await Promise.all([
        appendEvent(store, { deliveryId: "new" }, ["log"], "scope-a"),
        appendEvent(store, { deliveryId: "sent-before", type: "resent" }, ["log"], "scope-a"),
        appendEvent(store, { deliveryId: "twice" }, ["log"], "scope-a"),
        appendEvent(store, { deliveryId: "twice", type: "second" }, ["log"], "scope-a"),
        appendEvent(store, { deliveryId: "sent-before" }, ["log"], "scope-b"),
      ]);
      expect(results.map((result) => result.duplicate)).toEqual([false, true, false, true, false]);
      const [fresh, resent, twice, secondOfTwice, otherScope] = results as AppendResult[];
      expect(resent?.id).toBe(earlier.id);
      expect(secondOfTwice?.id).toBe(twice?.id);
      // New ids, in the order the appends were made.
      expect([earlier.id, fresh?.id, twice?.id, otherScope?.id]).toEqual(
        [earlier.id, fresh?.id, twice?.id, otherScope?.id].sort((a, b) => (a as number) - (b as number)),
      );
      expect(new Set([earlier.id, fresh?.id, twice?.id, otherScope?.id]).size).toBe(4);
      expect(results.map((result) => result.stored?.id ?? null)).toEqual([fresh?.id, null, twice?.id, null, otherScope?.id]);
      expect((await store.getEvent(earlier.id))?.meta.type).toBe("push");
      expect((await store.getEvent(twice?.id as number))?.meta.type).toBe("push");
      for (const id of [earlier.id, fresh?.id, twice?.id, otherScope?.id]) expect(await store.deliveriesOf(id as number)).toHaveLength(1);
    });

    test("counts its append batches: appends made at once share a commit, each one in the totals", async () => {
      const before = await store.appendTotals();
      await appendEvent(store, { deliveryId: "alone" });
      const single = await store.appendTotals();
      expect(single.batches - before.batches).toBe(1);
      expect(single.items - before.items).toBe(1);
      // Made in one go: committed together (fewer transactions than appends), every append counted once.
      await Promise.all(Array.from({ length: 20 }, (_, index) => appendEvent(store, { deliveryId: `together-${index}` })));
      const after = await store.appendTotals();
      expect(after.items - single.items).toBe(20);
      expect(after.batches - single.batches).toBeGreaterThanOrEqual(1);
      expect(after.batches - single.batches).toBeLessThan(20);
      expect(after.seconds).toBeGreaterThan(single.seconds);
      // The longest batch is one of them: no longer than all of them together, and at least their average.
      expect(after.longestSeconds).toBeLessThanOrEqual(after.seconds);
      expect(after.longestSeconds).toBeGreaterThanOrEqual(after.seconds / after.batches);
    });

    test("stores one event for concurrent appends of one delivery id, from two daemons", async () => {
      const other = await another();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, index) => appendEvent(index % 2 === 0 ? store : other, { deliveryId: "same" }, ["log"])),
      );
      const ids = new Set(results.map((result) => result.id));
      expect(ids.size).toBe(1);
      expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
      expect((await store.idRange()).newest).toBe([...ids][0]);
    });

    test("lists events after an id, oldest first, and newest first with filters", async () => {
      const ids: number[] = [];
      for (let n = 0; n < 6; n++) {
        ids.push(
          (
            await appendEvent(store, {
              type: n % 2 ? "push" : "merge_request",
              hook: n < 3 ? "system" : "project",
              project: project(n % 3),
            })
          ).id,
        );
      }
      expect((await store.eventsAfter(ids[1] as number, 3)).map((event) => event.id)).toEqual(ids.slice(2, 5));
      const list = async (query: Parameters<Store["listEvents"]>[0]) => (await store.listEvents(query)).map((event) => event.id);
      expect(await list({ limit: 10 })).toEqual([...ids].reverse());
      expect(await list({ limit: 10, type: ["push"] })).toEqual([ids[5], ids[3], ids[1]]);
      expect(await list({ limit: 10, hook: ["system"], type: ["merge_request", "push"] })).toEqual([ids[2], ids[1], ids[0]]);
      expect(await list({ limit: 10, project: "g/p1" })).toEqual([ids[4], ids[1]]);
      expect(await list({ limit: 10, project: "2" })).toEqual([ids[5], ids[2]]);
      expect(await list({ limit: 2, before: ids[4] })).toEqual([ids[3], ids[2]]);
    });

    test("finds events by action, delivery state, time and words, case and wildcards aside", async () => {
      const object = (title: string) => ({ kind: "merge_request", iid: 1, id: 1, title, url: null, ref: null, state: null });
      const at = (minute: number) => new Date(Date.UTC(2026, 10, 22, 10, minute)).toISOString();
      const opened = (
        await appendEvent(store, { action: "open", receivedAt: at(0), object: object("Fix 100% of the Booking form") }, ["log", "phab"])
      ).id;
      const merged = (await appendEvent(store, { action: "merge", receivedAt: at(10), object: object("Speed up search_index") }, ["log"]))
        .id;
      const pushed = (await appendEvent(store, { type: "push", receivedAt: at(20), actor: { username: "Ada_L", name: null } }, ["log"])).id;
      await claim("phab");
      await store.markFailed("phab", opened, failedWith("no", null, Date.now()), Date.now());
      const list = async (query: Omit<Parameters<Store["listEvents"]>[0], "limit">) =>
        (await store.listEvents({ limit: 10, ...query })).map((event) => event.id);
      expect(await list({ action: ["open", "merge"] })).toEqual([merged, opened]);
      expect(await list({ deliveryStatus: "failed" })).toEqual([opened]);
      expect(await list({ deliveryStatus: "pending", sink: "log" })).toEqual([pushed, merged, opened]);
      expect(await list({ sink: "phab" })).toEqual([opened]);
      expect(await list({ since: at(10) })).toEqual([pushed, merged]);
      expect(await list({ since: at(5), until: at(20) })).toEqual([merged]);
      expect(await list({ search: "booking FORM" })).toEqual([opened]);
      expect(await list({ search: "100%" })).toEqual([opened]);
      expect(await list({ search: "h_i" })).toEqual([merged]);
      expect(await list({ search: "%" })).toEqual([opened]);
      expect(await list({ search: "ada_l" })).toEqual([pushed]);
      expect(await list({ search: "g/p1" })).toEqual([pushed, merged, opened]);
      expect(await list({ search: "nothing-like-it" })).toEqual([]);
    });

    test("tells the oldest and newest id, and keeps the newest event when pruning", async () => {
      expect(await store.idRange()).toEqual({ oldest: null, newest: 0 });
      const first = await appendEvent(store, {}, ["log"]);
      const second = await appendEvent(store, {}, ["log"]);
      const third = await appendEvent(store, {}, ["log"]);
      expect(await store.idRange()).toEqual({ oldest: first.id, newest: third.id });
      for (const id of [first.id, second.id, third.id]) await store.markDelivered("log", id, took(Date.now()), Date.now());
      expect(await store.prune(new Date(Date.now() + 60_000))).toBe(2);
      expect(await store.idRange()).toEqual({ oldest: third.id, newest: third.id });
      expect((await appendEvent(store)).id).toBeGreaterThan(third.id);
    });

    test("makes every event visible in id order, so a reader following ids never skips one", async () => {
      const writers = [store, await another(), await another(), await another()];
      const seen: number[] = [];
      let cursor = 0;
      let writing = true;
      const reader = (async () => {
        while (writing || (await store.eventsAfter(cursor, 1000)).length > 0) {
          const page = await store.eventsAfter(cursor, 1000);
          for (const event of page) seen.push(event.id);
          cursor = page.at(-1)?.id ?? cursor;
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      // Four daemons appending at once, one event at a time each: many transactions in flight together.
      const written = (
        await Promise.all(
          writers.map(async (writer) => {
            const results = [];
            for (let n = 0; n < 150; n++) results.push(await appendEvent(writer, { project: project(n % 5) }, ["log"]));
            return results;
          }),
        )
      ).flat();
      writing = false;
      await reader;
      expect(seen).toEqual(written.map((result) => result.id).sort((a, b) => a - b));
    });

    test("tells a watcher when another daemon commits", async () => {
      const other = await another();
      let calls = 0;
      const stop = store.watchCommits(() => calls++);
      await sleep(300);
      const before = calls;
      await appendEvent(other);
      await expect.poll(() => calls, { timeout: 3000 }).toBeGreaterThan(before);
      stop();
    });
  });

  describe("deliveries", () => {
    test("are claimed oldest first, each key's run whole, and not by a second daemon while claimed", async () => {
      const a1 = (await appendEvent(store, { project: project(1) }, ["log", "other"])).id;
      const b1 = (await appendEvent(store, { project: project(2) }, ["log"])).id;
      const a2 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      const none = (await appendEvent(store, { project: null }, ["log"])).id;
      const claimed = await store.claimDeliveries("log", { owner: "daemon-a", now: Date.now(), leaseMs: 60_000, limit: 10 });
      expect(claimed.map((delivery) => delivery.event.id)).toEqual([a1, b1, a2, none]);
      expect(claimed.map((delivery) => delivery.orderingKey)).toEqual(["id:1", "id:2", "id:1", null]);
      expect(claimed[0]?.event.payload).toEqual({ object_kind: "push" });
      expect(claimed[0]?.attempts).toBe(0);
      expect(await claim("log", "daemon-b")).toEqual([]);
      // Another sink's deliveries are its own.
      expect(await claim("other", "daemon-b")).toEqual([a1]);
    });

    test("are claimed for no more keys than asked, leaving the rest to another daemon", async () => {
      const a1 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      const b1 = (await appendEvent(store, { project: project(2) }, ["log"])).id;
      const a2 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      const none = (await appendEvent(store, { project: null }, ["log"])).id;
      const c1 = (await appendEvent(store, { project: project(3) }, ["log"])).id;
      const take = async (owner: string) =>
        (await store.claimDeliveries("log", { owner, now: Date.now(), leaseMs: 60_000, limit: 100, maxKeys: 2 })).map((d) => d.event.id);
      expect(await take("daemon-a")).toEqual([a1, b1, a2]);
      expect(await take("daemon-b")).toEqual([none, c1]);
      expect(await take("daemon-c")).toEqual([]);
    });

    test("never hand out a later delivery of a key while an earlier one is claimed", async () => {
      const a1 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      expect(await claim("log", "daemon-a", Date.now(), 1)).toEqual([a1]);
      const a2 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      const b1 = (await appendEvent(store, { project: project(2) }, ["log"])).id;
      expect(await claim("log", "daemon-b")).toEqual([b1]);
      await store.markDelivered("log", a1, took(Date.now()), Date.now());
      expect(await claim("log", "daemon-b")).toEqual([a2]);
    });

    test("hold a key behind a delivery waiting for its retry, and let other keys go", async () => {
      const a1 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      const a2 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      const b1 = (await appendEvent(store, { project: project(2) }, ["log"])).id;
      const now = Date.now();
      expect(await claim("log", "daemon-a", now, 1, 60_000, 1)).toEqual([a1]);
      await store.markFailed("log", a1, failedWith("downstream said no", now + 5000, now), now);
      // b1 may be claimed at once; a2 waits behind a1, which falls due in 5 s.
      expect(await store.nextClaimAt("log", now, 60_000)).toBeLessThanOrEqual(now);
      expect(await claim("log", "daemon-a", now + 1)).toEqual([b1]);
      await store.markDelivered("log", b1, took(now), now);
      expect(await store.nextClaimAt("log", now, 60_000)).toBe(now + 5000);
      const retried = await store.claimDeliveries("log", { owner: "daemon-a", now: now + 5000, leaseMs: 60_000, limit: 10 });
      expect(retried.map((delivery) => [delivery.event.id, delivery.attempts])).toEqual([
        [a1, 1],
        [a2, 0],
      ]);
      expect((await store.deliveriesOf(a1))[0]).toMatchObject({ status: "pending", attempts: 1, lastError: "downstream said no" });
    });

    test("are taken over when their claim lapses, and kept while it is renewed", async () => {
      const id = (await appendEvent(store, {}, ["log"])).id;
      const now = Date.now();
      const [first] = await store.claimDeliveries("log", { owner: "daemon-a", now, leaseMs: 1000, limit: 10 });
      expect(first?.event.id).toBe(id);
      const mine = first?.claim as string;
      expect(await store.nextClaimAt("log", now, 1000)).toBe(now + 1000);
      expect(await store.renewClaims([mine], now + 900)).toEqual([mine]);
      expect(await store.claimDeliveries("log", { owner: "daemon-b", now: now + 1500, leaseMs: 1000, limit: 10 })).toEqual([]);
      const taken = await store.claimDeliveries("log", { owner: "daemon-b", now: now + 2000, leaseMs: 1000, limit: 10 });
      expect(taken.map((delivery) => delivery.event.id)).toEqual([id]);
      expect(taken[0]?.claim).not.toBe(mine);
      expect(await store.renewClaims([mine], now + 2000)).toEqual([]);
    });

    test("are fenced: a lapsed claim's renewal, outcome and give-back change nothing once another daemon holds it", async () => {
      const id = (await appendEvent(store, {}, ["log"])).id;
      const now = Date.now();
      const [lapsed] = await store.claimDeliveries("log", { owner: "daemon-a", now, leaseMs: 1000, limit: 10 });
      const [current] = await store.claimDeliveries("log", { owner: "daemon-b", now: now + 2000, leaseMs: 1000, limit: 10 });
      expect(current?.event.id).toBe(id);
      const stale = lapsed?.claim as string;
      expect(await store.renewClaims([stale], now + 2100)).toEqual([]);
      await store.releaseClaims("log", stale, [id]);
      expect(await store.markDelivered("log", id, { ...took(now + 2200), claim: stale }, now + 2200)).toBe(false);
      expect(await store.markFailed("log", id, { ...failedWith("late", null, now + 2200), claim: stale }, now + 2200)).toBe(false);
      // The current holder keeps it: nobody else may claim it, and its own outcome counts.
      expect(await store.claimDeliveries("log", { owner: "daemon-c", now: now + 2300, leaseMs: 1000, limit: 10 })).toEqual([]);
      expect((await store.deliveriesOf(id))[0]).toMatchObject({ status: "pending", attempts: 0, lastError: null });
      expect(await store.attemptsOf(id)).toEqual([]);
      expect(await store.markDelivered("log", id, { ...took(now + 2400), claim: current?.claim }, now + 2400)).toBe(true);
      expect((await store.deliveriesOf(id))[0]).toMatchObject({ status: "delivered", attempts: 1 });
    });

    test("are never claimed again by a claimer that still runs them, however old its claim", async () => {
      const a1 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      const a2 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      const none = (await appendEvent(store, { project: null }, ["log"])).id;
      const now = Date.now();
      expect(await claim("log", "daemon-a", now, 1, 1000)).toEqual([a1, none]);
      // Its renewals failed for longer than the lease: to anyone else the claims are free, not to itself.
      expect(
        (await store.claimDeliveries("log", { owner: "daemon-a", now: now + 5000, leaseMs: 1000, limit: 10, running: [a1, none] })).map(
          (d) => d.event.id,
        ),
      ).toEqual([]);
      expect(await claim("log", "daemon-b", now + 5000, 10, 1000)).toEqual([a1, a2, none]);
    });

    test("hold a key while any of its deliveries is claimed: an older one queued again waits for the newer one running", async () => {
      const a1 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      const a2 = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      await store.markDelivered("log", a1, took(Date.now()), Date.now());
      const [running] = await store.claimDeliveries("log", { owner: "daemon-a", now: Date.now(), leaseMs: 60_000, limit: 10 });
      expect(running?.event.id).toBe(a2);
      expect(await store.requeue([{ sink: "log", eventId: a1, orderingKey: null }], Date.now())).toBe(1);
      expect(await claim("log", "daemon-b")).toEqual([]);
      const now = Date.now();
      expect(await store.nextClaimAt("log", now, 60_000)).toBeGreaterThan(now + 50_000);
      expect(await store.markDelivered("log", a2, { ...took(Date.now()), claim: running?.claim }, Date.now())).toBe(true);
      expect(await claim("log", "daemon-b")).toEqual([a1]);
    });

    test("run again after the running attempt when a redelivery is asked for meanwhile, whatever its outcome", async () => {
      const delivered = (await appendEvent(store, { project: project(1) }, ["log"])).id;
      const failed = (await appendEvent(store, { project: project(2) }, ["log"])).id;
      const now = Date.now();
      const due = await store.claimDeliveries("log", { owner: "daemon-a", now, leaseMs: 60_000, limit: 10 });
      expect(due.map((d) => d.event.id)).toEqual([delivered, failed]);
      expect(
        await store.requeue(
          due.map((d) => ({ sink: "log", eventId: d.event.id, orderingKey: null })),
          now + 1,
        ),
      ).toBe(2);
      expect(await store.markDelivered("log", delivered, { ...took(now + 10), claim: due[0]?.claim }, now + 10)).toBe(true);
      expect(await store.markFailed("log", failed, { ...failedWith("gone", null, now + 10), claim: due[1]?.claim }, now + 10)).toBe(true);
      expect((await store.deliveriesOf(delivered))[0]).toMatchObject({ status: "pending" });
      expect((await store.deliveriesOf(failed))[0]).toMatchObject({ status: "pending", lastError: "gone" });
      const again = await store.claimDeliveries("log", { owner: "daemon-b", now: now + 20, leaseMs: 60_000, limit: 10 });
      expect(again.map((d) => d.event.id)).toEqual([delivered, failed]);
      expect(await store.markDelivered("log", delivered, { ...took(now + 30), claim: again[0]?.claim }, now + 30)).toBe(true);
      expect((await store.deliveriesOf(delivered))[0]).toMatchObject({ status: "delivered" });
    });

    test("go back to whoever asks when released, and all at once for a store's only daemon", async () => {
      const ids = [(await appendEvent(store, {}, ["log"])).id, (await appendEvent(store, { project: project(2) }, ["log"])).id];
      const claimed = await store.claimDeliveries("log", { owner: "daemon-a", now: Date.now(), leaseMs: 60_000, limit: 100 });
      expect(claimed.map((d) => d.event.id)).toEqual(ids);
      // Another claim's token gives nothing back.
      await store.releaseClaims("log", "daemon-b/0", ids);
      expect(await claim("log", "daemon-c")).toEqual([]);
      await store.releaseClaims("log", claimed[0]?.claim as string, [ids[0] as number]);
      expect(await claim("log", "daemon-c")).toEqual([ids[0]]);
      expect(await store.releaseAllClaims()).toBe(2);
      expect(await claim("log", "daemon-d")).toEqual(ids);
    });

    test("record outcomes, dead letters and their retry, with counts per sink", async () => {
      const delivered = (await appendEvent(store, { project: project(1) }, ["log", "phab"])).id;
      const dead = (await appendEvent(store, { project: project(2) }, ["phab"])).id;
      const now = Date.now();
      await claim("log");
      await claim("phab");
      await store.markDelivered("log", delivered, took(now), now);
      await store.markFailed("phab", dead, failedWith("task T1 does not exist", null, now), now);
      expect((await store.deliveriesOf(delivered)).map((d) => [d.sink, d.status, d.attempts])).toEqual([
        ["log", "delivered", 1],
        ["phab", "pending", 0],
      ]);
      expect((await store.deliveriesOf(dead))[0]).toMatchObject({
        status: "failed",
        attempts: 1,
        lastError: "task T1 does not exist",
        nextAttemptAt: null,
      });
      const counts = await store.deliveryCounts();
      expect(counts.get("phab")).toMatchObject({ pending: 1, failed: 1 });
      expect(counts.get("log")).toBeUndefined();
      expect((await store.listDeliveries({ status: "failed", limit: 10 })).map((d) => d.eventId)).toEqual([dead]);
      expect((await store.listDeliveries({ sink: "phab", limit: 10 })).map((d) => d.eventId)).toEqual([dead, delivered]);
      expect((await store.listDeliveries({ sink: "phab", before: dead, limit: 10 })).map((d) => d.eventId)).toEqual([delivered]);
      // A delivery waiting for its retry, and its error, for /healthz.
      await store.markFailed("phab", delivered, failedWith("Phabricator answered 503", now + 60_000, now + 5, 503), now + 5);
      expect((await store.deliveryCounts()).get("phab")).toMatchObject({
        pending: 1,
        failed: 1,
        retrying: 1,
        lastRetryError: { message: "Phabricator answered 503", status: 503, at: new Date(took(now + 5).startedAt).toISOString() },
      });
      expect(await claim("phab", "daemon-b", now + 10)).toEqual([]);
      expect(await store.retryFailed("log", now)).toBe(0);
      expect(await store.retryFailed(null, now)).toBe(1);
      expect((await store.deliveriesOf(dead))[0]).toMatchObject({ status: "pending", attempts: 0 });
      // The other phab delivery is still daemon-a's claim.
      expect(await claim("phab", "daemon-b", now + 10)).toEqual([dead]);
    });

    test("keep every attempt with its time, duration, outcome, error and the downstream's status", async () => {
      const id = (await appendEvent(store, { project: project(1) }, ["log", "phab"])).id;
      const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);
      await claim("phab", "daemon-a", t0);
      await store.markFailed(
        "phab",
        id,
        { startedAt: t0, durationMs: 120, error: "GitLab answered 503", status: 503, retryAt: t0 + 1000 },
        t0 + 120,
      );
      expect((await store.deliveriesOf(id)).find((d) => d.sink === "phab")).toMatchObject({
        status: "pending",
        attempts: 1,
        lastError: "GitLab answered 503",
        lastErrorStatus: 503,
        lastAttemptAt: new Date(t0).toISOString(),
        lastDurationMs: 120,
      });
      await claim("phab", "daemon-a", t0 + 1000);
      await store.markFailed(
        "phab",
        id,
        { startedAt: t0 + 1000, durationMs: 30, error: "GitLab refused GITLAB_TOKEN (401)", status: 401, retryAt: null },
        t0 + 1030,
      );
      await store.requeue([{ sink: "phab", eventId: id, orderingKey: null }], t0 + 2000);
      await claim("phab", "daemon-a", t0 + 2000);
      await store.markDelivered("phab", id, { startedAt: t0 + 2000, durationMs: 40 }, t0 + 2040);
      await claim("log", "daemon-a", t0 + 3000);
      await store.markDelivered("log", id, { startedAt: t0 + 3000, durationMs: 2.6 }, t0 + 3003);
      expect(await store.attemptsOf(id)).toEqual([
        {
          sink: "phab",
          eventId: id,
          startedAt: new Date(t0).toISOString(),
          durationMs: 120,
          outcome: "retry",
          error: "GitLab answered 503",
          errorStatus: 503,
        },
        {
          sink: "phab",
          eventId: id,
          startedAt: new Date(t0 + 1000).toISOString(),
          durationMs: 30,
          outcome: "failed",
          error: "GitLab refused GITLAB_TOKEN (401)",
          errorStatus: 401,
        },
        {
          sink: "phab",
          eventId: id,
          startedAt: new Date(t0 + 2000).toISOString(),
          durationMs: 40,
          outcome: "delivered",
          error: null,
          errorStatus: null,
        },
        {
          sink: "log",
          eventId: id,
          startedAt: new Date(t0 + 3000).toISOString(),
          durationMs: 3,
          outcome: "delivered",
          error: null,
          errorStatus: null,
        },
      ]);
      expect((await store.deliveriesOf(id)).find((d) => d.sink === "phab")).toMatchObject({
        status: "delivered",
        lastError: null,
        lastErrorStatus: null,
      });
      expect(await store.prune(new Date(Date.now() + 60_000))).toBe(0);
      const newer = (await appendEvent(store, {}, [])).id;
      expect(await store.prune(new Date(Date.now() + 60_000))).toBe(1);
      expect(await store.attemptsOf(id)).toEqual([]);
      expect(newer).toBeGreaterThan(id);
    });

    test("are queued again on request, created for a sink that had none", async () => {
      const id = (await appendEvent(store, {}, ["log"])).id;
      await claim("log");
      await store.markDelivered("log", id, took(Date.now()), Date.now());
      const requeued = await store.requeue(
        [
          { sink: "log", eventId: id, orderingKey: "id:1" },
          { sink: "fresh", eventId: id, orderingKey: "mr:1!4" },
          { sink: "log", eventId: id + 1000, orderingKey: null },
        ],
        Date.now(),
      );
      expect(requeued).toBe(2);
      expect((await store.deliveriesOf(id)).map((d) => [d.sink, d.status, d.attempts])).toEqual([
        ["fresh", "pending", 0],
        ["log", "pending", 0],
      ]);
      expect(
        (await store.claimDeliveries("fresh", { owner: "daemon-a", now: Date.now(), leaseMs: 60_000, limit: 10 }))[0]?.orderingKey,
      ).toBe("mr:1!4");
    });

    test("are pruned with their event only once every one is delivered", async () => {
      const old = (await appendEvent(store, {}, ["log", "phab"])).id;
      const newest = (await appendEvent(store, {}, ["log"])).id;
      await store.markDelivered("log", old, took(Date.now()), Date.now());
      await store.markDelivered("log", newest, took(Date.now()), Date.now());
      expect(await store.prune(new Date(Date.now() + 60_000))).toBe(0);
      await store.markFailed("phab", old, failedWith("gone", null, Date.now()), Date.now());
      expect(await store.prune(new Date(Date.now() + 60_000))).toBe(0);
      await store.requeue([{ sink: "phab", eventId: old, orderingKey: null }], Date.now());
      await store.markDelivered("phab", old, took(Date.now()), Date.now());
      expect(await store.prune(new Date(Date.now() - 60_000))).toBe(0);
      expect(await store.prune(new Date(Date.now() + 60_000))).toBe(1);
      expect(await store.getEvent(old)).toBeNull();
      expect(await store.deliveriesOf(old)).toEqual([]);
      expect(await store.getEvent(newest)).not.toBeNull();
    });
  });

  describe("known users", () => {
    test("binds a user id to its username, follows a rename, and answers null for a stranger", async () => {
      await store.rememberUser(4, "jsmith", 1);
      await store.rememberUser(4, "jsmith", 2);
      expect(await store.usernameOf(4)).toBe("jsmith");
      await store.rememberUser(4, "john.smith", 3);
      expect(await another().then((other) => other.usernameOf(4))).toBe("john.smith");
      expect(await store.usernameOf(5)).toBeNull();
    });
  });

  describe("ledger, leases and settings", () => {
    test("records a key once, forgets it, and lists keys by prefix, byte by byte", async () => {
      expect(await store.recordOnce("phab", "12!4:T1:open", 1)).toBe(true);
      expect(await store.recordOnce("phab", "12!4:T1:open", 2)).toBe(false);
      expect(await store.recordOnce("other", "12!4:T1:open", 2)).toBe(true);
      for (const key of ["12!4:T2:open", "12!40:T3:open", "12!4:%_:x", "12!3:T9:open", "12!4;after"])
        await store.recordOnce("phab", key, 1);
      expect(await store.hasRecord("phab", "12!4:T1:open")).toBe(true);
      expect(await store.recordsWithPrefix("phab", "12!4:")).toEqual(["12!4:%_:x", "12!4:T1:open", "12!4:T2:open"]);
      await store.forgetRecord("phab", "12!4:T1:open");
      expect(await store.hasRecord("phab", "12!4:T1:open")).toBe(false);
      expect(await store.hasRecord("other", "12!4:T1:open")).toBe(true);
    });

    test("lets one taker of a record win, even at the same moment, and a stale one be taken over", async () => {
      const now = Date.now();
      const both = await Promise.all([
        store.takeRecord("phab", "intent:x", now, now - 1000),
        (await another()).takeRecord("phab", "intent:x", now, now - 1000),
      ]);
      expect(both.sort()).toEqual(["new", null].sort());
      expect(await store.takeRecord("phab", "intent:x", now + 500, now - 500)).toBeNull();
      expect(await store.takeRecord("phab", "intent:x", now + 2000, now + 1)).toBe("stale");
      expect(await store.takeRecord("phab", "intent:x", now + 2001, now + 1)).toBeNull();
      await store.touchRecord("phab", "intent:x", 0);
      expect(await store.takeRecord("phab", "intent:x", now + 2002, now + 1)).toBe("stale");
    });

    test("give a lease to one daemon at a time, until it lapses", async () => {
      const now = Date.now();
      expect(await store.acquireLease("prune", "daemon-a", 1000, now)).toBe(true);
      expect(await store.acquireLease("prune", "daemon-b", 1000, now + 10)).toBe(false);
      expect(await store.acquireLease("prune", "daemon-a", 1000, now + 900)).toBe(true);
      expect(await store.acquireLease("prune", "daemon-b", 1000, now + 1500)).toBe(false);
      expect(await store.acquireLease("prune", "daemon-b", 1000, now + 2000)).toBe(true);
      expect(await store.acquireLease("other", "daemon-a", 1000, now + 2000)).toBe(true);
    });

    test("keep the first value of a setting", async () => {
      expect(await store.settingOrCreate("first_run_token", "one")).toBe("one");
      expect(await (await another()).settingOrCreate("first_run_token", "two")).toBe("one");
    });

    test("bind a project id to a path: first use for project tokens, instance credentials overrule", async () => {
      const now = Date.now();
      expect(await store.projectIdentity(7, "team/app")).toEqual({ pathOfId: null, idOfPath: null });
      await store.bindProject(7, "team/app", false, now);
      await store.bindProject(7, "team/other", false, now);
      await store.bindProject(8, "team/app", false, now);
      expect(await store.projectIdentity(7, "team/app")).toEqual({
        pathOfId: { path: "team/app", confirmed: false },
        idOfPath: { id: 7, confirmed: false },
      });
      expect(await store.projectIdentity(8, "team/other")).toEqual({ pathOfId: null, idOfPath: null });
      // A system hook says project 9 is now team/app (7 was renamed away): 9 takes the path.
      await store.bindProject(9, "team/app", true, now);
      expect(await store.projectIdentity(9, "team/app")).toEqual({
        pathOfId: { path: "team/app", confirmed: true },
        idOfPath: { id: 9, confirmed: true },
      });
      expect((await store.projectIdentity(7, "x")).pathOfId).toBeNull();
      await store.bindProject(9, "team/renamed", true, now);
      expect(await store.projectIdentity(9, "team/app")).toEqual({ pathOfId: { path: "team/renamed", confirmed: true }, idOfPath: null });
    });

    test("answer a health check with a write", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });

  describe("inventory", () => {
    const projectNews = (id: number, path: string, asOf: string, extra: Partial<InventoryChange> = {}): InventoryChange =>
      ({
        kind: "project",
        id,
        path,
        name: path.split("/").at(-1) ?? null,
        namespace: path.split("/").slice(0, -1).join("/"),
        visibility: "public",
        owner: null,
        createdAt: null,
        updatedAt: asOf,
        asOf,
        ...extra,
      }) as InventoryChange;

    test("keeps the newest news of a project, whatever the order it arrives in", async () => {
      const inventory = store.inventory;
      await inventory.apply([projectNews(1, "g/renamed", "2026-01-02T00:00:00.000Z", { owner: "Ada" } as Partial<InventoryChange>)]);
      await inventory.apply([projectNews(1, "g/original", "2026-01-01T00:00:00.000Z")]);
      expect(await inventory.projectById(1)).toMatchObject({ path: "g/renamed", owner: "Ada", deleted: false });
      await inventory.apply([
        {
          kind: "project-deleted",
          id: 1,
          path: "g/renamed",
          name: null,
          namespace: "g",
          visibility: null,
          asOf: "2026-01-03T00:00:00.000Z",
        },
      ]);
      await inventory.apply([projectNews(1, "g/late", "2026-01-02T12:00:00.000Z")]);
      expect(await inventory.projectById(1)).toMatchObject({ path: "g/renamed", deleted: true });
      expect(await inventory.projectByPath("g/renamed")).toMatchObject({ id: 1, deleted: true });
      expect(await inventory.projectByPath("g/nothing")).toBeNull();
    });

    test("records pushes and branches, moves projects with their group, and searches", async () => {
      const inventory = store.inventory;
      await inventory.apply([
        {
          kind: "group",
          id: 5,
          path: "team",
          name: "Team",
          createdAt: null,
          updatedAt: null,
          asOf: "2026-01-01T00:00:00.000Z",
          renamedFrom: null,
        },
        projectNews(1, "team/Alpha_one", "2026-01-01T00:00:00.000Z"),
        projectNews(2, "team/sub/beta", "2026-01-01T00:00:00.000Z"),
        projectNews(3, "teamwork/gamma", "2026-01-01T00:00:00.000Z"),
        { kind: "project-seen", id: 1, path: "team/Alpha_one", name: null, namespace: "team", visibility: null },
        { kind: "push", projectId: 1, at: "2026-01-05T00:00:00.000Z", pusher: "ada", defaultBranch: "main" },
        { kind: "push", projectId: 1, at: "2026-01-04T00:00:00.000Z", pusher: "late", defaultBranch: null },
        { kind: "branch", projectId: 1, name: "main", commit: "abc", at: "2026-01-05T00:00:00.000Z", deleted: false },
        { kind: "branch", projectId: 1, name: "gone", commit: "def", at: "2026-01-05T00:00:00.000Z", deleted: false },
        { kind: "branch", projectId: 1, name: "gone", commit: null, at: "2026-01-06T00:00:00.000Z", deleted: true },
      ]);
      expect(await inventory.projectById(1)).toMatchObject({
        lastPushAt: "2026-01-05T00:00:00.000Z",
        lastPusher: "ada",
        defaultBranch: "main",
      });
      expect(await inventory.branches(1)).toEqual([{ name: "main", lastCommit: "abc", updatedAt: "2026-01-05T00:00:00.000Z" }]);
      const paths = async (search: Partial<Parameters<typeof inventory.listProjects>[0]>) =>
        (await inventory.listProjects({ group: null, q: null, limit: 100, offset: 0, ...search })).map((p) => p.path);
      expect(await paths({ group: "team" })).toEqual(["team/Alpha_one", "team/sub/beta"]);
      expect(await paths({ q: "ALPHA" })).toEqual(["team/Alpha_one"]);
      expect(await paths({ q: "a_o" })).toEqual(["team/Alpha_one"]);
      expect(await paths({ q: "%" })).toEqual([]);
      expect(await paths({ limit: 1, offset: 1 })).toEqual(["team/sub/beta"]);
      expect(await inventory.groupExists("team")).toBe(true);

      await inventory.apply([
        {
          kind: "group",
          id: 5,
          path: "crew",
          name: "Crew",
          createdAt: null,
          updatedAt: null,
          asOf: "2026-01-02T00:00:00.000Z",
          renamedFrom: "team",
        },
      ]);
      expect(await paths({ group: "crew" })).toEqual(["crew/Alpha_one", "crew/sub/beta"]);
      expect(await paths({ group: "teamwork" })).toEqual(["teamwork/gamma"]);
      expect(await inventory.groupExists("team")).toBe(false);
      await inventory.apply([{ kind: "group-deleted", id: 5, path: "crew", name: null, asOf: "2026-01-03T00:00:00.000Z" }]);
      expect(await inventory.groupExists("crew")).toBe(false);
    });
  });

  describe("traffic", () => {
    test("counts events received and each sink's outcomes per minute, with its delays from receipt to delivery", async () => {
      const minute = 60_000;
      // Minutes of a fixed hour, so that the counts fall where the test says.
      const at = (m: number, s = 0) => Date.UTC(2026, 10, 30, 8, m, s);
      const received = async (m: number, s: number, sinks: string[]) =>
        (await appendEvent(store, { receivedAt: new Date(at(m, s)).toISOString() }, sinks)).id;
      const old = await received(-30, 0, ["log"]); // before the window: a delivery of it inside still counts
      const a = await received(1, 5, ["log", "phab"]);
      const b = await received(1, 50, ["log", "phab"]);
      const c = await received(3, 0, ["log"]);
      const late = await received(70, 0, ["log"]); // after the window
      await store.markDelivered("log", old, took(at(2, 0)), at(2, 0));
      await store.markDelivered("log", a, took(at(1, 6)), at(1, 6)); // 1 s after receipt
      await store.markDelivered("log", b, took(at(1, 53)), at(1, 53)); // 3 s
      await store.markDelivered("log", c, took(at(3, 10)), at(3, 10)); // 10 s
      // Attempts count in the minute they started (5 ms before their outcome).
      await store.markFailed("phab", a, failedWith("busy", at(3, 0), at(2, 20)), at(2, 20));
      await store.markFailed("phab", a, failedWith("busy", null, at(3, 20)), at(3, 20));
      await store.markFailed("phab", b, failedWith("busy", at(5, 0), at(2, 40)), at(2, 40));
      await store.markDelivered("log", late, took(at(70, 1)), at(70, 1));

      const traffic = await store.readTraffic(at(0), at(60));
      expect(traffic.received).toEqual([
        { minute: at(1), count: 2 },
        { minute: at(3), count: 1 },
      ]);
      expect(traffic.sinks.log).toEqual({
        delivered: [
          { minute: at(1), count: 2 },
          { minute: at(2), count: 1 },
          { minute: at(3), count: 1 },
        ],
        retried: [],
        failed: [],
        // 1 s, 3 s, 10 s, and the old event's 32 min.
        delayMs: { p50: 3000, p95: 32 * minute, count: 4 },
      });
      expect(traffic.sinks.phab).toEqual({
        delivered: [],
        retried: [{ minute: at(2), count: 2 }],
        failed: [{ minute: at(3), count: 1 }],
        delayMs: null,
      });
      expect(await store.readTraffic(at(100), at(160))).toEqual({ received: [], sinks: {} });
    });
  });
});
