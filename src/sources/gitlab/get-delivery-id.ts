import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

const HEADERS = ["idempotency-key", "webhook-id", "x-gitlab-event-uuid"] as const;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The id that makes a resend recognisable: GitLab keeps Idempotency-Key (and webhook-id) across
 * its retries and manual resends. Requests without one get a fresh id and are never merged.
 * Returns an error message when the header is unusable.
 */
export function getDeliveryId(headers: IncomingHttpHeaders): { id: string } | { error: string } {
  for (const name of HEADERS) {
    const value = header(headers, name)?.trim();
    if (value === undefined || value === "") continue;
    if (value.length > 255 || !/^[\x21-\x7e]+$/.test(value)) {
      return { error: `${name} must be at most 255 printable ASCII characters` };
    }
    return { id: value };
  }
  return { id: randomUUID() };
}
