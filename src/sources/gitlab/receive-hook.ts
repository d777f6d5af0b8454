import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "winston";
import type { GitLabEvent, NewEvent, StoredEvent } from "../../core/event.js";
import { sendError, sendJson } from "../../http/json-errors.js";
import type { ProjectTokenEntry } from "./project-tokens.js";
import type { Store } from "../../core/store.js";
import { claimedCredential, confirmedCredential } from "./credentials.js";
import { hookKindOf } from "./event-header.js";
import { dedupScope, getDeliveryId } from "./get-delivery-id.js";
import { keptHeaders } from "./kept-headers.js";
import { KnownUsers } from "./known-users.js";
import { nestsDeeperThan } from "./json-depth.js";
import { normalize, projectOf } from "./normalize.js";
import { ProjectIdentities } from "./project-identities.js";
import { readBody } from "./read-body.js";
import { readHeader } from "./read-header.js";
import { errorMessage } from "../../support/error-message.js";

interface IngestOptions {
  /** Accepted X-Gitlab-Token values. */
  tokens: readonly string[];
  /** Accepted whsec_ signing secrets. */
  signingSecrets: readonly string[];
  /** Tokens that only authenticate events of matching projects (PROJECT_TOKENS). */
  projectTokens: readonly ProjectTokenEntry[];
  maxBodyBytes: number;
  /** How long the body may take to arrive. */
  requestTimeoutMs: number;
  store: Store;
  /** The durable deliveries of this event: which sinks, in which order. */
  deliveriesFor: (event: GitLabEvent) => { sink: string; orderingKey: string | null }[];
  /** Called once an event is committed, in commit order. */
  publish: (event: StoredEvent) => void;
  logger: Logger;
  /** Called on every refused authentication, with a reason free of secrets. */
  onAuthFailure?: (reason: string) => void;
  onAccepted?: (event: NewEvent, durationMs: number) => void;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

/** GitLab's bodies nest a handful of levels; past this, a body is an attack on whoever serializes it again. */
export const MAX_NESTING = 100;

/** The fields the store indexes, each with the longest value it keeps. */
const INDEXED_FIELDS: readonly { what: string; max: number; of: (event: NewEvent) => string | null | undefined }[] = [
  { what: "object_kind (or X-Gitlab-Event)", max: 255, of: (event) => event.type },
  { what: "the action", max: 255, of: (event) => event.action },
  { what: "the project path", max: 1024, of: (event) => event.project?.path },
  { what: "the username", max: 255, of: (event) => event.actor?.username },
];

/** How long a refused sender may go on sending, its bytes dropped as they come, before the connection is cut. */
const DISCARD_FOR_MS = 2000;

/**
 * The body of a refused request is never kept: it is dropped as it arrives (a small one ends and
 * the connection stays usable), and a sender still sending after DISCARD_FOR_MS is cut off. Cutting
 * at once would reset the connection under the client's feet and lose the 401 it has not read yet.
 */
function discardBody(req: IncomingMessage): void {
  const cut = setTimeout(() => req.socket.destroy(), DISCARD_FOR_MS);
  cut.unref();
  req.on("end", () => clearTimeout(cut));
  req.resume();
}

type Parsed = { value: unknown; text: string } | { error: string };

function parseBody(raw: Buffer): Parsed {
  const text = raw.toString("utf8");
  if (nestsDeeperThan(text, MAX_NESTING)) return { error: `body nests objects and arrays deeper than ${MAX_NESTING} levels` };
  try {
    return { value: JSON.parse(text) as unknown, text };
  } catch (error) {
    return { error: `body is not valid JSON: ${errorMessage(error)}` };
  }
}

/** A field of the event longer than the store keeps, named; null when all fit. */
function tooLong(event: NewEvent): string | null {
  for (const { what, max, of } of INDEXED_FIELDS) {
    const value = of(event);
    if (value != null && value.length > max) return `${what} is longer than ${max} characters`;
  }
  return null;
}

/**
 * `POST /hooks`: authenticate, parse, normalize, commit, then acknowledge (202 {"id"}), on plain
 * node:http because it is the hot path. No network I/O beyond the store, and no waiting on sinks.
 */
export function createHooksHandler(options: IngestOptions) {
  const identities = new ProjectIdentities(options.store, options.logger);
  const users = new KnownUsers(options.store);
  const refuse = (res: ServerResponse, status: number, reason: string) => {
    options.onAuthFailure?.(reason);
    sendError(res, status, reason);
  };

  return async (req: IncomingMessage, res: ServerResponse, logFields: (fields: object) => void): Promise<void> => {
    if (req.method !== "POST") {
      req.resume();
      return sendError(res, 405, `${req.method} is not accepted here; GitLab POSTs webhooks`, { Allow: "POST" });
    }
    const contentType = (readHeader(req.headers, "content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (!JSON_TYPE.test(contentType)) {
      req.resume();
      return sendError(
        res,
        415,
        `Content-Type must be application/json (got ${contentType === "" ? "none" : JSON.stringify(contentType)})`,
      );
    }
    const claimed = claimedCredential(req.headers, options);
    if ("refused" in claimed) {
      discardBody(req);
      return refuse(res, 401, claimed.refused);
    }
    const read = await readBody(req, options.maxBodyBytes, options.requestTimeoutMs);
    if ("error" in read) {
      if (read.status === 408) res.setHeader("Connection", "close");
      return sendError(res, read.status, read.error);
    }
    const started = performance.now();

    let parsed: Parsed | undefined;
    const parse = () => (parsed ??= parseBody(read.body));
    const projectPath = () => {
      const result = parse();
      return "value" in result ? (projectOf(result.value)?.path ?? null) : null;
    };
    const credential = confirmedCredential(claimed, read.body, projectPath, options.signingSecrets);
    if ("refused" in credential) return refuse(res, 401, credential.refused);
    const body = parse();
    if ("error" in body) return sendError(res, 400, body.error);
    if (typeof body.value !== "object" || body.value === null || Array.isArray(body.value)) {
      return sendError(res, 400, "body must be a JSON object");
    }
    const deliveryId = getDeliveryId(req.headers, credential);
    if ("error" in deliveryId) return sendError(res, 400, deliveryId.error);

    const eventHeader = readHeader(req.headers, "x-gitlab-event");
    const normalized = normalize(
      { eventHeader, instance: readHeader(req.headers, "x-gitlab-instance"), deliveryId: deliveryId.id, receivedAt: new Date() },
      hookKindOf(eventHeader),
      body.value,
    );
    const problem = tooLong(normalized);
    if (problem) return sendError(res, 400, problem);
    let result;
    try {
      const identity = await identities.check(credential, normalized.project);
      if ("refused" in identity) return refuse(res, 403, identity.refused);
      const actor = await users.actorOf(normalized.actor, body.value, credential);
      const event = { ...normalized, project: identity.project, actor };
      result = await options.store.append(event, {
        deliveries: options.deliveriesFor({ ...event, id: 0 }),
        scope: dedupScope(event.project),
        // The text GitLab sent, not serialized again; StoredEvent.payloadLine puts it on one line where a line is needed.
        payloadJson: body.text.trim(),
        headers: keptHeaders(req.headers),
      });
    } catch (error) {
      options.logger.error("could not store an event", { error: errorMessage(error), deliveryId: normalized.deliveryId });
      return sendError(res, 503, "the event store is unavailable; the daemon's log says why (GitLab will retry)");
    }
    logFields({ eventId: result.id, hook: normalized.hook, type: normalized.type, duplicate: result.duplicate });
    if (result.duplicate) return sendJson(res, 200, { id: result.id, duplicate: true });
    sendJson(res, 202, { id: result.id });
    options.onAccepted?.(normalized, performance.now() - started);
    if (result.stored) options.publish(result.stored);
  };
}
