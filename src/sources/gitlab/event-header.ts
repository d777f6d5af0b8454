import type { HookKind } from "../../core/event.js";

/** X-Gitlab-Event values that only group webhooks send. */
const GROUP_HEADERS = new Set(["Subgroup Hook", "Member Hook", "Project Hook"]);

/**
 * The hook that sent a request, from its X-Gitlab-Event header.
 * System hooks send "System Hook" for every kind; group-only events have their own headers;
 * every other "… Hook" comes from a project (or a group hook relaying a project's event).
 * https://docs.gitlab.com/user/project/integrations/webhook_events/
 */
export function hookKindOf(header: string | undefined): HookKind {
  if (header === undefined || header.trim() === "") return "unknown";
  const value = header.trim();
  if (value === "System Hook") return "system";
  if (GROUP_HEADERS.has(value)) return "group";
  if (/ Hook$/.test(value)) return "project";
  return "unknown";
}

/** "Merge Request Hook" → "merge_request": the type of a body that does not name its own. */
export function typeFromHeader(header: string | undefined): string | null {
  if (!header) return null;
  const base = header.trim().replace(/ Hook$/, "");
  if (base === "" || base === "System") return null;
  return base.toLowerCase().replace(/\s+/g, "_");
}

const HEADER_BY_KIND: Record<string, string> = {
  push: "Push Hook",
  tag_push: "Tag Push Hook",
  issue: "Issue Hook",
  work_item: "Issue Hook",
  note: "Note Hook",
  merge_request: "Merge Request Hook",
  wiki_page: "Wiki Page Hook",
  pipeline: "Pipeline Hook",
  build: "Job Hook",
  deployment: "Deployment Hook",
  feature_flag: "Feature Flag Hook",
  release: "Release Hook",
  emoji: "Emoji Hook",
  milestone: "Milestone Hook",
  access_token: "Resource Access Token Hook",
  vulnerability: "Vulnerability Hook",
};

/** The X-Gitlab-Event GitLab would send with this body, for `send` when none is given. */
export function guessEventHeader(body: unknown): string {
  if (typeof body !== "object" || body === null) return "Push Hook";
  const record = body as Record<string, unknown>;
  const kind = record.object_kind;
  if (typeof kind === "string" && HEADER_BY_KIND[kind]) return HEADER_BY_KIND[kind];
  // Bodies named by event_name alone (project_create, user_create, repository_update …) are system events.
  if (typeof record.event_name === "string") return "System Hook";
  return "Push Hook";
}
