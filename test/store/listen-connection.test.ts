import { join } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import { postHook, TEST_TOKEN, waitFor } from "../helpers/daemon.js";
import { openFeed, type Feed } from "../helpers/feed.js";
import { createDatabase } from "../../harness/postgres-server.js";
import { spawnDaemon, type SpawnedDaemon } from "../../harness/spawn-daemon.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import { tempDir } from "../../harness/temp-dir.js";

const SSE_TOKEN = "listen-feed-token-0123";
const auth = { Authorization: `Bearer ${SSE_TOKEN}` };

/**
 * PostgreSQL tells a daemon of the others' events on a LISTEN connection of its own; when that
 * connection dies without a word (a NAT forgets it), the daemon must still see them soon.
 */
describe("the PostgreSQL notification connection", () => {
  const daemons: SpawnedDaemon[] = [];
  const feeds: Feed[] = [];
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    for (const feed of feeds.splice(0)) feed.close();
    for (const daemon of daemons.splice(0)) {
      if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill("SIGKILL");
      await daemon.exited;
    }
    await proxy?.close();
  });

  it("dead without a word, still lets another daemon's events reach a subscriber within seconds", { timeout: 60_000 }, async () => {
    const url = new URL(await createDatabase(inject("postgresUrl")));
    proxy = await TcpProxy.start(Number(url.port));
    const proxied = new URL(url);
    proxied.port = String(proxy.port);
    const start = async (databaseUrl: string) => {
      const dir = tempDir();
      const daemon = await spawnDaemon(
        { DATABASE_URL: databaseUrl, SOURCE_TOKEN: TEST_TOKEN, SSE_TOKEN, SINKS_ENABLED: "sse", LOG_EVENTS_TO: join(dir, "events.log") },
        dir,
      );
      daemons.push(daemon);
      return daemon;
    };
    const a = await start(url.toString());
    const b = await start(proxied.toString());
    const onB = await openFeed(`${b.url}/sse/`, auth);
    feeds.push(onB);
    const post = async (n: number) => ((await (await postHook(a.url, { object_kind: "push", n })).json()) as { id: number }).id;

    const first = await post(1);
    await onB.waitForCount(1, 10_000);
    expect(onB.ids()).toEqual([first]);

    expect(proxy.silence("LISTEN")).toBe(1);
    const later: number[] = [];
    for (let n = 2; n <= 4; n++) {
      const posted = Date.now();
      later.push(await post(n));
      await waitFor(() => (onB.ids().includes(later.at(-1) as number) ? true : undefined), 8_000, `event ${later.at(-1)} on B's feed`);
      expect(Date.now() - posted).toBeLessThan(8_000);
    }
    expect(onB.ids()).toEqual([first, ...later]);
    // And B finds the connection dead, drops it and listens on a new one.
    await waitFor(
      () => (/lost the database notification connection; reconnecting/.test(b.output()) ? true : undefined),
      15_000,
      "B reconnecting",
    );
    expect(b.output()).not.toMatch(/unhandled rejection|uncaught/i);
  });
});
