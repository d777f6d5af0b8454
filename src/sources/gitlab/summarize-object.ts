import type { EventObject, EventProject } from "../../core/event.js";
import { integer, list, record, text, webUrl, type JsonObject } from "../../gitlab/payload.js";

const ZERO_SHA = /^0+$/;

/** `refs/heads/main` → `main`, `refs/tags/v1` → `v1`. */
const shortRef = (ref: string | null) => ref?.replace(/^refs\/(heads|tags)\//, "") ?? null;

/** A page of the project: its web URL and a path under it, when the project has a plain http(s) URL. */
function projectPage(project: EventProject | null, path: string): string | null {
  const base = webUrl(project?.url);
  return base ? `${base.replace(/\/+$/, "")}/${path}` : null;
}

const firstLine = (value: string | null) => value?.split("\n")[0]?.trim() || null;

/** A title, ref or state as long as a line can usefully be; a URL whole or not at all. */
function clip(value: string | null | undefined, max: number): string | null {
  if (value == null) return null;
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

function summary(kind: string, fields: Partial<Omit<EventObject, "kind">>): EventObject {
  return {
    kind,
    iid: fields.iid ?? null,
    id: fields.id ?? null,
    title: clip(fields.title, 500),
    url: fields.url != null && fields.url.length <= 2048 ? fields.url : null,
    ref: clip(fields.ref, 255),
    state: clip(fields.state, 64),
  };
}

/** A branch or tag push: what moved where, and the commit (or the comparison) to look at. */
function pushed(kind: "push" | "tag", body: JsonObject, project: EventProject | null): EventObject {
  const ref = shortRef(text(body.ref));
  const before = text(body.before) ?? "";
  const after = text(body.after) ?? "";
  const state = ZERO_SHA.test(after) ? "deleted" : ZERO_SHA.test(before) ? "created" : null;
  if (kind === "tag")
    return summary("tag", {
      title: ref,
      ref,
      state,
      url: ref && state !== "deleted" ? projectPage(project, `-/tags/${encodeURIComponent(ref)}`) : null,
    });
  const commits = list(body.commits).map(record);
  const head = commits.find((commit) => commit.id === after) ?? commits.at(-1);
  const compare =
    before && after && state === null ? projectPage(project, `-/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`) : null;
  return summary("push", {
    title: firstLine(text(head?.title) ?? text(head?.message)),
    ref,
    state,
    url: commits.length === 1 ? webUrl(head?.url) : (compare ?? webUrl(head?.url)),
  });
}

/** A comment: on which merge request, issue, commit or snippet, with that one's title. */
function note(body: JsonObject, attributes: JsonObject): EventObject {
  const on = [record(body.merge_request), record(body.issue), record(body.snippet)].find((target) => Object.keys(target).length > 0) ?? {};
  const commit = record(body.commit);
  return summary("note", {
    id: integer(attributes.id),
    iid: integer(on.iid),
    title: text(on.title) ?? firstLine(text(commit.message)),
    url: webUrl(attributes.url),
    ref: text(commit.id),
    state: text(on.state),
  });
}

/**
 * What a bot prints: the merge request, issue, comment, push, pipeline, … an event is about, read
 * from the payload GitLab documents for it. Null for events that are about no such object, and
 * for bodies that say nothing of it (a custom template's).
 */
export function summarizeObject(type: string, payload: unknown, project: EventProject | null): EventObject | null {
  const found = readObject(type, payload, project);
  if (!found) return null;
  const { kind: _kind, ...fields } = found;
  return Object.values(fields).some((value) => value !== null) ? found : null;
}

function readObject(type: string, payload: unknown, project: EventProject | null): EventObject | null {
  const body = record(payload);
  const attributes = record(body.object_attributes);
  switch (type) {
    case "merge_request":
      return summary("merge_request", {
        id: integer(attributes.id),
        iid: integer(attributes.iid),
        title: text(attributes.title),
        url:
          webUrl(attributes.url) ?? (integer(attributes.iid) !== null ? projectPage(project, `-/merge_requests/${attributes.iid}`) : null),
        ref: text(attributes.source_branch),
        state: text(attributes.state),
      });
    case "issue":
    case "work_item":
      return summary(type, {
        id: integer(attributes.id),
        iid: integer(attributes.iid),
        title: text(attributes.title),
        url: webUrl(attributes.url),
        state: text(attributes.state),
      });
    case "note":
      return note(body, attributes);
    case "push":
      return pushed("push", body, project);
    case "tag_push":
      return pushed("tag", body, project);
    case "pipeline": {
      const id = integer(attributes.id);
      return summary("pipeline", {
        id,
        iid: integer(attributes.iid),
        title: text(attributes.name) ?? firstLine(text(record(body.commit).message)),
        url: webUrl(attributes.url) ?? (id !== null ? projectPage(project, `-/pipelines/${id}`) : null),
        ref: text(attributes.ref),
        state: text(attributes.status),
      });
    }
    case "build": {
      const id = integer(body.build_id);
      return summary("job", {
        id,
        title: text(body.build_name),
        url: id !== null ? projectPage(project, `-/jobs/${id}`) : null,
        ref: text(body.ref),
        state: text(body.build_status),
      });
    }
    case "release":
      return summary("release", {
        id: integer(body.id),
        title: text(body.name) ?? text(body.tag),
        url: webUrl(body.url),
        ref: text(body.tag),
      });
    case "deployment":
      return summary("deployment", {
        id: integer(body.deployment_id),
        title: text(body.environment),
        url: webUrl(body.deployable_url) ?? webUrl(body.environment_external_url),
        ref: text(body.ref),
        state: text(body.status),
      });
    case "wiki_page":
      return summary("wiki_page", { title: text(attributes.title), url: webUrl(attributes.url), ref: text(attributes.slug) });
    case "milestone":
      return summary("milestone", {
        id: integer(attributes.id),
        iid: integer(attributes.iid),
        title: text(attributes.title),
        state: text(attributes.state),
      });
    case "vulnerability":
      return summary("vulnerability", { title: text(attributes.title), url: webUrl(attributes.url), state: text(attributes.state) });
    case "feature_flag":
      return summary("feature_flag", {
        id: integer(attributes.id),
        title: text(attributes.name),
        state: attributes.active === true ? "active" : attributes.active === false ? "inactive" : null,
      });
    default:
      return null;
  }
}
