import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { postHook, startTestDaemon, waitFor, type TestDaemon } from "../helpers/daemon.js";
import { fixtureJson } from "../helpers/fixtures.js";
import { closeAfterTest } from "../helpers/teardown.js";

const ADMIN = "inventory-admin-token";
let t: TestDaemon | undefined;

async function start() {
  t = closeAfterTest(await startTestDaemon({ SINKS_ENABLED: "inventory", LOG_EVENTS_TO: "", ADMIN_TOKEN: ADMIN }));
}

/** Posts a body as a system hook and waits until the inventory has applied it. */
async function deliver(body: object, event = "System Hook", deliveryId = randomUUID()): Promise<number> {
  const response = await postHook(t!.url, body, { event, deliveryId });
  const { id } = (await response.json()) as { id: number };
  await waitFor(async () => {
    const state = (await t!.daemon.store.deliveriesOf(id)).find((d) => d.sink === "inventory");
    return state === undefined || state.status === "delivered" ? true : undefined;
  });
  return id;
}

async function get<T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${t!.url}${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
  return { status: response.status, body: (await response.json()) as T };
}

const at = (time: string, body: Record<string, unknown>) => ({ ...body, updated_at: time });

describe("inventory sink", () => {
  it("follows a project through create, rename, transfer and destroy", async () => {
    await start();
    await deliver(fixtureJson("system__project_create.json"));
    let project = (await get("/api/projects/74")).body;
    expect(project).toMatchObject({
      id: 74,
      path: "jsmith/storecloud",
      name: "StoreCloud",
      namespace: "jsmith",
      visibility: "private",
      owner: "John Smith",
      createdAt: "2012-07-21T07:30:54.000Z",
      deleted: false,
    });

    await deliver(fixtureJson("system__project_rename.json"));
    expect((await get("/api/projects/73")).body).toMatchObject({ path: "jsmith/underscore", visibility: "internal" });
    await deliver(at("2012-07-21T08:00:00Z", fixtureJson("system__project_transfer.json")));
    project = (await get(`/api/projects/${encodeURIComponent("scores/underscore")}`)).body;
    expect(project).toMatchObject({ id: 73, namespace: "scores", deleted: false });
    expect((await get("/api/projects?group=jsmith")).body).toEqual({ projects: [expect.objectContaining({ id: 74 })] });

    await deliver(at("2012-07-21T09:00:00Z", fixtureJson("system__project_destroy.json")));
    expect((await get("/api/projects/73")).body).toMatchObject({ deleted: true });
    expect((await get("/api/projects")).body).toEqual({ projects: [expect.objectContaining({ id: 74 })] });
  });

  it("records pushes, branches created and deleted, tag pushes and repository updates", async () => {
    await start();
    await deliver(fixtureJson("project__push.json"), "Push Hook");
    let project = (await get<{ lastPusher: string; lastPushAt: string; defaultBranch: string; branches: unknown[] }>("/api/projects/15"))
      .body;
    expect(project).toMatchObject({ path: "mike/diaspora", lastPusher: "jsmith", defaultBranch: "master" });
    expect(project.lastPushAt).toBe("2012-01-03T21:36:29.000Z");
    expect(project.branches).toEqual([
      { name: "master", lastCommit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", updatedAt: "2012-01-03T21:36:29.000Z" },
    ]);

    const feature = {
      ...fixtureJson("system__push.json"),
      ref: "refs/heads/feature",
      after: "1111111111111111111111111111111111111111",
      commits: [{ id: "1111111111111111111111111111111111111111", timestamp: "2013-01-01T00:00:00Z" }],
    };
    await deliver(feature);
    project = (await get<{ branches: { name: string }[] }>("/api/projects/15")).body as typeof project;
    expect((project.branches as { name: string }[]).map((b) => b.name)).toEqual(["feature", "master"]);
    await deliver({ ...feature, before: feature.after, after: "0".repeat(40), commits: [{ timestamp: "2013-01-02T00:00:00Z" }] });
    expect((await get<{ branches: { name: string }[] }>("/api/projects/15")).body.branches.map((b) => b.name)).toEqual(["master"]);

    await deliver(fixtureJson("system__repository_update.json"));
    const example = (await get<{ branches: { name: string; lastCommit: string }[]; lastPusher: string }>("/api/projects/1")).body;
    expect(example.branches).toEqual([expect.objectContaining({ name: "master", lastCommit: "4045ea7a3df38697b3730a20fb73c8bed8a3e69e" })]);
    expect(example.lastPusher).toBe("John Smith");
    await deliver(fixtureJson("project__tag_push.json"), "Tag Push Hook");
    expect((await get<{ lastPusher: string; branches: unknown[] }>("/api/projects/1")).body).toMatchObject({
      lastPusher: "jsmith",
      branches: [expect.objectContaining({ name: "master" })],
    });
  });

  it("takes group hooks' project events and keeps groups", async () => {
    await start();
    await deliver(fixtureJson("group__project_create.json"), "Project Hook");
    await deliver({
      event_name: "group_create",
      created_at: "2024-10-07T10:00:00Z",
      updated_at: "2024-10-07T10:00:00Z",
      name: "Group One",
      path: "group1",
      full_path: "group1",
      group_id: 32,
    });
    expect((await get("/api/groups/group1/projects")).body).toEqual({
      group: "group1",
      projects: [expect.objectContaining({ id: 22, path: "group1/project1", owner: "John", visibility: "private" })],
    });
    await deliver({
      event_name: "group_rename",
      created_at: "2024-10-07T10:00:00Z",
      updated_at: "2024-10-08T10:00:00Z",
      name: "Group Uno",
      path: "uno",
      full_path: "uno",
      old_path: "group1",
      old_full_path: "group1",
      group_id: 32,
    });
    expect((await get("/api/groups/uno/projects")).body).toEqual({
      group: "uno",
      projects: [expect.objectContaining({ id: 22, path: "uno/project1" })],
    });
    expect((await get("/api/groups/group1/projects")).status).toBe(404);
    await deliver({
      event_name: "group_destroy",
      created_at: "2024-10-07T10:00:00Z",
      updated_at: "2024-10-09T10:00:00Z",
      name: "Group Uno",
      path: "uno",
      full_path: "uno",
      group_id: 32,
    });
    expect((await get("/api/groups/uno/projects")).body).toMatchObject({ projects: [expect.objectContaining({ id: 22 })] });
  });

  it("ends in the right state when events arrive out of order or twice", async () => {
    await start();
    const create = at("2020-01-01T00:00:00Z", {
      ...fixtureJson("system__project_create.json"),
      project_id: 5,
      path_with_namespace: "a/old",
      name: "Old",
    });
    const rename = at("2020-02-01T00:00:00Z", {
      ...fixtureJson("system__project_rename.json"),
      project_id: 5,
      path_with_namespace: "a/new",
      old_path_with_namespace: "a/old",
      name: "New",
    });
    const destroy = at("2020-03-01T00:00:00Z", {
      ...fixtureJson("system__project_destroy.json"),
      project_id: 5,
      path_with_namespace: "a/new",
    });
    // Late and repeated news: the rename first, the create after it, GitLab's resend of the rename.
    const renameId = randomUUID();
    await deliver(rename, "System Hook", renameId);
    await deliver(create);
    await deliver(rename);
    expect((await get("/api/projects/5")).body).toMatchObject({ path: "a/new", name: "New", deleted: false });
    await deliver(destroy);
    await deliver(create);
    expect((await get("/api/projects/5")).body).toMatchObject({ path: "a/new", deleted: true });

    const push = (sha: string, time: string) => ({
      ...fixtureJson("system__push.json"),
      project_id: 6,
      ref: "refs/heads/main",
      after: sha,
      commits: [{ timestamp: time }],
    });
    await deliver(push("b".repeat(40), "2021-01-02T00:00:00Z"));
    await deliver(push("a".repeat(40), "2021-01-01T00:00:00Z"));
    expect((await get<{ branches: { lastCommit: string }[]; lastPushAt: string }>("/api/projects/6")).body).toMatchObject({
      lastPushAt: "2021-01-02T00:00:00.000Z",
      branches: [{ name: "main", lastCommit: "b".repeat(40) }],
    });
  });

  it("serves the API only with ADMIN_TOKEN, with q= search and 404s", async () => {
    await start();
    await deliver(fixtureJson("system__project_create.json"));
    await deliver(fixtureJson("group__project_create.json"), "Project Hook");
    expect((await fetch(`${t!.url}/api/projects`)).status).toBe(401);
    expect((await get<{ projects: { id: number }[] }>("/api/projects?q=store")).body.projects.map((p) => p.id)).toEqual([74]);
    expect((await get<{ projects: { id: number }[] }>("/api/projects?q=%25")).body.projects).toEqual([]);
    expect((await get("/api/projects/999")).status).toBe(404);
    expect((await get("/api/projects?limit=0")).status).toBe(400);
  });
});
