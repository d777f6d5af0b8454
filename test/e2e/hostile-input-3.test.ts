import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { globMatcher } from "../../src/core/glob.js";
import { publicErrorText } from "../../src/http/routes/health.js";
import { openSqliteStore } from "../../src/store/sqlite/open-sqlite-store.js";
import type { Store } from "../../src/core/store.js";
import { parseReviewersPage } from "../../src/sinks/gitlab-mentions/reviewers-page.js";
import { postHook, startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { ENGINES } from "../helpers/engines.js";
import { startFakeGitLab, type FakeGitLab } from "../helpers/fake-gitlab.js";
import { sendJson } from "../helpers/fake-server.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { sleep } from "../helpers/sleep.js";
import { closeAfterTest, killAfterTest } from "../helpers/teardown.js";
import { spawnDaemon, type SpawnedDaemon } from "../../harness/spawn-daemon.js";
import { tempDir } from "../../harness/temp-dir.js";

const ADMIN = "hostile-admin-token-0123";
const FEED_TOKEN = "hostile-feed-token-0123";
const GITLAB_TOKEN = "glpat-hostile-mentions-bot";
/** The extglob that froze the daemon: picomatch's bash mode made it a nested quantifier. */
const HOSTILE_GLOB = "+(*)+(*)+(*)+(*)+(*)!";

let t: TestDaemon | undefined;
let spawned: SpawnedDaemon | undefined;
let gitlab: FakeGitLab | undefined;

const push = (path: string, id: number, extra: object = {}) => ({
  object_kind: "push",
  project: { id, path_with_namespace: path, visibility_level: 20 },
  ...extra,
});

/** A promise that fails when `ms` pass first: a request the daemon does not answer because its main thread is held. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} got no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** /healthz and /hooks answer as they usually do: within a fraction of GitLab's 10 s, however loaded the machine. */
async function answersPromptly(url: string): Promise<void> {
  expect((await within(3000, "/healthz", fetch(`${url}/healthz`))).status).toBe(200);
  expect((await within(3000, "/hooks", postHook(url, push("g/liveness", 900)))).status).toBe(202);
}

/** The `gitlab_webhooks_sse_subscribers` gauge, as /metrics shows it. */
async function subscriberGauge(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^gitlab_webhooks_sse_subscribers (\d+)$/m.exec(text)?.[1]);
}

describe("hostile input, third round", () => {
  it("1: refuses an extglob as a feed filter with a 400 naming it, and keeps /healthz and /hooks answering", async () => {
    spawned = killAfterTest(await spawnDaemon({ SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse" }, tempDir()));
    const url = spawned.url;
    // An 18-character public project path: one match of picomatch's form of the glob took a minute.
    expect((await postHook(url, push("abcdefgh/ijklmnopq", 1))).status).toBe(202);
    const controller = new AbortController();
    try {
      const feed = await fetch(`${url}/sse/?since=0&project=${encodeURIComponent(HOSTILE_GLOB)}`, { signal: controller.signal });
      await answersPromptly(url);
      expect(feed.status).toBe(400);
      const { error } = (await feed.json()) as { error: string };
      expect(error).toBe(
        `project=${JSON.stringify(HOSTILE_GLOB)} is not a project path glob: a glob holds only letters, digits, _ - . / and * (any characters, / included)`,
      );
    } finally {
      controller.abort();
    }
  });

  describe("1: a hostile reviewers page", () => {
    const MR_PATH = "/api/v4/projects/flightjs%2Fflight-management/merge_requests/16";

    /** A gitlab-mentions daemon of its own (a frozen one cannot hold up the tests) reading `page`; the notes it posts. */
    async function mentionsDaemon(
      page: string,
      changedFile: string,
      diffsStatus = 200,
    ): Promise<{ notes: string[]; url: string; dir: string }> {
      const notes: string[] = [];
      gitlab = closeAfterTest(await startFakeGitLab(GITLAB_TOKEN));
      gitlab.route("GET /api/v4/user", (_req, _body, res) => sendJson(res, 200, { id: 99, username: "reviewbot" }));
      gitlab.route("GET /api/v4/personal_access_tokens/self", (_req, _body, res) =>
        sendJson(res, 200, { id: 1, name: "bot", expires_at: "2099-01-01", scopes: ["api"] }),
      );
      gitlab.route(`GET /api/v4/projects/[^/]+/merge_requests/16/participants`, (_req, _body, res) => sendJson(res, 200, []));
      gitlab.route(`GET /api/v4/projects/[^/]+/merge_requests/16/diffs`, (_req, _body, res) =>
        sendJson(
          res,
          diffsStatus,
          diffsStatus === 200
            ? [{ new_path: changedFile, old_path: changedFile, new_file: false }]
            : { message: "500 Internal Server Error" },
        ),
      );
      gitlab.route(`GET /api/v4/projects/[^/]+/merge_requests/16/notes`, (_req, _body, res) => sendJson(res, 200, []));
      gitlab.route(`POST ${MR_PATH}/notes`, (_req, body, res) => {
        notes.push(String((JSON.parse(body) as { body: string }).body));
        sendJson(res, 201, { id: notes.length, body: "", author: { username: "reviewbot" } });
      });
      const dir = tempDir();
      writeFileSync(join(dir, "reviewers.wikitext"), page);
      spawned = killAfterTest(
        await spawnDaemon(
          {
            SOURCE_TOKEN: TEST_TOKEN,
            ADMIN_TOKEN: ADMIN,
            SINKS_ENABLED: "gitlab-mentions,log",
            LOG_EVENTS_TO: join(dir, "events.log"),
            GITLAB_URL: gitlab.url,
            GITLAB_TOKEN,
            REVIEWERS_FILE: join(dir, "reviewers.wikitext"),
            DATABASE_PATH: join(dir, "store.sqlite"),
          },
          dir,
        ),
      );
      return { notes, url: spawned.url, dir };
    }

    const openMergeRequest = (url: string) =>
      postHook(url, fixtureJson("project__merge_request_open.json"), { event: "Merge Request Hook" });

    /** Until a note is posted, the daemon keeps answering; then the note's mentions. */
    async function mentionedWhileAnswering(url: string, notes: string[]): Promise<string> {
      expect((await openMergeRequest(url)).status).toBe(202);
      for (const deadline = Date.now() + 8000; notes.length === 0;) {
        if (Date.now() > deadline) throw new Error("no mention note was posted");
        await answersPromptly(url);
        await sleep(50);
      }
      await answersPromptly(url);
      return (notes[0] as string).split(":")[0] as string;
    }

    it("skips an entry under an extglob heading, and lines that made the page's own parsing backtrack, and keeps answering", async () => {
      const page = [
        `== ${HOSTILE_GLOB} ==`,
        "* {{Gitlab-mention|mallory}}",
        // Each of these took JavaScript's regular expressions seconds to minutes.
        `=${" ".repeat(3000)}x`,
        `{{${" ".repeat(3000)}`,
        "<nowiki>".repeat(3000),
        "",
        "== flightjs/* ==",
        "* {{Gitlab-mention|alice}}",
      ].join("\n");
      const { notes, url } = await mentionsDaemon(page, "src/app.js");
      expect(await mentionedWhileAnswering(url, notes)).toBe("@alice");
    });

    it("runs file_regexp on RE2: ^(a+)+$ against a 28-character file name keeps the daemon answering", async () => {
      const page = ["== flightjs/* ==", "* {{Gitlab-mention|alice|file_regexp=<nowiki>^(a+)+$</nowiki>}}", "* {{Gitlab-mention|bob}}"].join(
        "\n",
      );
      const { notes, url } = await mentionsDaemon(page, `${"a".repeat(27)}!`);
      expect(await mentionedWhileAnswering(url, notes)).toBe("@bob");
    });

    it("5: shows no private project name, API path or file path on /healthz, and the whole text on /api/status", async () => {
      const { url, dir } = await mentionsDaemon("== * ==\n* {{Gitlab-mention|alice|file_regexp=<nowiki>x</nowiki>}}", "x", 500);
      const secret = { ...fixtureJson<{ project: Record<string, unknown> }>("project__merge_request_open.json") };
      secret.project = { ...secret.project, path_with_namespace: "secret/acquisition-target-2027" };
      expect((await postHook(url, secret, { event: "Merge Request Hook" })).status).toBe(202);
      const status = await waitFor(async () => {
        const text = await (await fetch(`${url}/api/status`, { headers: { Authorization: `Bearer ${ADMIN}` } })).text();
        return text.includes('lastError":{') ? text : undefined;
      }, 8000);
      expect(status).toContain("GET /api/v4/projects/secret%2Facquisition-target-2027/merge_requests/16/diffs");
      expect(status).toContain(join(dir, "reviewers.wikitext"));
      expect(status).toContain(join(dir, "events.log"));
      const health = await (await fetch(`${url}/healthz`)).text();
      expect(health).toContain("could not list the merge request's changed files: GitLab answered 500 to GET …");
      expect(health).not.toMatch(/secret|acquisition|\/api\/v4/);
      expect(health).not.toContain(dir);
    });
  });

  it("1: reads reviewers headings only as project path globs, and file_regexp only as RE2 takes it, each skip naming the line", () => {
    const { entries, warnings } = parseReviewersPage(
      [
        `== ${HOSTILE_GLOB} ==`,
        "* {{Gitlab-mention|mallory}}",
        "== a/* ==",
        "* {{Gitlab-mention|bob|file_regexp=<nowiki>(a)\\1</nowiki>}}",
        "* {{Gitlab-mention|carol|file_regexp=<nowiki>^(?!test/)</nowiki>}}",
        "* {{Gitlab-mention|dave|file_regexp=<nowiki>^(a+)+$</nowiki>}}",
      ].join("\n"),
    );
    expect(entries.map((entry) => entry.username)).toEqual(["dave"]);
    expect(entries[0]?.fileRegexp?.test(`${"a".repeat(27)}!`)).toBe(false);
    expect(warnings).toEqual([
      `line 2: the heading above it, ${JSON.stringify(HOSTILE_GLOB)} is not a project path glob: a glob holds only letters, digits, _ - . / and * (any characters, / included); skipped`,
      expect.stringMatching(
        /^line 4: file_regexp is not a valid regular expression for RE2 \(invalid escape sequence: \\1; RE2 has no backreferences or lookaround\); skipped$/,
      ),
      expect.stringMatching(/^line 5: file_regexp is not a valid regular expression for RE2 \(invalid perl operator: \(\?!/),
    ]);
  });

  it("1: refuses a PROJECT_TOKENS glob it cannot match safely, naming the glob and never the token", async () => {
    await expect(startTestDaemon({ PROJECT_TOKENS: `${HOSTILE_GLOB}=project-token-0123456789` })).rejects.toThrow(
      `PROJECT_TOKENS: ${JSON.stringify(HOSTILE_GLOB)} is not a project path glob`,
    );
  });

  it("2: caps the number and length of filter values with a 400 naming the limit, and shares one matcher per filter", async () => {
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "sse" }));
    const answer = async (query: string) => {
      const response = await fetch(`${t!.url}/sse/?${query}`);
      // An admitted subscriber's body is a stream that never ends.
      if (response.status === 200) return void (await response.body?.cancel());
      return { status: response.status, ...((await response.json()) as { error: string }) };
    };
    // The filter that cost 10 MB of heap per subscriber: 1,900 globs in a URL under 16 KB.
    const globs = Array.from({ length: 1900 }, (_, n) => `g${n}/*`).join(",");
    expect(await answer(`project=${globs}`)).toEqual({
      status: 400,
      error: "project= has 1900 values; the feed takes at most 20 per parameter",
    });
    expect(await answer(`type=push&type=${Array.from({ length: 20 }, () => "push").join(",")}`)).toEqual({
      status: 400,
      error: "type= has 21 values; the feed takes at most 20 per parameter",
    });
    expect(await answer(`action=${"x".repeat(256)}`)).toEqual({
      status: 400,
      error: "a value of action= is 256 characters long; the feed takes at most 255",
    });
    expect(globMatcher(["repos/releng/*", "mediawiki/core"])).toBe(globMatcher(["repos/releng/*", "mediawiki/core"]));
  });

  it("2: 100 subscribers with the largest filter the feed accepts, all different, cost under 200 MB", async () => {
    spawned = killAfterTest(await spawnDaemon({ SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse" }, tempDir()));
    const url = spawned.url;
    const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${spawned!.child.pid}/status`, "utf8"))?.[1]) / 1024;
    expect((await postHook(url, push("g/warm-up", 1))).status).toBe(202);
    const before = rssMb();
    // 20 globs of 255 characters each, none shared with another subscriber.
    const largest = (subscriber: number) =>
      Array.from({ length: 20 }, (_, value) => `${subscriber}-${value}/${"ab*".repeat(100)}`.slice(0, 255)).join(",");
    const statuses: number[] = [];
    const subscribers = Array.from({ length: 100 }, (_, n) => {
      const req = request(`${url}/sse/?project=${largest(n)}`, { agent: false }, (res) => {
        statuses.push(res.statusCode ?? 0);
        res.resume();
      });
      req.on("error", () => undefined);
      req.end();
      return req;
    });
    await waitFor(() => (statuses.length === 100 ? true : undefined), 10_000, "100 subscribers");
    expect(statuses).toEqual(statuses.map(() => 200));
    for (let n = 0; n < 20; n++) expect((await postHook(url, push(`${n}-${n}/abab`, 2, { n }))).status).toBe(202);
    const grownMb = rssMb() - before;
    for (const subscriber of subscribers) subscriber.destroy();
    expect(grownMb).toBeLessThan(200);
  });

  describe("3: feed slots", () => {
    /** The store, its idRange answering only after `ms`: a busy database, so that feed requests overlap their await. */
    function slowIdRange(store: Store, ms: number): Store {
      return new Proxy(store, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (typeof value !== "function") return value;
          const bound = (value as (...args: unknown[]) => unknown).bind(target);
          return property === "idRange" ? async () => (await sleep(ms), bound()) : bound;
        },
      });
    }
    const start = () =>
      startTestDaemon({ SINKS_ENABLED: "sse", SSE_MAX_CLIENTS: "20", SSE_TOKEN: FEED_TOKEN }, {}, undefined, {
        store: (config) => slowIdRange(openSqliteStore(config.DATABASE_PATH), 200),
      });

    it("admits at most the anonymous share of 50 subscribers arriving at once, and still a token holder", async () => {
      t = closeAfterTest(await start());
      const controller = new AbortController();
      try {
        const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${t!.url}/sse/`, { signal: controller.signal })));
        const admitted = answers.filter((response) => response.status === 200).length;
        expect(admitted).toBe(18);
        expect(answers.filter((response) => response.status === 503)).toHaveLength(32);
        const holder = await fetch(`${t.url}/sse/`, { headers: { Authorization: `Bearer ${FEED_TOKEN}` }, signal: controller.signal });
        expect(holder.status).toBe(200);
        expect(await subscriberGauge(t.url)).toBe(19);
      } finally {
        controller.abort();
      }
      await waitFor(async () => ((await subscriberGauge(t!.url)) === 0 ? true : undefined), 5000, "the gauge to return to 0");
    });

    it("gives a slot back when the client leaves while the store is read: 300 connect-and-abort cycles leave none taken", async () => {
      t = closeAfterTest(await start());
      const port = Number(new URL(t.url).port);
      const cycle = () =>
        new Promise<void>((resolve) => {
          const socket = connect(port, "127.0.0.1", () => {
            socket.write("GET /sse/ HTTP/1.1\r\nHost: x\r\n\r\n");
            setTimeout(() => socket.destroy(), 20);
          });
          socket.on("error", () => undefined);
          socket.on("close", () => resolve());
        });
      for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 30 }, cycle));
      await waitFor(async () => ((await subscriberGauge(t!.url)) === 0 ? true : undefined), 5000, "the gauge to return to 0");
      const controller = new AbortController();
      const anonymous = await fetch(`${t.url}/sse/`, { signal: controller.signal });
      controller.abort();
      expect(anonymous.status).toBe(200);
    });
  });

  // The daemon runs SQLite through its worker thread: the plain engine would be the same daemon twice.
  describe.each(ENGINES.filter((engine) => engine.name !== "sqlite"))("4: NUL and lone surrogates on $name", (engine) => {
    const test = engine.available ? it : it.skip;
    test("stores every authentic event, its payload as sent, and recognises a resend", async () => {
      t = closeAfterTest(await startTestDaemon({ ...engine.env(await engine.freshLocation()), SINKS_ENABLED: "log" }));
      const mergeRequest = (title: string, action: string, username: string, path: string) => {
        const body = fixtureJson<{
          object_attributes: Record<string, unknown>;
          user: Record<string, unknown>;
          project: Record<string, unknown>;
        }>("project__merge_request_open.json");
        Object.assign(body.object_attributes, { title, action });
        Object.assign(body.user, { username });
        Object.assign(body.project, { path_with_namespace: path });
        return JSON.stringify(body);
      };
      const cases = [
        {
          body: mergeRequest("fix\u0000it", "open\u0000", "al\u0000ice", "g/p\ud800"),
          meta: { title: "fix\ufffdit", action: "open\ufffd", username: "al\ufffdice", path: "g/p\ufffd" },
        },
        {
          body: mergeRequest("\udc00x", "open", "b\ud800ob", "g/n\u0000l"),
          meta: { title: "\ufffdx", action: "open", username: "b\ufffdob", path: "g/n\ufffdl" },
        },
      ];
      for (const { body, meta } of cases) {
        const deliveryId = randomUUID();
        const response = await postHook(t.url, body, { event: "Merge Request Hook", deliveryId });
        const answer = (await response.json()) as { id: number; error?: string };
        expect([response.status, answer.error]).toEqual([202, undefined]);
        const stored = await t.daemon.store.getEvent(answer.id);
        expect(stored?.payloadJson).toBe(body);
        expect({
          title: stored?.meta.object?.title,
          action: stored?.meta.action,
          username: stored?.meta.actor?.username,
          path: stored?.meta.project?.path,
        }).toEqual(meta);
        const resent = await postHook(t.url, body, { event: "Merge Request Hook", deliveryId });
        expect([resent.status, await resent.json()]).toEqual([200, { id: answer.id, duplicate: true }]);
      }
    });
  });

  it("5: takes API paths and this machine's file paths out of public error text", async () => {
    const missing = String(await readFile("/srv/hooks/reviewers.wikitext").catch((error: unknown) => error));
    const cases: [string, string][] = [
      [
        "could not list the merge request's changed files: GitLab answered 500 to GET /api/v4/projects/secret%2Facquisition-target-2027/merge_requests/16/diffs: 500 Internal Server Error",
        "could not list the merge request's changed files: GitLab answered 500 to GET …: 500 Internal Server Error",
      ],
      [
        `could not read the reviewers page (/srv/hooks/reviewers.wikitext): ${missing}`,
        "could not read the reviewers page (…): Error: ENOENT: no such file or directory, open '…'",
      ],
      ["EACCES: permission denied, open '/var/lib/hooks/events.log'", "EACCES: permission denied, open '…'"],
      ["GitLab at https://gitlab.example.org could not be reached", "GitLab at https://gitlab.example.org could not be reached"],
      ["GET https://gitlab.example.org/api/v4/projects/secret%2Fx failed", "GET https://gitlab.example.org/… failed"],
    ];
    for (const [message, shown] of cases) expect(publicErrorText(message)).toBe(shown);
  });

  it("6: takes ids and numbers in plain decimal digits within range, else a 400 naming the parameter", async () => {
    t = closeAfterTest(await startTestDaemon({ ADMIN_TOKEN: ADMIN, SINKS_ENABLED: "inventory" }));
    expect((await postHook(t.url, push("g/p", 1))).status).toBe(202);
    const api = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${t!.url}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      });
      return [response.status, ((await response.json()) as { error?: string }).error];
    };
    const eventId = "event id in the path must be a whole number from 1 (an event id), in plain digits";
    for (const id of ["0x1", "1e0", "%201%20", "1.0", "-1", "0", "99999999999999999999"]) {
      expect([id, ...(await api(`/api/events/${id}`))]).toEqual([id, 400, eventId]);
      expect([id, ...(await api(`/api/events/${id}/redeliver`, { method: "POST", body: "{}" }))]).toEqual([id, 400, eventId]);
    }
    expect(await api("/api/events/1")).toEqual([200, undefined]);
    expect(await api("/api/events?before=1e0")).toEqual([400, "before must be a whole number from 1 (an event id), in plain digits"]);
    expect(await api("/api/events?limit=1e1")).toEqual([400, "limit must be from 1 to 500"]);
    expect(await api("/api/deliveries?limit=0x10")).toEqual([400, "limit must be from 1 to 500"]);
    const offset = "offset must be a whole number from 0, in plain digits";
    for (const value of ["1e21", "0x1", "%201%20", "-1"])
      expect([value, ...(await api(`/api/projects?offset=${value}`))]).toEqual([value, 400, offset]);
    expect(await api("/api/projects?limit=1e2")).toEqual([400, "limit must be from 1 to 1000, in plain digits"]);
    expect(await api("/api/groups/g/projects?offset=1e0")).toEqual([400, offset]);
    expect((await api("/api/projects?offset=5&limit=10"))[0]).toBe(200);
  });
});
