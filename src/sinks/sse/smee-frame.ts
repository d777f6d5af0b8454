import type { StoredEvent } from "../../core/event.js";
import { gitlabHeaders } from "../../gitlab/headers.js";
import { withoutPersonalData } from "./public-payload.js";

/**
 * The feed as smee.io sends it (`?format=smee`), for the stock smee-client and Probot's smee support:
 * each message's data is one JSON object of the request's headers (lower-case), `body` (the payload
 * as GitLab sent it) and `query`. smee-client turns every other key into a header of the request it
 * makes, so nothing else may go in.
 */
type FeedFormat = "events" | "smee";

export function parseFormat(value: unknown): FeedFormat | { error: string } {
  if (value === undefined || value === "") return "events";
  if (value === "smee") return "smee";
  return {
    error: `format=${JSON.stringify(String(value)).slice(0, 40)} is not known: the feed takes format=smee, or no format for its own events`,
  };
}

/**
 * A token holder gets every kept header; a subscriber without a token GitLab's own, which a bot
 * dispatches on, not the proxies' (X-Forwarded-For, X-Real-IP): they describe GitLab's network.
 */
function headersOf(event: StoredEvent, privileged: boolean): Record<string, string> {
  const kept = privileged ? (event.requestHeaders ?? {}) : gitlabHeaders(event.requestHeaders);
  const headers: Record<string, string> = { "content-type": "application/json", ...kept };
  if (event.meta.instance !== null) headers["x-gitlab-instance"] ??= event.meta.instance;
  return headers;
}

/**
 * An event's smee data: a token holder's with every kept header and the payload as stored; an
 * anonymous subscriber's with GitLab's own headers and, unless `fullPayload`, without personal data.
 */
export function smeeJson(event: StoredEvent, privileged: boolean, fullPayload: boolean): string {
  // The query GitLab's request had is not kept: smee-client would add it to the target's.
  const head = JSON.stringify({ ...headersOf(event, privileged), query: {} });
  const body = privileged || fullPayload ? event.payloadLine : withoutPersonalData(event.payloadJson);
  return `${head.slice(0, -1)},"body":${body}}`;
}
