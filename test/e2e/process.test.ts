import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { postHook, tempDir, TEST_TOKEN, waitFor } from "../helpers/daemon.js";
import { fixtureBody, FIXTURE_DIR } from "../helpers/fixtures.js";
import { runCli, spawnDaemon } from "../../harness/spawn-daemon.js";
import { sleep } from "../helpers/sleep.js";

function daemonEnv(dir: string): Record<string, string> {
  return {
    SOURCE_TOKEN: TEST_TOKEN,
    DATABASE_PATH: join(dir, "store.sqlite"),
    LOG_EVENTS_TO: join(dir, "log", "events.log"),
    SINKS_ENABLED: "log",
  };
}

function logIds(path: string): number[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  expect(text === "" || text.endsWith("\n")).toBe(true);
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { id: number }).id);
}

describe("the daemon process", () => {
  it("loses no acknowledged event and logs each exactly once across a SIGKILL", async () => {
    const dir = tempDir();
    const env = daemonEnv(dir);
    const logPath = env.LOG_EVENTS_TO as string;
    const acknowledged = new Set<number>();
    const bodies = ["project__push.json", "project__merge_request_open.json", "system__project_create.json", "project__pipeline.json"].map(
      fixtureBody,
    );

    for (let round = 0; round < 3; round++) {
      const daemon = await spawnDaemon(env);
      let stop = false;
      const posters = Array.from({ length: 8 }, async (_, worker) => {
        for (let n = 0; !stop; n++) {
          try {
            const response = await postHook(daemon.url, bodies[(worker + n) % bodies.length] as Buffer);
            if (response.status === 202) acknowledged.add(((await response.json()) as { id: number }).id);
          } catch {
            return; // the daemon died mid-request: that event was never acknowledged
          }
        }
      });
      await sleep(150 + round * 100);
      daemon.child.kill("SIGKILL");
      stop = true;
      await Promise.all(posters);
      await daemon.exited;
    }
    expect(acknowledged.size).toBeGreaterThan(50);

    const daemon = await spawnDaemon(env);
    await waitFor(
      async () => {
        const health = (await (await fetch(`${daemon.url}/healthz`)).json()) as { sinks: { log: { pending: number } } };
        return health.sinks.log.pending === 0 ? true : undefined;
      },
      15_000,
      "log sink to catch up",
    );
    daemon.child.kill("SIGTERM");
    await daemon.exited;

    const ids = logIds(logPath);
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const id of acknowledged) expect(counts.get(id), `event ${id}`).toBe(1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it("stops cleanly on SIGTERM and SIGINT with exit status 0", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const dir = tempDir();
      const daemon = await spawnDaemon(daemonEnv(dir));
      expect((await postHook(daemon.url, fixtureBody("project__push.json"))).status).toBe(202);
      daemon.child.kill(signal);
      expect(await daemon.exited).toEqual({ code: 0, signal: null });
      expect(daemon.output()).toMatch(/stopped/);
    }
  });

  it("reopens the event log on SIGHUP (logrotate)", async () => {
    const dir = tempDir();
    const env = daemonEnv(dir);
    const logPath = env.LOG_EVENTS_TO as string;
    const daemon = await spawnDaemon(env);
    await postHook(daemon.url, fixtureBody("project__push.json"));
    await waitFor(() => (logIds(logPath).length === 1 ? true : undefined));
    renameSync(logPath, `${logPath}.1`);
    daemon.child.kill("SIGHUP");
    await waitFor(() => (daemon.output().includes("reopened") ? true : undefined));
    await postHook(daemon.url, fixtureBody("project__tag_push.json"));
    await waitFor(() => (logIds(logPath).length === 1 ? true : undefined));
    expect(logIds(`${logPath}.1`)).toEqual([1]);
    expect(logIds(logPath)).toEqual([2]);
    daemon.child.kill("SIGTERM");
    await daemon.exited;
  });

  it("never prints a token, even one sent wrongly", async () => {
    const dir = tempDir();
    const daemon = await spawnDaemon({ ...daemonEnv(dir), DEBUG: "true" });
    await postHook(daemon.url, fixtureBody("project__push.json"));
    await postHook(daemon.url, fixtureBody("project__push.json"), { token: `${TEST_TOKEN}-wrong` });
    daemon.child.kill("SIGTERM");
    await daemon.exited;
    expect(daemon.output()).toMatch(/status":401/);
    expect(daemon.output()).not.toContain(TEST_TOKEN);
  });

  it("generates a first-run token when none is configured, keeps it out of the log, and send uses it", async () => {
    const dir = tempDir();
    const env = { DATABASE_PATH: join(dir, "data", "store.sqlite"), SINKS_ENABLED: "log", LOG_EVENTS_TO: join(dir, "events.log") };
    const daemon = await spawnDaemon(env, dir);
    const token = readFileSync(join(dir, "data", "source-token"), "utf8").trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(daemon.output()).toMatch(/no SOURCE_TOKEN or SOURCE_SIGNING_TOKEN is set/);
    expect(daemon.output()).not.toContain(token);
    const send = runCli(["send", join(FIXTURE_DIR, "system__user_create.json"), "--url", `${daemon.url}/hooks`], env, dir);
    expect((await send.exited).code).toBe(0);
    expect(send.output()).toMatch(/system__user_create\.json: 202 \{"id":1\}/);
    daemon.child.kill("SIGTERM");
    await daemon.exited;
  });

  it("stops start-up with one line naming a bad variable", async () => {
    const run = runCli(["serve"], { PORT: "eighty" });
    expect((await run.exited).code).toBe(78);
    expect(run.output().trim()).toBe('gitlab-webhooks: configuration error: PORT accepts a whole number (got "eighty")');
  });

  it("warns at start about a variable that looks like one of its own", async () => {
    const dir = tempDir();
    const daemon = await spawnDaemon({ ...daemonEnv(dir), SINK_ENABLED: "phabricator" }, dir);
    await waitFor(() => /SINK_ENABLED is set, but the daemon reads SINKS_ENABLED/.test(daemon.output()));
    daemon.child.kill("SIGTERM");
    await daemon.exited;
  });

  it("sends files the way GitLab does, signed when given a signing token", async () => {
    const dir = tempDir();
    const secret = `whsec_${Buffer.from("a signing key of some length").toString("base64")}`;
    const daemon = await spawnDaemon({ ...daemonEnv(dir), SOURCE_SIGNING_TOKEN: secret });
    const files = ["project__merge_request_open.json", "system__project_rename.json"].map((name) => join(FIXTURE_DIR, name));
    const signed = runCli(["send", ...files, "--url", `${daemon.url}/hooks`, "--signing-token", secret], {});
    expect((await signed.exited).code).toBe(0);
    expect(signed.output()).toMatch(/merge_request_open\.json: 202 \{"id":1\}\n.*project_rename\.json: 202 \{"id":2\}/);
    const wrong = runCli(["send", files[0] as string, "--url", `${daemon.url}/hooks`, "--token", "wrong"], {});
    expect((await wrong.exited).code).toBe(1);
    expect(wrong.output()).toMatch(/401 \{"error":"X-Gitlab-Token does not match/);
    daemon.child.kill("SIGTERM");
    await daemon.exited;
  });

  it("has --help for the binary and each command", async () => {
    for (const args of [["--help"], ["serve", "--help"], ["send", "--help"]]) {
      const run = runCli(args, {});
      expect((await run.exited).code).toBe(0);
      expect(run.output()).toMatch(/^Usage: gitlab-webhooks/);
    }
    const unknown = runCli(["frobnicate"], {});
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.output()).toMatch(/unknown command "frobnicate"/);
  });
});
