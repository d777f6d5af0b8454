import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { entryMatches, usersToMention } from "../../src/sinks/gitlab-mentions/decide-mentions.js";
import { parseReviewersPage, type ReviewerEntry } from "../../src/sinks/gitlab-mentions/reviewers-page.js";
import { postHook, startTestDaemon, tempDir, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { startFakeGitLab, type FakeGitLab } from "../helpers/fake-gitlab.js";
import { sendJson, startFakeServer, type FakeServer } from "../helpers/fake-server.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { sleep } from "../helpers/sleep.js";
import { closeAfterTest } from "../helpers/teardown.js";

const GITLAB_TOKEN = "glpat-mentions-bot-token";
// The API is called with the project path the event authenticated, URL-encoded.
const MR_PATH = "/api/v4/projects/flightjs%2Fflight-management/merge_requests/16";

describe("reviewers page", () => {
  it("reads the example page in config/", () => {
    const { entries, warnings } = parseReviewersPage(
      readFileSync(new URL("../../config/reviewers.example.wikitext", import.meta.url), "utf8"),
    );
    expect(warnings).toEqual([]);
    expect(entries.map((e) => [e.projectGlob, e.username])).toEqual([
      ["mediawiki/core", "alice"],
      ["mediawiki/core", "bob"],
      ["repos/releng/*", "dave"],
      ["repos/releng/scap", "erin"],
      ["*", "frank"],
      ["*", "grace"],
    ]);
    expect(entries[1]?.fileRegexp?.test("INCLUDES/rest/Handler.php")).toBe(true);
    expect(entries[1]?.fileRegexp?.test("includes/db/x.php")).toBe(false);
  });

  it("reads every parameter, any heading level, and ignores other templates and comments", () => {
    const { entries, warnings } = parseReviewersPage(
      [
        "==== repos/releng/* ====",
        "* {{Gitlab-mention|a.b-c}} {{Gerrit-reviewer|x}}",
        "* {{ gitlab-mention | d | file_regexp = <nowiki>\\.(php|js){1}$</nowiki> | match_all_files }}",
        "* {{Gitlab_mention|e|only_match_new_files|file_regexp=<nowiki>^new/</nowiki>}}",
        "<!-- * {{Gitlab-mention|hidden}} -->",
        "= x/y =",
        "* {{Gitlab-mention|f}}",
      ].join("\n"),
    );
    expect(warnings).toEqual([]);
    expect(entries).toMatchObject([
      { projectGlob: "repos/releng/*", username: "a.b-c", fileRegexp: null, matchAllFiles: false, onlyMatchNewFiles: false },
      { projectGlob: "repos/releng/*", username: "d", matchAllFiles: true, onlyMatchNewFiles: false },
      { projectGlob: "repos/releng/*", username: "e", matchAllFiles: false, onlyMatchNewFiles: true },
      { projectGlob: "x/y", username: "f" },
    ]);
    expect(entries[1]?.fileRegexp?.test("A.PHP")).toBe(true);
  });

  it("skips malformed entries with a warning naming the line, keeping the rest", () => {
    const { entries, warnings } = parseReviewersPage(
      [
        "* {{Gitlab-mention|early}}",
        "== a/b ==",
        "* {{Gitlab-mention}}",
        "* {{Gitlab-mention|not a user!}}",
        "* {{Gitlab-mention|g|file_regexp=<nowiki>([</nowiki>}}",
        "* {{Gitlab-mention|h|colour=blue}}",
        "* {{Gitlab-mention|ok}}",
      ].join("\n"),
    );
    expect(entries.map((e) => e.username)).toEqual(["ok"]);
    expect(warnings).toEqual([
      expect.stringMatching(/^line 1: .*before any heading/),
      expect.stringMatching(/^line 3: no username/),
      expect.stringMatching(/^line 4: "not a user!" is not a GitLab username/),
      expect.stringMatching(/^line 5: file_regexp is not a valid regular expression/),
      expect.stringMatching(/^line 6: unknown parameter "colour=blue"/),
    ]);
  });
});

describe("mention decisions", () => {
  const entry = (extra: Partial<ReviewerEntry>): ReviewerEntry => ({
    projectGlob: "*",
    username: "u",
    fileRegexp: null,
    matchAllFiles: false,
    onlyMatchNewFiles: false,
    line: 1,
    ...extra,
  });
  const files = [
    { path: "src/a.php", isNew: false },
    { path: "docs/b.md", isNew: true },
  ];

  it("applies file_regexp, match_all_files and only_match_new_files", () => {
    expect(entryMatches(entry({}), [])).toBe(true);
    expect(entryMatches(entry({ fileRegexp: /\.PHP$/i }), files)).toBe(true);
    expect(entryMatches(entry({ fileRegexp: /\.php$/i, matchAllFiles: true }), files)).toBe(false);
    expect(entryMatches(entry({ fileRegexp: /^(src|docs)\//i, matchAllFiles: true }), files)).toBe(true);
    expect(entryMatches(entry({ fileRegexp: /\.php$/i, onlyMatchNewFiles: true }), files)).toBe(false);
    expect(entryMatches(entry({ fileRegexp: /\.md$/i, onlyMatchNewFiles: true }), files)).toBe(true);
    expect(entryMatches(entry({ fileRegexp: /x/i }), [])).toBe(false);
  });

  it("mentions each user once and never an excluded one", () => {
    const entries = [
      entry({ username: "Ann" }),
      entry({ username: "ann", fileRegexp: /x/ }),
      entry({ username: "bo" }),
      entry({ username: "cy" }),
    ];
    expect(usersToMention(entries, files, ["BO"])).toEqual(["Ann", "cy"]);
  });
});

describe("gitlab-mentions sink", () => {
  let t: TestDaemon | undefined;
  let gitlab: FakeGitLab | undefined;
  let wiki: FakeServer | undefined;

  interface World {
    notes: { body: string; author: { username: string } }[];
    diffs: { new_path: string; old_path: string; new_file: boolean }[];
    participants: { username: string }[];
    expiresAt: string | null;
    wikitext: string;
    wikiFetches: number;
    wikiDown: boolean;
  }

  const PAGE = [
    "== flightjs/* ==",
    "* {{Gitlab-mention|alice}}",
    "* {{Gitlab-mention|agarcia}}",
    "* {{Gitlab-mention|reviewbot}}",
    "* {{Gitlab-mention|pat}}",
    "* {{Gitlab-mention|phil|file_regexp=<nowiki>\\.php$</nowiki>}}",
    "* {{Gitlab-mention|dora|file_regexp=<nowiki>^docs/</nowiki>|match_all_files}}",
    "== other/* ==",
    "* {{Gitlab-mention|olga}}",
  ].join("\n");

  async function start(env: Record<string, string> = {}, world: Partial<World> = {}): Promise<World> {
    const w: World = {
      notes: [],
      diffs: [{ new_path: "src/app.js", old_path: "src/app.js", new_file: false }],
      participants: [{ username: "agarcia" }, { username: "pat" }],
      expiresAt: "2099-01-01",
      wikitext: PAGE,
      wikiFetches: 0,
      wikiDown: false,
      ...world,
    };
    gitlab = closeAfterTest(await startFakeGitLab(GITLAB_TOKEN));
    gitlab.route("GET /api/v4/user", (_req, _body, res) => sendJson(res, 200, { id: 99, username: "reviewbot" }));
    gitlab.route("GET /api/v4/personal_access_tokens/self", (_req, _body, res) =>
      sendJson(res, 200, { id: 1, name: "bot", expires_at: w.expiresAt, scopes: ["api"] }),
    );
    gitlab.route(`GET ${MR_PATH}/participants`, (_req, _body, res) => sendJson(res, 200, w.participants));
    gitlab.route(`GET ${MR_PATH}/diffs`, (_req, _body, res) => sendJson(res, 200, w.diffs));
    gitlab.route(`GET ${MR_PATH}/notes`, (_req, _body, res) => sendJson(res, 200, w.notes));
    gitlab.route(`POST ${MR_PATH}/notes`, (_req, body, res) => {
      const note = { id: w.notes.length + 1, body: String((JSON.parse(body) as { body: string }).body), author: { username: "reviewbot" } };
      w.notes.push(note);
      sendJson(res, 201, note);
    });
    wiki = closeAfterTest(
      await startFakeServer((req, _body, res) => {
        w.wikiFetches++;
        const url = new URL(req.url ?? "/", "http://x");
        if (w.wikiDown) return sendJson(res, 503, { error: "down" });
        expect(Object.fromEntries(url.searchParams)).toMatchObject({
          action: "parse",
          page: "Git/Reviewers",
          prop: "wikitext",
          format: "json",
          formatversion: "2",
        });
        sendJson(res, 200, { parse: { title: "Git/Reviewers", pageid: 1, wikitext: w.wikitext } });
      }),
    );
    t = closeAfterTest(
      await startTestDaemon({
        SINKS_ENABLED: "gitlab-mentions",
        LOG_EVENTS_TO: "",
        GITLAB_URL: gitlab.url,
        GITLAB_TOKEN,
        REVIEWERS_URL: `${wiki.url}/w/api.php?action=parse&page=Git/Reviewers&prop=wikitext&format=json&formatversion=2`,
        ...env,
      }),
    );
    return w;
  }

  function mergeRequest(action: string, extra: Record<string, unknown> = {}) {
    const body = fixtureJson("project__merge_request_open.json") as { object_attributes: Record<string, unknown> };
    Object.assign(body.object_attributes, { action, ...extra });
    return body;
  }

  async function deliver(body: object): Promise<void> {
    const response = await postHook(t!.url, body, { event: "Merge Request Hook", deliveryId: randomUUID() });
    const { id } = (await response.json()) as { id: number };
    await waitFor(async () => {
      const state = (await t!.daemon.store.deliveriesOf(id)).find((d) => d.sink === "gitlab-mentions");
      return state === undefined || state.status !== "pending" ? true : undefined;
    }, 8000);
  }

  it("on open, posts one note mentioning who asked, except the author, participants and the bot", async () => {
    const w = await start();
    await deliver(mergeRequest("open"));
    expect(w.notes.map((n) => n.body)).toEqual([
      `@alice: you asked on [Git/Reviewers](${t!.config.REVIEWERS_URL}) to hear about merge requests to \`flightjs/flight-management\`.`,
    ]);
  });

  it("never mentions the same person twice on one MR, and posts nothing when nobody is new", async () => {
    const w = await start();
    await deliver(mergeRequest("open"));
    await deliver(mergeRequest("reopen"));
    expect(w.notes).toHaveLength(1);
  });

  it("on a push, mentions only people who newly match; not on close, merge, or an update without commits", async () => {
    const w = await start();
    await deliver(mergeRequest("open"));
    w.diffs.push({ new_path: "src/api.php", old_path: "src/api.php", new_file: true });
    await deliver(mergeRequest("update"));
    await deliver(mergeRequest("close", { oldrev: "abc" }));
    await deliver(mergeRequest("merge"));
    expect(w.notes).toHaveLength(1);
    await deliver(mergeRequest("update", { oldrev: "e59094b8de0f2f91abbe4760a52d9137260252d8" }));
    expect(w.notes.map((n) => n.body.split(":")[0])).toEqual(["@alice", "@phil"]);
  });

  it("applies match_all_files", async () => {
    const w = await start(
      {},
      {
        diffs: [
          { new_path: "docs/a.md", old_path: "docs/a.md", new_file: false },
          { new_path: "docs/b.md", old_path: "docs/b.md", new_file: true },
        ],
      },
    );
    await deliver(mergeRequest("open"));
    expect(w.notes[0]?.body).toMatch(/^@alice @dora:/);
  });

  it("caches the page for REVIEWERS_TTL and keeps the last good copy when a refresh fails", async () => {
    const w = await start({ REVIEWERS_TTL: "1" });
    await deliver(mergeRequest("open"));
    const fetches = w.wikiFetches;
    expect(fetches).toBeGreaterThanOrEqual(1);
    await deliver(mergeRequest("reopen"));
    expect(w.wikiFetches).toBe(fetches);
    w.wikiDown = true;
    w.wikitext = "";
    await sleep(1100);
    w.participants = [];
    await deliver(mergeRequest("update", { oldrev: "abc" }));
    expect(w.wikiFetches).toBe(fetches + 1);
    expect(t!.logs()).toMatch(/warn.*could not refresh the reviewers page.*keeping the last good copy/);
    // pat stopped being a participant; agarcia is the author and is never mentioned.
    expect(w.notes.map((n) => n.body.split(":")[0])).toEqual(["@alice", "@pat"]);
  });

  it("reads REVIEWERS_FILE first", async () => {
    const dir = tempDir();
    const file = join(dir, "reviewers.wikitext");
    writeFileSync(file, "== flightjs/flight-management ==\n* {{Gitlab-mention|filed}}\n");
    const w = await start({ REVIEWERS_FILE: file });
    await deliver(mergeRequest("open"));
    expect(w.wikiFetches).toBe(0);
    expect(w.notes[0]?.body).toBe("@filed: you asked on the reviewers page to hear about merge requests to `flightjs/flight-management`.");
  });

  it("warns when GITLAB_TOKEN expires within 14 days and shows the date on /healthz", async () => {
    const soon = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
    await start({}, { expiresAt: soon });
    expect(t!.logs()).toMatch(new RegExp(`warn GITLAB_TOKEN expires on ${soon}, in [56] days`));
    const health = (await (await fetch(`${t!.url}/healthz`)).json()) as {
      status: string;
      sinks: Record<string, { tokenExpiresAt: string; state: string; reason: string }>;
    };
    expect(health.sinks["gitlab-mentions"]).toMatchObject({
      tokenExpiresAt: soon,
      state: "degraded",
      reason: expect.stringMatching(`GITLAB_TOKEN expires on ${soon}`),
    });
    expect(health.status).toBe("degraded");
  });

  it("logs an error once GITLAB_TOKEN has expired", async () => {
    await start({}, { expiresAt: "2020-01-01" });
    expect(t!.logs()).toMatch(/error GITLAB_TOKEN expired on 2020-01-01/);
  });

  it("retries through a 401, logging an error that names GITLAB_TOKEN, and loses nothing once a token works again", async () => {
    const w = await start({ RETRY_MIN_MS: "50", RETRY_MAX_MS: "100" });
    gitlab!.failAll = 401;
    const response = await postHook(t!.url, mergeRequest("open"), { event: "Merge Request Hook" });
    const { id } = (await response.json()) as { id: number };
    await waitFor(async () => {
      const state = (await t!.daemon.store.deliveriesOf(id)).find((d) => d.sink === "gitlab-mentions");
      return state && state.attempts >= 2 ? true : undefined;
    });
    expect(t!.logs()).toMatch(/error gitlab-mentions: GitLab refused GITLAB_TOKEN \(401\)/);
    expect(t!.logs()).not.toContain(GITLAB_TOKEN);
    // Configuration, not an outage: the status is kept for the API and the dashboard.
    expect((await t!.daemon.store.deliveriesOf(id)).find((d) => d.sink === "gitlab-mentions")?.lastErrorStatus).toBe(401);
    // /healthz tells why, still with 200: the daemon takes events; its downstream refuses it.
    const health = await fetch(`${t!.url}/healthz`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as {
      status: string;
      sinks: Record<string, { state: string; reason: string; since: string; lastError: { status: number } }>;
    };
    expect(body.status).toBe("degraded");
    expect(body.sinks["gitlab-mentions"]).toMatchObject({
      state: "failing",
      reason: expect.stringMatching(/refuses its credentials \(HTTP 401\)/),
      lastError: { status: 401 },
    });
    expect(Date.parse(body.sinks["gitlab-mentions"]?.since ?? "")).toBeLessThanOrEqual(Date.now());
    gitlab!.failAll = null;
    await waitFor(() => (w.notes.length === 1 ? true : undefined), 5000);
    // Once the delivery is recorded, the sink is ok again.
    const recovered = await waitFor(
      async () => {
        const now = (await (await fetch(`${t!.url}/healthz`)).json()) as {
          status: string;
          sinks: Record<string, { state: string; lastDeliveredAt: string | null }>;
        };
        return now.status === "ok" ? now : undefined;
      },
      5000,
      "/healthz to be ok again",
    );
    expect(recovered.sinks["gitlab-mentions"]).toMatchObject({ state: "ok", lastDeliveredAt: expect.any(String) });
  });

  it("waits as long as GitLab's Retry-After says on a 429, and keeps the status", async () => {
    const w = await start({ RETRY_MIN_MS: "20", RETRY_MAX_MS: "50" });
    gitlab!.failAll = 429;
    gitlab!.failHeaders = { "Retry-After": "2" };
    const response = await postHook(t!.url, mergeRequest("open"), { event: "Merge Request Hook" });
    const { id } = (await response.json()) as { id: number };
    const posted = Date.now();
    const waiting = await waitFor(async () => {
      const state = (await t!.daemon.store.deliveriesOf(id)).find((d) => d.sink === "gitlab-mentions");
      return state && state.attempts >= 1 ? state : undefined;
    });
    expect(waiting).toMatchObject({ status: "pending", attempts: 1, lastErrorStatus: 429 });
    expect(waiting.lastError).toMatch(/GitLab answered 429 to GET \/api\/v4\/projects\/flightjs%2Fflight-management\/merge_requests\/16\//);
    expect(Date.parse(waiting.nextAttemptAt ?? "") - posted).toBeGreaterThanOrEqual(1500);
    gitlab!.failAll = null;
    await waitFor(() => (w.notes.length === 1 ? true : undefined), 5000);
    expect(Date.now() - posted).toBeGreaterThanOrEqual(1500);
  });

  it("names GitLab's URL and the cause when it cannot be reached", async () => {
    await start();
    const down = gitlab!.url;
    await gitlab!.close();
    const response = await postHook(t!.url, mergeRequest("open"), { event: "Merge Request Hook" });
    const { id } = (await response.json()) as { id: number };
    const state = await waitFor(async () => {
      const found = (await t!.daemon.store.deliveriesOf(id)).find((d) => d.sink === "gitlab-mentions");
      return found && found.attempts >= 1 ? found : undefined;
    });
    const port = new URL(down).port;
    expect(state.lastError).toContain(`GitLab at ${down} could not be reached (ECONNREFUSED 127.0.0.1:${port})`);
    expect(state.lastErrorStatus).toBeNull();
  });

  it("refuses to start without GITLAB_TOKEN, naming it", async () => {
    await expect(startTestDaemon({ SINKS_ENABLED: "gitlab-mentions" })).rejects.toThrow(
      /^GITLAB_TOKEN is required by the gitlab-mentions sink/,
    );
  });
});
