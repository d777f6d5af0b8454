import type { IncomingHttpHeaders } from "node:http";

/**
 * The request headers kept with an event, for its page in the dashboard: GitLab's own and the
 * proxy's, never a credential (X-Gitlab-Token, Authorization, a signature, cookies) nor a custom
 * header, which may carry a secret meant for another receiver.
 */
const KEPT: ReadonlySet<string> = new Set([
  "content-type",
  "user-agent",
  "idempotency-key",
  "webhook-id",
  "webhook-timestamp",
  "x-gitlab-event",
  "x-gitlab-instance",
  "x-gitlab-webhook-uuid",
  "x-gitlab-event-uuid",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-real-ip",
  "x-request-id",
]);

export function keptHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of KEPT) {
    const value = headers[name];
    if (value === undefined) continue;
    kept[name] = (Array.isArray(value) ? value.join(", ") : value).slice(0, 1024);
  }
  return kept;
}
