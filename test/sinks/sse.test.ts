import { connect } from "node:net";
import { EventSource } from "eventsource";
import { describe, expect, it } from "vitest";
import { openFeed } from "../helpers/feed.js";
import { postHook, startTestDaemon, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { sleep } from "../helpers/sleep.js";
import { closeAfterTest } from "../helpers/teardown.js";

const SSE_TOKEN = "feed-reader-token-123456";
let t: TestDaemon | undefined;

async function start(env: Record<string, string> = {}): Promise<TestDaemon> {
  t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "sse", LOG_EVENTS_TO: "", SSE_TOKEN, ...env }));
  return t;
}

type Vis = 0 | 10 | 20;
const event = (kind: string, path: string, vis: Vis, action?: string) => ({
  object_kind: kind,
  project: { id: path.length * 1000 + vis, path_with_namespace: path, visibility_level: vis },
  object_attributes: action ? { action, title: `title of ${path}` } : undefined,
});

async function post(body: object, headerEvent = "Push Hook"): Promise<number> {
  const response = await postHook(t!.url, body, { event: headerEvent });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: number }).id;
}

describe("GET /sse/", () => {
  it("streams posted events, in order, to a standard EventSource client", async () => {
    await start();
    const source = new EventSource(`${t!.url}/sse/`);
    const received: { id: string; data: { id: number; type: string } }[] = [];
    source.onmessage = (message) =>
      received.push({ id: message.lastEventId, data: JSON.parse(message.data) as { id: number; type: string } });
    await new Promise<void>((resolve, reject) => {
      source.onopen = () => resolve();
      source.onerror = () => reject(new Error("EventSource failed"));
    });
    const mr = fixtureJson("system__merge_request.json");
    const ids = [await post(mr, "System Hook"), await post(event("push", "a/b", 20)), await post(event("issue", "a/b", 20, "open"))];
    await waitFor(() => (received.length === 3 ? true : undefined));
    source.close();
    expect(received.map((m) => Number(m.id))).toEqual(ids);
    expect(received.map((m) => m.data.id)).toEqual(ids);
    // Without a token, e-mail addresses are withheld; the rest is as GitLab sent it.
    const withoutEmails = JSON.parse(JSON.stringify(mr, (key, value: unknown) => (key === "email" ? undefined : value))) as object;
    expect(received[0]?.data).toMatchObject({ hook: "system", type: "merge_request", action: "open", payload: withoutEmails });
  });

  it("sends the headers proxies and browsers need, and a retry hint", async () => {
    await start();
    const response = await fetch(`${t!.url}/sse`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toMatch(/^retry: \d+\n/);
    await reader.cancel();
  });

  it("sends a keepalive comment on idle connections", async () => {
    await start({ SSE_KEEPALIVE_SECONDS: "1" });
    const response = await fetch(`${t!.url}/sse/`);
    const reader = response.body!.getReader();
    let text = "";
    const deadline = Date.now() + 3000;
    while (!text.includes(": keepalive") && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(": keepalive\n\n");
    await reader.cancel();
  });

  it("resumes after a disconnect from Last-Event-ID or ?since=, every event exactly once", async () => {
    await start();
    const first = await openFeed(`${t!.url}/sse/`);
    const before = [await post(event("push", "a/b", 20)), await post(event("push", "a/b", 20))];
    await first.waitForCount(2);
    first.close();
    const missed = [await post(event("push", "a/b", 20)), await post(event("push", "a/b", 20))];
    const byHeader = await openFeed(`${t!.url}/sse/`, { "Last-Event-ID": String(first.ids().at(-1)) });
    const byQuery = await openFeed(`${t!.url}/sse/?since=${first.ids().at(-1)}`);
    const after = await post(event("push", "a/b", 20));
    expect(first.ids()).toEqual(before);
    expect((await byHeader.waitForCount(3)).map((m) => Number(m.id))).toEqual([...missed, after]);
    expect((await byQuery.waitForCount(3)).map((m) => Number(m.id))).toEqual([...missed, after]);
    await sleep(100);
    expect(byHeader.ids()).toHaveLength(3);
    byHeader.close();
    byQuery.close();
  });

  it("has no gap and no duplicate at the seam between replay and live, while events keep arriving", async () => {
    await start();
    const stored: number[] = [];
    for (let i = 0; i < 1200; i++) stored.push(await post(event("push", "a/b", 20)));
    let posting = true;
    const poster = (async () => {
      while (posting) stored.push(await post(event("push", "a/b", 20)));
    })();
    const feed = await openFeed(`${t!.url}/sse/?since=0`);
    await waitFor(() => (feed.ids().length > 1300 ? true : undefined), 15_000);
    posting = false;
    await poster;
    await feed.waitForCount(stored.length, 10_000);
    feed.close();
    expect(feed.ids()).toEqual(stored);
  });

  describe("filters", () => {
    const cases: [string, number[]][] = [
      ["type=merge_request,issue", [1, 3, 4]],
      ["action=merge", [3]],
      ["action=open,close", [1, 4]],
      ["project=repos/releng/*", [2, 3]],
      ["project=mediawiki/core,repos/releng/blubber", [1, 3]],
      ["hook=system", [4]],
      ["type=merge_request&project=repos/*", [3]],
      // GitLab's hook-scope names, as its webhook settings spell them.
      ["type=merge_requests", [1, 3]],
      ["type=push_events,issues_events", [2, 4, 5]],
    ];
    for (const [query, expected] of cases) {
      it(`?${query}`, async () => {
        await start();
        const feed = await openFeed(`${t!.url}/sse/?${query}&since=0`);
        await post(event("merge_request", "mediawiki/core", 20, "open"), "Merge Request Hook");
        await post(event("push", "repos/releng/scap", 20), "Push Hook");
        await post(event("merge_request", "repos/releng/blubber", 20, "merge"), "Merge Request Hook");
        await post(event("issue", "other/thing", 20, "close"), "System Hook");
        await post(event("push", "last/one", 20), "Push Hook");
        // The last event matches nothing but proves the feed is caught up.
        await sleep(150);
        feed.close();
        expect(feed.ids()).toEqual(expected);
      });
    }

    it("refuses an unknown hook with a 400 naming it", async () => {
      await start();
      const response = await fetch(`${t!.url}/sse/?hook=systen`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/hook=systen/);
    });

    it("refuses an unknown parameter with a 400, rather than sending everything", async () => {
      await start();
      const response = await fetch(`${t!.url}/sse/?types=push`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe(
        'unknown parameter "types" (the feed takes type, action, project, hook, since, token, format)',
      );
    });
  });

  describe("visibility", () => {
    async function postMixed() {
      return {
        public: await post(event("merge_request", "pub/repo", 20, "open"), "Merge Request Hook"),
        internal: await post(event("merge_request", "corp/repo", 10, "open"), "Merge Request Hook"),
        private: await post(event("merge_request", "secret/repo", 0, "open"), "Merge Request Hook"),
        noProject: await post(fixtureJson("system__user_create.json"), "System Hook"),
        unknownVisibility: await post(fixtureJson("project__merge_request_update_oldrev_partial.json"), "Merge Request Hook"),
      };
    }

    it("shows only public projects' events without a token, live and in replay", async () => {
      await start();
      const live = await openFeed(`${t!.url}/sse/`);
      const ids = await postMixed();
      const lastPublic = await post(event("push", "pub/repo", 20));
      await live.waitForCount(2);
      const replay = await openFeed(`${t!.url}/sse/?since=0`);
      await replay.waitForCount(2);
      await sleep(100);
      for (const feed of [live, replay]) {
        expect(feed.ids()).toEqual([ids.public, lastPublic]);
        const text = feed.messages.map((m) => m.data).join("\n");
        for (const hidden of ["secret/repo", "corp/repo", "js@gitlabhq.com", "e59094b8de0f"]) expect(text).not.toContain(hidden);
        feed.close();
      }
    });

    it("shows everything with a token from SSE_TOKEN, as a Bearer header or ?token=", async () => {
      await start({ SSE_TOKEN: `old-token-000,${SSE_TOKEN}` });
      const ids = await postMixed();
      for (const feed of [
        await openFeed(`${t!.url}/sse/?since=0`, { Authorization: `Bearer ${SSE_TOKEN}` }),
        await openFeed(`${t!.url}/sse/?since=0&token=old-token-000`),
      ]) {
        expect((await feed.waitForCount(5)).map((m) => Number(m.id))).toEqual(Object.values(ids));
        feed.close();
      }
    });

    it("tells a subscriber without a token how many events it was not sent, without moving its resume point", async () => {
      await start();
      const feed = await openFeed(`${t!.url}/sse/?type=merge_request`);
      await postMixed();
      const notice = await waitFor(() => feed.messages.find((m) => m.event === "withheld"));
      expect(notice.id).toBeUndefined();
      expect(JSON.parse(notice.data)).toEqual({
        count: 1,
        reason:
          "events of private and internal projects, and events about no project, are sent only to subscribers with a token (SSE_TOKEN or ADMIN_TOKEN)",
      });
      feed.close();
    });

    it("answers a wrong token with 401, not a quieter public stream", async () => {
      await start();
      const response = await fetch(`${t!.url}/sse/`, { headers: { Authorization: "Bearer wrong" } });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: string }).error).toMatch(/not one of SSE_TOKEN/);
      expect((await fetch(`${t!.url}/sse/?token=wrong`)).status).toBe(401);
    });
  });

  it("says the stream is stale when the requested id was pruned, then resumes from what is kept", async () => {
    await start({ SINKS_ENABLED: "sse" });
    const old = [await post(event("push", "a/b", 20)), await post(event("push", "a/b", 20)), await post(event("push", "a/b", 20))];
    // The newest event always stays, so that ids keep their meaning.
    expect(await t!.daemon.store.prune(new Date(Date.now() + 1000))).toBe(2);
    const kept = await post(event("push", "a/b", 20));
    const feed = await openFeed(`${t!.url}/sse/`, { "Last-Event-ID": String(old[0]) });
    await feed.waitForCount(2);
    feed.close();
    expect(feed.messages[0]?.event).toBe("stale");
    expect(JSON.parse(feed.messages[0]?.data ?? "{}")).toMatchObject({ requested: old[0], resumingFrom: old[2] });
    expect(feed.ids()).toEqual([old[2], kept]);
  });

  it("says the stream is stale when asked to resume after an id the store never gave, and replays all it holds", async () => {
    // A fresh store after a restart: the subscriber's last id (9) is from the store before.
    await start({ SINKS_ENABLED: "sse" });
    const ids = [await post(event("push", "a/b", 20)), await post(event("push", "a/b", 20))];
    for (const resume of [{ "Last-Event-ID": "9" }, undefined]) {
      const feed = await openFeed(resume ? `${t!.url}/sse/` : `${t!.url}/sse/?since=999`, resume);
      await feed.waitForCount(2);
      feed.close();
      expect(feed.messages[0]?.event).toBe("stale");
      expect(JSON.parse(feed.messages[0]?.data ?? "{}")).toMatchObject({ requested: resume ? 9 : 999, resumingFrom: ids[0] });
      expect(feed.ids()).toEqual(ids);
    }
  });

  it("withholds e-mail addresses and pipeline variables from subscribers without a token, unless told otherwise", async () => {
    const push = {
      ...fixtureJson("project__push.json"),
      project: { ...fixtureJson<{ project: object }>("project__push.json").project, visibility_level: 20 },
    };
    const pipeline = {
      ...fixtureJson("project__pipeline.json"),
      project: { ...fixtureJson<{ project: object }>("project__pipeline.json").project, visibility_level: 20 },
    };
    const leaks = /"(user_)?email"|"variables"/;
    for (const [setting, leaksToAnonymous] of [
      ["false", false],
      ["true", true],
    ] as const) {
      await start({ SINKS_ENABLED: "sse", SSE_ANONYMOUS_FULL_PAYLOAD: setting });
      const anonymous = await openFeed(`${t!.url}/sse/`);
      const holder = await openFeed(`${t!.url}/sse/`, { Authorization: `Bearer ${SSE_TOKEN}` });
      await post(push);
      await post(pipeline, "Pipeline Hook");
      await anonymous.waitForCount(2);
      await holder.waitForCount(2);
      anonymous.close();
      holder.close();
      expect(JSON.stringify(push)).toMatch(leaks);
      for (const message of anonymous.messages.filter((m) => m.event === undefined))
        expect(leaks.test(message.data)).toBe(leaksToAnonymous);
      for (const message of holder.messages.filter((m) => m.event === undefined)) expect(message.data).toMatch(leaks);
      const anonymousPipeline = JSON.parse(anonymous.messages.at(-1)?.data ?? "{}") as {
        payload: { object_attributes: Record<string, unknown> };
      };
      expect(anonymousPipeline.payload.object_attributes.status).toBe("success");
      await t!.close();
    }
  });

  it("keeps room for token holders when anonymous subscribers fill the feed", async () => {
    await start({ SSE_MAX_CLIENTS: "5" });
    const anonymous = await Promise.all(Array.from({ length: 4 }, () => openFeed(`${t!.url}/sse/`)));
    expect(anonymous.map((feed) => feed.response.status)).toEqual([200, 200, 200, 200]);
    const fifth = await openFeed(`${t!.url}/sse/`);
    expect(fifth.response.status).toBe(503);
    expect(((await fifth.response.json()) as { error: string }).error).toMatch(/1 of them kept for token holders/);
    const holder = await openFeed(`${t!.url}/sse/`, { Authorization: `Bearer ${SSE_TOKEN}` });
    expect(holder.response.status).toBe(200);
    for (const feed of [...anonymous, holder]) feed.close();
  });

  it("disconnects a subscriber that stops reading once its backlog passes the bound; others are unaffected", async () => {
    await start({ SSE_MAX_BACKLOG_BYTES: "65536" });
    const url = new URL(t!.url);
    const stalled = connect(Number(url.port), url.hostname);
    stalled.write(`GET /sse/ HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    stalled.pause();
    const reader = await openFeed(`${t!.url}/sse/`);
    const health = async () =>
      ((await (await fetch(`${t!.url}/healthz`)).json()) as { sinks: { sse: { subscribers: number } } }).sinks.sse.subscribers;
    await waitFor(async () => ((await health()) === 2 ? true : undefined));
    const big = { object_kind: "push", project: { id: 1, path_with_namespace: "a/b", visibility_level: 20 }, filler: "x".repeat(500_000) };
    const ids: number[] = [];
    for (let i = 0; i < 60; i++) ids.push(await post(big));
    await waitFor(async () => ((await health()) === 1 ? true : undefined), 10_000, "the stalled subscriber to be dropped");
    expect((await reader.waitForCount(60, 10_000)).map((m) => Number(m.id))).toEqual(ids);
    reader.close();
    stalled.destroy();
  });

  it("answers 503 past SSE_MAX_CLIENTS", async () => {
    await start({ SSE_MAX_CLIENTS: "2" });
    const feeds = [await openFeed(`${t!.url}/sse/`), await openFeed(`${t!.url}/sse/`)];
    const third = await fetch(`${t!.url}/sse/`);
    expect(third.status).toBe(503);
    expect(((await third.json()) as { error: string }).error).toMatch(/SSE_MAX_CLIENTS/);
    for (const feed of feeds) feed.close();
  });
});
