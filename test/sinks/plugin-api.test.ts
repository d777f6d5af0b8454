import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import createTypedPlugin, { handled } from "../fixtures/sinks/typed-plugin.js";
import type { SinkFactory } from "../../src/core/sink.js";
import { postHook, startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { startFakeServer, type FakeServer } from "../helpers/fake-server.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { closeAfterTest, killAfterTest } from "../helpers/teardown.js";
import { REPO_ROOT } from "../../harness/repo-root.js";
import { spawnDaemon, type SpawnedDaemon } from "../../harness/spawn-daemon.js";
import { tempDir } from "../../harness/temp-dir.js";

const EXAMPLE = "examples/merge-announcer.mjs";
const ADMIN = "plugin-admin-token-0123";

let daemon: SpawnedDaemon | undefined;
let chat: FakeServer | undefined;
let t: TestDaemon | undefined;

const merged = (visibility: number) => {
  const body = fixtureJson("project__merge_request_open.json") as {
    object_attributes: Record<string, unknown>;
    project: Record<string, unknown>;
  };
  body.object_attributes.action = "merge";
  body.project.visibility_level = visibility;
  return body;
};

describe("the plugin API", () => {
  it("is shown in the README exactly as the example file the tests load", () => {
    const readme = readFileSync(`${REPO_ROOT}/README.md`, "utf8");
    expect(readme).toContain(readFileSync(`${REPO_ROOT}/${EXAMPLE}`, "utf8"));
  });

  it("runs the README's example by path: it announces a merge, waits for Retry-After, and gives up on a 404", async () => {
    const received: { at: number; text: string }[] = [];
    const answers = [{ status: 429, headers: { "Retry-After": "1" } }, { status: 200 }, { status: 404 }];
    chat = closeAfterTest(
      await startFakeServer((_req, body, res) => {
        received.push({ at: Date.now(), text: (JSON.parse(body) as { text: string }).text });
        const answer = answers.shift() ?? { status: 200 };
        res.writeHead(answer.status, answer.headers).end();
      }),
    );
    daemon = killAfterTest(
      await spawnDaemon(
        {
          SINKS_ENABLED: `./${EXAMPLE}`,
          CHAT_WEBHOOK_URL: `${chat.url}/hooks/xyz`,
          SOURCE_TOKEN: TEST_TOKEN,
          ADMIN_TOKEN: ADMIN,
          DATABASE_PATH: `${tempDir()}/store.sqlite`,
          RETRY_MIN_MS: "20",
        },
        REPO_ROOT,
      ),
      "SIGTERM",
    );
    const api = async (path: string) =>
      (await fetch(`${daemon!.url}${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } })).json() as Promise<Record<string, unknown>>;

    expect((await postHook(daemon.url, merged(20), { event: "Merge Request Hook" })).status).toBe(202);
    await waitFor(() => (received.length === 2 ? true : undefined), 5000, "the announcement after Retry-After");
    const text =
      "flightjs/flight-management!16 merged by @agarcia: Add input validation to booking form http://gitlab.example.com/flightjs/flight-management/-/merge_requests/16";
    expect(received.map((r) => r.text)).toEqual([text, text]);
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(900);
    const first = await api("/api/events/1");
    expect(first.attempts).toEqual([
      expect.objectContaining({ sink: "merge-announcer", outcome: "retry", error: "the chat answered 429", errorStatus: 429 }),
      expect.objectContaining({ sink: "merge-announcer", outcome: "delivered" }),
    ]);

    // A private project's merge is none of the channel's business: no delivery at all.
    const hidden = (await (await postHook(daemon.url, merged(0), { event: "Merge Request Hook" })).json()) as { id: number };
    expect((await api(`/api/events/${hidden.id}`)).deliveries).toEqual([]);

    const gone = (await (await postHook(daemon.url, merged(20), { event: "Merge Request Hook" })).json()) as { id: number };
    const failed = await waitFor(async () => {
      const deliveries = (await api(`/api/events/${gone.id}`)).deliveries as { status: string }[];
      return deliveries[0]?.status === "failed" ? deliveries[0] : undefined;
    });
    expect(failed).toMatchObject({
      attempts: 1,
      lastError: "the chat answered 404: is CHAT_WEBHOOK_URL still right?",
      lastErrorStatus: null,
    });
    expect(daemon.output()).toContain("merge-announcer: announcing merges of public projects");
  });

  it("gives a TypeScript plugin its types, and recognizes the package's PermanentError by name", async () => {
    // The published types (dist/) and the daemon under test (src/) are two copies of one declaration.
    t = closeAfterTest(
      await startTestDaemon({ SINKS_ENABLED: "typed-plugin" }, { "typed-plugin": createTypedPlugin as unknown as SinkFactory }),
    );
    const ok = (await (await postHook(t.url, { object_kind: "push", project: { id: 1, path_with_namespace: "g/p" } })).json()) as {
      id: number;
    };
    const refused = (await (
      await postHook(t.url, { object_kind: "push", refuse: true, project: { id: 1, path_with_namespace: "g/p" } })
    ).json()) as { id: number };
    const state = await waitFor(async () => {
      const found = (await t!.daemon.store.deliveriesOf(refused.id)).find((d) => d.sink === "typed-plugin");
      return found?.status === "failed" ? found : undefined;
    });
    expect(state).toMatchObject({ attempts: 1, lastError: "this push is refused for good" });
    expect(handled).toContain(ok.id);
  });
});
