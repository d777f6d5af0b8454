import { describe, expect, it } from "vitest";
import { hookKindOf } from "../src/sources/gitlab/event-header.js";
import { normalize } from "../src/sources/gitlab/normalize.js";
import { eventHeaderFor, FIXTURES, fixtureJson } from "./helpers/fixtures.js";

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
    hook: "group", type: "project_create", action: null,
    project: { id: 22, path: "group1/project1", url: null, visibility: "private" }, actor: null,
  },
  "project__issue.json": {
    hook: "project", type: "issue", action: "open",
    project: { id: 1, path: "gitlabhq/gitlab-test", url: "http://example.com/gitlabhq/gitlab-test", visibility: "public" },
    actor: { username: "root", name: "Administrator" },
  },
  "project__merge_request_open.json": {
    hook: "project", type: "merge_request", action: "open",
    project: { id: 2, path: "flightjs/flight-management", url: "http://gitlab.example.com/flightjs/flight-management", visibility: "private" },
    actor: { username: "agarcia", name: "Alex Garcia" },
  },
  "project__merge_request_update_oldrev_partial.json": {
    hook: "project", type: "merge_request", action: "update", project: null, actor: null,
  },
  "project__note_merge_request.json": {
    hook: "project", type: "note", action: "create",
    project: { id: 5, path: "gitlab-org/gitlab-test", url: "http://example.com/gitlab-org/gitlab-test", visibility: "internal" },
    actor: { username: "root", name: "Administrator" },
  },
  "project__pipeline.json": {
    hook: "project", type: "pipeline", action: "success",
    project: { id: 1, path: "gitlab-org/gitlab-test", url: "http://192.168.64.1:3005/gitlab-org/gitlab-test", visibility: "public" },
    actor: { username: "root", name: "Administrator" },
  },
  "project__push.json": {
    hook: "project", type: "push", action: null,
    project: { id: 15, path: "mike/diaspora", url: "http://example.com/mike/diaspora", visibility: "private" },
    actor: { username: "jsmith", name: "John Smith" },
  },
  "project__push_custom_template.json": {
    hook: "project", type: "push", action: null, project: null, actor: null,
  },
  "project__tag_push.json": {
    hook: "project", type: "tag_push", action: null,
    project: { id: 1, path: "jsmith/example", url: "http://example.com/jsmith/example", visibility: "private" },
    actor: { username: "jsmith", name: "John Smith" },
  },
  // The project only through the object's URL and object_attributes.project_id.
  "project__vulnerability.json": {
    hook: "project", type: "vulnerability", action: null,
    project: { id: 50, path: "flightjs/Flight", url: "https://example.com/flightjs/Flight", visibility: null },
    actor: null,
  },
  "system__merge_request.json": {
    hook: "system", type: "merge_request", action: "open",
    project: { id: 1, path: "gitlabhq/gitlab-test", url: "http://example.com/gitlabhq/gitlab-test", visibility: "public" },
    actor: { username: "root", name: "Administrator" },
  },
  "system__project_create.json": {
    hook: "system", type: "project_create", action: null,
    project: { id: 74, path: "jsmith/storecloud", url: null, visibility: "private" }, actor: null,
  },
  "system__project_destroy.json": {
    hook: "system", type: "project_destroy", action: null,
    project: { id: 73, path: "jsmith/underscore", url: null, visibility: "internal" }, actor: null,
  },
  "system__project_rename.json": {
    hook: "system", type: "project_rename", action: null,
    project: { id: 73, path: "jsmith/underscore", url: null, visibility: "internal" }, actor: null,
  },
  "system__project_transfer.json": {
    hook: "system", type: "project_transfer", action: null,
    project: { id: 73, path: "scores/underscore", url: null, visibility: "internal" }, actor: null,
  },
  "system__push.json": {
    hook: "system", type: "push", action: null,
    project: { id: 15, path: "mike/diaspora", url: "http://example.com/mike/diaspora", visibility: "private" },
    actor: { username: null, name: "John Smith" },
  },
  "system__repository_update.json": {
    hook: "system", type: "repository_update", action: null,
    project: { id: 1, path: "jsmith/example", url: "http://example.com/jsmith/example", visibility: "private" },
    actor: { username: null, name: "John Smith" },
  },
  "system__user_create.json": {
    hook: "system", type: "user_create", action: null, project: null, actor: null,
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

  it("types a custom template body from the header when the body names no kind", () => {
    expect(normalized("project__push_custom_template.json", "Merge Request Hook").type).toBe("merge_request");
  });
});
