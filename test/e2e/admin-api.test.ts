import { describe, expect, it } from "vitest";
import { postHook, startTestDaemon, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { recordingSink } from "../helpers/recording-sink.js";
import { closeAfterTest } from "../helpers/teardown.js";

const ADMIN = "admin-token-0123456789";
let t: TestDaemon | undefined;

const api = (path: string, init: RequestInit = {}, token: string | null = ADMIN) =>
  fetch(`${t!.url}${path}`, {
    ...init,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
  });

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function post(name: string, event: string): Promise<number> {
  return ((await (await postHook(t!.url, fixtureJson(name), { event })).json()) as { id: number }).id;
}

describe("admin API", () => {
  it("is off with a 403 that says how to enable it when ADMIN_TOKEN is unset", async () => {
    t = closeAfterTest(await startTestDaemon({}));
    const response = await api("/api/events");
    expect(response.status).toBe(403);
    expect((await json<{ error: string }>(response)).error).toMatch(/set ADMIN_TOKEN/);
  });

  it("wants a bearer token from ADMIN_TOKEN, any value of the rotation list", async () => {
    t = closeAfterTest(await startTestDaemon({ ADMIN_TOKEN: `old-admin-token,${ADMIN}` }));
    expect((await api("/api/events", {}, null)).status).toBe(401);
    expect((await api("/api/events", {}, "wrong")).status).toBe(401);
    expect((await api("/api/events", {}, "old-admin-token")).status).toBe(200);
    expect((await api("/api/events")).status).toBe(200);
  });

  it("lists events newest first, filtered and paginated", async () => {
    t = closeAfterTest(await startTestDaemon({ ADMIN_TOKEN: ADMIN }));
    const push = await post("project__push.json", "Push Hook");
    const mr = await post("project__merge_request_open.json", "Merge Request Hook");
    const sys = await post("system__project_create.json", "System Hook");
    const issue = await post("project__issue.json", "Issue Hook");
    const ids = async (query: string) =>
      (await json<{ events: { id: number }[] }>(await api(`/api/events${query}`))).events.map((e) => e.id);
    expect(await ids("")).toEqual([issue, sys, mr, push]);
    expect(await ids("?type=merge_request,push")).toEqual([mr, push]);
    expect(await ids("?type=merge_requests_events,push_events")).toEqual([mr, push]);
    expect(await ids("?action=open")).toEqual([issue, mr]);
    expect(await ids("?q=BOOKING")).toEqual([mr]);
    expect(await ids("?hook=system")).toEqual([sys]);
    expect(await ids("?project=mike/diaspora")).toEqual([push]);
    expect(await ids("?project=2")).toEqual([mr]);
    const first = await json<{ events: { id: number }[]; next: number }>(await api("/api/events?limit=2"));
    expect(first.events.map((e) => e.id)).toEqual([issue, sys]);
    expect(await ids(`?limit=2&before=${first.next}`)).toEqual([mr, push]);
  });

  it("answers bad parameters with 400 naming them, and unknown ids with 404", async () => {
    t = closeAfterTest(await startTestDaemon({ ADMIN_TOKEN: ADMIN }));
    const cases: [string, RequestInit, number, RegExp][] = [
      ["/api/events?limit=0", {}, 400, /^limit must be from 1 to 500/],
      ["/api/events?hook=sytem", {}, 400, /^hook\.0 must be among system/],
      ["/api/events?before=x", {}, 400, /^before must be a whole number/],
      ["/api/events?projct=a/b", {}, 400, /^unknown parameter "projct"/],
      ["/api/events?since=yesterday", {}, 400, /^since must be a time/],
      ["/api/events?status=lost", {}, 400, /^status must be pending, delivered, failed/],
      ["/api/events/abc", {}, 400, /must be a whole number/],
      ["/api/events/999", {}, 404, /no event 999/],
      ["/api/deliveries?status=lost", {}, 400, /^status must be pending, delivered, failed/],
      ["/api/events/999/redeliver", { method: "POST", body: "{}" }, 404, /no event 999/],
      ["/api/deliveries/retry", { method: "POST", body: '{"sink": "nope"}' }, 400, /sink "nope" is not enabled/],
      ["/api/deliveries/retry", { method: "POST", body: "{oops" }, 400, /JSON/],
      ["/api/nothing", {}, 404, /no route/],
    ];
    for (const [path, init, status, message] of cases) {
      const response = await api(path, init);
      expect(response.status, path).toBe(status);
      expect((await json<{ error: string }>(response)).error, path).toMatch(message);
    }
  });

  it("shows an event with each sink's delivery state, and redelivers it", async () => {
    const recorder = recordingSink("recorder");
    t = closeAfterTest(await startTestDaemon({ ADMIN_TOKEN: ADMIN, SINKS_ENABLED: "log,recorder" }, { recorder: recorder.factory }));
    const id = await post("project__push.json", "Push Hook");
    await waitFor(() => (recorder.recording.delivered.length === 1 ? true : undefined));
    const detail = await json<{ id: number; payload: unknown; deliveries: { sink: string; status: string; attempts: number }[] }>(
      await api(`/api/events/${id}`),
    );
    expect(detail.payload).toEqual(fixtureJson("project__push.json"));
    await waitFor(async () => {
      const d = await json<{ deliveries: { status: string }[] }>(await api(`/api/events/${id}`));
      return d.deliveries.every((x) => x.status === "delivered") ? true : undefined;
    });
    const response = await api(`/api/events/${id}/redeliver`, { method: "POST", body: JSON.stringify({ sinks: ["recorder"] }) });
    expect(response.status).toBe(202);
    expect(await json(response)).toEqual({ id, sinks: ["recorder"], requeued: 1 });
    await waitFor(() => (recorder.recording.delivered.length === 2 ? true : undefined));
    expect(recorder.recording.delivered).toEqual([id, id]);
    const unknownSink = await api(`/api/events/${id}/redeliver`, { method: "POST", body: JSON.stringify({ sinks: ["phabricator"] }) });
    expect(unknownSink.status).toBe(400);
  });

  it("lists dead letters and retries them in bulk", async () => {
    let healthy = false;
    const flaky = recordingSink("flaky", () => {
      if (!healthy) throw new Error("downstream is down");
    });
    t = closeAfterTest(
      await startTestDaemon({ ADMIN_TOKEN: ADMIN, SINKS_ENABLED: "flaky", LOG_EVENTS_TO: "", MAX_ATTEMPTS: "1" }, { flaky: flaky.factory }),
    );
    const ids = [await post("project__push.json", "Push Hook"), await post("project__tag_push.json", "Tag Push Hook")];
    const failed = await waitFor(async () => {
      const body = await json<{ deliveries: { eventId: number; lastError: string }[] }>(
        await api("/api/deliveries?status=failed&sink=flaky"),
      );
      return body.deliveries.length === 2 ? body.deliveries : undefined;
    });
    expect(failed.map((d) => d.eventId)).toEqual([...ids].reverse());
    expect(failed[0]?.lastError).toBe("downstream is down");
    healthy = true;
    const retry = await api("/api/deliveries/retry", { method: "POST", body: JSON.stringify({ sink: "flaky" }) });
    expect(await json(retry)).toEqual({ retried: 2 });
    await waitFor(() => (flaky.recording.delivered.length === 2 ? true : undefined));
    expect((await json<{ deliveries: unknown[] }>(await api("/api/deliveries?status=failed"))).deliveries).toEqual([]);
  });
});

describe("GET /metrics", () => {
  function sample(text: string, name: string, labels = ""): number {
    const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `) || (labels === "" && l.startsWith(`${name} `)));
    return line ? Number(line.split(" ").at(-1)) : Number.NaN;
  }

  it("exposes the daemon's metrics in Prometheus text format, and they move as events flow", async () => {
    const blocked = recordingSink("blocked", () => new Promise<void>(() => {}), { concurrency: 1 });
    t = closeAfterTest(
      await startTestDaemon({ SINKS_ENABLED: "log,sse,blocked", SSE_TOKEN: "x", SHUTDOWN_TIMEOUT_MS: "50" }, { blocked: blocked.factory }),
    );
    const before = await (await fetch(`${t.url}/metrics`)).text();
    expect(before).toMatch(/^# HELP process_cpu_user_seconds_total/m);
    for (const name of [
      "gitlab_webhooks_http_requests_total",
      "gitlab_webhooks_events_received_total",
      "gitlab_webhooks_auth_failures_total",
      "gitlab_webhooks_ingest_duration_seconds",
      "gitlab_webhooks_deliveries_total",
      "gitlab_webhooks_delivery_queue_depth",
      "gitlab_webhooks_delivery_oldest_pending_age_seconds",
      "gitlab_webhooks_sse_subscribers",
      "gitlab_webhooks_store_append_batches_total",
      "gitlab_webhooks_store_appends_total",
      "gitlab_webhooks_store_append_seconds_total",
      "gitlab_webhooks_store_append_longest_seconds",
    ]) {
      expect(before).toContain(`# TYPE ${name}`);
    }
    const feed = await fetch(`${t.url}/sse/`);
    await post("project__push.json", "Push Hook");
    await post("project__push.json", "Push Hook");
    await postHook(t.url, fixtureJson("project__push.json"), { token: "wrong" });
    const after = await waitFor(async () => {
      const text = await (await fetch(`${t!.url}/metrics`)).text();
      return sample(text, "gitlab_webhooks_deliveries_total", '{sink="log",outcome="delivered"}') === 2 ? text : undefined;
    });
    expect(sample(after, "gitlab_webhooks_events_received_total", '{hook="project",type="push"}')).toBe(2);
    expect(sample(after, "gitlab_webhooks_auth_failures_total")).toBe(1);
    expect(sample(after, "gitlab_webhooks_ingest_duration_seconds_count")).toBe(2);
    expect(sample(after, "gitlab_webhooks_deliveries_total", '{sink="log",outcome="delivered"}')).toBe(2);
    expect(sample(after, "gitlab_webhooks_delivery_queue_depth", '{sink="blocked"}')).toBe(2);
    expect(sample(after, "gitlab_webhooks_delivery_oldest_pending_age_seconds", '{sink="blocked"}')).toBeGreaterThan(0);
    expect(sample(after, "gitlab_webhooks_sse_subscribers")).toBe(1);
    expect(sample(after, "gitlab_webhooks_http_requests_total", '{route="/hooks",method="POST",status="202"}')).toBe(2);
    expect(sample(after, "gitlab_webhooks_http_requests_total", '{route="/hooks",method="POST",status="401"}')).toBe(1);
    // Two events sent one after the other: two append transactions, each with its one event.
    expect(sample(after, "gitlab_webhooks_store_appends_total")).toBe(2);
    expect(sample(after, "gitlab_webhooks_store_append_batches_total")).toBe(2);
    expect(sample(after, "gitlab_webhooks_store_append_seconds_total")).toBeGreaterThan(0);
    expect(sample(after, "gitlab_webhooks_store_append_longest_seconds")).toBeGreaterThan(0);
    expect(sample(after, "gitlab_webhooks_store_append_longest_seconds")).toBeLessThanOrEqual(
      sample(after, "gitlab_webhooks_store_append_seconds_total"),
    );
    await feed.body?.cancel();
  });

  it("counts event types GitLab does not document as other", async () => {
    t = closeAfterTest(await startTestDaemon({}));
    await postHook(t.url, { object_kind: "made_up_kind_123" });
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(sample(text, "gitlab_webhooks_events_received_total", '{hook="project",type="other"}')).toBe(1);
    expect(text).not.toContain("made_up_kind_123");
  });
});
