import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, type Server } from "node:net";
import { existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it, onTestFinished } from "vitest";
import { follow } from "../../src/cli/tail.js";
import { postHook, startTestDaemon, tempDir, TEST_TOKEN, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { fixtureBody, FIXTURE_DIR } from "../helpers/fixtures.js";
import { closeAfterTest, killAfterTest } from "../helpers/teardown.js";
import { freePort } from "../../harness/free-port.js";
import { REPO_ROOT } from "../../harness/repo-root.js";
import { runCli, spawnDaemon } from "../../harness/spawn-daemon.js";
import { sleep } from "../helpers/sleep.js";

/** What a new operator meets in the first hour: every message names the fix. */

async function daemon(env: Record<string, string> = {}): Promise<TestDaemon> {
  return closeAfterTest(await startTestDaemon(env));
}

/** Runs the CLI to its end; its output and exit status. */
async function cli(args: string[], env: Record<string, string> = {}, cwd = tempDir()): Promise<{ code: number | null; output: string }> {
  const run = runCli(args, env, cwd);
  const { code } = await run.exited;
  return { code, output: run.output() };
}

describe("tail while the daemon is away", () => {
  it("says where it looked and why it failed, and Ctrl-C ends it during the wait to reconnect", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/sse/`;
    const tail = runCli(["tail", url], {}, tempDir());
    await waitFor(() => (/trying again/.test(tail.output()) ? true : undefined), 10_000, "tail's first failure");
    expect(tail.output()).toContain(
      `cannot reach the feed at ${url} (ECONNREFUSED 127.0.0.1:${port}): is the daemon running?; trying again in 1 s`,
    );
    tail.child.kill("SIGINT");
    expect((await tail.exited).code).toBe(0);
  });

  it("stops waiting to reconnect as soon as it is aborted, whatever the server's retry hint", async () => {
    // A feed that asks for 30 s between reconnections, then closes.
    let answered = 0;
    const server = createHttpServer((_req, res) => {
      answered++;
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.end("retry: 30000\n\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as { port: number };
    const controller = new AbortController();
    const following = follow({
      url: `http://127.0.0.1:${port}/sse/`,
      json: false,
      write: () => {},
      warn: () => {},
      signal: controller.signal,
    });
    await waitFor(() => (answered === 1 ? true : undefined));
    await sleep(200);
    controller.abort();
    const outcome = await Promise.race([
      following.then(() => "stopped"),
      new Promise((resolve) => setTimeout(() => resolve("still waiting"), 5000)),
    ]);
    expect(outcome).toBe("stopped");
  });
});

describe("start-up mistakes", () => {
  it("names PORT, and that another daemon may run there, when the port is taken", async () => {
    const taken: Server = createTcpServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const { port } = taken.address() as { port: number };
    const dir = tempDir();
    const run = await cli(
      ["serve"],
      { PORT: String(port), HOST: "127.0.0.1", SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse", DATABASE_PATH: join(dir, "s.sqlite") },
      dir,
    );
    expect(run.code).toBe(78);
    expect(run.output).toContain(
      `gitlab-webhooks: configuration error: PORT ${port} is already in use on 127.0.0.1 (127.0.0.1:${port}): another gitlab-webhooks daemon may be running there; stop it, or set PORT to a free port`,
    );
  });

  it("names every missing setting of a sink at once, before warnings that can wait", async () => {
    const dir = tempDir();
    const run = await cli(
      ["serve"],
      { PORT: "0", HOST: "127.0.0.1", SINKS_ENABLED: "phabricator", DATABASE_PATH: join(dir, "s.sqlite") },
      dir,
    );
    expect(run.code).toBe(78);
    expect(run.output.trim()).toBe(
      "gitlab-webhooks: configuration error: PHABRICATOR_URL and PHABRICATOR_TOKEN are required by the phabricator sink; set them, or remove phabricator from SINKS_ENABLED",
    );
  });

  it("suggests the sink a misspelt name meant", async () => {
    const dir = tempDir();
    const run = await cli(
      ["serve"],
      { PORT: "0", SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse,logs", DATABASE_PATH: join(dir, "s.sqlite") },
      dir,
    );
    expect(run.code).toBe(78);
    expect(run.output).toMatch(/SINKS_ENABLED names an unknown sink "logs" \(did you mean "log"\?\) \(built-in: /);
  });
});

describe("hooks and usage mistakes", () => {
  it("says which hooks subcommand is unknown, and what it may have meant", async () => {
    const run = await cli(["hooks", "statsu", "--project", "g/p"]);
    expect(run.code).toBe(2);
    expect(run.output.trim()).toBe(
      'gitlab-webhooks hooks: unknown hooks subcommand "statsu" (did you mean "status"?); it is one of add, list, remove, status, recover (see gitlab-webhooks hooks --help)',
    );
  });

  it("without GITLAB_TOKEN, says what token, and on which GitLab it would be used", async () => {
    const run = await cli(["hooks", "status", "--project", "g/p"]);
    expect(run.code).toBe(2);
    expect(run.output).toContain(
      "GITLAB_TOKEN is not set: a GitLab access token with the api scope, in the environment or .env; it is used on https://gitlab.com (GITLAB_URL is not set)",
    );
    expect(run.output).toContain("(see gitlab-webhooks hooks status --help)");
  });

  it("refuses a GITLAB_URL without a scheme the way serve does", async () => {
    const run = await cli(["hooks", "list", "--project", "g/p"], { GITLAB_URL: "gitlab.wikimedia.org", GITLAB_TOKEN: "glpat-x" });
    expect(run.code).toBe(78);
    expect(run.output.trim()).toBe('gitlab-webhooks: configuration error: GITLAB_URL accepts an http(s) URL (got "gitlab.wikimedia.org")');
  });

  it("prints an unknown option in one clean line", async () => {
    expect((await cli(["tail", "--foo"])).output.trim()).toBe(
      "gitlab-webhooks tail: unknown option --foo (see gitlab-webhooks tail --help)",
    );
    expect((await cli(["tail", "--jsn"])).output.trim()).toBe(
      "gitlab-webhooks tail: unknown option --jsn (did you mean --json?) (see gitlab-webhooks tail --help)",
    );
  });

  it("lists every hooks subcommand in the top-level help, and gives each its own page", async () => {
    expect((await cli(["--help"])).output).toMatch(/hooks +add, list, remove, status or recover/);
    const pages = new Map<string, string>();
    for (const sub of ["add", "list", "remove", "status", "recover"]) {
      const page = (await cli(["hooks", sub, "--help"])).output;
      expect(page).toMatch(new RegExp(`^Usage: gitlab-webhooks hooks ${sub} `));
      pages.set(sub, page);
    }
    expect(new Set(pages.values()).size).toBe(5);
    // Where the token comes from, which role it needs, and that GitLab.com is the default.
    expect(pages.get("add")).toMatch(
      /GITLAB_TOKEN +a GitLab access token with the api scope[\s\S]*Maintainer of the project, Owner of\s+the group/,
    );
    expect(pages.get("add")).toMatch(/GITLAB_URL +your GitLab[\s\S]*default https:\/\/gitlab\.com/);
  });

  it("names, in every command's --help, the variables it reads, with an example", async () => {
    const reads: Record<string, string[]> = {
      "": ["gitlab-webhooks COMMAND --help"],
      serve: ["PORT", "HOST", "SINKS_ENABLED", "SOURCE_TOKEN", "DATABASE_PATH", "DATABASE_URL", "ADMIN_TOKEN", "config/example.env"],
      send: ["PORT", "SOURCE_TOKEN", "SOURCE_SIGNING_TOKEN", "data/source-token"],
      tail: ["PORT", "SSE_TOKEN", "ADMIN_TOKEN"],
      forward: ["PORT", "SSE_TOKEN", "ADMIN_TOKEN", "XDG_STATE_HOME"],
      hooks: ["GITLAB_TOKEN", "GITLAB_URL"],
      "hooks add": ["GITLAB_TOKEN", "GITLAB_URL"],
      "hooks list": ["GITLAB_TOKEN", "GITLAB_URL"],
      "hooks remove": ["GITLAB_TOKEN", "GITLAB_URL"],
      "hooks status": ["GITLAB_TOKEN", "GITLAB_URL"],
      "hooks recover": ["GITLAB_TOKEN", "GITLAB_URL", "PORT", "SOURCE_TOKEN", "SOURCE_SIGNING_TOKEN"],
    };
    for (const [command, variables] of Object.entries(reads)) {
      const help = await cli([...command.split(" ").filter(Boolean), "--help"]);
      expect(help.code, command).toBe(0);
      expect(help.output, command).toMatch(/\nExamples?:\n {2}\S/);
      for (const variable of variables) expect(help.output, `${command} --help names ${variable}`).toContain(variable);
    }
  });
});

describe("the first-run token", () => {
  it("is copied to data/source-token of the working directory wherever the store is, and send says where it looked", async () => {
    const dir = tempDir();
    const env = { DATABASE_PATH: join(dir, "elsewhere", "store.sqlite"), SINKS_ENABLED: "sse" };
    const started = killAfterTest(await spawnDaemon(env, dir), "SIGTERM");
    expect(started.output()).toContain("a copy readable by you only: data/source-token");
    expect(readFileSync(join(dir, "data", "source-token"), "utf8").trim().length).toBeGreaterThanOrEqual(32);
    expect(existsSync(join(dir, "elsewhere", "source-token"))).toBe(false);
    const sent = await cli(["send", join(FIXTURE_DIR, "project__push.json"), "--url", `${started.url}/hooks`], env, dir);
    expect(sent.output).toMatch(/project__push\.json: 202 \{"id":1\}/);

    const elsewhere = await cli(["send", join(FIXTURE_DIR, "project__push.json"), "--url", `${started.url}/hooks`]);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.output).toContain(
      "no token: pass --token or --signing-token, or set SOURCE_TOKEN; a daemon started in this directory without one keeps its first-run token in data/source-token, and there is none here",
    );
  });
});

describe("the daemon's log and the admin API", () => {
  it("logs a refused admin request with its whole path", async () => {
    const t = await daemon({ ADMIN_TOKEN: "first-hour-admin" });
    expect((await fetch(`${t.url}/api/status`)).status).toBe(401);
    const off = await daemon();
    expect((await fetch(`${off.url}/api/events?limit=1`)).status).toBe(403);
    await waitFor(() => (t.logs().includes('"status":401') && off.logs().includes('"status":403') ? true : undefined));
    expect(t.logs()).toMatch(/"path":"\/api\/status","status":401/);
    expect(off.logs()).toMatch(/"path":"\/api\/events","status":403/);
  });

  it("logs one info line per event received: id, type, project; never the payload", async () => {
    const t = await daemon();
    await postHook(t.url, fixtureBody("project__push.json"));
    await postHook(t.url, fixtureBody("system__user_create.json"), { event: "System Hook" });
    await waitFor(() => (/received event #2/.test(t.logs()) ? true : undefined));
    expect(t.logs()).toMatch(/ info received event #1 push mike\/diaspora\n/);
    expect(t.logs()).toMatch(/ info received event #2 user_create \(system hook\)\n/);
    expect(t.logs()).not.toMatch(/da1560886d4f/);
  });

  it("answers a filter by a sink that is not enabled with a 400 naming it", async () => {
    const t = await daemon({ ADMIN_TOKEN: "first-hour-admin" });
    const response = await fetch(`${t.url}/api/events?sink=nosuch`, { headers: { Authorization: "Bearer first-hour-admin" } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'sink "nosuch" is not enabled (enabled: log)' });
  });
});

describe("npm start", () => {
  it("does not compile again when dist/ is current", () => {
    const root = REPO_ROOT;
    const prestart = () => spawnSync("npm", ["run", "--silent", "prestart"], { cwd: root, encoding: "utf8" });
    // The first run builds only if a source changed since the last build; the second never does.
    expect(prestart().status).toBe(0);
    // What an upgrade moved away from src/ stays in dist/ (tsc never deletes): it must not count.
    const leftBehind = join(root, "dist", "left-behind-by-an-upgrade.js");
    writeFileSync(leftBehind, "");
    utimesSync(leftBehind, new Date(0), new Date(0));
    onTestFinished(() => rmSync(leftBehind, { force: true }));
    const builtAt = statSync(join(root, "dist", "cli", "index.js")).mtimeMs;
    const again = prestart();
    expect(again.status).toBe(0);
    expect(again.stdout.trim()).toBe("dist/ is up to date with src/: not compiling");
    expect(statSync(join(root, "dist", "cli", "index.js")).mtimeMs).toBe(builtAt);
  });
});
