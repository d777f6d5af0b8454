import { createHash, randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { EventProject } from "../../core/event.js";
import type { Credential } from "./credentials.js";

const HEADERS = ["idempotency-key", "webhook-id", "x-gitlab-event-uuid"] as const;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function usable(name: string, value: string): { id: string } | { error: string } {
  if (value.length > 255 || !/^[\x21-\x7e]+$/.test(value)) return { error: `${name} must be at most 255 printable ASCII characters` };
  return { id: value };
}

/**
 * The id that makes a resend recognisable: GitLab keeps Idempotency-Key (and webhook-id) across
 * its retries and manual resends; requests without one get a fresh id and are never merged. For a
 * signed request it is the signed webhook-id, whatever other headers say: a replay of a captured
 * request is a duplicate even with a fresh Idempotency-Key.
 */
export function getDeliveryId(headers: IncomingHttpHeaders, credential: Credential): { id: string } | { error: string } {
  if (credential.kind === "signed") return usable("webhook-id", credential.webhookId);
  for (const name of HEADERS) {
    const value = header(headers, name)?.trim();
    if (value === undefined || value === "") continue;
    return usable(name, value);
  }
  return { id: randomUUID() };
}

/**
 * Delivery ids deduplicate only among events the same kind of credential could have sent about
 * the same project: a key forged with one project's token can never swallow another project's
 * event, nor one sent with SOURCE_TOKEN.
 */
export function dedupScope(credential: Credential, project: EventProject | null): string {
  const who = credential.kind === "project" ? "project-token" : credential.kind;
  const what = project?.path ?? (project?.id != null ? `#${project.id}` : "");
  const scope = `${who}:${what}`;
  return scope.length <= 255 ? scope : `${who}:sha256:${createHash("sha256").update(what).digest("hex")}`;
}
