import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { postHook, TEST_TOKEN, waitFor } from "../helpers/daemon.js";
import { SERVER_ENGINES, type DedicatedServer } from "../helpers/engines.js";
import { openFeed } from "../helpers/feed.js";
import { runCli, spawnDaemon, type SpawnedDaemon } from "../../harness/spawn-daemon.js";
import { tempDir } from "../../harness/temp-dir.js";

const RECORDER = fileURLToPath(new URL("../fixtures/sinks/record-deliveries.mjs", import.meta.url));
const SSE_TOKEN = "outage-feed-token-0123";
const push = (extra: object = {}) => ({
  object_kind: "push",
  project: { id: 1, path_with_namespace: "g/p1", visibility_level: 20 },
  ...extra,
});

/** The database goes away under a running daemon, and comes back. */
describe.each(SERVER_ENGINES)("a $name outage", (engine) => {
  let server: DedicatedServer | undefined;
  let daemon: SpawnedDaemon | undefined;
  afterEach(async (context) => {
    if (context.task.result?.state === "fail") console.log(daemon?.output());
    daemon?.child.kill("SIGKILL");
    await daemon?.exited;
    await server?.destroy();
    daemon = server = undefined;
  });
  const test = engine.available ? it : it.skip;

  test("answers 503 on /hooks and /healthz while the database is away, then resumes without a restart, losing nothing", async () => {
    server = await (engine.dedicatedServer as () => Promise<DedicatedServer>)();
    const recordFile = join(tempDir(), "records.jsonl");
    daemon = await spawnDaemon(
      {
        ...engine.env(server.location),
        SOURCE_TOKEN: TEST_TOKEN,
        SSE_TOKEN,
        SINKS_ENABLED: `sse,${RECORDER}`,
        REPLICA_NAME: "only",
        RECORD_FILE: recordFile,
        RECORD_DELAY_MS: "0",
        SLOW_DELIVERY_MS: "1500",
        RETRY_MIN_MS: "100",
      },
      tempDir(),
    );
    const url = daemon.url;
    const post = async (body: object) => {
      const response = await postHook(url, body);
      return { status: response.status, body: (await response.json()) as { id?: number; error?: string } };
    };
    const feed = await openFeed(`${url}/sse/`, { Authorization: `Bearer ${SSE_TOKEN}` });
    const before = await post(push());
    // Acknowledged and delivering when the database goes: its outcome is recorded once it is back.
    const during = await post(push({ slow: true }));
    expect([before.status, during.status]).toEqual([202, 202]);
    await feed.waitForCount(2);

    await server.stop();
    const refused = await post(push());
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatch(/store is unavailable.*GitLab will retry/);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { store: string }).store).toMatch(/^unusable: /);

    await server.restart();
    const after = await waitFor(
      async () => {
        const result = await post(push());
        return result.status === 202 ? result : undefined;
      },
      20_000,
      "ingest to resume",
    );
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const ids = [before.body.id, during.body.id, after.body.id] as number[];
    await feed.waitForCount(3, 15_000);
    feed.close();
    expect(feed.ids()).toEqual(ids);
    const records = () =>
      (existsSync(recordFile) ? readFileSync(recordFile, "utf8").split("\n").filter(Boolean) : []).map(
        (line) => JSON.parse(line) as { id: number; phase: string },
      );
    await waitFor(() => (records().filter((r) => r.phase === "end").length >= 3 ? true : undefined), 15_000, "every delivery");
    await waitFor(
      async () => {
        const check = await fetch(`${url}/healthz`);
        const body = (await check.json()) as { sinks: { recorder: { pending: number } } };
        return body.sinks.recorder.pending === 0 ? true : undefined;
      },
      15_000,
      "the slow delivery to be recorded",
    );
    // Each ran exactly once: the outcome that could not be written was written later, not re-run.
    expect(
      records()
        .filter((r) => r.phase === "start")
        .map((r) => r.id),
    ).toEqual(ids);
    expect(daemon.child.exitCode).toBeNull();
    expect(daemon.output()).not.toMatch(/unhandled|uncaught/i);
    // The database password is in no log line and no page.
    const password = decodeURIComponent(new URL(server.location).password);
    expect(daemon.output()).not.toContain(password);
    expect(JSON.stringify(refused.body) + JSON.stringify(await (await fetch(`${url}/healthz`)).json())).not.toContain(password);
  });

  test("stops start-up with one line naming DATABASE_URL, without its password, when the database cannot be reached", async () => {
    server = await (engine.dedicatedServer as () => Promise<DedicatedServer>)();
    await server.stop();
    const password = decodeURIComponent(new URL(server.location).password);
    const run = runCli(["serve"], { ...engine.env(server.location), PORT: "0", SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse" }, tempDir());
    expect((await run.exited).code).toBe(1);
    const lines = run.output().trim().split("\n");
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^gitlab-webhooks: could not open the ${engine.name} database of DATABASE_URL \\(.*://.*@127\\.0\\.0\\.1:\\d+/t_\\w+\\): .*ECONNREFUSED`,
      ),
    );
    expect(run.output()).not.toContain(password);
  });

  // PostgreSQL can be made read-only under a running daemon (MariaDB's read_only spares the test's all-powerful user).
  if (engine.name === "postgres")
    test("answers 503 while the database takes no writes, and 200 again once it does, without a restart", async () => {
      server = await (engine.dedicatedServer as () => Promise<DedicatedServer>)();
      daemon = await spawnDaemon({ ...engine.env(server.location), SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse" }, tempDir());
      const url = daemon.url;
      const admin = new pg.Client({ connectionString: server.location });
      await admin.connect();
      const readOnly = async (on: boolean) => {
        await admin.query(on ? "ALTER SYSTEM SET default_transaction_read_only = on" : "ALTER SYSTEM RESET default_transaction_read_only");
        await admin.query("SELECT pg_reload_conf()");
      };
      try {
        expect((await postHook(url, push())).status).toBe(202);
        await readOnly(true);
        const health = await waitFor(
          async () => {
            const response = await fetch(`${url}/healthz`);
            return response.status === 503 ? ((await response.json()) as { store: string }) : undefined;
          },
          10_000,
          "/healthz to say the store takes no writes",
        );
        expect(health.store).toMatch(/^unusable: .*read-only transaction/);
        expect((await postHook(url, push())).status).toBe(503);
        await readOnly(false);
        await waitFor(async () => ((await fetch(`${url}/healthz`)).status === 200 ? true : undefined), 10_000, "/healthz to recover");
        expect((await postHook(url, push())).status).toBe(202);
      } finally {
        await admin.end();
      }
    });
});
