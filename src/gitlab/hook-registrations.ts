import type { GitLabApi } from "./api-client.js";
import { integer, list, record, text } from "./payload.js";

/** Whose hooks: a project's, a group's, or the instance's system hooks. */
export type HookTarget = { kind: "project"; ref: string } | { kind: "group"; ref: string } | { kind: "system" };

interface GitLabHook {
  id: number;
  url: string;
  /** GitLab's own state: `executable`, `temporarily_disabled` (until disabled_until) or `disabled`. */
  alertStatus: string | null;
  disabledUntil: string | null;
  /** The event flags that are on: push, merge_requests, note, … */
  events: string[];
  raw: Record<string, unknown>;
}

/** One request GitLab made to a hook, as its log keeps it for 7 days (GitLab 17.3+; none for system hooks). */
export interface HookDelivery {
  id: number;
  hookId: number;
  trigger: string | null;
  /** The request's headers, with the secret token already redacted by GitLab. */
  headers: Record<string, string>;
  /** The request body: the JSON GitLab sent (e-mail addresses redacted by GitLab). */
  body: string;
  /** What the receiver answered: `200`, `500`, or GitLab's words for no answer (`internal error`). */
  responseStatus: string;
  /** When GitLab made the request, when the log says. */
  at: string | null;
}

const PAGE_SIZE = 100;
/** A week of a busy hook's log, at most: 100 pages of 100. */
const MAX_PAGES = 100;

export const describeTarget = (target: HookTarget): string =>
  target.kind === "system" ? "system hook" : `${target.kind} hook of ${target.ref}`;

/** Numeric refs are ids, the rest paths (encoded by the client). */
export const refOf = (value: string): string | number => (/^\d+$/.test(value) ? Number(value) : value);

const apiPathOf = (target: HookTarget): string =>
  target.kind === "system" ? "hooks" : `${target.kind === "project" ? "projects" : "groups"}/${encodeURIComponent(target.ref)}/hooks`;

function toHook(value: unknown): GitLabHook {
  const raw = record(value);
  return {
    id: integer(raw.id) ?? 0,
    url: text(raw.url) ?? "",
    alertStatus: text(raw.alert_status),
    disabledUntil: text(raw.disabled_until),
    events: Object.entries(raw)
      .filter(([key, on]) => key.endsWith("_events") && on === true)
      .map(([key]) => key.replace(/_events$/, "")),
    raw,
  };
}

export async function listHooks(api: GitLabApi, target: HookTarget): Promise<GitLabHook[]> {
  const found =
    target.kind === "project"
      ? await api.ProjectHooks.all(refOf(target.ref))
      : target.kind === "group"
        ? await api.GroupHooks.all(refOf(target.ref))
        : await api.SystemHooks.all();
  return (found as unknown[]).map(toHook);
}

function toDelivery(value: unknown, hookId: number): HookDelivery {
  const raw = record(value);
  const headers = Object.fromEntries(
    Object.entries(record(raw.request_headers)).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
  const date = text(record(raw.response_headers).Date);
  const at = text(raw.created_at) ?? (date && !Number.isNaN(Date.parse(date)) ? new Date(date).toISOString() : null);
  return {
    id: integer(raw.id) ?? 0,
    hookId,
    trigger: text(raw.trigger),
    headers,
    body: typeof raw.request_data === "string" ? raw.request_data : JSON.stringify(raw.request_data ?? {}),
    responseStatus: String(raw.response_status ?? ""),
    at,
  };
}

/** A delivery the receiver took: a 2xx answer. Anything else (an error status, `internal error`, a timeout) failed. */
export const wasAccepted = (delivery: Pick<HookDelivery, "responseStatus">): boolean => /^2\d\d$/.test(delivery.responseStatus.trim());

/**
 * The hook's logged deliveries, newest pages first as GitLab serves them, following its `Link`
 * header. `pages` limits how far (1 for "the last few").
 */
export async function hookDeliveries(
  api: GitLabApi,
  target: Exclude<HookTarget, { kind: "system" }>,
  hookId: number,
  options: { pages?: number; perPage?: number } = {},
): Promise<HookDelivery[]> {
  const deliveries: HookDelivery[] = [];
  let endpoint: string | null = `${apiPathOf(target)}/${hookId}/events`;
  let query: Record<string, string> = { per_page: String(options.perPage ?? PAGE_SIZE) };
  for (let page = 0; endpoint !== null && page < (options.pages ?? MAX_PAGES); page++) {
    // SystemHooks has no path prefix: its requester takes paths from /api/v4/.
    const response = await api.SystemHooks.requester.get(endpoint, {
      searchParams: query,
      signal: AbortSignal.timeout(api.SystemHooks.queryTimeout ?? 15_000),
    });
    deliveries.push(...list(response.body).map((item) => toDelivery(item, hookId)));
    const next = nextPage(response.headers.link);
    endpoint = next?.endpoint ?? null;
    query = next?.query ?? {};
  }
  return deliveries;
}

/** `Link: <https://host/api/v4/projects/1/hooks/2/events?page=2&per_page=100>; rel="next"` → the next request. */
function nextPage(link: string | undefined): { endpoint: string; query: Record<string, string> } | null {
  const next = link?.split(",").find((part) => /rel="?next"?/.test(part));
  const href = next ? /<([^>]+)>/.exec(next)?.[1] : undefined;
  if (!href) return null;
  const url = new URL(href);
  const cut = url.pathname.indexOf("/api/v4/");
  if (cut === -1) return null;
  return { endpoint: url.pathname.slice(cut + "/api/v4/".length), query: Object.fromEntries(url.searchParams) };
}

export type HookState = "ok" | "failing" | "disabled";

interface HookHealth {
  state: HookState;
  /** Why, in words, with what to do about it; null when ok. */
  reason: string | null;
}

/** GitLab's trigger name for a test request of this hook (the first event it is on for). */
function testTrigger(hook: GitLabHook): string {
  const event = hook.events.find((name) => name !== "repository_update") ?? "push";
  return `${event}_events`;
}

/**
 * What a hook's state means for us: disabled by GitLab (temporarily after 4 failures in a row, for
 * good after more), failing (its last logged delivery was refused or unanswered), or ok.
 */
export function hookHealth(target: HookTarget, hook: GitLabHook, lastDeliveries: readonly HookDelivery[] = []): HookHealth {
  const where =
    target.kind === "system" ? "hooks" : `${target.kind === "project" ? "projects" : "groups"}/${encodeURIComponent(target.ref)}/hooks`;
  const reEnable =
    `send it a test request to re-enable it (GitLab: Settings → Webhooks → Test, or POST /api/v4/${where}/${hook.id}/test/${testTrigger(hook)})` +
    (target.kind === "system"
      ? ""
      : `, then fetch what it missed: gitlab-webhooks hooks recover --${target.kind} ${target.ref} --hook ${hook.id}`);
  if (hook.alertStatus === "disabled")
    return {
      state: "disabled",
      reason: `GitLab disabled ${describeTarget(target)} ${hook.id} (${hook.url}) after repeated failures: ${reEnable}`,
    };
  if (hook.alertStatus === "temporarily_disabled") {
    const until = hook.disabledUntil ? ` until ${hook.disabledUntil}` : "";
    return {
      state: "disabled",
      reason: `GitLab paused ${describeTarget(target)} ${hook.id} (${hook.url})${until} after 4 failures in a row: ${reEnable}`,
    };
  }
  const last = lastDeliveries[0];
  if (last && !wasAccepted(last)) {
    return {
      state: "failing",
      reason: `the last delivery of ${describeTarget(target)} ${hook.id} (${hook.url}) got "${last.responseStatus}"${last.at ? ` at ${last.at}` : ""}`,
    };
  }
  return { state: "ok", reason: null };
}
