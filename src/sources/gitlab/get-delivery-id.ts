import { createHash, randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { EventProject } from "../../core/event.js";
import type { Credential } from "./credentials.js";
import { readHeader } from "./read-header.js";

const HEADERS = ["idempotency-key", "webhook-id", "x-gitlab-event-uuid"] as const;

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
    const value = readHeader(headers, name)?.trim();
    if (value === undefined || value === "") continue;
    return usable(name, value);
  }
  return { id: randomUUID() };
}

/**
 * Delivery ids deduplicate only among events about the same project: a key forged through one
 * project's token can never swallow another project's event. The credential is not part of it, so
 * that `hooks recover`, which sends GitLab's logged requests again with SOURCE_TOKEN, finds the
 * deliveries that did arrive through a project token or a signature.
 */
export function dedupScope(project: EventProject | null): string {
  const what = project?.path ?? (project?.id != null ? `#${project.id}` : "");
  return what.length <= 255 ? what : `sha256:${createHash("sha256").update(what).digest("hex")}`;
}
