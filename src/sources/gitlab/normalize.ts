import type { EventActor, EventProject, HookKind, NewEvent, Visibility } from "../../core/event.js";
import { integer, record, text, type JsonObject } from "../../gitlab/payload.js";
import { typeFromHeader } from "./event-header.js";
import { withStorableText } from "../../core/storable-text.js";
import { summarizeObject } from "./summarize-object.js";

const VISIBILITY_LEVELS: Record<number, Visibility> = { 0: "private", 10: "internal", 20: "public" };

function visibility(level: unknown, name: unknown): Visibility | null {
  const byLevel = typeof level === "number" ? VISIBILITY_LEVELS[level] : undefined;
  if (byLevel) return byLevel;
  return name === "public" || name === "internal" || name === "private" ? name : null;
}

/**
 * The project an event is about: the `project` object of project and group hooks, or the flat
 * project_id / path_with_namespace / project_visibility fields of system events.
 */
export function projectOf(body: unknown): EventProject | null {
  return withStorableText(projectOfRecord(record(body)));
}

function projectOfRecord(body: JsonObject): EventProject | null {
  const nested = record(body.project);
  const id = integer(nested.id) ?? integer(body.project_id);
  const path = text(nested.path_with_namespace) ?? (body.project_id !== undefined ? text(body.path_with_namespace) : null);
  const url = text(nested.web_url) ?? text(nested.homepage);
  const vis = visibility(nested.visibility_level, nested.visibility) ?? visibility(body.visibility_level, body.project_visibility);
  if (id === null && path === null && url === null) return projectOfObjectUrl(body);
  return { id, path, url, visibility: vis };
}

/**
 * Events that name their project only through their object (vulnerability events): the path is
 * the object URL's before `/-/`, the id object_attributes.project_id.
 */
function projectOfObjectUrl(body: JsonObject): EventProject | null {
  const attributes = record(body.object_attributes);
  const objectUrl = text(attributes.url);
  if (objectUrl === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(objectUrl);
  } catch {
    return null;
  }
  const cut = parsed.pathname.indexOf("/-/");
  if (cut <= 1) return null;
  const encoded = parsed.pathname.slice(1, cut);
  let path: string;
  try {
    path = decodeURIComponent(encoded);
  } catch {
    return null;
  }
  return { id: integer(attributes.project_id), path, url: `${parsed.origin}/${encoded}`, visibility: null };
}

/** Who did it: the `user` object, else the flat user_* fields of push events. */
function actorOf(body: JsonObject): EventActor | null {
  const user = record(body.user);
  const username = text(user.username) ?? text(body.user_username);
  const name = text(user.name) ?? text(body.user_name);
  if (username === null && name === null) return null;
  return { username, name };
}

function actionOf(body: JsonObject): string | null {
  const attributes = record(body.object_attributes);
  return (
    text(attributes.action) ??
    text(body.action) ??
    // Pipelines and jobs have no action; their status is what people filter on.
    (body.object_kind === "pipeline" ? text(attributes.status) : null) ??
    (body.object_kind === "build" ? text(body.build_status) : null)
  );
}

interface HookRequest {
  eventHeader: string | undefined;
  instance: string | undefined;
  deliveryId: string;
  receivedAt: Date;
}

/**
 * Turns a GitLab request into the event every sink sees (README.md, "The event"). Its fields are
 * storable text (NUL and lone surrogates replaced); the payload stays as GitLab sent it.
 */
export function normalize(request: HookRequest, hook: HookKind, body: unknown): NewEvent {
  const fields = record(body);
  const project = projectOfRecord(fields);
  const type = text(fields.object_kind) ?? text(fields.event_name) ?? typeFromHeader(request.eventHeader) ?? "unknown";
  const meta: Omit<NewEvent, "payload"> = {
    deliveryId: request.deliveryId,
    receivedAt: request.receivedAt.toISOString(),
    instance: text(request.instance),
    hook,
    type,
    action: actionOf(fields),
    project,
    actor: actorOf(fields),
    object: summarizeObject(type, body, project),
  };
  return { ...withStorableText(meta), payload: body };
}
