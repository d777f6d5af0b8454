import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { postHook, TEST_TOKEN, waitFor } from "../helpers/daemon.js";
import { SERVER_ENGINES } from "../helpers/engines.js";
import { openFeed, type Feed } from "../helpers/feed.js";
import { spawnDaemon, type SpawnedDaemon } from "../../harness/spawn-daemon.js";
import { tempDir } from "../../harness/temp-dir.js";

const RECORDER = fileURLToPath(new URL("../fixtures/sinks/record-deliveries.mjs", import.meta.url));
const SSE_TOKEN = "replica-feed-token-0123";

interface Recorded {
  replica: string;
  id: number;
  key: number | null;
  phase: "start" | "end";
  at: number;
}

const push = (project: number, extra: object = {}) => ({
  object_kind: "push",
  project: { id: project, path_with_namespace: `g/p${project}`, visibility_level: 20 },
  ...extra,
});

/**
 * Several daemons on one server database, each the Procfile command on its own port: every
 * guarantee of the store must hold across them, on every server engine.
 */
describe.each(SERVER_ENGINES)("several daemons on one $name database", (engine) => {
  const daemons: SpawnedDaemon[] = [];
  const feeds: Feed[] = [];
  afterEach(async () => {
    for (const feed of feeds.splice(0)) feed.close();
    await Promise.all(
      daemons.splice(0).map(async (daemon) => {
        if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill("SIGKILL");
        await daemon.exited;
      }),
    );
  });
  const test = engine.available ? it : it.skip;

  async function start(name: string, location: string, recordFile: string, env: Record<string, string> = {}): Promise<SpawnedDaemon> {
    const dir = tempDir();
    const daemon = await spawnDaemon(
      {
        ...engine.env(location),
        SOURCE_TOKEN: TEST_TOKEN,
        SSE_TOKEN,
        SINKS_ENABLED: `sse,${RECORDER}`,
        DELIVERY_LEASE_SECONDS: "2",
        RETRY_MIN_MS: "50",
        REPLICA_NAME: name,
        RECORD_FILE: recordFile,
        RECORD_DELAY_MS: "15",
        SLOW_DELIVERY_MS: "60000",
        ...env,
      },
      dir,
    );
    daemons.push(daemon);
    return daemon;
  }

  const records = (file: string): Recorded[] =>
    existsSync(file)
      ? readFileSync(file, "utf8")
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => JSON.parse(line) as Recorded)
      : [];

  async function post(
    daemon: SpawnedDaemon,
    body: object,
    deliveryId?: string,
  ): Promise<{ status: number; id: number; duplicate?: boolean }> {
    const response = await postHook(daemon.url, body, deliveryId ? { deliveryId } : {});
    return { status: response.status, ...((await response.json()) as { id: number; duplicate?: boolean }) };
  }

  test("store an event once, share the deliveries, run each on one daemon at a time, in order per project", async () => {
    const location = await engine.freshLocation();
    const recordFile = join(tempDir(), "records.jsonl");
    const [a, b] = await Promise.all([start("a", location, recordFile), start("b", location, recordFile)]);

    const first = await post(a, push(1), "resent-delivery");
    const resent = await post(b, push(1), "resent-delivery");
    expect(first.status).toBe(202);
    expect(resent).toEqual({ status: 200, id: first.id, duplicate: true });

    const posted = await Promise.all(Array.from({ length: 80 }, (_, n) => post(n % 2 ? a : b, push(n % 8))));
    expect(posted.every((result) => result.status === 202)).toBe(true);
    const ids = [first.id, ...posted.map((result) => result.id)].sort((x, y) => x - y);
    await waitFor(
      () => (records(recordFile).filter((r) => r.phase === "end").length >= ids.length ? true : undefined),
      30_000,
      "every delivery",
    );

    const all = records(recordFile);
    const starts = all.filter((r) => r.phase === "start");
    // Each delivery ran exactly once, and both daemons ran some.
    expect(starts.map((r) => r.id).sort((x, y) => x - y)).toEqual(ids);
    expect(new Set(starts.map((r) => r.replica))).toEqual(new Set(["a", "b"]));
    // Per project: in id order, each starting after the previous one ended, whichever daemon ran it.
    for (let project = 0; project < 8; project++) {
      const runs = starts
        .filter((r) => r.key === project)
        .map((r) => ({ ...r, end: all.find((e) => e.phase === "end" && e.id === r.id) as Recorded }));
      const inOrder = [...runs].sort((x, y) => x.at - y.at || x.id - y.id);
      expect(inOrder.map((r) => r.id)).toEqual(runs.map((r) => r.id).sort((x, y) => x - y));
      for (let i = 1; i < inOrder.length; i++) expect(inOrder[i]!.at).toBeGreaterThanOrEqual(inOrder[i - 1]!.end.at);
    }
  });

  test("keep the first-run token in the database: a daemon on a fresh filesystem accepts the same one", async () => {
    const location = await engine.freshLocation();
    const env = { ...engine.env(location), SINKS_ENABLED: "sse" };
    const firstDir = tempDir();
    const first = await spawnDaemon(env, firstDir);
    daemons.push(first);
    const token = readFileSync(join(firstDir, "data", "source-token"), "utf8").trim();
    expect(first.output()).not.toContain(token);
    first.child.kill("SIGTERM");
    await first.exited;

    const freshDir = tempDir();
    const second = await spawnDaemon(env, freshDir);
    daemons.push(second);
    expect((await postHook(second.url, push(1), { token })).status).toBe(202);
    expect(readFileSync(join(freshDir, "data", "source-token"), "utf8").trim()).toBe(token);
    expect(second.output()).toMatch(/accepting only the token kept in the store/);
  });

  test("finish a killed daemon's delivery on another once its claim lapses, keeping the project's order", async () => {
    const location = await engine.freshLocation();
    const recordFile = join(tempDir(), "records.jsonl");
    const a = await start("a", location, recordFile);
    const slow = await post(a, push(1, { slow: true }));
    const next = await post(a, push(1));
    await waitFor(
      () => (records(recordFile).some((r) => r.id === slow.id && r.phase === "start") ? true : undefined),
      10_000,
      "the slow delivery",
    );
    const b = await start("b", location, recordFile, { SLOW_DELIVERY_MS: "10" });
    const killedAt = Date.now();
    a.child.kill("SIGKILL");
    await a.exited;

    await waitFor(() => (records(recordFile).some((r) => r.id === next.id && r.phase === "end") ? true : undefined), 15_000, "b to finish");
    const byB = records(recordFile).filter((r) => r.replica === "b");
    expect(byB.map((r) => [r.id, r.phase])).toEqual([
      [slow.id, "start"],
      [slow.id, "end"],
      [next.id, "start"],
      [next.id, "end"],
    ]);
    // Not before a's claim lapsed (2 s, renewed until the kill).
    expect((byB[0] as Recorded).at - killedAt).toBeGreaterThanOrEqual(1000);
    expect(b.output()).not.toMatch(/unhandled|TypeError/i);
  });

  test("feed every event to a subscriber of any daemon, in id order, without gap or duplicate, live and on resume", async () => {
    const location = await engine.freshLocation();
    const recordFile = join(tempDir(), "records.jsonl");
    const [a, b] = await Promise.all([start("a", location, recordFile), start("b", location, recordFile)]);
    const auth = { Authorization: `Bearer ${SSE_TOKEN}` };
    const onA = await openFeed(`${a.url}/sse/`, auth);
    const onB = await openFeed(`${b.url}/sse/`, auth);
    feeds.push(onA, onB);

    const firstHalf = await Promise.all(Array.from({ length: 60 }, (_, n) => post(n % 2 ? a : b, push(n % 5))));
    await onB.waitForCount(60, 15_000);
    const resumeFrom = onB.ids().at(-1) as number;
    onB.close();
    const secondHalf = await Promise.all(Array.from({ length: 60 }, (_, n) => post(n % 3 ? a : b, push(n % 5))));
    const resumed = await openFeed(`${b.url}/sse/`, { ...auth, "Last-Event-ID": String(resumeFrom) });
    feeds.push(resumed);

    const ids = [...firstHalf, ...secondHalf].map((result) => result.id).sort((x, y) => x - y);
    await onA.waitForCount(120, 15_000);
    await resumed.waitForCount(60, 15_000);
    expect(onA.ids()).toEqual(ids);
    expect([...onB.ids(), ...resumed.ids()]).toEqual(ids);
  });
});
