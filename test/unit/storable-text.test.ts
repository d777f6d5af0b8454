import { describe, expect, it } from "vitest";
import { storableText, withStorableText } from "../../src/core/storable-text.js";

describe("storable text", () => {
  it("turns NUL and lone surrogates into U+FFFD, and keeps pairs and everything else", () => {
    expect(storableText("a\u0000b")).toBe("a\ufffdb");
    expect(storableText("lone \ud800 high")).toBe("lone \ufffd high");
    expect(storableText("lone \udc00 low")).toBe("lone \ufffd low");
    expect(storableText("reversed \udc00\ud800")).toBe("reversed \ufffd\ufffd");
    expect(storableText("pair \ud83d\ude00 kept")).toBe("pair \ud83d\ude00 kept");
    expect(storableText("plain, ünïcödé, \u2028")).toBe("plain, ünïcödé, \u2028");
  });

  it("walks objects and arrays", () => {
    expect(withStorableText({ a: ["x\u0000", { b: "\ud800" }], n: 1, none: null })).toEqual({
      a: ["x\ufffd", { b: "\ufffd" }],
      n: 1,
      none: null,
    });
  });

  it("gives back the very value when nothing in it needs replacing, and a copy when something does", () => {
    const clean = { a: ["x", { b: "ünïcödé" }], n: 1, none: null };
    expect(withStorableText(clean)).toBe(clean);
    const dirty = { a: ["x", { b: "\u0000" }] };
    expect(withStorableText(dirty)).not.toBe(dirty);
    expect(dirty.a[1]).toEqual({ b: "\u0000" });
  });
});
