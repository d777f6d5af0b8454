import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES as VARIABLES, loadConfig } from "../../src/configuration.js";

describe("the documentation of the configuration", () => {
  it("lists every variable in config/example.env and the README", () => {
    const example = readFileSync(new URL("../../config/example.env", import.meta.url), "utf8");
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(VARIABLES.length).toBeGreaterThan(40);
    expect(VARIABLES.filter((name) => !new RegExp(`^${name}=`, "m").test(example))).toEqual([]);
    expect(VARIABLES.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});

describe("config/example.env", () => {
  it("is a valid configuration that gives the documented defaults", () => {
    const text = readFileSync(new URL("../../config/example.env", import.meta.url), "utf8");
    const fromFile = loadConfig(parseEnv(text) as NodeJS.ProcessEnv);
    expect(fromFile).toEqual(loadConfig({}));
  });
});
