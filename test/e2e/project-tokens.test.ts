import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { postHook, startTestDaemon, tempDir, TEST_TOKEN, type TestDaemon } from "../helpers/daemon.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { closeAfterTest } from "../helpers/teardown.js";

let t: TestDaemon | undefined;

const mrOf = (path: string) => {
  const body = fixtureJson("project__merge_request_open.json") as { project: Record<string, unknown> };
  body.project.path_with_namespace = path;
  return body;
};

describe("per-project tokens", () => {
  it("accepts an event only with its project's token or a global one, never another project's", async () => {
    const dir = tempDir();
    const file = join(dir, "tokens");
    writeFileSync(file, "# releng tools\nrepos/releng/*=releng-token=\n\nmediawiki/core=core-token\n");
    t = closeAfterTest(await startTestDaemon({ PROJECT_TOKENS: "tools/bot=bot-token", PROJECT_TOKENS_FILE: file }, {}, dir));
    const status = async (path: string, token: string) =>
      (await postHook(t!.url, mrOf(path), { event: "Merge Request Hook", token })).status;
    expect(await status("repos/releng/scap", "releng-token=")).toBe(202);
    expect(await status("repos/releng/blubber/deep", "releng-token=")).toBe(202);
    expect(await status("mediawiki/core", "core-token")).toBe(202);
    expect(await status("tools/bot", "bot-token")).toBe(202);
    expect(await status("mediawiki/core", TEST_TOKEN)).toBe(202);
    // Project A's token never authenticates project B's event.
    expect(await status("mediawiki/core", "releng-token=")).toBe(401);
    expect(await status("repos/releng/scap", "core-token")).toBe(401);
    expect(await status("other/project", "core-token")).toBe(401);
    // An event naming no project only takes a global token.
    expect((await postHook(t.url, fixtureJson("system__user_create.json"), { event: "System Hook", token: "core-token" })).status).toBe(
      401,
    );
    expect(t.logs()).not.toMatch(/core-token|releng-token|bot-token/);
  });

  it("refuses a malformed entry at start-up without echoing it", async () => {
    await expect(startTestDaemon({ PROJECT_TOKENS: "no-equals-sign-secret" })).rejects.toThrow(
      /^PROJECT_TOKENS has an entry that is not <project path glob>=<token>$/,
    );
  });
});
