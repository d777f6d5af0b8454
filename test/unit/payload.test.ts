import { describe, expect, it } from "vitest";
import type { GitLabEvent } from "../../src/core/event.js";
import {
  integer,
  isMergeRequest,
  mergeRequestOf,
  mergeRequestOrderingKey,
  record,
  text,
  usernames,
  webUrl,
} from "../../src/gitlab/payload.js";
import { normalize } from "../../src/sources/gitlab/normalize.js";
import { fixtureJson } from "../helpers/fixtures.js";

const eventOf = (body: unknown, header = "Merge Request Hook"): GitLabEvent => ({
  id: 1,
  ...normalize({ eventHeader: header, instance: "https://gitlab.example.com", deliveryId: "d", receivedAt: new Date() }, "project", body),
});

describe("payload readers", () => {
  it("read a documented merge request event", () => {
    const event = eventOf(fixtureJson("project__merge_request_open.json"));
    expect(isMergeRequest(event)).toBe(true);
    expect(mergeRequestOf(event)).toMatchObject({
      iid: 16,
      action: "open",
      title: "Add input validation to booking form",
      url: "http://gitlab.example.com/flightjs/flight-management/-/merge_requests/16",
      sourceBranch: "feature/booking-validation",
      targetBranch: "main",
      previousDescription: null,
    });
    expect(mergeRequestOrderingKey(event)).toBe(`id:${event.project?.id}!16`);
  });

  it("read fields of the wrong type as absent, never as a crash", () => {
    const hostile = {
      object_kind: "merge_request",
      object_attributes: { iid: "16", title: 7, url: "javascript:alert(1)" },
      assignees: "x",
      reviewers: [null, { username: 3 }, { username: "ada" }],
    };
    const event = eventOf(hostile);
    expect(isMergeRequest(event)).toBe(false);
    expect(mergeRequestOf(event)).toBeNull();
    expect(mergeRequestOrderingKey({ ...event, project: { id: 4, path: "g/p", url: null, visibility: null } })).toBe("id:4");
    expect(record([1])).toEqual({});
    expect(text("")).toBeNull();
    expect(integer("12")).toBe(12);
    expect(integer(1.5)).toBeNull();
    expect(usernames(hostile.reviewers)).toEqual(["ada"]);
    expect(webUrl("javascript:alert(1)")).toBeNull();
    const withUrl = eventOf({
      object_kind: "merge_request",
      object_attributes: { iid: 3, url: "javascript:alert(1)" },
      project: { id: 4, path_with_namespace: "g/p", web_url: "https://gitlab.example.com/g/p" },
    });
    expect(mergeRequestOf(withUrl)?.url).toBe("https://gitlab.example.com/g/p/-/merge_requests/3");
  });
});
