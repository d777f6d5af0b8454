import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/settings.js";
import { CONFIG_VARIABLES, loadConfig } from "../../src/configuration.js";
import { lookalikeVariables } from "../../src/support/lookalike-variables.js";
import { postHook, startTestDaemon, tempDir, waitFor } from "../helpers/daemon.js";

describe("configuration", () => {
  it("has the documented defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 8000,
      HOST: "0.0.0.0",
      SINKS_ENABLED: ["sse", "log"],
      DATABASE_PATH: "data/gitlab-webhooks.sqlite",
      MAX_BODY_BYTES: 26214400,
      RETENTION_DAYS: 30,
      MAX_ATTEMPTS: 10,
      GITLAB_URL: "https://gitlab.com",
      DEBUG: false,
    });
  });

  const invalid: [Record<string, string>, RegExp][] = [
    [{ PORT: "http" }, /^PORT accepts a whole number \(got "http"\)$/],
    [{ PORT: "70000" }, /^PORT accepts a whole number from 0 to 65535/],
    [{ DEBUG: "maybe" }, /^DEBUG accepts true or false/],
    [{ MAX_ATTEMPTS: "0" }, /^MAX_ATTEMPTS accepts a whole number from 1/],
    [{ PHABRICATOR_URL: "ftp://x" }, /^PHABRICATOR_URL accepts an http\(s\) URL/],
    [{ SOURCE_SIGNING_TOKEN: "not-a-whsec-secret" }, /^SOURCE_SIGNING_TOKEN accepts whsec_<base64> secrets, comma-separated$/],
    // A template line left blank is a mistake, not a quiet default.
    [{ PORT: "" }, /^PORT is set but empty; set a port number, or remove the line for the default 8000/],
    [{ SINKS_ENABLED: " " }, /^SINKS_ENABLED is set but empty; name at least one sink/],
    [{ HOST: "localhost:8000" }, /^HOST takes a host name or address only: the port goes in PORT.*\(got "localhost:8000"\)$/],
    [{ HOST: "[::1]:8000" }, /^HOST takes a host name or address only/],
    [{ HOST: "http://example.org" }, /^HOST takes a host name or address only/],
  ];
  for (const [env, message] of invalid) {
    it(`refuses ${JSON.stringify(env)} with one line naming the variable`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    });
  }

  it("takes IPv6 addresses and host names for HOST", () => {
    for (const host of ["::", "::1", "127.0.0.1", "example.org", "fe80::1"]) expect(loadConfig({ HOST: host }).HOST).toBe(host);
  });

  it("names the variable a near-miss meant, and leaves everybody else's alone", () => {
    const env = {
      SINK_ENABLED: "log",
      GITLAB_TOKENS: "x",
      port: "80",
      HOME: "/root",
      HOSTNAME: "box",
      PATH: "/bin",
      PWD: "/",
      NODE_OPTIONS: "",
      PGHOST: "db",
    };
    expect(lookalikeVariables(env, CONFIG_VARIABLES)).toEqual([
      { given: "SINK_ENABLED", expected: "SINKS_ENABLED" },
      { given: "GITLAB_TOKENS", expected: "GITLAB_TOKEN" },
      { given: "port", expected: "PORT" },
    ]);
  });

  it("never echoes a secret's value in an error", () => {
    expect(() => loadConfig({ SOURCE_SIGNING_TOKEN: "hunter2-secret" })).not.toThrow(/hunter2/);
  });

  it("refuses an unknown sink name, suggesting the one it meant and listing the built-in ones", async () => {
    await expect(startTestDaemon({ SINKS_ENABLED: "log,phabricatr" })).rejects.toThrow(
      /SINKS_ENABLED names an unknown sink "phabricatr" \(did you mean "phabricator"\?\) \(built-in: .*log/,
    );
  });

  it("loads a sink from a module path (the plugin route)", async () => {
    const dir = tempDir();
    const out = join(dir, "seen.txt");
    const plugin = join(dir, "my-sink.mjs");
    writeFileSync(
      plugin,
      `import { appendFileSync } from "node:fs";
       export default () => ({ name: "mine", accepts: (e) => e.type === "push",
         handle: async (e) => appendFileSync(${JSON.stringify(out)}, e.id + "\\n") });`,
    );
    const t = await startTestDaemon({ SINKS_ENABLED: plugin }, {}, dir);
    const response = await postHook(t.url, { object_kind: "push" });
    const { id } = (await response.json()) as { id: number };
    const { readFileSync, existsSync } = await import("node:fs");
    await waitFor(() => (existsSync(out) && readFileSync(out, "utf8") === `${id}\n` ? true : undefined));
    await t.close();
  });

  it("refuses a module path that exports no factory", async () => {
    const dir = tempDir();
    const plugin = join(dir, "empty.mjs");
    writeFileSync(plugin, "export const nothing = 1;");
    await expect(startTestDaemon({ SINKS_ENABLED: plugin }, {}, dir)).rejects.toThrow(/exports no sink factory/);
  });
});
