import { copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/settings.js";
import { networkFilesystemName } from "../../src/store/sqlite/network-filesystem.js";
import { openSqliteStore } from "../../src/store/sqlite/open-sqlite-store.js";
import { SqliteDriver } from "../../src/store/sqlite/sqlite-driver.js";
import type { SqlQueries } from "../../src/store/sql/driver.js";
import { postHook, TEST_TOKEN, waitFor } from "../helpers/daemon.js";
import { runCli } from "../../harness/spawn-daemon.js";
import { appendEvent } from "../helpers/store.js";
import { killAfterTest } from "../helpers/teardown.js";
import { tempDir } from "../../harness/temp-dir.js";

/** The schema the first release wrote (PRAGMA user_version = 2), with some of its rows. */
function writeFirstReleaseStore(path: string): void {
  const db = new Database(path);
  db.exec(`
    CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id TEXT NOT NULL UNIQUE, received_at TEXT NOT NULL,
      instance TEXT, hook TEXT NOT NULL, type TEXT NOT NULL, action TEXT, project_id INTEGER, project_path TEXT, project_url TEXT,
      visibility TEXT, actor_username TEXT, actor_name TEXT, payload TEXT NOT NULL);
    CREATE INDEX events_received_at ON events (received_at);
    CREATE TABLE deliveries (sink TEXT NOT NULL, event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE, ordering_key TEXT,
      status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, last_error TEXT,
      updated_at INTEGER NOT NULL, PRIMARY KEY (sink, event_id)) WITHOUT ROWID;
    CREATE INDEX deliveries_pending ON deliveries (sink, event_id) WHERE status = 'pending';
    CREATE INDEX deliveries_event ON deliveries (event_id);
    CREATE TABLE ledger (sink TEXT NOT NULL, key TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (sink, key)) WITHOUT ROWID;
    CREATE INDEX deliveries_waiting ON deliveries (sink, next_attempt_at) WHERE status = 'pending';
    CREATE INDEX deliveries_failed ON deliveries (sink) WHERE status = 'failed';
    CREATE TABLE inventory_projects (id INTEGER PRIMARY KEY, path TEXT, name TEXT, namespace TEXT, visibility TEXT, owner TEXT,
      created_at TEXT, updated_at TEXT, default_branch TEXT, last_push_at TEXT, last_pusher TEXT, as_of TEXT NOT NULL DEFAULT '',
      deleted INTEGER NOT NULL DEFAULT 0);
    INSERT INTO events VALUES (7, 'gitlab-uuid-7', '2026-11-01T00:00:00.000Z', NULL, 'project', 'push', NULL, 3, 'g/p3', NULL, 'public', 'ada', NULL, '{"n":7}');
    INSERT INTO deliveries VALUES ('log', 7, 'id:3', 'pending', 2, 0, 'timeout', 0);
    INSERT INTO ledger VALUES ('phabricator', '3!1:T1:open', 0);
    INSERT INTO inventory_projects (id, path) VALUES (3, 'g/p3');
    UPDATE sqlite_sequence SET seq = 9 WHERE name = 'events';
    PRAGMA user_version = 2;
  `);
  db.close();
}

describe("SQLite store", () => {
  it("upgrades a store the first release wrote, keeping its events, deliveries, ledger, inventory and ids", async () => {
    const path = join(tempDir(), "store.sqlite");
    writeFirstReleaseStore(path);
    const store = openSqliteStore(path);
    expect((await store.getEvent(7))?.payload).toEqual({ n: 7 });
    expect(await store.deliveriesOf(7)).toMatchObject([{ sink: "log", status: "pending", attempts: 2, lastError: "timeout" }]);
    expect(await store.hasRecord("phabricator", "3!1:T1:open")).toBe(true);
    expect(await store.inventory.projectById(3)).toMatchObject({ path: "g/p3" });
    // Events 8 and 9 were pruned by the first release: their ids are never given again.
    expect((await appendEvent(store, {}, ["log"])).id).toBe(10);
    expect(
      (await store.claimDeliveries("log", { owner: "me", now: Date.now(), leaseMs: 60_000, limit: 10 })).map((d) => d.event.id),
    ).toEqual([7, 10]);
    await store.close();
  });

  it("refuses a network filesystem, naming DATABASE_URL", () => {
    expect(networkFilesystemName(0x6969)).toBe("nfs");
    expect(networkFilesystemName(-11317950)).toBe("cifs"); // 0xff534d42 as a signed 32-bit number
    expect(networkFilesystemName(0xef53)).toBeNull(); // ext4
    const dir = tempDir();
    expect(() => openSqliteStore(join(dir, "store.sqlite"), { statfs: () => ({ type: 0x6969 }) })).toThrow(
      new ConfigError(
        "DATABASE_PATH is on a network filesystem (nfs), where SQLite can lose or corrupt data; set DATABASE_URL to a PostgreSQL or MariaDB database instead",
      ),
    );
  });

  // Root writes anywhere but in /sys, which stands in for a read-only app directory here.
  it.each([
    ["DATABASE_PATH", { DATABASE_PATH: "/sys/gitlab-webhooks/data/store.sqlite" }],
    ["LOG_EVENTS_TO", { LOG_EVENTS_TO: "/sys/gitlab-webhooks/data/events.log" }],
  ])("stops start-up with one line naming %s when its directory cannot be written, exit status 78", async (variable, env) => {
    const dir = tempDir();
    const run = runCli(
      ["serve"],
      { PORT: "0", HOST: "127.0.0.1", DATABASE_PATH: join(dir, "store.sqlite"), LOG_EVENTS_TO: join(dir, "events.log"), ...env },
      dir,
    );
    expect((await run.exited).code).toBe(78);
    const lines = run.output().trim().split("\n");
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^gitlab-webhooks: configuration error: ${variable} is in /sys/gitlab-webhooks/data, which cannot be written \\(E[A-Z]+\\); point ${variable} at a writable`,
      ),
    );
    expect(lines.filter((line) => line.includes("configuration error"))).toHaveLength(1);
  });
});

describe("SQLite's synchronous level", () => {
  const FULL = 2;
  const level = async (queries: SqlQueries) => (await queries.all<{ synchronous: number }>("PRAGMA synchronous"))[0]?.synchronous;

  it("is FULL for every write but a relaxed transaction's, before and after one", async () => {
    const driver = new SqliteDriver(new Database(join(tempDir(), "store.sqlite")));
    try {
      expect(await level(driver)).toBe(FULL);
      expect(await driver.transaction(level, { relaxed: true })).toBeLessThan(FULL);
      // Outside any transaction (the ledger's, settings' and identities' writes) and in a durable one.
      expect(await level(driver)).toBe(FULL);
      expect(await driver.transaction(level)).toBe(FULL);
      await expect(driver.transaction(() => Promise.reject(new Error("rolled back")), { relaxed: true })).rejects.toThrow("rolled back");
      expect(await level(driver)).toBe(FULL);
    } finally {
      await driver.close();
    }
  });
});

describe("SQLite's write-ahead log", () => {
  it("is copied into the database file by a thread of its own, not by the commit of an append", async () => {
    const path = join(tempDir(), "store.sqlite");
    const store = openSqliteStore(path, { backgroundCheckpoints: true });
    try {
      // ~300 pages of events: under SQLite's 1,000-page automatic checkpoint, which a commit would run.
      const payload = { object_kind: "push", text: "x".repeat(4000) };
      const ids = await Promise.all(
        Array.from({ length: 300 }, () => appendEvent(store, { payload }, ["log"]).then((result) => result.id)),
      );
      // The database file alone (without its -wal), as a copy: it holds every committed event once checkpointed.
      // A copy taken while a checkpoint writes the file may be torn: it is looked at again.
      const eventsInFile = () => {
        const copy = `${path}.copy`;
        copyFileSync(path, copy);
        const db = new Database(copy, { readonly: true });
        try {
          const schema = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'events'").get() as { n: number };
          return schema.n === 0 ? 0 : (db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n;
        } catch (error) {
          if ((error as { code?: unknown }).code === "SQLITE_CORRUPT") return -1;
          throw error;
        } finally {
          db.close();
        }
      };
      await waitFor(() => (eventsInFile() === ids.length ? true : undefined), 5000, "the events in the database file");
    } finally {
      await store.close();
    }
  });
});

describe("one daemon per SQLite file", () => {
  const serve = (path: string, env: Record<string, string> = {}) => {
    const run = runCli(
      ["serve"],
      { PORT: "0", HOST: "127.0.0.1", DATABASE_PATH: path, SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "log", ...env },
      dirname(path),
    );
    return killAfterTest(run);
  };
  const listening = (run: ReturnType<typeof runCli>) => /listening on [\d.]+:(\d+)/.exec(run.output())?.[1];
  const started = (run: ReturnType<typeof runCli>) => waitFor(() => listening(run), 15_000, "the daemon listening");

  it("starts a second daemon on the same file only once the first has stopped (SIGTERM), and never beside it", async () => {
    const path = join(tempDir(), "store.sqlite");
    const first = serve(path, { SHUTDOWN_TIMEOUT_MS: "200" });
    const port = await started(first);
    const second = serve(path);
    await waitFor(
      () => /another daemon has DATABASE_PATH .* open; waiting up to 25 s/.test(second.output()) || undefined,
      10_000,
      "the second daemon waiting",
    );
    // The first still takes events while the second waits.
    expect((await postHook(`http://127.0.0.1:${port}`, { object_kind: "push" })).status).toBe(202);
    expect(listening(second)).toBeUndefined();
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);
    await started(second);
  });

  it("lets a second daemon start at once after kill -9 of the first: the lock dies with its process", async () => {
    const path = join(tempDir(), "store.sqlite");
    const first = serve(path);
    await started(first);
    first.child.kill("SIGKILL");
    await first.exited;
    const second = serve(path);
    await started(second);
    expect(second.output()).not.toContain("waiting");
  });

  it("refuses to start with one line naming DATABASE_PATH when the first does not stop in time", async () => {
    const path = join(tempDir(), "store.sqlite");
    const first = serve(path);
    await started(first);
    const second = serve(path, { SHUTDOWN_TIMEOUT_MS: "0" });
    expect((await second.exited).code).toBe(78);
    const errors = second
      .output()
      .trim()
      .split("\n")
      .filter((line) => line.includes("configuration error"));
    expect(errors).toEqual([
      `gitlab-webhooks: configuration error: DATABASE_PATH ${path} is in use by another daemon (it holds ${path}.lock), which did not stop within 5 s; stop it, or give this daemon a DATABASE_PATH of its own`,
    ]);
    expect(first.child.exitCode).toBeNull();
  });
});
