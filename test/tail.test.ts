import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { postHook, tempDir, TEST_TOKEN, waitFor } from "./helpers/daemon.js";
import { fixtureBody } from "./helpers/fixtures.js";
import { runCli, spawnDaemon } from "./helpers/spawn-daemon.js";

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
    const env = { SOURCE_TOKEN: TEST_TOKEN, SSE_TOKEN: "tail-token-xyz", SINKS_ENABLED: "sse", DATABASE_PATH: join(dir, "s.sqlite"), PORT: port };
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
    await new Promise((resolve) => setTimeout(resolve, 300));
    tail.child.kill("SIGINT");
    daemon.child.kill("SIGTERM");
    await Promise.all([tail.exited, daemon.exited]);

    expect(lines(tail.output())).toEqual([
      "#1 merge_request open flightjs/flight-management !16 @agarcia",
      "#2 push mike/diaspora master @jsmith",
      "#3 issue open gitlabhq/gitlab-test #23 @root",
      "#4 note create gitlab-org/gitlab-test !1 @root",
    ]);
  });

  it("prints raw JSON with --json and applies filters", async () => {
    const dir = tempDir();
    const daemon = await spawnDaemon({ SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse", DATABASE_PATH: join(dir, "s.sqlite") });
    await postHook(daemon.url, fixtureBody("project__issue.json"), { event: "Issue Hook" });
    await postHook(daemon.url, fixtureBody("system__merge_request.json"), { event: "System Hook" });
    const tail = runCli(["tail", `${daemon.url}/sse/`, "--json", "--since", "0", "--type", "merge_request"], {});
    await waitFor(() => (tail.output().includes("\n") ? true : undefined));
    tail.child.kill("SIGINT");
    daemon.child.kill("SIGTERM");
    await Promise.all([tail.exited, daemon.exited]);
    const printed = tail.output().trim().split("\n");
    expect(printed).toHaveLength(1);
    expect(JSON.parse(printed[0] as string)).toMatchObject({ id: 2, hook: "system", type: "merge_request" });
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
