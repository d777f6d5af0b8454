import { describe, expect, inject, it } from "vitest";
import type { Store } from "../../src/core/store.js";
import { openMariaDbStore } from "../../src/store/mariadb/open-mariadb-store.js";
import { openPostgresStore } from "../../src/store/postgres/open-postgres-store.js";
import { createMariaDbDatabase } from "../../harness/mariadb-server.js";
import { createDatabase } from "../../harness/postgres-server.js";
import { appendEvent } from "../helpers/store.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import { closeAfterTest } from "../helpers/teardown.js";

/** A short deadline, so that the test waits seconds, not the daemon's 35 s (not so short that a loaded machine's stall trips it). */
const DEADLINE_MS = 2000;

const SERVER_ENGINES = [
  {
    name: "postgres",
    available: true,
    location: () => createDatabase(inject("postgresUrl")),
    open: (url: string) => openPostgresStore(url, { poolSize: 3, statementDeadlineMs: DEADLINE_MS }),
  },
  {
    name: "mariadb",
    available: inject("mariadbUrl") !== null,
    location: () => createMariaDbDatabase(inject("mariadbUrl") as string),
    open: (url: string) => openMariaDbStore(url, { poolSize: 3, statementDeadlineMs: DEADLINE_MS }),
  },
];

/** How long `work` took to settle, and how. */
async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = Date.now();
  try {
    const value = await work();
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

/**
 * A connection can die without a word: a NAT or a firewall forgets it, the database's host
 * vanishes. Nothing answers, nothing closes it, and TCP retransmits for a quarter of an hour before
 * it gives up. A statement sent on it must fail within the daemon's deadline, and its connection be
 * thrown away, or it holds whatever waits on it: the append pipeline (every request of the daemon
 * until GitLab disables the hook), a delivery lane and its claims.
 */
describe.each(SERVER_ENGINES)("$name: a database connection gone silent", (engine) => {
  it.skipIf(!engine.available)(
    "fails its statement within the deadline, and the store goes on on new connections",
    { timeout: 60_000 },
    async () => {
      const url = new URL(await engine.location());
      const proxy = closeAfterTest(await TcpProxy.start(Number(url.port)));
      url.port = String(proxy.port);
      const store: Store = closeAfterTest(await engine.open(url.toString()));
      // Connections opened and used, as a running daemon's are.
      await Promise.all([appendEvent(store, {}, ["log"]), appendEvent(store, {}, ["log"]), store.deliveryCounts()]);

      expect(proxy.silence("")).toBeGreaterThan(0);

      // Each call that meets a silenced connection fails once the deadline passes, and takes that
      // connection out; the pool's others follow, until a new connection carries the call.
      const attempts: { ms: number; error?: unknown }[] = [];
      for (let i = 0; i < 8; i++) {
        const attempt = await timed(() => appendEvent(store, {}, ["log"]));
        attempts.push(attempt);
        if (attempt.error === undefined) break;
      }
      const last = attempts.at(-1);
      expect(last?.error, `every append failed: ${attempts.map((a) => String(a.error)).join("; ")}`).toBeUndefined();
      for (const attempt of attempts) expect(attempt.ms).toBeLessThan(DEADLINE_MS + 3000);
      // The first call met a silenced connection (every open one is): it failed, in words a reader can act on.
      expect(attempts.length).toBeGreaterThan(1);
      expect(String(attempts[0]?.error)).toMatch(/no answer from the database within 2 s; the connection is taken for dead and closed/);

      // A statement outside a transaction, on a connection of its own, gets through too (silenced
      // connections the pool still holds fail within the deadline first).
      for (let i = 0; i < 8; i++) {
        const counted = await timed(() => store.deliveryCounts());
        expect(counted.ms).toBeLessThan(DEADLINE_MS + 3000);
        if (counted.error === undefined) break;
        expect(i).toBeLessThan(7);
      }

      // The claim path (a transaction under the claim lock) works again too.
      const claimed = await timed(() => store.claimDeliveries("log", { owner: "test", now: Date.now(), leaseMs: 30_000, limit: 10 }));
      expect(claimed.error).toBeUndefined();
      expect(claimed.value?.length).toBeGreaterThan(0);
    },
  );
});
