import { describe, expect, it } from "vitest";
import { classifyFailure, RetryLaterError } from "../../src/core/failure.js";

describe("classifyFailure", () => {
  it("leaves an unreadable retry time to the backoff instead of a time that can never be recorded", () => {
    expect(classifyFailure(new RetryLaterError("busy", new Date("not a date"), { status: 503 }))).toMatchObject({
      retryAt: null,
      status: 503,
      permanent: false,
    });
    expect(classifyFailure(Object.assign(new Error("plugin"), { retryAt: new Date(Number.NaN) })).retryAt).toBeNull();
    expect(classifyFailure(Object.assign(new Error("plugin"), { retryAt: Number.POSITIVE_INFINITY })).retryAt).toBeNull();
    const at = Date.now() + 5000;
    expect(classifyFailure(new RetryLaterError("busy", new Date(at))).retryAt).toBe(at);
  });
});
