import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** The compiled logger (npm test builds first): a process of its own, since the console and exit are the point. */
const LOGGER = fileURLToPath(new URL("../../dist/support/logger.js", import.meta.url));

/** Runs `script` after `logger` is made, as a user's daemon makes it; what reached each stream. */
function run(script: string, killAfterMs?: number): { stdout: string; stderr: string; status: number | null } {
  const source = `import { createLogger } from ${JSON.stringify(LOGGER)};
const logger = createLogger({ debug: false, json: false, secrets: ["s3cret"] });
${script}`;
  const { stdout, stderr, status } = spawnSync(process.execPath, ["--input-type=module", "-e", source], {
    encoding: "utf8",
    ...(killAfterMs !== undefined && { timeout: killAfterMs, killSignal: "SIGKILL" }),
  });
  return { stdout, stderr, status };
}

const messages = (text: string) =>
  text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.replace(/^\S+ \w+ /, ""));

describe("the console log", () => {
  it("writes every line, in order, informational ones to stdout and warnings and errors to stderr", () => {
    const { stdout, stderr, status } = run(`
for (let n = 1; n <= 200; n++) logger.info("line " + n);
logger.warn("careful", { token: "s3cret" });
logger.info("after the warning");
setTimeout(() => { logger.error("later"); logger.info("last"); }, 20);`);
    expect(status).toBe(0);
    expect(messages(stdout)).toEqual([...Array.from({ length: 200 }, (_, n) => `line ${n + 1}`), "after the warning", "last"]);
    expect(messages(stderr)).toEqual(['careful {"token":"[redacted]"}', "later"]);
  });

  it("loses no line logged just before the process exits, or before an uncaught error ends it", () => {
    const exited = run(`logger.info("the last words"); logger.error("and an error"); process.exit(70);`);
    expect(exited.status).toBe(70);
    expect(messages(exited.stdout)).toEqual(["the last words"]);
    expect(messages(exited.stderr)).toEqual(["and an error"]);

    const crashed = run(`setTimeout(() => { logger.info("before the crash"); throw new Error("boom"); }, 5);`);
    expect(crashed.status).toBe(1);
    expect(messages(crashed.stdout)).toEqual(["before the crash"]);
    expect(crashed.stderr).toContain("Error: boom");
  });

  it("writes a warning or an error at once, with the lines logged before it, for a daemon that then hangs and is killed", () => {
    const hung = run(`logger.info("working"); logger.error("the cause"); logger.info("lost with the process"); for (;;) {}`, 3000);
    expect(hung.status).toBeNull();
    expect(messages(hung.stdout)).toEqual(["working"]);
    expect(messages(hung.stderr)).toEqual(["the cause"]);
  });
});
