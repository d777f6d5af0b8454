import { randomUUID } from "node:crypto";
import mysql, { type RowDataPacket } from "mysql2/promise";
import { describe, expect, inject, it } from "vitest";
import { ConfigError } from "../../src/config/settings.js";
import { mariadbConnection } from "../../src/store/mariadb/connection-config.js";
import { openMariaDbStore } from "../../src/store/mariadb/open-mariadb-store.js";
import type { Store } from "../../src/core/store.js";
import { TEST_TOKEN } from "../helpers/daemon.js";
import { createMariaDbDatabase } from "../../harness/mariadb-server.js";
import { spawnDaemon, type SpawnedDaemon } from "../../harness/spawn-daemon.js";
import { appendEvent } from "../helpers/store.js";
import { closeAfterTest, killAfterTest } from "../helpers/teardown.js";
import { tempDir } from "../../harness/temp-dir.js";

describe("DATABASE_URL for MariaDB", () => {
  it("takes the user and password from TOOL_TOOLSDB_* when the URL has none, and shows no password", () => {
    const toolforge = mariadbConnection("mysql://tools.db.svc.wikimedia.cloud/s12345__gitlab_webhooks", {
      user: "s12345",
      password: "from-env-secret",
    });
    expect(toolforge).toMatchObject({
      host: "tools.db.svc.wikimedia.cloud",
      port: 3306,
      user: "s12345",
      password: "from-env-secret",
      database: "s12345__gitlab_webhooks",
    });
    expect(toolforge.location).toBe("mysql://s12345@tools.db.svc.wikimedia.cloud/s12345__gitlab_webhooks");
    const explicit = mariadbConnection("mariadb://hooks:p%40ss@db:3307/hooks", { user: "ignored", password: "ignored" });
    expect(explicit).toMatchObject({ user: "hooks", password: "p@ss", port: 3307 });
    expect(explicit.location).not.toContain("p@ss");
  });

  it("names what is missing or wrong", () => {
    expect(() => mariadbConnection("mysql://db.example.org/")).toThrow(ConfigError);
    expect(() => mariadbConnection("mysql://db.example.org/")).toThrow(/names no database/);
    expect(() => mariadbConnection("mysql://db/x?sslmode=maybe")).toThrow(/accepts disable, require or verify-full/);
  });
});

const available = inject("mariadbUrl") !== null;

describe.skipIf(!available)("the MariaDB store", () => {
  let store: Store | undefined;
  let daemon: SpawnedDaemon | undefined;

  it("stores a payload larger than the server's max_allowed_packet in parts, and reads it back whole", async () => {
    const url = await createMariaDbDatabase(inject("mariadbUrl") as string);
    store = closeAfterTest(await openMariaDbStore(url));
    const admin = await mysql.createConnection(url);
    const [[packet]] = await admin.query<({ bytes: number } & RowDataPacket)[]>("SELECT @@max_allowed_packet AS bytes");
    expect(packet?.bytes).toBe(16 * 1024 * 1024);
    const payload = { object_kind: "push", blob: "é✓".repeat(10 * 1024 * 1024) };
    const { id } = await appendEvent(store, { payload });
    const [[row]] = await admin.query<({ parts: number } & RowDataPacket)[]>("SELECT payload_parts AS parts FROM events WHERE id = ?", [
      id,
    ]);
    await admin.end();
    expect(row?.parts).toBeGreaterThan(1);
    expect((await store.getEvent(id))?.payloadJson).toBe(JSON.stringify(payload));
  });

  it("refuses a value too long for its column instead of truncating it", async () => {
    store = closeAfterTest(await openMariaDbStore(await createMariaDbDatabase(inject("mariadbUrl") as string)));
    await expect(store.recordOnce("phabricator", `12!4:${"T".repeat(600)}`, Date.now())).rejects.toThrow(/too long/i);
    expect(await store.recordsWithPrefix("phabricator", "12!4:")).toEqual([]);
  });

  it("accepts a 25 MB body through the daemon, with credentials from TOOL_TOOLSDB_*, never printing the password", async () => {
    const admin = new URL(await createMariaDbDatabase(inject("mariadbUrl") as string));
    const password = decodeURIComponent(admin.password);
    const user = decodeURIComponent(admin.username);
    const withoutCredentials = `mysql://${admin.host}${admin.pathname}`;
    daemon = killAfterTest(
      await spawnDaemon(
        {
          DATABASE_URL: withoutCredentials,
          TOOL_TOOLSDB_USER: user,
          TOOL_TOOLSDB_PASSWORD: password,
          SOURCE_TOKEN: TEST_TOKEN,
          SINKS_ENABLED: "sse",
          ADMIN_TOKEN: "admin-token-0123456",
        },
        tempDir(),
      ),
    );
    const body = JSON.stringify({ object_kind: "push", blob: "x".repeat(25 * 1024 * 1024 - 64) });
    const response = await fetch(`${daemon.url}/hooks`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Token": TEST_TOKEN,
        "Idempotency-Key": randomUUID(),
      },
      body,
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: number };
    const stored = await fetch(`${daemon.url}/api/events/${id}`, { headers: { Authorization: "Bearer admin-token-0123456" } });
    expect(JSON.stringify(((await stored.json()) as { payload: unknown }).payload)).toBe(body);
    expect(daemon.output()).toContain(`store":"mariadb mysql://${user}@${admin.host}${admin.pathname}`);
    expect(daemon.output()).not.toContain(password);
  });
});
