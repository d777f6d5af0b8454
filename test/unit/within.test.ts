import { describe, expect, it } from "vitest";
import { within } from "../../src/support/within.js";

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("within", () => {
  it("gives the work's outcome when it settles first", async () => {
    await expect(within(after(5, "done"), 1000, () => "late")).resolves.toBe("done");
    await expect(within(Promise.reject(new Error("refused")), 1000, () => "late")).rejects.toThrow("refused");
  });

  it("gives what expired() returns or throws once the time passes first", async () => {
    await expect(within(after(1000, "done"), 5, () => "late")).resolves.toBe("late");
    await expect(
      within(after(1000, "done"), 5, () => {
        throw new Error("no answer");
      }),
    ).rejects.toThrow("no answer");
  });

  it("leaves no unhandled rejection when the work fails after the time passed", async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", record);
    try {
      const work = new Promise((_, reject) => setTimeout(() => reject(new Error("too late")), 20));
      await expect(within(work, 5, () => "late")).resolves.toBe("late");
      await after(50, null);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", record);
    }
  });
});
