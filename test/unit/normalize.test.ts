import { describe, expect, it } from "vitest";
import { hookKindOf } from "../../src/sources/gitlab/event-header.js";
import { normalize } from "../../src/sources/gitlab/normalize.js";
import { eventHeaderFor, FIXTURES, fixtureJson } from "../helpers/fixtures.js";

function normalized(name: string, header = eventHeaderFor(name)) {
  const event = normalize(
    { eventHeader: header, instance: "https://gitlab.example.com", deliveryId: "d-1", receivedAt: new Date(0) },
    hookKindOf(header),
    fixtureJson(name),
  );
  const { payload: _payload, ...rest } = event;
  return rest;
}

// What each documented body must become; read off the fixtures by hand.
const EXPECTED: Record<string, object> = {
  "group__project_create.json": {
    hook: "group",
    type: "project_create",
    action: null,
    project: { id: 22, path: "group1/project1", url: null, visibility: "private" },
    actor: null,
    object: null,
  },
  "project__deployment.json": {
    hook: "project",
    type: "deployment",
    action: null,
    project: {
      id: 30,
      path: "root/test-deployment-webhooks",
      url: "http://10.126.0.2:3000/root/test-deployment-webhooks",
      visibility: "private",
    },
    actor: { username: "root", name: "Administrator" },
    object: {
      kind: "deployment",
      iid: null,
      id: 15,
      title: "staging",
      url: "http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796",
      ref: null,
      state: "success",
    },
  },
  "project__wiki_page.json": {
    hook: "project",
    type: "wiki_page",
    action: "create",
    project: { id: 1, path: "root/awesome-project", url: "http://example.com/root/awesome-project", visibility: "private" },
    actor: { username: "root", name: "Administrator" },
    object: {
      kind: "wiki_page",
      iid: null,
      id: null,
      title: "Awesome",
      url: "http://example.com/root/awesome-project/-/wikis/awesome",
      ref: "awesome",
      state: null,
    },
  },
  "project__issue.json": {
    hook: "project",
    type: "issue",
    action: "open",
    project: { id: 1, path: "gitlabhq/gitlab-test", url: "http://example.com/gitlabhq/gitlab-test", visibility: "public" },
    actor: { username: "root", name: "Administrator" },
    object: {
      kind: "issue",
      iid: 23,
      id: 301,
      title: "New API: create/update/delete file",
      url: "http://example.com/diaspora/issues/23",
      ref: null,
      state: "opened",
    },
  },
  "project__merge_request_open.json": {
    hook: "project",
    type: "merge_request",
    action: "open",
    project: {
      id: 2,
      path: "flightjs/flight-management",
      url: "http://gitlab.example.com/flightjs/flight-management",
      visibility: "private",
    },
    actor: { username: "agarcia", name: "Alex Garcia" },
    object: {
      kind: "merge_request",
      iid: 16,
      id: 93,
      title: "Add input validation to booking form",
      url: "http://gitlab.example.com/flightjs/flight-management/-/merge_requests/16",
      ref: "feature/booking-validation",
      state: "opened",
    },
  },
  "project__merge_request_update_oldrev_partial.json": {
    hook: "project",
    type: "merge_request",
    action: "update",
    project: null,
    actor: null,
    object: null,
  },
  "project__note_merge_request.json": {
    hook: "project",
    type: "note",
    action: "create",
    project: { id: 5, path: "gitlab-org/gitlab-test", url: "http://example.com/gitlab-org/gitlab-test", visibility: "internal" },
    actor: { username: "root", name: "Administrator" },
    object: {
      kind: "note",
      iid: 1,
      id: 1244,
      title: "Tempora et eos debitis quae laborum et.",
      url: "http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244",
      ref: null,
      state: "opened",
    },
  },
  "project__pipeline.json": {
    hook: "project",
    type: "pipeline",
    action: "success",
    project: { id: 1, path: "gitlab-org/gitlab-test", url: "http://192.168.64.1:3005/gitlab-org/gitlab-test", visibility: "public" },
    actor: { username: "root", name: "Administrator" },
    object: {
      kind: "pipeline",
      iid: 3,
      id: 31,
      title: "Pipeline for branch: master",
      url: "http://example.com/gitlab-org/gitlab-test/-/pipelines/31",
      ref: "master",
      state: "success",
    },
  },
  "project__push.json": {
    hook: "project",
    type: "push",
    action: null,
    project: { id: 15, path: "mike/diaspora", url: "http://example.com/mike/diaspora", visibility: "private" },
    actor: { username: "jsmith", name: "John Smith" },
    object: {
      kind: "push",
      iid: null,
      id: null,
      title: "fixed readme",
      url: "http://example.com/mike/diaspora/-/compare/95790bf891e7...da1560886d4f",
      ref: "master",
      state: null,
    },
  },
  "project__push_custom_template.json": {
    hook: "project",
    type: "push",
    action: null,
    project: null,
    actor: null,
    object: null,
  },
  "project__tag_push.json": {
    hook: "project",
    type: "tag_push",
    action: null,
    project: { id: 1, path: "jsmith/example", url: "http://example.com/jsmith/example", visibility: "private" },
    actor: { username: "jsmith", name: "John Smith" },
    object: {
      kind: "tag",
      iid: null,
      id: null,
      title: "v1.0.0",
      url: "http://example.com/jsmith/example/-/tags/v1.0.0",
      ref: "v1.0.0",
      state: "created",
    },
  },
  // The project only through the object's URL and object_attributes.project_id.
  "project__vulnerability.json": {
    hook: "project",
    type: "vulnerability",
    action: null,
    project: { id: 50, path: "flightjs/Flight", url: "https://example.com/flightjs/Flight", visibility: null },
    actor: null,
    object: {
      kind: "vulnerability",
      iid: null,
      id: null,
      title: "REXML DoS vulnerability",
      url: "https://example.com/flightjs/Flight/-/security/vulnerabilities/1",
      ref: null,
      state: "confirmed",
    },
  },
  "system__merge_request.json": {
    hook: "system",
    type: "merge_request",
    action: "open",
    project: { id: 1, path: "gitlabhq/gitlab-test", url: "http://example.com/gitlabhq/gitlab-test", visibility: "public" },
    actor: { username: "root", name: "Administrator" },
    object: {
      kind: "merge_request",
      iid: 1,
      id: 99,
      title: "MS-Viewport",
      url: "http://example.com/diaspora/merge_requests/1",
      ref: "ms-viewport",
      state: "opened",
    },
  },
  "system__project_create.json": {
    hook: "system",
    type: "project_create",
    action: null,
    project: { id: 74, path: "jsmith/storecloud", url: null, visibility: "private" },
    actor: null,
    object: null,
  },
  "system__project_destroy.json": {
    hook: "system",
    type: "project_destroy",
    action: null,
    project: { id: 73, path: "jsmith/underscore", url: null, visibility: "internal" },
    actor: null,
    object: null,
  },
  "system__project_rename.json": {
    hook: "system",
    type: "project_rename",
    action: null,
    project: { id: 73, path: "jsmith/underscore", url: null, visibility: "internal" },
    actor: null,
    object: null,
  },
  "system__project_transfer.json": {
    hook: "system",
    type: "project_transfer",
    action: null,
    project: { id: 73, path: "scores/underscore", url: null, visibility: "internal" },
    actor: null,
    object: null,
  },
  "system__push.json": {
    hook: "system",
    type: "push",
    action: null,
    project: { id: 15, path: "mike/diaspora", url: "http://example.com/mike/diaspora", visibility: "private" },
    actor: { username: null, name: "John Smith" },
    object: {
      kind: "push",
      iid: null,
      id: null,
      title: "Add simple search to projects in public area",
      url: "https://dev.gitlab.org/gitlab/gitlabhq/commit/c5feabde2d8cd023215af4d2ceeb7a64839fc428",
      ref: "master",
      state: null,
    },
  },
  "system__repository_update.json": {
    hook: "system",
    type: "repository_update",
    action: null,
    project: { id: 1, path: "jsmith/example", url: "http://example.com/jsmith/example", visibility: "private" },
    actor: { username: null, name: "John Smith" },
    object: null,
  },
  "system__user_create.json": {
    hook: "system",
    type: "user_create",
    action: null,
    project: null,
    actor: null,
    object: null,
  },
};

describe("normalize", () => {
  it("has an expectation for every fixture", () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(FIXTURES);
  });

  for (const name of FIXTURES) {
    it(`normalizes ${name}`, () => {
      expect(normalized(name)).toEqual({
        deliveryId: "d-1",
        receivedAt: new Date(0).toISOString(),
        instance: "https://gitlab.example.com",
        ...EXPECTED[name],
      });
    });
  }

  it("takes the hook from X-Gitlab-Event", () => {
    expect(hookKindOf("System Hook")).toBe("system");
    expect(hookKindOf("Subgroup Hook")).toBe("group");
    expect(hookKindOf("Member Hook")).toBe("group");
    expect(hookKindOf("Merge Request Hook")).toBe("project");
    expect(hookKindOf(undefined)).toBe("unknown");
    expect(hookKindOf("something else")).toBe("unknown");
  });

  it("summarizes jobs and releases, as GitLab documents their bodies", () => {
    const project = { id: 380, path_with_namespace: "gitlab-org/gitlab-test", web_url: "http://192.168.64.1:3005/gitlab-org/gitlab-test" };
    const job = {
      object_kind: "build",
      ref: "gitlab-script-trigger",
      build_id: 1977,
      build_name: "test",
      build_status: "created",
      project,
    };
    const release = {
      object_kind: "release",
      id: 1,
      name: "v1.1",
      tag: "v1.1",
      url: "https://example.com/gitlab-org/release-webhook-example/-/releases/v1.1",
      action: "create",
      project,
    };
    const at = { eventHeader: undefined, instance: undefined, deliveryId: "d", receivedAt: new Date(0) };
    expect(normalize(at, "project", job).object).toEqual({
      kind: "job",
      iid: null,
      id: 1977,
      title: "test",
      url: "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/jobs/1977",
      ref: "gitlab-script-trigger",
      state: "created",
    });
    expect(normalize(at, "project", release).object).toEqual({
      kind: "release",
      iid: null,
      id: 1,
      title: "v1.1",
      url: "https://example.com/gitlab-org/release-webhook-example/-/releases/v1.1",
      ref: "v1.1",
      state: null,
    });
    // A hostile title is cut, a hostile URL dropped, never stored whole.
    const long = normalize(at, "project", {
      object_kind: "issue",
      object_attributes: { iid: 1, title: "x".repeat(10_000), url: `https://e.example/${"y".repeat(5000)}` },
    });
    expect(long.object?.title).toHaveLength(500);
    expect(long.object?.url).toBeNull();
  });

  it("types a custom template body from the header when the body names no kind", () => {
    expect(normalized("project__push_custom_template.json", "Merge Request Hook").type).toBe("merge_request");
  });
});
