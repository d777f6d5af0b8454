import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/settings.js";
import { postgresConnection } from "../../src/store/postgres/connection-config.js";
import { openPostgresStore } from "../../src/store/postgres/open-postgres-store.js";
import { PostgresServer } from "../../harness/postgres-server.js";
import { appendEvent } from "../helpers/store.js";

describe("DATABASE_URL for PostgreSQL", () => {
  it("reads host, port, user, an encoded password and the database, and shows no password in its location", () => {
    const connection = postgresConnection("postgresql://hooks:p%40ss%2Fword@db.example.org:6543/gitlab_webhooks?sslmode=require");
    expect(connection).toMatchObject({
      host: "db.example.org",
      port: 6543,
      user: "hooks",
      password: "p@ss/word",
      database: "gitlab_webhooks",
      ssl: { rejectUnauthorized: false },
    });
    expect(connection.location).toBe("postgres://hooks@db.example.org:6543/gitlab_webhooks (sslmode=require)");
    expect(connection.location).not.toContain("p%40ss");
  });

  it("takes sslmode as libpq does, and names what it accepts otherwise", () => {
    expect(postgresConnection("postgres://h/db").ssl).toBe(false);
    expect(postgresConnection("postgres://h/db?sslmode=disable").ssl).toBe(false);
    expect(postgresConnection("postgres://h/db?sslmode=verify-full").ssl).toMatchObject({ rejectUnauthorized: true });
    // Heroku's DATABASE_URL names no sslmode: PGSSLMODE=require supplies it.
    expect(postgresConnection("postgres://h/db", "require").ssl).toMatchObject({ rejectUnauthorized: false });
    expect(postgresConnection("postgres://h/db?sslmode=disable", "require").ssl).toBe(false);
    expect(() => postgresConnection("postgres://h/db?sslmode=sometimes")).toThrow(
      new ConfigError("DATABASE_URL (or PGSSLMODE) has sslmode=sometimes; it accepts disable, require, verify-ca or verify-full"),
    );
  });
});

describe("TLS to PostgreSQL", () => {
  let server: PostgresServer;
  let database: string;
  beforeAll(async () => {
    server = await PostgresServer.start({ tls: true });
    database = await server.createDatabase();
  });
  afterAll(() => server?.destroy());

  /** Whether the daemon's connections, as the server sees them, are encrypted. */
  async function daemonConnectionsUseTls(): Promise<boolean[]> {
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ ssl: boolean }>(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid WHERE a.application_name = 'gitlab-webhooks'",
      );
      return rows.map((row) => row.ssl);
    } finally {
      await admin.end();
    }
  }

  it("encrypts with sslmode=require, and not with sslmode=disable", async () => {
    for (const [mode, encrypted] of [
      ["require", true],
      ["disable", false],
    ] as const) {
      const store = await openPostgresStore(`${database}?sslmode=${mode}`);
      const { id } = await appendEvent(store);
      expect((await store.getEvent(id))?.id).toBe(id);
      // The previous store's connections may take a moment to leave pg_stat_activity.
      await expect.poll(async () => [...new Set(await daemonConnectionsUseTls())]).toEqual([encrypted]);
      await store.close();
    }
  });

  it("refuses a self-signed certificate with sslmode=verify-full", async () => {
    await expect(openPostgresStore(`${database}?sslmode=verify-full`)).rejects.toThrow(/self-signed certificate/);
  });
});
