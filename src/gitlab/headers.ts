/**
 * GitLab's own request headers, which a receiver written for GitLab's webhooks dispatches on:
 * X-Gitlab-Event, X-Gitlab-Instance, X-Gitlab-Event-UUID, X-Gitlab-Webhook-UUID, Idempotency-Key
 * and User-Agent. Not a credential (X-Gitlab-Token, a signature), not a proxy's header.
 */
const GITLAB_OWN = /^(x-gitlab-(event|instance|event-uuid|webhook-uuid)|idempotency-key|user-agent)$/i;

/** GitLab's own headers among `headers` (names lower-case, as kept with each event), as they came. */
export function gitlabHeaders(headers: Readonly<Record<string, unknown>> | null): Record<string, string> {
  const own: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (GITLAB_OWN.test(name) && typeof value === "string") own[name.toLowerCase()] = value;
  }
  return own;
}
