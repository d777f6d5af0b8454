import { readFileSync } from "node:fs";
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sign } from "../../src/support/standard-webhooks.js";
import { eventHeaderFor, FIXTURES, fixtureBody, fixtureJson } from "../helpers/fixtures.js";
import { postHook, startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from "../helpers/daemon.js";

const SIGNING_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
const OLD_TOKEN = "previous-token-before-rotation";

let t: TestDaemon;

beforeAll(async () => {
  t = await startTestDaemon({ SOURCE_TOKEN: `${OLD_TOKEN},${TEST_TOKEN}`, SOURCE_SIGNING_TOKEN: SIGNING_SECRET, MAX_BODY_BYTES: "100000" });
});
afterAll(() => t.close());

async function storedCount(): Promise<number> {
  return (await t.daemon.store.idRange()).newest;
}

function logLines(): { id: number; type: string; payload: unknown }[] {
  return readFileSync(`${t.dir}/events.log`, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as { id: number; type: string; payload: unknown });
}

function signedHeaders(body: Buffer, secret = SIGNING_SECRET, timestamp = Math.floor(Date.now() / 1000)) {
  const id = randomUUID();
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": sign(secret, id, String(timestamp), body),
  };
}

describe("POST /hooks", () => {
  it("accepts every documented payload with 202 and its id, stores it, and logs it", async () => {
    for (const name of FIXTURES) {
      const response = await postHook(t.url, fixtureBody(name), { event: eventHeaderFor(name) });
      expect(response.status, name).toBe(202);
      const { id } = (await response.json()) as { id: number };
      const stored = await t.daemon.store.getEvent(id);
      expect(stored?.payload, name).toEqual(fixtureJson(name));
      expect(stored?.meta.hook, name).toBe(
        eventHeaderFor(name) === "System Hook" ? "system" : eventHeaderFor(name) === "Project Hook" ? "group" : "project",
      );
    }
    const lines = await waitFor(() => {
      const all = logLines();
      return all.length >= FIXTURES.length ? all : undefined;
    });
    expect(lines.map((line) => line.payload)).toEqual(FIXTURES.map((name) => fixtureJson(name)));
  });

  it("answers a resend with the same Idempotency-Key with 200 and the first id, storing nothing", async () => {
    const deliveryId = randomUUID();
    const first = await postHook(t.url, fixtureBody("project__push.json"), { deliveryId });
    const { id } = (await first.json()) as { id: number };
    const before = await storedCount();
    const again = await postHook(t.url, fixtureBody("project__push.json"), { deliveryId });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id, duplicate: true });
    expect(await storedCount()).toBe(before);
    await waitFor(() => (logLines().some((line) => line.id === id) ? true : undefined));
    expect(logLines().filter((line) => line.id === id)).toHaveLength(1);
  });

  it("treats concurrent resends of one delivery as one event", async () => {
    const deliveryId = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => postHook(t.url, fixtureBody("project__push.json"), { deliveryId })),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { id: number; duplicate?: boolean }[];
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 202]);
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
  });

  it("accepts every token of a rotation list", async () => {
    for (const token of [OLD_TOKEN, TEST_TOKEN]) {
      expect((await postHook(t.url, { object_kind: "push" }, { token })).status).toBe(202);
    }
  });

  describe("errors store nothing and say what is wrong", () => {
    const cases: [string, () => Promise<Response>, number, RegExp][] = [
      ["no token", () => postHook(t.url, { object_kind: "push" }, { token: null }), 401, /missing X-Gitlab-Token/],
      ["a wrong token", () => postHook(t.url, { object_kind: "push" }, { token: "nope" }), 401, /does not match/],
      [
        "a token differing only in case",
        () => postHook(t.url, { object_kind: "push" }, { token: TEST_TOKEN.toUpperCase() }),
        401,
        /does not match/,
      ],
      ["a body that is not JSON", () => postHook(t.url, "{not json"), 400, /not valid JSON/],
      ["an empty body", () => postHook(t.url, ""), 400, /not valid JSON/],
      ["a JSON array", () => postHook(t.url, "[1,2]"), 400, /must be a JSON object/],
      ["a JSON string", () => postHook(t.url, '"push"'), 400, /must be a JSON object/],
      ["JSON null", () => postHook(t.url, "null"), 400, /must be a JSON object/],
      [
        "a form body",
        () => postHook(t.url, "a=b", { contentType: "application/x-www-form-urlencoded" }),
        415,
        /Content-Type must be application\/json/,
      ],
      ["a body over MAX_BODY_BYTES", () => postHook(t.url, JSON.stringify({ big: "x".repeat(200_000) })), 413, /MAX_BODY_BYTES/],
      [
        "an overlong Idempotency-Key",
        () => postHook(t.url, { object_kind: "push" }, { deliveryId: "k".repeat(300) }),
        400,
        /idempotency-key/,
      ],
      ["a GET", () => fetch(`${t.url}/hooks`), 405, /GitLab POSTs/],
      ["a PUT", () => fetch(`${t.url}/hooks/`, { method: "PUT" }), 405, /GitLab POSTs/],
    ];
    for (const [what, send, status, message] of cases) {
      it(`${status} for ${what}`, async () => {
        const before = await storedCount();
        const response = await send();
        expect(response.status).toBe(status);
        expect(response.headers.get("content-type")).toMatch(/application\/json/);
        const body = (await response.json()) as { error: string };
        expect(body.error).toMatch(message);
        expect(body.error).not.toContain(TEST_TOKEN);
        if (status === 405) expect(response.headers.get("allow")).toBe("POST");
        expect(await storedCount()).toBe(before);
      });
    }
  });

  it("names the pusher of a system push by username, learned from an event that showed it", async () => {
    const systemPush = { ...fixtureJson("system__push.json"), user_id: 4004 };
    const before = (await (await postHook(t.url, systemPush, { event: "System Hook" })).json()) as { id: number };
    expect((await t.daemon.store.getEvent(before.id))?.meta.actor).toEqual({ username: null, name: "John Smith" });
    // A project hook's push shows user 4004 with the username.
    const projectPush = { ...fixtureJson("project__push.json"), user_id: 4004, user_username: "jsmith" };
    expect((await postHook(t.url, projectPush, { event: "Push Hook" })).status).toBe(202);
    const after = (await (await postHook(t.url, systemPush, { event: "System Hook" })).json()) as { id: number };
    expect((await t.daemon.store.getEvent(after.id))?.meta.actor).toEqual({ username: "jsmith", name: "John Smith" });
    expect(await t.daemon.store.usernameOf(4004)).toBe("jsmith");
  });

  it("keeps GitLab's request headers with the event, and never a credential or a custom header", async () => {
    const body = fixtureBody("project__issue.json");
    const response = await postHook(t.url, body, {
      event: "Issue Hook",
      headers: {
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "User-Agent": "GitLab/17.6.0",
        "X-Custom-Secret": "do-not-keep",
        Authorization: "Bearer nope",
      },
    });
    const { id } = (await response.json()) as { id: number };
    const headers = (await t.daemon.store.getEvent(id))?.requestHeaders ?? {};
    expect(headers).toMatchObject({
      "x-gitlab-event": "Issue Hook",
      "x-gitlab-instance": "https://gitlab.example.com",
      "user-agent": "GitLab/17.6.0",
      "content-type": "application/json",
    });
    expect(Object.keys(headers)).not.toContain("x-gitlab-token");
    expect(JSON.stringify(headers)).not.toMatch(/do-not-keep|nope|test-source-token/);
  });

  it("never answers malformed input with a 5xx", async () => {
    const bodies = [
      "{",
      "}",
      "\u0000",
      "[",
      '{"a":',
      "\ud800",
      "1e999999",
      '{"object_kind":{}}',
      '{"project":[]}',
      '{"project":{"id":"x","visibility_level":"20"}}',
      '{"user":5,"object_attributes":"x"}',
    ];
    for (const body of bodies) {
      const response = await postHook(t.url, body, { event: "\u00ff Hook" });
      expect(response.status, body).toBeLessThan(500);
    }
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  describe("Standard Webhooks signatures", () => {
    const body = fixtureBody("project__merge_request_open.json");

    it("accepts a valid signature without a token", async () => {
      const response = await postHook(t.url, body, { token: null, headers: signedHeaders(body) });
      expect(response.status).toBe(202);
    });

    it("accepts when any of several v1 signatures matches", async () => {
      const headers = signedHeaders(body);
      headers["webhook-signature"] = `v1,${randomBytes(32).toString("base64")} ${headers["webhook-signature"]}`;
      expect((await postHook(t.url, body, { token: null, headers })).status).toBe(202);
    });

    it("refuses a signature made with another secret, even with a valid token: the signature decides", async () => {
      const headers = signedHeaders(body, `whsec_${randomBytes(24).toString("base64")}`);
      const response = await postHook(t.url, body, { headers });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: string }).error).toMatch(/does not match any SOURCE_SIGNING_TOKEN/);
    });

    it("refuses a signature over a different body", async () => {
      const headers = signedHeaders(body);
      const tampered = Buffer.from(body.toString("utf8").replace("Add input validation", "Remove validation"));
      expect((await postHook(t.url, tampered, { token: null, headers })).status).toBe(401);
    });

    it("refuses a timestamp more than 5 minutes old or ahead", async () => {
      // Beyond the 300 s tolerance by more than a slow machine's delay between signing and checking.
      for (const offset of [-330, 330]) {
        const headers = signedHeaders(body, SIGNING_SECRET, Math.floor(Date.now() / 1000) + offset);
        const response = await postHook(t.url, body, { token: null, headers });
        expect(response.status).toBe(401);
        expect(((await response.json()) as { error: string }).error).toMatch(/more than 5 minutes/);
      }
    });

    it("uses webhook-id as the delivery id for duplicates", async () => {
      const headers = signedHeaders(body);
      const first = await postHook(t.url, body, { token: null, headers: { ...headers, "Idempotency-Key": "" } });
      const again = await postHook(t.url, body, { token: null, headers: { ...headers, "Idempotency-Key": "" } });
      expect(first.status).toBe(202);
      expect(again.status).toBe(200);
    });
  });
});

describe("GET /healthz", () => {
  it("reports the store and each sink, and no secret", async () => {
    const response = await fetch(`${t.url}/healthz`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const body = JSON.parse(text) as { status: string; store: string; sinks: Record<string, { pending: number; failed: number }> };
    expect(body.status).toBe("ok");
    expect(body.store).toBe("ok");
    expect(Object.keys(body.sinks)).toEqual(["log"]);
    expect(body.sinks.log?.failed).toBe(0);
    expect(text).not.toContain(TEST_TOKEN);
    expect(text).not.toContain(SIGNING_SECRET.slice(6));
  });

  it("is 503 when the store is unusable", async () => {
    const broken = await startTestDaemon();
    await broken.daemon.store.close();
    const response = await fetch(`${broken.url}/healthz`);
    expect(response.status).toBe(503);
    await broken.close().catch(() => {});
  });
});
