import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { postHook, startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { startFakeGitLab, type FakeGitLab } from "../helpers/fake-gitlab.js";
import { sendJson } from "../helpers/fake-server.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { closeAfterTest } from "../helpers/teardown.js";
import { freePort } from "../../harness/free-port.js";
import { runCli } from "../../harness/spawn-daemon.js";

const GITLAB_TOKEN = "glpat-hooks-maintainer";
const PROJECT = "flightjs/flight-management";
const HOOKS = `/api/v4/projects/${encodeURIComponent(PROJECT)}/hooks`;

let gitlab: FakeGitLab;
let t: TestDaemon;

/** One entry of GitLab's webhook log, shaped as GET /projects/:id/hooks/:hook_id/events answers. */
function logged(id: number, event: string, body: object, status: string, minutesAgo: number, key: string | null = randomUUID()) {
  return {
    id,
    url: `${t.url}/hooks`,
    trigger: event === "Push Hook" ? "push_hooks" : event === "Note Hook" ? "note_hooks" : "merge_request_hooks",
    request_headers: {
      "Content-Type": "application/json",
      "User-Agent": "GitLab/17.6.0",
      ...(key === null ? {} : { "Idempotency-Key": key }),
      "X-Gitlab-Event": event,
      "X-Gitlab-Webhook-UUID": "3c5c0404-c866-44bc-a5f6-452bb1bfc76e",
      "X-Gitlab-Instance": "https://gitlab.example.com",
      "X-Gitlab-Event-UUID": randomUUID(),
      "X-Gitlab-Token": "[REDACTED]",
    },
    request_data: body,
    response_headers: status === "internal error" ? {} : { Date: new Date(Date.now() - minutesAgo * 60_000).toUTCString() },
    response_body: status === "internal error" ? "Failed to open TCP connection" : "{}",
    execution_duration: 0.1,
    response_status: status,
    created_at: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
  };
}

async function cli(args: string[]) {
  const run = runCli(["hooks", ...args], { GITLAB_URL: gitlab.url, GITLAB_TOKEN, SOURCE_TOKEN: TEST_TOKEN, PORT: new URL(t.url).port });
  const { code } = await run.exited;
  return { code, output: run.output() };
}

const storedEvents = async () => (await t.daemon.store.listEvents({ limit: 1000 })).map((event) => event.meta);

beforeEach(async () => {
  gitlab = closeAfterTest(await startFakeGitLab(GITLAB_TOKEN));
  t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "log" }));
});

describe("gitlab-webhooks hooks recover", () => {
  it("stores what GitLab could not deliver, through the log's pages, once, and leaves alone what arrived", async () => {
    const push = (n: number) => ({ ...fixtureJson("project__push.json"), checkout_sha: `sha-${n}` });
    const arrivedKey = randomUUID();
    const resentKey = randomUUID();
    const missedPush = push(1);
    const missedNote = fixtureJson("project__note_merge_request.json");
    const entries = [
      logged(101, "Merge Request Hook", fixtureJson("project__merge_request_open.json"), "200", 200, arrivedKey),
      logged(102, "Push Hook", missedPush, "internal error", 180),
      logged(103, "Push Hook", push(2), "500", 120, resentKey),
      logged(104, "Push Hook", push(2), "200", 110, resentKey),
      logged(105, "Note Hook", missedNote, "502", 30),
      // A busy hook: enough accepted deliveries that the log takes three pages.
      ...Array.from({ length: 40 }, (_, n) => logged(200 + n, "Push Hook", push(100 + n), "200", 20, null)),
    ];
    // Newest first, as GitLab lists them, 20 per page whatever is asked.
    gitlab.paginate(`${HOOKS}/7/events`, [...entries].reverse(), 20, 20);
    gitlab.route(`GET ${HOOKS}`, (_req, _body, res) =>
      sendJson(res, 200, [{ id: 7, url: `${t.url}/hooks`, push_events: true, alert_status: "executable" }]),
    );
    // What did arrive at the time.
    for (const [entry, key] of [
      [entries[0]!, arrivedKey],
      [entries[3]!, resentKey],
    ] as const) {
      const response = await postHook(t.url, entry.request_data, { event: entry.request_headers["X-Gitlab-Event"], deliveryId: key });
      expect(response.status).toBe(202);
    }
    const before = await storedEvents();

    const first = await cli(["recover", "--project", PROJECT]);
    expect(first.output).toContain(`project hook of ${PROJECT} 7: 45 logged requests, 44 deliveries, 2 never accepted`);
    expect(first.output).toMatch(/stored #102 push_hooks .* \(GitLab got "internal error"\) as event \d+/);
    expect(first.output).toMatch(/stored #105 note_hooks .* \(GitLab got "502"\) as event \d+/);
    expect(first.output).toContain("stored 2, already held 0, refused 0, 42 accepted at the time and not sent (--all sends them too)");
    expect(first.code).toBe(0);
    // Every logged page was read, with the maintainer's token.
    const pages = gitlab.requests.filter((request) => request.path.startsWith(`${HOOKS}/7/events`));
    expect(pages.map((request) => new URL(request.path, gitlab.url).searchParams.get("page") ?? "1")).toEqual(["1", "2", "3"]);
    expect(pages.every((request) => request.token === GITLAB_TOKEN)).toBe(true);

    // Stored as GitLab sent them, in the order GitLab made them, and delivered like any other event.
    const after = await storedEvents();
    const recovered = after.filter((event) => !before.some((old) => old.id === event.id)).sort((a, b) => a.id - b.id);
    expect(recovered.map((event) => [event.type, event.hook, event.instance, event.project?.path])).toEqual([
      ["push", "project", "https://gitlab.example.com", "mike/diaspora"],
      ["note", "project", "https://gitlab.example.com", "gitlab-org/gitlab-test"],
    ]);
    expect((await t.daemon.store.getEvent(recovered[0]!.id))?.payload).toEqual(missedPush);
    expect((await t.daemon.store.getEvent(recovered[1]!.id))?.payload).toEqual(missedNote);
    await waitFor(() => {
      const log = readFileSync(`${t.dir}/events.log`, "utf8");
      return recovered.every((event) => log.includes(`{"id":${event.id},`)) ? true : undefined;
    });

    // A second run, and a run over everything: nothing new.
    const second = await cli(["recover", "--project", PROJECT]);
    expect(second.output).toContain("stored 0, already held 2, refused 0");
    const everything = await cli(["recover", "--project", PROJECT, "--all", "--hook", "7"]);
    // The 40 without an Idempotency-Key never reached this daemon under a key it could know: --all stores them once.
    expect(everything.output).toContain("stored 40, already held 4, refused 0");
    expect((await cli(["recover", "--project", PROJECT, "--all"])).output).toContain("stored 0, already held 44, refused 0");
    expect((await storedEvents()).length).toBe(before.length + 42);
  });

  it("prints what it would send with --dry-run, and reads --since as a time or a duration", async () => {
    const entries = [
      logged(1, "Push Hook", fixtureJson("project__push.json"), "internal error", 300),
      logged(2, "Push Hook", { ...fixtureJson("project__push.json"), checkout_sha: "b" }, "503", 60),
    ];
    gitlab.paginate(`${HOOKS}/7/events`, [...entries].reverse(), 20);
    gitlab.route(`GET ${HOOKS}`, (_req, _body, res) => sendJson(res, 200, [{ id: 7, url: "https://a.example/hooks" }]));
    const dry = await cli(["recover", "--project", PROJECT, "--since", "2h", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.output).toMatch(/would send #2 push_hooks/);
    expect(dry.output).not.toContain("#1 ");
    expect(dry.output).toContain("dry run: nothing sent");
    const since = await cli(["recover", "--project", PROJECT, "--since", new Date(Date.now() - 400 * 60_000).toISOString(), "--dry-run"]);
    expect(since.output).toMatch(/would send #1 [\s\S]*would send #2/);
    expect(await storedEvents()).toEqual([]);
    expect((await cli(["recover", "--project", PROJECT, "--since", "last tuesday"])).output).toMatch(
      /--since: "last tuesday" is neither a time/,
    );
  });

  it("reads a group hook's log, asks which hook when there are several, and says system hooks have none", async () => {
    const groupHooks = "/api/v4/groups/flightjs/hooks";
    gitlab.route(`GET ${groupHooks}`, (_req, _body, res) =>
      sendJson(res, 200, [
        { id: 3, url: "https://a.example/hooks" },
        { id: 4, url: "https://chat.example/in" },
      ]),
    );
    gitlab.paginate(`${groupHooks}/3/events`, [logged(9, "Push Hook", fixtureJson("project__push.json"), "internal error", 5)], 20);
    const ambiguous = await cli(["recover", "--group", "flightjs"]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.output).toContain("name the hook with --hook: 3 (https://a.example/hooks), 4 (https://chat.example/in)");
    const recovered = await cli(["recover", "--group", "flightjs", "--hook", "3"]);
    expect(recovered.output).toContain("stored 1, already held 0, refused 0");
    const system = await cli(["recover", "--system"]);
    expect(system.code).toBe(2);
    expect(system.output).toContain("system hooks have no delivery log in GitLab");
  });

  it("says so when the daemon cannot be reached, naming its URL", async () => {
    gitlab.route(`GET ${HOOKS}`, (_req, _body, res) => sendJson(res, 200, [{ id: 7, url: "https://a.example/hooks" }]));
    gitlab.paginate(`${HOOKS}/7/events`, [logged(1, "Push Hook", fixtureJson("project__push.json"), "internal error", 5)], 20);
    const port = await freePort();
    const run = await cli(["recover", "--project", PROJECT, "--to", `http://127.0.0.1:${port}/hooks`]);
    expect(run.code).toBe(1);
    expect(run.output).toContain(
      `could not reach the daemon at http://127.0.0.1:${port}/hooks (ECONNREFUSED 127.0.0.1:${port}): is it running?`,
    );
  });
});

describe("gitlab-webhooks hooks status", () => {
  it("shows each hook's URL, events, GitLab's alert status and its last deliveries, and fails when one is disabled", async () => {
    gitlab.route(`GET ${HOOKS}`, (_req, _body, res) =>
      sendJson(res, 200, [
        {
          id: 7,
          url: "https://a.example/hooks",
          push_events: true,
          merge_requests_events: true,
          alert_status: "executable",
          disabled_until: null,
        },
        {
          id: 8,
          url: "https://b.example/hooks",
          note_events: true,
          alert_status: "temporarily_disabled",
          disabled_until: "2026-11-22T12:00:00Z",
        },
      ]),
    );
    gitlab.paginate(`${HOOKS}/7/events`, [logged(3, "Push Hook", {}, "200", 1), logged(2, "Push Hook", {}, "500", 2)], 20);
    gitlab.paginate(`${HOOKS}/8/events`, [logged(5, "Note Hook", {}, "internal error", 1)], 20);
    const { code, output } = await cli(["status", "--project", PROJECT]);
    expect(code).toBe(1);
    expect(output).toContain(
      `project hook of ${PROJECT} 7: https://a.example/hooks\n  events: push, merge_requests\n  alert_status: executable\n  last deliveries (newest first): 200 500\n  state: ok`,
    );
    expect(output).toContain(
      `project hook of ${PROJECT} 8: https://b.example/hooks\n  events: note\n  alert_status: temporarily_disabled, disabled_until: 2026-11-22T12:00:00Z`,
    );
    expect(output).toContain(
      `state: disabled (GitLab paused project hook of ${PROJECT} 8 (https://b.example/hooks) until 2026-11-22T12:00:00Z after 4 failures in a row`,
    );
    expect(output).toContain(
      `POST /api/v4/projects/flightjs%2Fflight-management/hooks/8/test/note_events), then fetch what it missed: gitlab-webhooks hooks recover --project ${PROJECT} --hook 8`,
    );
  });

  it("shows system hooks without a log", async () => {
    gitlab.route("GET /api/v4/hooks", (_req, _body, res) =>
      sendJson(res, 200, [{ id: 1, url: "https://a.example/hooks", repository_update_events: true, alert_status: "disabled" }]),
    );
    const { code, output } = await cli(["status", "--system"]);
    expect(code).toBe(1);
    expect(output).toContain("last deliveries: GitLab keeps no log of system hooks' deliveries");
    expect(output).toContain(
      "state: disabled (GitLab disabled system hook 1 (https://a.example/hooks) after repeated failures: send it a test request",
    );
  });
});
