import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { postHook, startTestDaemon, tempDir, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { startFakeServer, type FakeServer } from "../helpers/fake-server.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { closeAfterTest } from "../helpers/teardown.js";

const ADMIN = "admin-token-for-http-sink";
const newSecret = () => `whsec_${randomBytes(24).toString("base64")}`;

interface Arrival {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** Which of the receiver's secrets verified the signature (standardwebhooks' own check). */
  verifiedWith: string[];
}

let t: TestDaemon | undefined;
let receiver: FakeServer | undefined;

/**
 * A service receiving pushes: verifies each with the standardwebhooks package against `secrets`,
 * and answers with `answer(path, n)` (the n-th request to that path).
 */
async function startReceiver(
  secrets: string[],
  answer: (path: string, n: number) => { status: number; headers?: Record<string, string>; body?: string } | null,
) {
  const arrivals: Arrival[] = [];
  receiver = closeAfterTest(
    await startFakeServer((req, body, res) => {
      const path = req.url ?? "";
      const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, String(value)]));
      const verifiedWith = secrets.filter((secret) => {
        try {
          new Webhook(secret).verify(body, headers);
          return true;
        } catch {
          return false;
        }
      });
      arrivals.push({ path, headers: req.headers, body, at: Date.now(), verifiedWith });
      const reply = answer(path, arrivals.filter((arrival) => arrival.path === path).length);
      if (reply === null) return; // never answers
      res.writeHead(reply.status, reply.headers).end(reply.body ?? "");
    }),
  );
  return arrivals;
}

async function start(endpoints: unknown, env: Record<string, string> = {}): Promise<TestDaemon> {
  const dir = tempDir();
  const file = join(dir, "endpoints.json");
  writeFileSync(file, JSON.stringify(endpoints));
  t = closeAfterTest(
    await startTestDaemon({ SINKS_ENABLED: "http", LOG_EVENTS_TO: "", HTTP_SINK_FILE: file, ADMIN_TOKEN: ADMIN, ...env }, {}, dir),
  );
  return t;
}

const api = async <T>(path: string): Promise<T> =>
  (await (await fetch(`${t!.url}${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } })).json()) as T;

describe("http sink", () => {
  it("pushes each event signed with every secret of the endpoint, as GitLab sent it or as the normalized event, filtered", async () => {
    const [oldSecret, newSecretValue, auditSecret] = [newSecret(), newSecret(), newSecret()];
    const arrivals = await startReceiver([oldSecret as string, newSecretValue as string, auditSecret as string], () => ({ status: 200 }));
    await start([
      {
        name: "bot",
        url: `${receiver!.url}/bot`,
        secret: [oldSecret, newSecretValue],
        types: ["merge_requests"],
        projects: ["flightjs/*"],
      },
      { name: "audit", url: `${receiver!.url}/audit?key=s3cr3t-path`, secret: auditSecret, body: "event" },
    ]);
    const mr = fixtureJson("project__merge_request_open.json");
    const posted = await postHook(t!.url, mr, {
      event: "Merge Request Hook",
      deliveryId: "mr-delivery-1",
      headers: { "X-Gitlab-Instance": "https://gitlab.example.com" },
    });
    const id = ((await posted.json()) as { id: number }).id;
    await postHook(t!.url, fixtureJson("project__push.json"), { event: "Push Hook" });
    await waitFor(() => (arrivals.length === 3 ? true : undefined), 5000, "three pushes");

    const bot = arrivals.filter((arrival) => arrival.path === "/bot");
    const audit = arrivals.filter((arrival) => arrival.path.startsWith("/audit"));
    // The push is no merge request: the bot's filter kept it out; the audit endpoint takes everything.
    expect(bot).toHaveLength(1);
    expect(audit).toHaveLength(2);
    const [first] = bot as [Arrival];
    expect(JSON.parse(first.body)).toEqual(mr);
    expect(first.headers).toMatchObject({
      "content-type": "application/json",
      "x-gitlab-event": "Merge Request Hook",
      "idempotency-key": "mr-delivery-1",
      "x-gitlab-instance": "https://gitlab.example.com",
    });
    // Signed with both secrets while they rotate: a receiver holding either verifies it.
    expect(first.verifiedWith).toEqual([oldSecret, newSecretValue]);
    expect(String(first.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(audit.map((arrival) => arrival.verifiedWith)).toEqual([[auditSecret], [auditSecret]]);
    expect(JSON.parse((audit[0] as Arrival).body)).toMatchObject({
      id,
      type: "merge_request",
      action: "open",
      project: { path: "flightjs/flight-management" },
      payload: mr,
    });
    // One message id per event and endpoint.
    expect(first.headers["webhook-id"]).not.toBe((audit[0] as Arrival).headers["webhook-id"]);

    const status = await api<{ sinks: { name: string; state: string; endpoint: string }[] }>("/api/sinks");
    expect(status.sinks.map((sink) => [sink.name, sink.state, sink.endpoint])).toEqual([
      ["http:bot", "ok", new URL(receiver!.url).host],
      ["http:audit", "ok", new URL(receiver!.url).host],
    ]);
    expect(JSON.stringify(await (await fetch(`${t!.url}/healthz`)).json())).not.toContain("s3cr3t-path");

    // A redelivery from the dashboard is the same message to the receiver: it can deduplicate it.
    const redeliver = await fetch(`${t!.url}/api/events/${id}/redeliver`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ sinks: ["http:bot"] }),
    });
    expect(redeliver.status).toBe(202);
    await waitFor(() => (arrivals.length === 4 ? true : undefined), 5000, "the redelivery");
    expect((arrivals[3] as Arrival).path).toBe("/bot");
    expect((arrivals[3] as Arrival).headers["webhook-id"]).toBe(first.headers["webhook-id"]);
    expect((arrivals[3] as Arrival).verifiedWith).toEqual([oldSecret, newSecretValue]);
  });

  it("retries a failure with the same webhook-id, keeps the answer with the attempt, and waits as Retry-After says", async () => {
    const secret = newSecret();
    const arrivals = await startReceiver([secret], (_path, n) =>
      n === 1
        ? { status: 500, body: "database is down\n(trace 42)" }
        : n === 2
          ? { status: 503, headers: { "Retry-After": "2" }, body: "busy" }
          : { status: 204 },
    );
    await start([{ name: "svc", url: `${receiver!.url}/hook`, secret }], { RETRY_MIN_MS: "20", RETRY_MAX_MS: "40" });
    const posted = await postHook(t!.url, fixtureJson("project__issue.json"), { event: "Issue Hook" });
    const id = ((await posted.json()) as { id: number }).id;
    await waitFor(() => (arrivals.length === 3 ? true : undefined), 8000, "three attempts");

    const ids = new Set(arrivals.map((arrival) => arrival.headers["webhook-id"]));
    expect(ids.size).toBe(1);
    expect(arrivals.every((arrival) => arrival.verifiedWith.length === 1)).toBe(true);
    // The backoff alone would have come back after ~40 ms; the endpoint asked for 2 s.
    expect((arrivals[2] as Arrival).at - (arrivals[1] as Arrival).at).toBeGreaterThanOrEqual(1900);
    const detail = await waitFor(async () => {
      const event = await api<{ attempts: { outcome: string; error: string | null; errorStatus: number | null }[] }>(`/api/events/${id}`);
      return event.attempts.length === 3 ? event : undefined;
    });
    expect(detail.attempts.map((attempt) => [attempt.outcome, attempt.errorStatus, attempt.error])).toEqual([
      ["retry", 500, "http:svc answered 500: database is down (trace 42)"],
      ["retry", 503, "http:svc answered 503: busy"],
      ["delivered", null, null],
    ]);
  });

  it("disables an endpoint that answers 410 Gone, shows it, and dead-letters what follows without calling it", async () => {
    const secret = newSecret();
    const arrivals = await startReceiver([secret], () => ({ status: 410, body: "this integration was removed" }));
    await start([{ name: "old", url: `${receiver!.url}/gone`, secret }]);
    await postHook(t!.url, fixtureJson("project__issue.json"), { event: "Issue Hook" });
    await waitFor(async () => ((await api<{ sinks: { failed: number }[] }>("/api/sinks")).sinks[0]?.failed === 1 ? true : undefined));
    await postHook(t!.url, fixtureJson("project__push.json"), { event: "Push Hook" });
    const health = await waitFor(async () => {
      const body = (await (await fetch(`${t!.url}/healthz`)).json()) as {
        status: string;
        sinks: Record<string, { state: string; reason: string; failed: number; disabled?: string }>;
      };
      return body.sinks["http:old"]?.failed === 2 ? body : undefined;
    });
    expect(arrivals).toHaveLength(1);
    expect(health.status).toBe("degraded");
    expect(health.sinks["http:old"]).toMatchObject({
      state: "failing",
      reason: expect.stringMatching(/^disabled since .*410 Gone/) as unknown,
    });
    expect(t!.logs()).toMatch(/http:old answered 410 Gone: the endpoint is disabled/);
  });

  it("gives up on an endpoint that does not answer within HTTP_SINK_TIMEOUT_MS", async () => {
    const secret = newSecret();
    await startReceiver([secret], () => null);
    await start([{ name: "slow", url: `${receiver!.url}/slow`, secret }], { HTTP_SINK_TIMEOUT_MS: "300", MAX_ATTEMPTS: "1" });
    const posted = await postHook(t!.url, fixtureJson("project__issue.json"), { event: "Issue Hook" });
    const id = ((await posted.json()) as { id: number }).id;
    const detail = await waitFor(async () => {
      const event = await api<{ attempts: { error: string | null }[] }>(`/api/events/${id}`);
      return event.attempts.length === 1 ? event : undefined;
    });
    expect(detail.attempts[0]?.error).toBe("http:slow gave no answer within HTTP_SINK_TIMEOUT_MS (300 ms)");
  });

  it("keeps the start of a long answer with the attempt, on one line", async () => {
    const secret = newSecret();
    await startReceiver([secret], () => ({ status: 500, body: `${"x".repeat(300)}\n${"y".repeat(2_000_000)}` }));
    await start([{ name: "big", url: `${receiver!.url}/big`, secret }], { MAX_ATTEMPTS: "1" });
    const posted = await postHook(t!.url, fixtureJson("project__issue.json"), { event: "Issue Hook" });
    const id = ((await posted.json()) as { id: number }).id;
    const detail = await waitFor(async () => {
      const event = await api<{ attempts: { error: string | null }[] }>(`/api/events/${id}`);
      return event.attempts.length === 1 ? event : undefined;
    });
    expect(detail.attempts[0]?.error).toBe(`http:big answered 500: ${"x".repeat(300)} ${"y".repeat(199)}…`);
  });

  it("refuses to start on a malformed HTTP_SINK_FILE, naming the entry, never the secret", async () => {
    const secret = newSecret();
    const cases: [unknown, RegExp][] = [
      [
        [
          { name: "a", url: "http://127.0.0.1:9/a", secret },
          { name: "b", url: "ftp://x", secret },
        ],
        /^HTTP_SINK_FILE: entry 2 \("b"\) url accepts an http\(s\) URL$/,
      ],
      [
        [{ name: "a", url: "http://127.0.0.1:9/a", secret: "not-a-whsec-" + secret }],
        /^HTTP_SINK_FILE: entry 1 \("a"\) secret accepts a whsec_<base64> secret or a list of them$/,
      ],
      [
        [{ name: "a", url: "http://127.0.0.1:9/a", secret, typs: ["push"] }],
        /^HTTP_SINK_FILE: entry 1 \("a"\) has unknown field\(s\) typs$/,
      ],
      [[{ url: "http://127.0.0.1:9/a", secret }], /^HTTP_SINK_FILE: entry 1 name is missing$/],
      [[{ name: "a", url: "http://127.0.0.1:9/a", secret, body: "raw" }], /^HTTP_SINK_FILE: entry 1 \("a"\) body accepts "gitlab"/],
      [{ name: "a" }, /must hold a JSON array/],
    ];
    for (const [endpoints, message] of cases) {
      const error = (await start(endpoints).catch((caught: unknown) => caught)) as Error;
      expect(error.name).toBe("ConfigError");
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(secret.slice(6));
    }
  });
});
