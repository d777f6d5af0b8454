import { describe, expect, it } from "vitest";
import { nestsDeeperThan } from "../../src/sources/gitlab/json-depth.js";

/** `{"a":{"a":…1…}}`, `depth` objects deep, after `padding` characters of a string nobody nests in. */
const nested = (depth: number, padding = "") => `{"pad":${JSON.stringify(padding)},"x":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;

describe("JSON nesting depth", () => {
  it("refuses one level past the limit and keeps the limit itself", () => {
    // The outer object counts: depth + 1 levels in all.
    expect(nestsDeeperThan(nested(99), 100)).toBe(false);
    expect(nestsDeeperThan(nested(100), 100)).toBe(true);
    expect(nestsDeeperThan(`[${nested(5000)}]`, 100)).toBe(true);
  });

  it("does not count brackets inside strings, however many there are", () => {
    // More brackets than the limit, all in strings: the character scan decides, not their count.
    const brackets = "[{".repeat(500);
    expect(nestsDeeperThan(nested(10, brackets), 100)).toBe(false);
    expect(nestsDeeperThan(nested(100, brackets), 100)).toBe(true);
    // An escaped quote does not end the string its brackets are in.
    expect(nestsDeeperThan(`{"s":"\\"${"[".repeat(300)}"}`, 100)).toBe(false);
  });

  it("takes many shallow objects for what they are", () => {
    const wide = `[${Array.from({ length: 1000 }, (_, n) => `{"n":${n},"l":[1,2]}`).join(",")}]`;
    expect(nestsDeeperThan(wide, 100)).toBe(false);
  });
});
