import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sign } from "../../src/support/standard-webhooks.js";
import { postHook, startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { fixtureBody, fixtureJson } from "../helpers/fixtures.js";
import { spawnDaemon, type SpawnedDaemon } from "../../harness/spawn-daemon.js";
import { openSqliteStore } from "../../src/store/sqlite/open-sqlite-store.js";
import { appendEvent } from "../helpers/store.js";
import { closeAfterTest, killAfterTest } from "../helpers/teardown.js";
import { tempDir } from "../../harness/temp-dir.js";
import { sleep } from "../helpers/sleep.js";

const ADMIN = "hostile-admin-token-0123";
const A_TOKEN = "project-a-token-0123456789";
const B_TOKEN = "project-b-token-0123456789";

let t: TestDaemon | undefined;
let spawned: SpawnedDaemon | undefined;

const push = (path: string, id: number, extra: object = {}) => ({
  object_kind: "push",
  project: { id, path_with_namespace: path, visibility_level: 20 },
  ...extra,
});

/** A body nested `depth` levels deep: {"a":{"a":…}}, with a line break when asked. */
const nested = (depth: number, newline = false) =>
  `{"object_kind":"push",${newline ? "\n" : ""}"x":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;

async function json(response: Response): Promise<{ id?: number; duplicate?: boolean; error?: string }> {
  return (await response.json()) as { id?: number; duplicate?: boolean; error?: string };
}

describe("hostile input", () => {
  it("1: refuses a body nested too deep on its own, while the requests committed beside it succeed", async () => {
    t = closeAfterTest(await startTestDaemon({ ADMIN_TOKEN: ADMIN, SINKS_ENABLED: "sse,log" }));
    const url = t.url;
    const genuine = Array.from({ length: 60 }, (_, n) => postHook(url, push("g/p", 1, { n })));
    const poisoned = Array.from({ length: 10 }, () => postHook(url, nested(5000, true)));
    const [genuineAnswers, poisonedAnswers] = await Promise.all([Promise.all(genuine), Promise.all(poisoned)]);
    expect(genuineAnswers.map((response) => response.status)).toEqual(genuineAnswers.map(() => 202));
    expect(poisonedAnswers.map((response) => response.status)).toEqual(poisonedAnswers.map(() => 400));
    expect((await json(poisonedAnswers[0] as Response)).error).toBe("body nests objects and arrays deeper than 100 levels");

    const million = await postHook(url, nested(1_000_000));
    expect(million.status).toBe(400);
    // As deep as is allowed: stored as sent, and readable through the API, the log and the feed.
    const deepest = await postHook(url, nested(98));
    expect(deepest.status).toBe(202);
    const { id } = await json(deepest);
    const read = await fetch(`${url}/api/events/${id}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    expect(read.status).toBe(200);
    expect(JSON.stringify(((await read.json()) as { payload: unknown }).payload)).toBe(nested(98));
    const logged = await waitFor(() =>
      readFileSync(`${t!.dir}/events.log`, "utf8")
        .split("\n")
        .find((line) => line.startsWith(`{"id":${id},`)),
    );
    expect(JSON.stringify((JSON.parse(logged) as { payload: unknown }).payload)).toBe(nested(98));
  });

  it("2: deduplicates an idempotency key only among events about the same project", async () => {
    t = closeAfterTest(await startTestDaemon({ PROJECT_TOKENS: `a/*=${A_TOKEN},b/*=${B_TOKEN}` }));
    for (const headerName of ["Idempotency-Key", "webhook-id", "X-Gitlab-Event-UUID"]) {
      const key = randomUUID();
      const headers = { [headerName]: key, "Idempotency-Key": headerName === "Idempotency-Key" ? key : "" };
      const forged = await postHook(t.url, push("a/x", 1), { token: A_TOKEN, headers });
      expect(forged.status).toBe(202);
      // Project B's genuine event with the same key, through B's token, is stored and delivered.
      const byB = await postHook(t.url, push("b/y", 2), { token: B_TOKEN, headers });
      expect(byB.status).toBe(202);
      const ids = [await json(forged), await json(byB)].map((body) => body.id);
      expect(new Set(ids).size).toBe(2);
      // The same event again, whichever credential sends it (a resend, or `hooks recover` with SOURCE_TOKEN): a duplicate.
      const resent = await postHook(t.url, push("a/x", 1), { token: A_TOKEN, headers });
      expect(await json(resent)).toEqual({ id: ids[0], duplicate: true });
      const recovered = await postHook(t.url, push("b/y", 2), { token: TEST_TOKEN, headers });
      expect(await json(recovered)).toEqual({ id: ids[1], duplicate: true });
    }
  });

  it("3: answers a replayed signed request as a duplicate, whatever Idempotency-Key and X-Gitlab-Event it carries", async () => {
    const secret = `whsec_${randomBytes(24).toString("base64")}`;
    t = closeAfterTest(await startTestDaemon({ SOURCE_SIGNING_TOKEN: secret }));
    const body = fixtureBody("project__merge_request_open.json");
    const webhookId = randomUUID();
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signed = {
      "webhook-id": webhookId,
      "webhook-timestamp": timestamp,
      "webhook-signature": sign(secret, webhookId, timestamp, body),
    };
    const first = await postHook(t.url, body, { token: null, event: "Merge Request Hook", headers: signed });
    expect(first.status).toBe(202);
    const { id } = await json(first);
    const replay = await postHook(t.url, body, { token: null, event: "System Hook", deliveryId: randomUUID(), headers: signed });
    expect(replay.status).toBe(200);
    expect(await json(replay)).toEqual({ id, duplicate: true });
    expect((await t.daemon.store.getEvent(id as number))?.meta.hook).toBe("project");
  });

  it("4: refuses a project token's event about another project, and lets no timestamp freeze the inventory", async () => {
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "inventory", ADMIN_TOKEN: ADMIN, PROJECT_TOKENS: `a/*=${A_TOKEN}` }));
    const url = t.url;
    // Project B (id 77), as the instance's system hook announced it.
    const created = {
      ...fixtureJson("system__project_create.json"),
      project_id: 77,
      path_with_namespace: "b/victim",
      name: "victim",
      path: "victim",
    };
    expect((await postHook(url, created, { event: "System Hook" })).status).toBe(202);
    const projectB = async () =>
      (await (await fetch(`${url}/api/projects/77`, { headers: { Authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, unknown>;
    await waitFor(async () => ((await projectB()).path === "b/victim" ? true : undefined));

    // A's token, A's path, B's id: every way of naming B is refused.
    const attacks = [
      { event_name: "project_destroy", project_id: 77, path_with_namespace: "a/mine", updated_at: "2099-01-01T00:00:00Z" },
      {
        object_kind: "push",
        project_id: 77,
        project: { id: 77, path_with_namespace: "a/mine" },
        ref: "refs/heads/main",
        after: "0".repeat(40),
        user_username: "mallory",
      },
    ];
    for (const attack of attacks) {
      const response = await postHook(url, attack, { token: A_TOKEN, event: "System Hook" });
      expect(response.status).toBe(403);
      expect((await json(response)).error).toBe(
        "project id 77 is b/victim, not a/mine: a project token only authenticates events about its own project",
      );
    }
    expect(await projectB()).toMatchObject({ path: "b/victim", deleted: false, lastPusher: null });

    // Even the instance's own hook cannot freeze a row with a timestamp from the future.
    const future = { ...created, event_name: "project_update", name: "frozen?", updated_at: "2099-01-01T00:00:00Z" };
    expect((await postHook(url, future, { event: "System Hook" })).status).toBe(202);
    const renamed = {
      ...created,
      event_name: "project_rename",
      path_with_namespace: "b/renamed",
      updated_at: new Date(Date.now() + 10 * 60_000).toISOString(),
    };
    expect((await postHook(url, renamed, { event: "System Hook" })).status).toBe(202);
    await waitFor(async () => ((await projectB()).path === "b/renamed" ? true : undefined));
  });

  it("4: withholds a project id that two project tokens claim for different paths, and never lets it act on either", async () => {
    t = closeAfterTest(await startTestDaemon({ PROJECT_TOKENS: `a/*=${A_TOKEN},b/*=${B_TOKEN}` }));
    const first = await postHook(t.url, push("a/x", 5), { token: A_TOKEN });
    const claimed = await postHook(t.url, push("b/y", 5), { token: B_TOKEN });
    expect([first.status, claimed.status]).toEqual([202, 202]);
    expect((await t.daemon.store.getEvent((await json(first)).id as number))?.meta.project?.id).toBe(5);
    expect((await t.daemon.store.getEvent((await json(claimed)).id as number))?.meta.project).toMatchObject({ id: null, path: "b/y" });
  });

  it("12: authenticates a vulnerability event by its project token, from the object's URL", async () => {
    t = closeAfterTest(await startTestDaemon({ PROJECT_TOKENS: `flightjs/*=${A_TOKEN}` }));
    const response = await postHook(t.url, fixtureBody("project__vulnerability.json"), { token: A_TOKEN, event: "Vulnerability Hook" });
    expect(response.status).toBe(202);
    const stored = await t.daemon.store.getEvent((await json(response)).id as number);
    expect(stored?.meta.project).toEqual({ id: 50, path: "flightjs/Flight", url: "https://example.com/flightjs/Flight", visibility: null });
    expect(
      (await postHook(t.url, fixtureBody("project__vulnerability.json"), { token: B_TOKEN, event: "Vulnerability Hook" })).status,
    ).toBe(401);
  });

  it("9: refuses a token that matches no secret before reading the body, so a flood of 25 MB bodies costs no memory", async () => {
    spawned = killAfterTest(
      await spawnDaemon({ SOURCE_TOKEN: TEST_TOKEN, PROJECT_TOKENS: `a/*=${A_TOKEN}`, SINKS_ENABLED: "sse" }, tempDir()),
    );
    const { port } = new URL(spawned.url);
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const flood = Array.from(
      { length: 40 },
      () =>
        new Promise<{ status: string; sentBytes: number }>((resolve) => {
          let sent = 0;
          let sentWhenAnswered = -1;
          let answer = "";
          const socket = connect(Number(port), "127.0.0.1", () => {
            socket.write(
              `POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Gitlab-Event: Push Hook\r\nX-Gitlab-Token: wrong-token-${randomUUID()}\r\nContent-Length: ${25 * 1024 * 1024}\r\n\r\n`,
            );
            const pump = () => {
              while (sent < 25 * 1024 * 1024 && !socket.destroyed) {
                sent += chunk.length;
                if (!socket.write(chunk)) return void socket.once("drain", pump);
              }
            };
            pump();
          });
          socket.on("data", (data: Buffer) => {
            if (sentWhenAnswered === -1) sentWhenAnswered = sent;
            answer += data.toString("latin1");
          });
          socket.on("error", () => undefined);
          socket.on("close", () => resolve({ status: answer.split("\r\n")[0] ?? "", sentBytes: sentWhenAnswered }));
        }),
    );
    const answers = await Promise.all(flood);
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => "HTTP/1.1 401 Unauthorized"));
    // Each was answered before it had sent its body: the daemon did not wait to read it.
    expect(Math.max(...answers.map((answer) => answer.sentBytes))).toBeLessThan(25 * 1024 * 1024);
    const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${spawned.child.pid}/status`, "utf8"))?.[1]) / 1024;
    expect(peakMb).toBeLessThan(200);
  });

  it("7: keeps ingest answering within a second while 150 anonymous subscribers replay 20,000 events", async () => {
    const dir = tempDir();
    const store = openSqliteStore(join(dir, "store.sqlite"));
    const project = { id: 1, path: "g/public", url: null, visibility: "public" as const };
    await Promise.all(
      Array.from({ length: 20_000 }, (_, n) =>
        appendEvent(store, { project: n % 2 ? project : { ...project, visibility: "private" as const }, payload: { n } }),
      ),
    );
    await store.close();
    spawned = killAfterTest(
      await spawnDaemon(
        { SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse", DATABASE_PATH: join(dir, "store.sqlite"), SSE_MAX_CLIENTS: "1000" },
        dir,
      ),
    );
    const url = spawned.url;
    let received = 0;
    const replays = Array.from({ length: 150 }, () =>
      request(`${url}/sse/?since=0`, { agent: false }, (res) => res.on("data", (chunk: Buffer) => (received += chunk.length))).end(),
    );
    await waitFor(() => (received > 0 ? true : undefined));
    const latencies: number[] = [];
    for (let n = 0; n < 40; n++) {
      const started = performance.now();
      expect((await postHook(url, push("g/p", 2, { n }))).status).toBe(202);
      latencies.push(performance.now() - started);
    }
    for (const replay of replays) replay.destroy();
    expect(Math.max(...latencies)).toBeLessThan(1000);
  });

  it("10: cuts slow clients after REQUEST_TIMEOUT_MS, and keeps room for genuine requests however many there are", async () => {
    // An open-file limit of 300 puts the connection cap at 236; 600 slow sockets would exhaust it.
    spawned = killAfterTest(
      await spawnDaemon({ SOURCE_TOKEN: TEST_TOKEN, SINKS_ENABLED: "sse", REQUEST_TIMEOUT_MS: "1500" }, tempDir(), [
        "prlimit",
        "--nofile=300:300",
      ]),
    );
    const { port } = new URL(spawned.url);
    const slow = Array.from({ length: 600 }, () => {
      const socket = connect(Number(port), "127.0.0.1", () => socket.write("POST /hooks HTTP/1.1\r\nHost: x\r\n"));
      socket.on("error", () => undefined);
      return socket;
    });
    await sleep(300);
    const genuine = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        postHook(spawned!.url, push("g/p", 1, { n })).then(
          (r) => r.status,
          () => 0,
        ),
      ),
    );
    expect(genuine).toEqual(genuine.map(() => 202));
    // The slow ones that were not closed to make room are cut once the timeout passes.
    await waitFor(
      () => (slow.every((socket) => socket.destroyed || socket.readyState === "closed") ? true : undefined),
      6000,
      "slow sockets to be cut",
    );
    for (const socket of slow) socket.destroy();
  });

  it("13: answers every request it took before stopping on SIGTERM: nothing stored goes unanswered", async () => {
    const dir = tempDir();
    spawned = killAfterTest(
      await spawnDaemon(
        {
          SOURCE_TOKEN: TEST_TOKEN,
          SINKS_ENABLED: "log",
          DATABASE_PATH: join(dir, "store.sqlite"),
          LOG_EVENTS_TO: join(dir, "events.log"),
        },
        dir,
      ),
    );
    const { port } = new URL(spawned.url);
    const answers = new Map<string, number>();
    let answered = 0;
    const sent = Array.from({ length: 400 }, (_, n) => {
      const key = `sigterm-${n}-${randomUUID()}`;
      return new Promise<void>((resolve) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            path: "/hooks",
            method: "POST",
            agent: false,
            headers: {
              "Content-Type": "application/json",
              "X-Gitlab-Event": "Push Hook",
              "X-Gitlab-Token": TEST_TOKEN,
              "Idempotency-Key": key,
            },
          },
          (res) => {
            answers.set(key, res.statusCode ?? 0);
            if (++answered === 60) spawned?.child.kill("SIGTERM");
            res.resume();
            res.on("end", resolve);
          },
        );
        req.on("error", () => resolve());
        req.end(JSON.stringify(push("g/p", n % 7, { n })));
      });
    });
    await Promise.all(sent);
    expect((await spawned.exited).code).toBe(0);
    const store = openSqliteStore(join(dir, "store.sqlite"));
    const stored = (await store.listEvents({ limit: 500 })).map((event) => event.meta.deliveryId);
    await store.close();
    expect(stored.length).toBeGreaterThan(60);
    for (const key of stored) expect(answers.get(key), key).toBe(202);
  });
});
