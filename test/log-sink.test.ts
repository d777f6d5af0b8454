import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSqliteStore } from "../src/core/store/sqlite/open-sqlite-store.js";
import { postHook, startTestDaemon, tempDir, waitFor } from "./helpers/daemon.js";
import { fixtureJson } from "./helpers/fixtures.js";
import { appendEvent } from "./helpers/store.js";

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
      Array.from({ length: 20 }, async () => ((await (await postHook(t.url, body, { event: "Merge Request Hook" })).json()) as { id: number }).id),
    );
    await waitFor(() => (lines(logPath).length === 20 ? true : undefined));
    const events = lines(logPath).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.map((e) => e.id)).toEqual([...ids].sort((a, b) => a - b));
    expect(events[0]).toMatchObject({ hook: "project", type: "merge_request", action: "open", payload: body });
    await t.close();
  });
});
