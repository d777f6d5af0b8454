import { createHash } from "node:crypto";
import { requireSettings } from "../../config/settings.js";
import { eventFilter } from "../../gitlab/event-filter.js";
import { gitlabHeaders } from "../../gitlab/headers.js";
import { eventJson, type GitLabEvent, type StoredEvent } from "../../core/event.js";
import { retryAfter } from "../../core/failure.js";
import { networkCause } from "../../support/network-cause.js";
import { PermanentError, RetryLaterError, type Sink, type SinkContext, type SinkFactory } from "../../core/sink.js";
import { responseStart } from "../../support/response-start.js";
import { sign } from "../../support/standard-webhooks.js";
import { VERSION } from "../../support/version.js";
import { readEndpoints, type Endpoint } from "./endpoints.js";
import type { HttpSinkSettings } from "./settings.js";

/** What this sink reads of the configuration. */
type Settings = HttpSinkSettings;

/** How much of a downstream's answer is kept with a failed attempt (its error text). */
const KEPT_RESPONSE_CHARS = 500;

/** Standard Webhooks' message id: the same on every attempt at one event for one endpoint, and different per endpoint. */
export function webhookId(endpoint: string, event: Pick<GitLabEvent, "id" | "deliveryId" | "receivedAt">): string {
  // The event id alone would repeat after a store is replaced; with the receipt time and GitLab's id it does not.
  const digest = createHash("sha256").update(`${endpoint}\n${event.id}\n${event.receivedAt}\n${event.deliveryId}`).digest("base64url");
  return `msg_${digest.slice(0, 32)}`;
}

/** Text from a downstream, safe in an error line: one line, and short. */
function excerpt(text: string): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return line.length > KEPT_RESPONSE_CHARS ? `${line.slice(0, KEPT_RESPONSE_CHARS)}…` : line;
}

/** The request an endpoint gets for an event: the body as configured, GitLab's headers with a GitLab body. */
function requestFor(endpoint: Endpoint, event: GitLabEvent, stored: StoredEvent): { body: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": `gitlab-webhooks/${VERSION}` };
  if (endpoint.body === "event") return { body: eventJson(event), headers };
  return { body: stored.payloadJson, headers: { ...headers, ...gitlabHeaders(stored.requestHeaders) } };
}

/**
 * One endpoint of HTTP_SINK_FILE as a sink of its own (`http:<name>`): its own durable queue, with
 * the delivery queue's retries, Retry-After, per-project order and dead letters. Each request is
 * signed as Standard Webhooks asks, with every secret of the endpoint.
 */
function endpointSink(endpoint: Endpoint, { config, store, logger }: SinkContext<Settings>): Sink<Settings> {
  const name = `http:${endpoint.name}`;
  const matches = eventFilter(endpoint);
  const where = new URL(endpoint.url);
  let disabled: { at: string; why: string } | null = null;

  async function handle(event: GitLabEvent, { signal }: SinkContext<Settings>): Promise<void> {
    if (disabled) throw Object.assign(new PermanentError(`${name} is disabled since ${disabled.at}: ${disabled.why}`), { status: 410 });
    const stored = await store.getEvent(event.id);
    if (!stored) throw new PermanentError(`event ${event.id} is no longer stored`);
    const { body, headers } = requestFor(endpoint, event, stored);
    const id = webhookId(endpoint.name, event);
    const timestamp = String(Math.floor(Date.now() / 1000));
    headers["webhook-id"] = id;
    headers["webhook-timestamp"] = timestamp;
    headers["webhook-signature"] = endpoint.secret.map((secret) => sign(secret, id, timestamp, body)).join(" ");

    let response: Response;
    try {
      response = await fetch(endpoint.url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.any([signal, AbortSignal.timeout(config.HTTP_SINK_TIMEOUT_MS)]),
      });
    } catch (error) {
      if ((error as Error).name === "TimeoutError")
        throw new Error(`${name} gave no answer within HTTP_SINK_TIMEOUT_MS (${config.HTTP_SINK_TIMEOUT_MS} ms)`);
      throw new Error(`${name} could not be reached (${networkCause(error)})`);
    }
    const text = excerpt(await responseStart(response));
    if (response.ok) return;
    const said = `${name} answered ${response.status}${text ? `: ${text}` : ""}`;
    const status = response.status;
    if (status === 410) {
      // Gone: the receiver says it will never take events again (Standard Webhooks, Svix).
      disabled = {
        at: new Date().toISOString(),
        why: `it answered 410 Gone; fix or remove the entry in HTTP_SINK_FILE and restart, then retry its dead letters`,
      };
      logger.error(`${name} answered 410 Gone: the endpoint is disabled, its deliveries become dead letters`, {
        sink: name,
        host: where.host,
      });
      throw Object.assign(new PermanentError(said), { status });
    }
    const later = status === 429 || status === 503 ? retryAfter(response.headers.get("retry-after")) : null;
    if (later !== null) throw new RetryLaterError(said, later, { status });
    if (status >= 300 && status < 400)
      throw Object.assign(new Error(`${said} (a redirect, not followed: put the final URL in HTTP_SINK_FILE)`), { status });
    throw Object.assign(new Error(said), { status });
  }

  return {
    name,
    accepts: (event) => matches(event),
    handle,
    health() {
      // Only the host: a webhook URL's path and query often are its secret.
      const facts: Record<string, unknown> = { endpoint: where.host, body: endpoint.body };
      // These keys come after the queue's own condition in the sink's status, so they replace it.
      if (disabled)
        Object.assign(facts, { state: "failing", reason: `disabled since ${disabled.at}: ${disabled.why}`, disabled: disabled.at });
      return facts;
    },
  };
}

/** `http`: push delivery to each endpoint of HTTP_SINK_FILE, one sink per endpoint. */
export const createHttpSink: SinkFactory<Settings> = (ctx) => {
  const endpoints = readEndpoints(requireSettings(ctx.config, ["HTTP_SINK_FILE"], "http").HTTP_SINK_FILE);
  ctx.logger.info(
    `http: pushing events to ${endpoints.map((endpoint) => `http:${endpoint.name} (${new URL(endpoint.url).host})`).join(", ")}`,
  );
  return endpoints.map((endpoint) => endpointSink(endpoint, ctx));
};
