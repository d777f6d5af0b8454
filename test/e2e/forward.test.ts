import type { IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { postHook, tempDir, TEST_TOKEN, waitFor } from "../helpers/daemon.js";
import { startFakeServer, type FakeServer } from "../helpers/fake-server.js";
import { fixtureBody, fixtureJson } from "../helpers/fixtures.js";
import { runCli, spawnDaemon, type SpawnedDaemon } from "../../harness/spawn-daemon.js";
import { sleep } from "../helpers/sleep.js";

const SSE_TOKEN = "forward-feed-token-123";
const BOT_SECRET = "the-bots-own-webhook-secret";

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
  status: number;
}

let daemon: SpawnedDaemon | undefined;
let bot: FakeServer | undefined;
const forwards: ReturnType<typeof runCli>[] = [];
afterEach(async () => {
  for (const forward of forwards.splice(0)) {
    forward.child.kill("SIGKILL");
    await forward.exited;
  }
  daemon?.child.kill("SIGKILL");
  await daemon?.exited;
  await bot?.close();
  daemon = bot = undefined;
});

/** A GitLab bot's endpoint: answers each request with the next status of `script` (then 200), and records it. */
async function startBot(script: Record<string, number[]>, received: Received[], port = 0): Promise<FakeServer> {
  const server = await startFakeServer((req, body, res) => {
    const key = String(req.headers["idempotency-key"]);
    const status = script[key]?.shift() ?? 200;
    received.push({ headers: req.headers, raw: body, body: JSON.parse(body) as Record<string, unknown>, status });
    res.writeHead(status).end(status === 400 ? "this bot does not take issue events" : "ok");
  }, port);
  return server;
}

/** The line each event ends with (its attempts that will be retried have their own lines). */
const forwardLines = (output: string) => output.split("\n").filter((line) => /^#\d+ /.test(line) && !line.includes("retrying in"));

describe("gitlab-webhooks forward", () => {
  it("posts each event as GitLab sent it, retries 5xx in order, skips a 4xx, and resumes from its state file without gap or repeat", async () => {
    const dir = tempDir();
    daemon = await spawnDaemon({ SOURCE_TOKEN: TEST_TOKEN, SSE_TOKEN, SINKS_ENABLED: "sse", DATABASE_PATH: join(dir, "s.sqlite") });
    const post = async (name: string, event: string, deliveryId: string) => {
      const response = await postHook(daemon!.url, fixtureBody(name), {
        event,
        deliveryId,
        headers: {
          "X-Gitlab-Instance": "https://gitlab.example.com",
          "User-Agent": "GitLab/17.6.0",
          "X-Gitlab-Event-UUID": `uuid-${deliveryId}`,
        },
      });
      expect(response.status).toBe(202);
    };
    await post("project__merge_request_open.json", "Merge Request Hook", "d1");
    await post("project__push.json", "Push Hook", "d2");
    await post("project__issue.json", "Issue Hook", "d3");

    const received: Received[] = [];
    bot = await startBot({ d2: [503, 502], d3: [400] }, received);
    const state = join(dir, "forward-state.json");
    const args = [
      "forward",
      "--from",
      `${daemon.url}/sse/`,
      "--to",
      `${bot.url}/webhook`,
      "--token",
      SSE_TOKEN,
      "--target-token",
      BOT_SECRET,
      "--state",
      state,
    ];
    let forward = runCli([...args, "--since", "0"], {});
    forwards.push(forward);
    await waitFor(() => (received.length === 5 ? true : undefined), 15_000, "the first three events");
    await waitFor(() => (forwardLines(forward.output()).length === 3 ? true : undefined), 5000, "three lines");

    // In order, the 5xx retried until accepted, the 4xx tried once and skipped.
    expect(received.map((request) => [request.headers["idempotency-key"], request.status])).toEqual([
      ["d1", 200],
      ["d2", 503],
      ["d2", 502],
      ["d2", 200],
      ["d3", 400],
    ]);
    const first = received[0] as Received;
    expect(first.body).toEqual(fixtureJson("project__merge_request_open.json"));
    // The very text GitLab sent (its line breaks made spaces on the feed), not a re-encoding of it.
    expect(first.raw).toBe(
      fixtureBody("project__merge_request_open.json")
        .toString()
        .trim()
        .replace(/[\r\n]/g, " "),
    );
    expect(first.headers).toMatchObject({
      "x-gitlab-event": "Merge Request Hook",
      "x-gitlab-instance": "https://gitlab.example.com",
      "x-gitlab-event-uuid": "uuid-d1",
      "idempotency-key": "d1",
      "user-agent": "GitLab/17.6.0",
      "x-gitlab-token": BOT_SECRET,
      "content-type": "application/json",
    });
    const lines = forwardLines(forward.output());
    expect(lines[0]).toMatch(/^#1 merge_request open flightjs\/flight-management 200 \d+ ms$/);
    expect(lines[1]).toMatch(/^#2 push mike\/diaspora 200 \d+ ms$/);
    expect(lines[2]).toMatch(/^#3 issue open gitlabhq\/gitlab-test 400 \d+ ms, skipped: this bot does not take issue events$/);
    expect(forward.output()).toMatch(/#2 push mike\/diaspora 503 \d+ ms, retrying in/);

    // Stopped; events arrive meanwhile, and the bot is down when forward comes back.
    forward.child.kill("SIGTERM");
    expect((await forward.exited).code).toBe(0);
    const port = Number(new URL(bot.url).port);
    await bot.close();
    await post("project__note_merge_request.json", "Note Hook", "d4");
    await post("project__tag_push.json", "Tag Push Hook", "d5");
    forward = runCli(args, {});
    forwards.push(forward);
    await waitFor(
      () => (/#4 note .*no answer.*retrying in/.test(forward.output()) ? true : undefined),
      10_000,
      "a failed attempt while the bot is down",
    );
    bot = await startBot({}, received, port);
    await waitFor(() => (received.length === 7 ? true : undefined), 15_000, "the two events posted while forward was away");
    await sleep(300);
    expect(received.slice(5).map((request) => request.headers["idempotency-key"])).toEqual(["d4", "d5"]);
    expect(received.length).toBe(7);
  });

  it("has --help, and says what is missing", async () => {
    const help = runCli(["forward", "--help"], {});
    expect((await help.exited).code).toBe(0);
    expect(help.output()).toMatch(/^Usage: gitlab-webhooks forward --to URL/);
    const missing = runCli(["forward", "--from", "http://127.0.0.1:9/sse/"], {});
    expect((await missing.exited).code).toBe(2);
    expect(missing.output()).toBe(
      "gitlab-webhooks forward: --to URL is required: the bot's webhook URL (see gitlab-webhooks forward --help)\n",
    );
  });

  it("refuses a feed token the daemon does not know, with one line", async () => {
    const dir = tempDir();
    daemon = await spawnDaemon({ SOURCE_TOKEN: TEST_TOKEN, SSE_TOKEN, SINKS_ENABLED: "sse", DATABASE_PATH: join(dir, "s.sqlite") });
    const forward = runCli(
      [
        "forward",
        "--from",
        `${daemon.url}/sse/`,
        "--to",
        "http://127.0.0.1:9/webhook",
        "--token",
        "wrong",
        "--state",
        join(dir, "state.json"),
      ],
      {},
    );
    expect((await forward.exited).code).toBe(1);
    expect(forward.output()).toMatch(/the feed refused: 401/);
    expect(forward.output()).not.toContain("wrong");
  });
});
