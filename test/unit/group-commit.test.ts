import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../src/store/group-commit.js";
import { sleep } from "../helpers/sleep.js";

describe("group commit", () => {
  it("commits the calls of one turn together, and the next batch while one commits", async () => {
    const batches: number[][] = [];
    const commit = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      await sleep(10);
      return items.map((item) => item * 2);
    });
    const first = [1, 2, 3].map((n) => commit.push(n));
    await new Promise((resolve) => setImmediate(resolve));
    const second = [4, 5].map((n) => commit.push(n));
    expect(await Promise.all([...first, ...second])).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it("fails only the item the database refuses, committing the rest of its batch", async () => {
    const commit = new GroupCommit<string, string>(
      async (items) => {
        if (items.includes("poison")) throw new Error("refused: poison");
        return items.map((item) => `stored ${item}`);
      },
      { retryAlone: () => true },
    );
    const results = await Promise.allSettled(["a", "poison", "b"].map((item) => commit.push(item)));
    expect(results).toEqual([
      { status: "fulfilled", value: "stored a" },
      { status: "rejected", reason: new Error("refused: poison") },
      { status: "fulfilled", value: "stored b" },
    ]);
  });

  it("fails the whole batch at once when the database is unreachable, without trying each item", async () => {
    let calls = 0;
    const commit = new GroupCommit<string, string>(
      async () => {
        calls++;
        throw new Error("connect ECONNREFUSED");
      },
      { retryAlone: (error) => !String(error).includes("ECONNREFUSED") },
    );
    const results = await Promise.allSettled(["a", "b", "c"].map((item) => commit.push(item)));
    expect(results.every((result) => result.status === "rejected")).toBe(true);
    expect(calls).toBe(1);
  });
});
