import type { IncomingHttpHeaders } from "node:http";
import SmeeClient from "smee-client";
import { describe, expect, it, onTestFinished } from "vitest";
import { postHook, startTestDaemon, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { startFakeServer, type FakeServer } from "../helpers/fake-server.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { closeAfterTest } from "../helpers/teardown.js";

const SSE_TOKEN = "feed-reader-token-123456";
const quiet = { info: () => {}, error: () => {} };

interface Forwarded {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

let t: TestDaemon | undefined;
let receiver: FakeServer | undefined;

/** A bot's webhook endpoint on localhost: records what smee-client forwards to it. */
async function startBot(): Promise<Forwarded[]> {
  const received: Forwarded[] = [];
  receiver = closeAfterTest(
    await startFakeServer((req, body, res) => {
      received.push({ headers: req.headers, body: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(200).end("ok");
    }),
  );
  return received;
}

/** The stock smee-client, as `npx smee-client --url … --target …` runs it. */
async function smee(source: string): Promise<void> {
  const client = new SmeeClient({ source, target: `${receiver!.url}/webhook`, logger: quiet });
  onTestFinished(() => client.stop());
  await client.start();
}

const privateIssue = () => {
  const body = fixtureJson("project__issue.json");
  (body.project as Record<string, unknown>).visibility_level = 0;
  (body.project as Record<string, unknown>).path_with_namespace = "secret/project";
  return body;
};

describe("GET /sse/?format=smee", () => {
  it("forwards each event through the stock smee-client with GitLab's headers and body, as GitLab sent them", async () => {
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "sse", LOG_EVENTS_TO: "", SSE_TOKEN }));
    const received = await startBot();
    await smee(`${t.url}/sse/?format=smee&token=${SSE_TOKEN}`);
    const mr = fixtureJson("project__merge_request_open.json");
    const response = await postHook(t.url, mr, {
      event: "Merge Request Hook",
      deliveryId: "3a1e0c9c-1111-4d7e-9a6e-0123456789ab",
      headers: { "X-Gitlab-Instance": "https://gitlab.example.com", "X-Gitlab-Event-UUID": "5f7c-uuid", "User-Agent": "GitLab/17.6.0" },
    });
    expect(response.status).toBe(202);
    await postHook(t.url, privateIssue(), { event: "Issue Hook" });
    await waitFor(() => (received.length === 2 ? true : undefined), 5000, "two forwarded requests");
    const [first, second] = received as [Forwarded, Forwarded];
    expect(first.body).toEqual(mr);
    expect(first.headers).toMatchObject({
      "x-gitlab-event": "Merge Request Hook",
      "x-gitlab-instance": "https://gitlab.example.com",
      "x-gitlab-event-uuid": "5f7c-uuid",
      "idempotency-key": "3a1e0c9c-1111-4d7e-9a6e-0123456789ab",
      "user-agent": "GitLab/17.6.0",
      "content-type": "application/json",
    });
    // The daemon's credentials never travel on.
    expect(first.headers["x-gitlab-token"]).toBeUndefined();
    // A token holder sees private projects' events too.
    expect(second.headers["x-gitlab-event"]).toBe("Issue Hook");
    expect(second.body).toEqual(privateIssue());
  });

  it("applies the feed's filters and, without a token, its visibility rules", async () => {
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "sse", LOG_EVENTS_TO: "", SSE_TOKEN }));
    const received = await startBot();
    await smee(`${t.url}/sse/?format=smee&type=merge_request,issue`);
    await postHook(t.url, fixtureJson("project__push.json"), { event: "Push Hook" });
    await postHook(t.url, privateIssue(), { event: "Issue Hook" });
    const system = fixtureJson("system__merge_request.json");
    await postHook(t.url, system, { event: "System Hook", headers: { "X-Forwarded-For": "10.1.2.3" } });
    await waitFor(() => (received.length >= 1 ? true : undefined), 5000, "a forwarded request");
    // The push was filtered out and the private issue withheld: only the public merge request came.
    await postHook(t.url, fixtureJson("project__issue.json"), { event: "Issue Hook" });
    await waitFor(() => (received.length >= 2 ? true : undefined), 5000, "a second forwarded request");
    expect(received.map((request) => request.headers["x-gitlab-event"])).toEqual(["System Hook", "Issue Hook"]);
    // Without a token, no e-mail addresses, and nothing of the network GitLab came from.
    const withoutEmails = JSON.parse(JSON.stringify(system, (key, value: unknown) => (key === "email" ? undefined : value))) as object;
    expect(received[0]?.body).toEqual(withoutEmails);
    expect(JSON.stringify(system)).toContain("email");
    expect(received[0]?.headers["x-forwarded-for"]).toBeUndefined();
  });

  it("resumes after the given id, and refuses a format it does not know", async () => {
    t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "sse", LOG_EVENTS_TO: "", SSE_TOKEN }));
    const ids: number[] = [];
    for (const title of ["one", "two", "three"]) {
      const body = fixtureJson("project__issue.json");
      (body.object_attributes as Record<string, unknown>).title = title;
      ids.push(((await (await postHook(t.url, body, { event: "Issue Hook" })).json()) as { id: number }).id);
    }
    const received = await startBot();
    await smee(`${t.url}/sse/?format=smee&since=${ids[0]}&token=${SSE_TOKEN}`);
    await waitFor(() => (received.length === 2 ? true : undefined), 5000, "the replay");
    expect(received.map((request) => (request.body.object_attributes as { title: string }).title)).toEqual(["two", "three"]);
    // Replayed from the store with their headers, as live ones are.
    expect(received.map((request) => request.headers["x-gitlab-event"])).toEqual(["Issue Hook", "Issue Hook"]);
    const wrong = await fetch(`${t.url}/sse/?format=github`);
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toMatch(/format/);
  });
});
