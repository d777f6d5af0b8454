import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { postHook, tempDir, TEST_TOKEN, waitFor } from "../helpers/daemon.js";
import { fixtureBody } from "../helpers/fixtures.js";
import { runCli, spawnDaemon } from "../../harness/spawn-daemon.js";
import { sleep } from "../helpers/sleep.js";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const lines = (text: string) => text.split("\n").filter((line) => line.startsWith("#"));

describe("gitlab-webhooks tail", () => {
  it("prints one line per event and misses nothing across a daemon restart", async () => {
    const dir = tempDir();
    const port = String(await freePort());
    const env = {
      SOURCE_TOKEN: TEST_TOKEN,
      SSE_TOKEN: "tail-token-xyz",
      SINKS_ENABLED: "sse",
      DATABASE_PATH: join(dir, "s.sqlite"),
      PORT: port,
    };
    let daemon = await spawnDaemon(env);
    const tail = runCli(["tail", `http://127.0.0.1:${port}/sse/`, "--token", "tail-token-xyz"], {});
    await waitFor(async () => {
      const health = (await (await fetch(`${daemon.url}/healthz`)).json()) as { sinks: { sse: { subscribers: number } } };
      return health.sinks.sse.subscribers === 1 ? true : undefined;
    });
    await postHook(daemon.url, fixtureBody("project__merge_request_open.json"), { event: "Merge Request Hook" });
    await postHook(daemon.url, fixtureBody("project__push.json"));
    await waitFor(() => (lines(tail.output()).length === 2 ? true : undefined));

    daemon.child.kill("SIGTERM");
    await daemon.exited;
    // Posted while tail is away: it must replay these after reconnecting.
    daemon = await spawnDaemon(env);
    await postHook(daemon.url, fixtureBody("project__issue.json"), { event: "Issue Hook" });
    await postHook(daemon.url, fixtureBody("project__note_merge_request.json"), { event: "Note Hook" });
    await waitFor(() => (lines(tail.output()).length === 4 ? true : undefined), 15_000, "tail to catch up");
    await sleep(300);
    tail.child.kill("SIGINT");
    daemon.child.kill("SIGTERM");
    await Promise.all([tail.exited, daemon.exited]);

    expect(lines(tail.output())).toEqual([
      '#1 merge_request open flightjs/flight-management !16 @agarcia "Add input validation to booking form" http://gitlab.example.com/flightjs/flight-management/-/merge_requests/16',
      '#2 push mike/diaspora master @jsmith "fixed readme" http://example.com/mike/diaspora/-/compare/95790bf891e7...da1560886d4f',
      '#3 issue open gitlabhq/gitlab-test #23 @root "New API: create/update/delete file" http://example.com/diaspora/issues/23',
      '#4 note create gitlab-org/gitlab-test !1 @root "Tempora et eos debitis quae laborum et." http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244',
    ]);
  });

  it("prints raw JSON with --json and applies filters", async () => {
    const dir = tempDir();
    const daemon = await spawnDaemon({ SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse", DATABASE_PATH: join(dir, "s.sqlite") });
    await postHook(daemon.url, fixtureBody("project__issue.json"), { event: "Issue Hook" });
    await postHook(daemon.url, fixtureBody("system__merge_request.json"), { event: "System Hook" });
    const tail = runCli(["tail", `${daemon.url}/sse/`, "--json", "--since", "0", "--type", "merge_request"], {});
    // stderr's notes (no token given) are not JSON lines: stdout's are.
    const json = () =>
      tail
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"));
    await waitFor(() => (json().length > 0 ? true : undefined));
    await sleep(200);
    tail.child.kill("SIGINT");
    daemon.child.kill("SIGTERM");
    await Promise.all([tail.exited, daemon.exited]);
    const printed = json();
    expect(printed).toHaveLength(1);
    expect(JSON.parse(printed[0] as string)).toMatchObject({ id: 2, hook: "system", type: "merge_request" });
  });

  it("reads ADMIN_TOKEN, and says how many events were withheld when it has no token", async () => {
    const dir = tempDir();
    const daemon = await spawnDaemon({
      SOURCE_TOKEN: TEST_TOKEN,
      SINKS_ENABLED: "sse",
      ADMIN_TOKEN: "tail-admin-token",
      DATABASE_PATH: join(dir, "s.sqlite"),
    });
    const hostile = {
      object_kind: "issue",
      project: { id: 9, path_with_namespace: "pub/lic", visibility_level: 20 },
      object_attributes: { iid: 1, action: "open", title: "fine\n#99 push forged/line @admin\u001b[2J" },
    };
    await postHook(daemon.url, hostile, { event: "Issue Hook" });
    await postHook(daemon.url, fixtureBody("project__push.json"));
    const anonymous = runCli(["tail", `${daemon.url}/sse/`, "--since", "0"], {});
    const admin = runCli(["tail", `${daemon.url}/sse/`, "--since", "0"], { ADMIN_TOKEN: "tail-admin-token" });
    await waitFor(
      () => (anonymous.output().includes("withheld") && lines(admin.output()).length === 2 ? true : undefined),
      8000,
      "both tails",
    );
    for (const run of [anonymous, admin]) run.child.kill("SIGINT");
    daemon.child.kill("SIGTERM");
    await Promise.all([anonymous.exited, admin.exited, daemon.exited]);
    expect(anonymous.output()).toContain("no token (--token, SSE_TOKEN or ADMIN_TOKEN): only public projects' events are shown");
    expect(anonymous.output()).toContain(
      "1 event withheld: private and internal projects' events, and events about no project, need a token",
    );
    // The private push is the admin's; the title cannot forge a line nor reach the terminal's escape codes.
    expect(lines(admin.output())).toEqual([
      '#1 issue open pub/lic #1 "fine #99 push forged/line @admin [2J"',
      expect.stringMatching(/^#2 push mike\/diaspora master @jsmith/),
    ]);
    expect(lines(anonymous.output())).toEqual(['#1 issue open pub/lic #1 "fine #99 push forged/line @admin [2J"']);
  });

  it("stops with a clear message when the feed refuses its token", async () => {
    const dir = tempDir();
    const daemon = await spawnDaemon({ SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse", DATABASE_PATH: join(dir, "s.sqlite") });
    const tail = runCli(["tail", `${daemon.url}/sse/`, "--token", "nope"], {});
    expect((await tail.exited).code).toBe(1);
    expect(tail.output()).toMatch(/the feed refused: 401: this daemon has no SSE_TOKEN/);
    daemon.child.kill("SIGTERM");
    await daemon.exited;
  });
});
