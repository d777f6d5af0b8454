import { appendFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { describe, expect, inject, it } from "vitest";
import { openSqliteStore } from "../../src/store/sqlite/open-sqlite-store.js";
import { postHook, startTestDaemon, tempDir, TEST_TOKEN, waitFor } from "../helpers/daemon.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { faultyStore } from "../helpers/faulty-store.js";
import { createDatabase } from "../../harness/postgres-server.js";
import { spawnDaemon } from "../../harness/spawn-daemon.js";
import { sleep } from "../helpers/sleep.js";
import { appendEvent } from "../helpers/store.js";

function lines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").slice(0, -1);
}

describe("log sink", () => {
  it("after a crash, neither repeats a line written before its delivery was recorded nor keeps a torn one", async () => {
    const dir = tempDir();
    const logPath = join(dir, "events.log");
    const store = openSqliteStore(join(dir, "store.sqlite"));
    const written = await appendEvent(store, { project: null, payload: { n: 1 } }, ["log"]);
    const torn = await appendEvent(store, { project: null, payload: { n: 2 } }, ["log"]);
    // The crash: event 1's line is whole but its delivery still pending; event 2's line was cut short.
    appendFileSync(logPath, `${JSON.stringify(written.stored?.toEvent())}\n${JSON.stringify(torn.stored?.toEvent()).slice(0, 30)}`);
    await store.close();

    const t = await startTestDaemon({ LOG_EVENTS_TO: logPath }, {}, dir);
    await waitFor(() => (lines(logPath).length >= 2 ? true : undefined));
    expect(lines(logPath).map((line) => (JSON.parse(line) as { payload: unknown }).payload)).toEqual([{ n: 1 }, { n: 2 }]);
    await t.close();
  });

  it("after a crash, skips every line of the crash window that was written but not recorded", async () => {
    const dir = tempDir();
    const logPath = join(dir, "events.log");
    const store = openSqliteStore(join(dir, "store.sqlite"));
    const stored: string[] = [];
    for (let n = 1; n <= 40; n++) {
      // Several projects, as lanes would have written them, none of the deliveries recorded yet.
      const project = { id: n % 4, path: `g/p${n % 4}`, url: null, visibility: "public" as const };
      const appended = await appendEvent(store, { project, payload: { n } }, ["log"]);
      stored.push(JSON.stringify(appended.stored?.toEvent()));
    }
    appendFileSync(logPath, `${stored.join("\n")}\n`);
    await store.close();

    const t = await startTestDaemon({ LOG_EVENTS_TO: logPath }, {}, dir);
    await waitFor(async () => ((await t.daemon.store.deliveryCounts()).get("log")?.pending === undefined ? true : undefined));
    const written = lines(logPath).map((line) => (JSON.parse(line) as { payload: { n: number } }).payload.n);
    expect(written).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await t.close();
  });

  it("writes the whole normalized event, payload included, one line each, into directories it creates", async () => {
    const dir = tempDir();
    const logPath = join(dir, "nested", "deeper", "events.log");
    const t = await startTestDaemon({ LOG_EVENTS_TO: logPath }, {}, dir);
    const body = fixtureJson("project__merge_request_open.json");
    const ids = await Promise.all(
      Array.from(
        { length: 20 },
        async () => ((await (await postHook(t.url, body, { event: "Merge Request Hook" })).json()) as { id: number }).id,
      ),
    );
    await waitFor(() => (lines(logPath).length === 20 ? true : undefined));
    const events = lines(logPath).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.map((e) => e.id)).toEqual([...ids].sort((a, b) => a - b));
    expect(events[0]).toMatchObject({ hook: "project", type: "merge_request", action: "open", payload: body });
    await t.close();
  });

  it("writes a line once while the store will not record its delivery, backing off and logging the trouble rarely", async () => {
    const dir = tempDir();
    const logPath = join(dir, "events.log");
    let full = true;
    let store: ReturnType<typeof faultyStore> | undefined;
    const t = await startTestDaemon({ LOG_EVENTS_TO: logPath }, {}, dir, {
      store: (config) => (store = faultyStore(openSqliteStore(config.DATABASE_PATH), ["markDelivered", "markFailed"], () => full)),
    });
    const post = async (project: number) =>
      (
        (await (await postHook(t.url, { object_kind: "push", project: { id: project, path_with_namespace: `g/p${project}` } })).json()) as {
          id: number;
        }
      ).id;
    const ids = [await post(1), await post(2), await post(3)];
    await sleep(2500);
    expect(
      lines(logPath)
        .map((line) => (JSON.parse(line) as { id: number }).id)
        .sort(),
    ).toEqual(ids);
    const failures = store?.failures ?? 0;
    expect(failures).toBeGreaterThan(ids.length);
    expect(failures).toBeLessThan(40);
    full = false;
    await waitFor(async () => ((await t.daemon.store.deliveryCounts()).get("log")?.pending === undefined ? true : undefined), 10_000);
    expect(lines(logPath)).toHaveLength(3);
    expect(t.logs().match(/could not record a delivery's outcome/g)).toHaveLength(1);
    await t.close();
  });

  it("writes to a new file when the log is deleted without a SIGHUP", async () => {
    const dir = tempDir();
    const logPath = join(dir, "events.log");
    const t = await startTestDaemon({ LOG_EVENTS_TO: logPath }, {}, dir);
    const post = async () => ((await (await postHook(t.url, { object_kind: "push" })).json()) as { id: number }).id;
    const first = await post();
    await waitFor(() => (lines(logPath).length === 1 ? true : undefined));
    rmSync(logPath);
    const second = await post();
    await waitFor(() => (existsSync(logPath) && lines(logPath).length === 1 ? true : undefined));
    expect((JSON.parse(lines(logPath)[0] as string) as { id: number }).id).toBe(second);
    expect(second).toBeGreaterThan(first);
    expect(t.logs()).toMatch(/the event log file was deleted or moved without a SIGHUP; writing to a new one/);
    await t.close();
  });

  it("leaves no torn line when the disk fills in the middle of one, and writes the event whole once there is room", async () => {
    // A file size limit (prlimit --fsize) stands in for a full disk: the write that crosses it is
    // cut short, the next fails. The store is PostgreSQL, so that only the log meets the limit. (A soft limit, so
    // that lifting it needs no privilege.)
    const dir = tempDir();
    const logPath = join(dir, "events.log");
    const before = Array.from({ length: 40 }, (_, n) => JSON.stringify({ id: -n, note: "x".repeat(2000) }));
    appendFileSync(logPath, `${before.join("\n")}\n`);
    const limit = Buffer.byteLength(readFileSync(logPath)) + 3000;
    const database = await createDatabase(inject("postgresUrl"));
    const daemon = await spawnDaemon(
      {
        DATABASE_URL: database,
        SOURCE_TOKEN: TEST_TOKEN,
        SINKS_ENABLED: "log",
        LOG_EVENTS_TO: logPath,
        RETRY_MIN_MS: "100",
        RETRY_MAX_MS: "300",
      },
      dir,
      ["prlimit", `--fsize=${limit}:unlimited`],
    );
    try {
      const big = { object_kind: "push", note: "y".repeat(5000) };
      const ids = [];
      for (let n = 0; n < 3; n++) ids.push(((await (await postHook(daemon.url, { ...big, n })).json()) as { id: number }).id);
      await waitFor(() => (/delivery failed; will retry.*EFBIG/.test(daemon.output()) ? true : undefined), 10_000, "a failed write");
      // Every line stays whole JSON while the disk is full.
      for (const line of lines(logPath)) expect(() => JSON.parse(line)).not.toThrow();
      execFileSync("prlimit", ["--pid", String(daemon.child.pid), "--fsize=unlimited"]);
      await waitFor(
        () => (lines(logPath).length === before.length + ids.length ? true : undefined),
        10_000,
        "the events once there is room",
      );
      const written = lines(logPath).map((line) => JSON.parse(line) as { id: number });
      // Events about no project are not ordered among themselves: each once, whole.
      expect(
        written
          .slice(before.length)
          .map((line) => line.id)
          .sort((a, b) => a - b),
      ).toEqual(ids);
    } finally {
      daemon.child.kill("SIGKILL");
      await daemon.exited;
    }
  });
});
