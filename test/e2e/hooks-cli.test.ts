import { beforeEach, describe, expect, it } from "vitest";
import { startFakeGitLab, type FakeGitLab } from "../helpers/fake-gitlab.js";
import { sendJson } from "../helpers/fake-server.js";
import { closeAfterTest } from "../helpers/teardown.js";
import { runCli } from "../../harness/spawn-daemon.js";

const TOKEN = "glpat-hooks-admin";
let gitlab: FakeGitLab;
let hooks: Record<string, Record<string, unknown>[]>;

beforeEach(async () => {
  gitlab = closeAfterTest(await startFakeGitLab(TOKEN));
  hooks = { "projects/repos%2Freleng%2Fscap": [], "groups/repos": [], system: [] };
  let nextId = 1;
  for (const [key, path] of [
    ["projects/repos%2Freleng%2Fscap", "/api/v4/projects/repos%2Freleng%2Fscap/hooks"],
    ["groups/repos", "/api/v4/groups/repos/hooks"],
    ["system", "/api/v4/hooks"],
  ] as const) {
    gitlab.route(`GET ${path}`, (_req, _body, res) => sendJson(res, 200, hooks[key]));
    gitlab.route(`POST ${path}`, (_req, body, res) => {
      const hook = { id: nextId++, ...(JSON.parse(body) as Record<string, unknown>) };
      hooks[key]?.push(hook);
      sendJson(res, 201, { ...hook, token: undefined });
    });
    gitlab.route(`DELETE ${path}/(\\d+)`, (_req, _body, res, match) => {
      const list = hooks[key] ?? [];
      const index = list.findIndex((hook) => hook.id === Number(match[1]));
      if (index === -1) return sendJson(res, 404, { message: "404 Not found" });
      list.splice(index, 1);
      res.writeHead(204).end();
    });
  }
  gitlab.route("POST /api/v4/projects/secret%2Fthing/hooks", (_req, _body, res) => sendJson(res, 403, { message: "403 Forbidden" }));
});

async function cli(args: string[], token = TOKEN) {
  const run = runCli(["hooks", ...args], { GITLAB_URL: gitlab.url, GITLAB_TOKEN: token });
  const { code } = await run.exited;
  return { code, output: run.output() };
}

describe("gitlab-webhooks hooks", () => {
  it("adds a project hook with a generated token, printed once with the PROJECT_TOKENS line", async () => {
    const { code, output } = await cli([
      "add",
      "--project",
      "repos/releng/scap",
      "--url",
      "https://hooks.example.org/hooks",
      "--events",
      "merge_requests,push",
    ]);
    expect(code).toBe(0);
    const hook = hooks["projects/repos%2Freleng%2Fscap"]?.[0] as Record<string, unknown>;
    expect(hook).toMatchObject({
      url: "https://hooks.example.org/hooks",
      merge_requests_events: true,
      push_events: true,
      issues_events: false,
      note_events: false,
      enable_ssl_verification: true,
    });
    const token = String(hook.token);
    expect(token.length).toBeGreaterThanOrEqual(40);
    expect(output).toContain(`added project hook of repos/releng/scap 1: https://hooks.example.org/hooks (merge_requests,push)`);
    expect(output).toContain(`PROJECT_TOKENS=repos/releng/scap=${token}`);
    expect(output.split(token).length - 1).toBe(2);
  });

  it("adds group and system hooks, lists and removes them", async () => {
    expect((await cli(["add", "--group", "repos", "--url", "https://h.example/hooks"])).output).toMatch(/PROJECT_TOKENS=repos\/\*=/);
    const system = await cli(["add", "--system", "--url", "https://h.example/hooks", "--token", "given-token"]);
    expect(system.output).not.toContain("given-token");
    expect(hooks.system?.[0]).toMatchObject({ token: "given-token", repository_update_events: true, push_events: true });
    const listed = await cli(["list", "--group", "repos"]);
    expect(listed.output.trim()).toBe("1\thttps://h.example/hooks\tpush,tag_push,merge_requests,issues,note,pipeline");
    expect((await cli(["remove", "--group", "repos", "--url", "https://h.example/hooks"])).output).toMatch(/removed group hook of repos 1/);
    expect(hooks["groups/repos"]).toEqual([]);
    expect((await cli(["remove", "--system", "--id", "2"])).code).toBe(0);
    expect(hooks.system).toEqual([]);
  });

  it("says clearly what a 401, 403 or 404 means", async () => {
    const denied = await cli(["list", "--system"], "wrong-token");
    expect(denied.code).toBe(1);
    expect(denied.output).toMatch(/GitLab refused GITLAB_TOKEN \(401\)/);
    const forbidden = await cli(["add", "--project", "secret/thing", "--url", "https://h.example/hooks"]);
    expect(forbidden.output).toMatch(/403: managing project hooks needs Maintainer of the project/);
    const missing = await cli(["remove", "--system", "--id", "99"]);
    expect(missing.output).toMatch(/404: no such system hook/);
    const usage = await cli(["add", "--project", "a/b"]);
    expect(usage.code).toBe(2);
    expect(usage.output).toMatch(/add needs --url/);
    expect((await cli(["add", "--system", "--url", "https://x/hooks", "--events", "issues"])).output).toMatch(
      /"issues" is not one of push, tag_push, merge_requests, repository_update/,
    );
  });
});
