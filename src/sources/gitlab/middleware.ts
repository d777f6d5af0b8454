import express, { type Request, type Response, type Router } from "express";
import type { Logger } from "winston";
import type { GitLabEvent, NewEvent, StoredEvent } from "../../core/event.js";
import { sendError } from "../../core/http-errors.js";
import { matchesAnySecret } from "../../core/secrets.js";
import type { Store } from "../../core/store.js";
import { hookKindOf } from "./event-header.js";
import { getDeliveryId } from "./get-delivery-id.js";
import { normalize, projectOf } from "./normalize.js";
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
  /** Sinks that get a durable delivery of this event. */
  sinksFor: (event: GitLabEvent) => string[];
  /** Called once an event is committed, in commit order. */
  publish: (event: StoredEvent) => void;
  logger: Logger;
  /** Called on every refused authentication, with a reason free of secrets. */
  onAuthFailure?: (reason: string) => void;
  onAccepted?: (event: NewEvent, durationMs: number) => void;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Why the request is not authentic, or null when it is. Never mentions the secrets themselves. */
function authenticate(req: Request, body: Buffer, options: IngestOptions, projectPath: () => string | null): string | null {
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

/** `POST /hooks`: authenticate, parse, normalize, commit, then acknowledge. No network I/O. */
export function createHooksRouter(options: IngestOptions): Router {
  const router = express.Router();
  const readBody = express.raw({ type: () => true, limit: options.maxBodyBytes });

  router.all("/hooks", (req: Request, res: Response, next) => {
    if (req.method !== "POST") {
      return sendError(res, 405, `${req.method} is not accepted here; GitLab POSTs webhooks`, { Allow: "POST" });
    }
    const contentType = (header(req, "content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (!JSON_TYPE.test(contentType)) {
      return sendError(res, 415, `Content-Type must be application/json (got ${contentType === "" ? "none" : JSON.stringify(contentType)})`);
    }
    next();
  });

  router.post("/hooks", readBody, async (req: Request, res: Response) => {
    const started = performance.now();
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let parsed: { value: unknown } | { error: string } | undefined;
    const parse = () => {
      if (parsed) return parsed;
      try {
        parsed = { value: JSON.parse(raw.toString("utf8")) as unknown };
      } catch (error) {
        parsed = { error: `body is not valid JSON: ${(error as Error).message}` };
      }
      return parsed;
    };
    const projectPath = () => {
      const result = parse();
      if (!("value" in result)) return null;
      return projectOf(result.value)?.path ?? null;
    };

    const refused = authenticate(req, raw, options, projectPath);
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
    const sinks = options.sinksFor({ ...event, id: 0 });
    let result;
    try {
      result = await options.store.append(event, sinks);
    } catch (error) {
      options.logger.error("could not store an event", { error: String(error), deliveryId: event.deliveryId });
      return sendError(res, 503, "the event store is unavailable; the daemon's log says why (GitLab will retry)");
    }
    res.locals.logFields = { eventId: result.id, hook: event.hook, type: event.type, duplicate: result.duplicate };
    if (result.duplicate) return res.status(200).json({ id: result.id, duplicate: true });
    res.status(202).json({ id: result.id });
    options.onAccepted?.(event, performance.now() - started);
    if (result.stored) options.publish(result.stored);
  });

  return router;
}
