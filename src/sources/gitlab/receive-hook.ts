import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "winston";
import type { GitLabEvent, NewEvent, StoredEvent } from "../../core/event.js";
import { sendError, sendJson } from "../../core/http-errors.js";
import { matchesAnySecret } from "../../core/secrets.js";
import type { Store } from "../../core/store/store.js";
import { hookKindOf } from "./event-header.js";
import { getDeliveryId } from "./get-delivery-id.js";
import { normalize, projectOf } from "./normalize.js";
import { readBody } from "./read-body.js";
import { verifySignature } from "./verify-signature.js";

export interface IngestOptions {
  /** Accepted X-Gitlab-Token values. */
  tokens: readonly string[];
  /** Accepted whsec_ signing secrets. */
  signingSecrets: readonly string[];
  /** Tokens that only authenticate events of matching projects (PROJECT_TOKENS). */
  projectTokens?: (projectPath: string | null) => readonly string[];
  maxBodyBytes: number;
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

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Why the request is not authentic, or null when it is. Never mentions the secrets themselves. */
function authenticate(req: IncomingMessage, body: Buffer, options: IngestOptions, projectPath: () => string | null): string | null {
  const signature = header(req, "webhook-signature");
  if (signature !== undefined && options.signingSecrets.length > 0) {
    return verifySignature(
      { id: header(req, "webhook-id"), timestamp: header(req, "webhook-timestamp"), signature, body },
      options.signingSecrets,
    );
  }
  const token = header(req, "x-gitlab-token");
  if (token === undefined || token === "") {
    return options.signingSecrets.length > 0
      ? "missing X-Gitlab-Token header or webhook-signature; set the hook's secret token"
      : "missing X-Gitlab-Token header; set the hook's secret token to a value of SOURCE_TOKEN";
  }
  if (matchesAnySecret(token, options.tokens)) return null;
  const scoped = options.projectTokens?.(projectPath()) ?? [];
  if (matchesAnySecret(token, scoped)) return null;
  return "X-Gitlab-Token does not match any accepted token for this project";
}

type Parsed = { value: unknown; text: string } | { error: string };

/**
 * The body as it is stored: the text GitLab sent, on one line. In JSON that parsed, a raw line
 * break can only be whitespace between tokens (inside strings it must be escaped), so turning it
 * into a space changes nothing, and nothing is serialized again.
 */
function storedJson(text: string): string {
  const trimmed = text.trim();
  return /[\r\n]/.test(trimmed) ? trimmed.replace(/[\r\n]/g, " ") : trimmed;
}

function parseBody(raw: Buffer): Parsed {
  const text = raw.toString("utf8");
  try {
    return { value: JSON.parse(text) as unknown, text };
  } catch (error) {
    return { error: `body is not valid JSON: ${(error as Error).message}` };
  }
}

/**
 * `POST /hooks`: authenticate, parse, normalize, commit, then acknowledge (202 {"id"}), on plain
 * node:http because it is the hot path. No network I/O and no waiting on sinks.
 */
export function createHooksHandler(options: IngestOptions) {
  return async (req: IncomingMessage, res: ServerResponse, logFields: (fields: object) => void): Promise<void> => {
    if (req.method !== "POST") {
      req.resume();
      return sendError(res, 405, `${req.method} is not accepted here; GitLab POSTs webhooks`, { Allow: "POST" });
    }
    const contentType = (header(req, "content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (!JSON_TYPE.test(contentType)) {
      req.resume();
      return sendError(res, 415, `Content-Type must be application/json (got ${contentType === "" ? "none" : JSON.stringify(contentType)})`);
    }
    const read = await readBody(req, options.maxBodyBytes);
    if ("error" in read) return sendError(res, read.status, read.error);
    const started = performance.now();

    let parsed: Parsed | undefined;
    const parse = () => (parsed ??= parseBody(read.body));
    const projectPath = () => {
      const result = parse();
      return "value" in result ? (projectOf(result.value)?.path ?? null) : null;
    };
    const refused = authenticate(req, read.body, options, projectPath);
    if (refused) {
      options.onAuthFailure?.(refused);
      return sendError(res, 401, refused);
    }
    const body = parse();
    if ("error" in body) return sendError(res, 400, body.error);
    if (typeof body.value !== "object" || body.value === null || Array.isArray(body.value)) {
      return sendError(res, 400, "body must be a JSON object");
    }
    const deliveryId = getDeliveryId(req.headers);
    if ("error" in deliveryId) return sendError(res, 400, deliveryId.error);

    const eventHeader = header(req, "x-gitlab-event");
    const event = normalize(
      { eventHeader, instance: header(req, "x-gitlab-instance"), deliveryId: deliveryId.id, receivedAt: new Date() },
      hookKindOf(eventHeader),
      body.value,
    );
    let result;
    try {
      result = await options.store.append(event, {
        deliveries: options.deliveriesFor({ ...event, id: 0 }),
        scope: "",
        payloadJson: storedJson(body.text),
      });
    } catch (error) {
      options.logger.error("could not store an event", { error: String(error), deliveryId: event.deliveryId });
      return sendError(res, 503, "the event store is unavailable; the daemon's log says why (GitLab will retry)");
    }
    logFields({ eventId: result.id, hook: event.hook, type: event.type, duplicate: result.duplicate });
    if (result.duplicate) return sendJson(res, 200, { id: result.id, duplicate: true });
    sendJson(res, 202, { id: result.id });
    options.onAccepted?.(event, performance.now() - started);
    if (result.stored) options.publish(result.stored);
  };
}
