import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ClaimLostError, runUnderClaim } from "../../src/core/delivery-claim.js";
import { commentText, literalText } from "../../src/sinks/phabricator/comment.js";
import { ConduitClient } from "../../src/sinks/phabricator/conduit-client.js";
import { taskReferences } from "../../src/sinks/phabricator/task-references.js";
import { postHook, startTestDaemon, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { startFakeConduit, type FakeConduit } from "../helpers/fake-conduit.js";
import { startFakeGitLab, type FakeGitLab } from "../helpers/fake-gitlab.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { sleep } from "../helpers/sleep.js";
import { closeAfterTest } from "../helpers/teardown.js";

const PHAB_TOKEN = "api-abcdefghijklmnopqrstuvwxyz12";
const GITLAB_TOKEN = "glpat-test-token-for-commits";
const MR_URL = "http://gitlab.example.com/flightjs/flight-management/-/merge_requests/16";

let t: TestDaemon | undefined;
let conduit: FakeConduit | undefined;
let gitlab: FakeGitLab | undefined;

async function start(env: Record<string, string> = {}, tasks = ["T1", "T2", "T3", "T4", "T5"]) {
  conduit = closeAfterTest(await startFakeConduit({ token: PHAB_TOKEN, tasks, projects: { "patch-for-review": "PHID-PROJ-pfr" } }));
  t = closeAfterTest(
    await startTestDaemon({
      SINKS_ENABLED: "phabricator",
      LOG_EVENTS_TO: "",
      PHABRICATOR_URL: conduit.url,
      PHABRICATOR_TOKEN: PHAB_TOKEN,
      PHABRICATOR_TIMEOUT_MS: "300",
      ...env,
    }),
  );
  return { t, conduit };
}

type Mr = ReturnType<typeof fixtureJson> & {
  object_attributes: Record<string, unknown>;
  project: Record<string, unknown>;
  changes: Record<string, unknown>;
};

/** GitLab's documented MR body, made public and given a description and last commit. */
function mergeRequest(action: string, description: string, commitMessage = "Fix things", extra: Record<string, unknown> = {}): Mr {
  const body = fixtureJson("project__merge_request_open.json") as Mr;
  body.project.visibility_level = 20;
  body.changes = {};
  Object.assign(body.object_attributes, { action, description, last_commit: { id: "c0ffee1", message: commitMessage }, ...extra });
  return body;
}

async function deliver(body: object, event = "Merge Request Hook", deliveryId: string = randomUUID()): Promise<number> {
  const response = await postHook(t!.url, body, { event, deliveryId });
  expect(response.status).toBeLessThan(300);
  const { id } = (await response.json()) as { id: number };
  await waitFor(
    async () => {
      const state = (await t!.daemon.store.deliveriesOf(id)).find((d) => d.sink === "phabricator");
      return state === undefined || state.status !== "pending" ? true : undefined;
    },
    8000,
    "the phabricator delivery to settle",
  );
  return id;
}

async function postAndReadId(body: object): Promise<number> {
  const response = await postHook(t!.url, body, { event: "Merge Request Hook" });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: number }).id;
}

const edits = () => conduit!.calls.filter((call) => call.method === "maniphest.edit");

describe("task references", () => {
  it("reads Bug: lines, any case, spaces around the colon, several lines, merged", () => {
    expect(taskReferences(["Fix it\n\nBug: T1\nbug : T22\nBUG:T333  ", "Bug: T1\nBug: t4"])).toEqual(["T1", "T22", "T333", "T4"]);
  });

  it("ignores T123 in prose and lines that say more", () => {
    expect(taskReferences(["This fixes T123.\nSee Bug: T5 and T6\nBug: T7, T8\n> Bug: T9\nBug: T0\nNot-Bug: T10"])).toEqual([]);
  });
});

describe("comment text", () => {
  it("keeps a hostile title inside the literal", () => {
    const text = commentText({
      actor: "@admin **x**",
      action: "merge",
      url: MR_URL,
      projectPath: "a/b",
      targetBranch: "main",
      title: "Oops %%% @alice {{{ [[link]]\n= Heading 100%",
    });
    const [first, blank, literal] = text.split("\n");
    expect(first).toBe(`adminx merged ${MR_URL}`);
    expect(blank).toBe("");
    expect(text.split("\n")).toHaveLength(3);
    expect(literal?.startsWith("%%%[a/b@main] Oops")).toBe(true);
    expect(literal?.endsWith("%%%")).toBe(true);
    // Only the opening and closing delimiters remain as runs of three percent signs.
    expect(literal?.slice(3, -3)).not.toMatch(/%%/);
    expect(literal?.slice(-4, -3)).not.toBe("%");
    expect(literalText("50%")).toBe("50%\u200b");
  });
});

describe("phabricator sink", () => {
  const verbs: [string, string][] = [
    ["open", "opened"],
    ["reopen", "reopened"],
    ["merge", "merged"],
    ["close", "closed"],
  ];
  for (const [action, verb] of verbs) {
    it(`comments "${verb}" on ${action}, on every task of the description and last commit`, async () => {
      await start();
      await deliver(mergeRequest(action, "Validate bookings.\n\nBug: T1", "Add validation\n\nBug: T2"));
      const expected = `agarcia ${verb} ${MR_URL}\n\n%%%[flightjs/flight-management@main] Add input validation to booking form%%%`;
      expect(conduit!.comments.get("T1")).toEqual([expected]);
      expect(conduit!.comments.get("T2")).toEqual([expected]);
      expect(conduit!.comments.get("T3")).toEqual([]);
    });
  }

  it("finds references in every commit of the MR through the GitLab API, across pages", async () => {
    gitlab = closeAfterTest(await startFakeGitLab(GITLAB_TOKEN));
    gitlab.paginate("/api/v4/projects/flightjs%2Fflight-management/merge_requests/16/commits", [
      { id: "a", message: "First\n\nBug: T3" },
      { id: "b", message: "Second, about T4 in prose" },
      { id: "c", message: "Third\nBug: T5" },
    ]);
    await start({ GITLAB_URL: gitlab.url, GITLAB_TOKEN });
    await deliver(mergeRequest("open", "No references here"));
    expect([...conduit!.comments].filter(([, list]) => list.length > 0).map(([task]) => task)).toEqual(["T3", "T5"]);
    expect(gitlab.requests.map((r) => r.path)).toEqual([
      "/api/v4/projects/flightjs%2Fflight-management/merge_requests/16/commits",
      expect.stringMatching(/commits\?.*page=2/),
    ]);
  });

  it("on update, comments only on newly referenced tasks, once per push", async () => {
    await start();
    await deliver(mergeRequest("open", "Bug: T1"));
    // A description edit that adds T2.
    await deliver(mergeRequest("update", "Bug: T1\nBug: T2", "Fix things", { oldrev: undefined }));
    await deliver({
      ...mergeRequest("update", "Bug: T1\nBug: T2"),
      changes: { description: { previous: "Bug: T1", current: "Bug: T1\nBug: T2" } },
    });
    // A push whose new commit names T3.
    const push = mergeRequest("update", "Bug: T1\nBug: T2", "More\n\nBug: T3", {
      oldrev: "c0ffee1",
      last_commit: { id: "beef2", message: "More\n\nBug: T3" },
    });
    await deliver(push);
    // A label change: no new task, nothing posted.
    await deliver(mergeRequest("update", "Bug: T1\nBug: T2"));
    const added = `agarcia added a reference in ${MR_URL}`;
    expect(conduit!.comments.get("T1")?.map((c) => c.split("\n")[0])).toEqual([`agarcia opened ${MR_URL}`]);
    expect(conduit!.comments.get("T2")?.map((c) => c.split("\n")[0])).toEqual([added]);
    expect(conduit!.comments.get("T3")?.map((c) => c.split("\n")[0])).toEqual([added]);
  });

  it("posts nothing new for GitLab's resend, a redelivery, or the same MR through a system hook", async () => {
    await start();
    const body = mergeRequest("merge", "Bug: T1\nBug: T2");
    const deliveryId = randomUUID();
    const id = await deliver(body, "Merge Request Hook", deliveryId);
    await deliver(body, "Merge Request Hook", deliveryId);
    await deliver(body); // a manual resend with a new delivery id
    await deliver(body, "System Hook");
    await t!.daemon.dispatcher.requeue((await t!.daemon.store.getEvent(id))!.toEvent(), ["phabricator"]);
    await sleep(200);
    expect(conduit!.comments.get("T1")).toHaveLength(1);
    expect(conduit!.comments.get("T2")).toHaveLength(1);
  });

  it("after a partial failure, retries only the task that failed", async () => {
    await start();
    conduit = conduit!;
    conduit.failWhen((call) => call.method === "maniphest.edit" && call.params.objectIdentifier === "T2", "http500");
    const id = await deliver(mergeRequest("open", "Bug: T1\nBug: T2\nBug: T3"));
    expect(conduit.comments.get("T1")).toHaveLength(1);
    expect(conduit.comments.get("T2")).toHaveLength(1);
    expect(conduit.comments.get("T3")).toHaveLength(1);
    const state = (await t!.daemon.store.deliveriesOf(id)).find((d) => d.sink === "phabricator");
    expect(state).toMatchObject({ status: "delivered", attempts: 2 });
    expect(edits().map((call) => call.params.objectIdentifier)).toEqual(["T1", "T2", "T3", "T2"]);
  });

  it("lets a merge request whose comment keeps failing hold back none of its project's other merge requests", async () => {
    // Backoff in minutes, as configured by default: the failing MR's next try is far away.
    await start({ RETRY_MIN_MS: "300000", RETRY_MAX_MS: "900000" });
    const refused = { error_code: "ERR-CONDUIT-CORE", error_info: "You do not have permission to edit this object." };
    conduit!.failWhen((call) => call.method === "maniphest.edit" && call.params.objectIdentifier === "T1", refused, 1000);
    const stuckId = await postAndReadId(mergeRequest("open", "Bug: T1"));
    const stuck = await waitFor(
      async () => {
        const state = (await t!.daemon.store.deliveriesOf(stuckId)).find((d) => d.sink === "phabricator");
        return state && state.attempts === 1 ? state : undefined;
      },
      8000,
      "the first attempt on MR !16 to fail",
    );
    expect(stuck.status).toBe("pending");
    expect(Date.parse(stuck.nextAttemptAt ?? "") - Date.now()).toBeGreaterThan(60_000);

    // Another MR of the same project is commented on at once.
    const other = mergeRequest("open", "Bug: T2", "Fix things", { iid: 17, url: MR_URL.replace(/16$/, "17") });
    await deliver(other);
    expect(conduit!.comments.get("T2")?.map((c) => c.split("\n")[0])).toEqual([`agarcia opened ${MR_URL.replace(/16$/, "17")}`]);

    // The failing MR's own later event still waits behind it: order holds within one merge request.
    const mergedId = await postAndReadId(mergeRequest("merge", "Bug: T1"));
    await sleep(300);
    expect((await t!.daemon.store.deliveriesOf(mergedId)).find((d) => d.sink === "phabricator")).toMatchObject({
      status: "pending",
      attempts: 0,
    });
    expect(conduit!.comments.get("T1")).toEqual([]);
  });

  it("retries a timeout, and does not post twice when the timed-out call had gone through", async () => {
    await start();
    conduit!.applyThenHang((call) => call.method === "maniphest.edit");
    await deliver(mergeRequest("open", "Bug: T1"));
    expect(conduit!.comments.get("T1")).toHaveLength(1);
    expect(conduit!.calls.map((call) => call.method)).toContain("transaction.search");
  });

  it("keeps private and internal projects' merge requests off tasks unless PHABRICATOR_PRIVATE=true", async () => {
    await start();
    for (const level of [0, 10]) {
      const body = mergeRequest("open", "Bug: T1");
      body.project.visibility_level = level;
      await deliver(body);
    }
    expect(edits()).toHaveLength(0);
    await t!.close();
    await conduit!.close();
    await start({ PHABRICATOR_PRIVATE: "true" });
    const body = mergeRequest("open", "Bug: T1");
    body.project.visibility_level = 0;
    await deliver(body);
    expect(conduit!.comments.get("T1")).toHaveLength(1);
  });

  it("skips a task that does not exist with a warning, and still comments on the others", async () => {
    await start();
    const id = await deliver(mergeRequest("open", "Bug: T404\nBug: T1"));
    expect(conduit!.comments.get("T1")).toHaveLength(1);
    expect((await t!.daemon.store.deliveriesOf(id)).find((d) => d.sink === "phabricator")?.status).toBe("delivered");
    expect(t!.logs()).toMatch(/warn.*task that does not exist.*T404/);
  });

  it("retries a refused token, logs an error naming PHABRICATOR_TOKEN, and never logs the token", async () => {
    await start({ MAX_ATTEMPTS: "2" });
    conduit!.failWhen(() => true, { error_code: "ERR-INVALID-AUTH", error_info: `API token "${PHAB_TOKEN}" is invalid.` }, 10);
    const id = await deliver(mergeRequest("open", "Bug: T1"));
    const state = (await t!.daemon.store.deliveriesOf(id)).find((d) => d.sink === "phabricator");
    expect(state?.attempts).toBe(2);
    expect(state?.lastError).toMatch(/ERR-INVALID-AUTH/);
    expect(state?.lastError).not.toContain(PHAB_TOKEN);
    expect(t!.logs()).toMatch(/error.*PHABRICATOR_TOKEN/);
    expect(t!.logs()).not.toContain(PHAB_TOKEN);
  });

  it("shows on /healthz that Phabricator is unreachable: failing, since when, and the cause, without a task's path", async () => {
    await start({ RETRY_MIN_MS: "20", RETRY_MAX_MS: "50" });
    const where = new URL(conduit!.url).host;
    await conduit!.close();
    await postAndReadId(mergeRequest("open", "Bug: T1"));
    type Health = {
      status: string;
      sinks: { phabricator: { state: string; reason: string; since: string; pending: number; lastError: { message: string } } };
    };
    const health = await waitFor(
      async () => {
        const body = (await (await fetch(`${t!.url}/healthz`)).json()) as Health;
        return body.sinks.phabricator.state === "failing" ? body : undefined;
      },
      8000,
      "the phabricator sink to be failing",
    );
    expect(health.status).toBe("degraded");
    expect(health.sinks.phabricator).toMatchObject({ reason: expect.stringMatching(/deliveries in a row failed/), pending: 1 });
    expect(health.sinks.phabricator.lastError.message).toContain(`ECONNREFUSED ${where}`);
    expect(health.sinks.phabricator.lastError.message).not.toMatch(/\/api\/maniphest/);
    expect(Date.now() - Date.parse(health.sinks.phabricator.since)).toBeLessThan(8000);
    expect(JSON.stringify(health)).not.toContain(PHAB_TOKEN);
  });

  it("adds PHABRICATOR_PATCH_FOR_REVIEW on open, in the same edit", async () => {
    await start({ PHABRICATOR_PATCH_FOR_REVIEW: "Patch-For-Review" });
    await deliver(mergeRequest("open", "Bug: T1"));
    await deliver(mergeRequest("merge", "Bug: T1"));
    const [open, merge] = edits();
    expect(open?.params.transactions).toMatchObject({ 0: { type: "comment" }, 1: { type: "projects.add", value: { 0: "PHID-PROJ-pfr" } } });
    expect(Object.keys(merge?.params.transactions as object)).toEqual(["0"]);
  });

  it("only logs what it would post with PHABRICATOR_DRY_RUN=true", async () => {
    await start({ PHABRICATOR_DRY_RUN: "true" });
    await deliver(mergeRequest("open", "Bug: T1"));
    expect(edits()).toHaveLength(0);
    expect(t!.logs()).toMatch(/dry run: would comment on a Phabricator task.*T1.*agarcia opened/);
  });

  it("logs at start-up which account will post", async () => {
    await start();
    expect(t!.logs()).toMatch(/comments will be posted as gitlab-bot/);
  });

  it("refuses to start without PHABRICATOR_TOKEN, naming it", async () => {
    await expect(startTestDaemon({ SINKS_ENABLED: "phabricator", PHABRICATOR_URL: "http://127.0.0.1:9" })).rejects.toThrow(
      /^PHABRICATOR_TOKEN is required by the phabricator sink/,
    );
  });
});

describe("the Conduit client inside a delivery", () => {
  it("stops waiting for Phabricator the moment the delivery's claim is lost, with the claim's reason", async () => {
    conduit = closeAfterTest(await startFakeConduit({ token: PHAB_TOKEN, tasks: ["T1"] }));
    conduit.applyThenHang((call) => call.method === "maniphest.edit");
    const client = new ConduitClient({ url: conduit.url, token: PHAB_TOKEN, timeoutMs: 20_000 });
    const claim = new AbortController();
    const started = Date.now();
    const call = runUnderClaim({ holds: () => true, signal: claim.signal }, () =>
      client.call("maniphest.edit", { objectIdentifier: "T1", transactions: [{ type: "comment", value: "hi" }] }),
    ).catch((error: unknown) => error);
    await sleep(200);
    claim.abort(new ClaimLostError("another daemon took the delivery's claim over"));
    const error = await call;
    expect(error).toBeInstanceOf(ClaimLostError);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
