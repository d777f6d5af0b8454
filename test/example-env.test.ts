import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/core/config.js";

describe("config/example.env", () => {
  it("is a valid configuration that gives the documented defaults", () => {
    const text = readFileSync(new URL("../config/example.env", import.meta.url), "utf8");
    const fromFile = loadConfig(parseEnv(text) as NodeJS.ProcessEnv);
    expect(fromFile).toEqual(loadConfig({}));
  });
});
