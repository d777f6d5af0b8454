import { Gitlab } from "@gitbeaker/core";
import { createRequesterFn, type FormattedResponse, type ResponseBodyTypes } from "@gitbeaker/requester-utils";
import { throwIfDeliveryStopped, withDeliverySignal } from "../core/delivery-claim.js";
import { retryAfter } from "../core/failure.js";
import { networkCause } from "../support/network-cause.js";
import { errorMessage } from "../support/error-message.js";

export type GitLabApi = InstanceType<typeof Gitlab<false>>;

/**
 * A GitLab API call that failed. `status` is GitLab's answer (null when none came), so that a 401
 * or 403 (configuration) is told apart from a 429 or 5xx (try later); `retryAt` is its Retry-After.
 */
class GitLabApiError extends Error {
  override name = "GitLabApiError";
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryAt: number | null = null,
  ) {
    super(message);
  }
}

type RequestOptions = Record<string, unknown> & {
  prefixUrl?: string;
  searchParams?: string;
  method?: string;
  asStream?: boolean;
  signal?: AbortSignal;
};

async function body(response: Response, asStream: boolean): Promise<ResponseBodyTypes> {
  if (asStream) return response.body as unknown as ResponseBodyTypes;
  if (response.status === 204) return null as unknown as ResponseBodyTypes;
  const type = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  if (type === "application/json") return ((await response.json()) as ResponseBodyTypes | null) ?? {};
  if (type.startsWith("text/")) return await response.text();
  return await response.blob();
}

/** GitLab's own words for a refusal: `{"message": …}` or `{"error": …}`. */
async function refusalText(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
    const said = parsed.message ?? parsed.error;
    if (said !== undefined) return typeof said === "string" ? said : JSON.stringify(said);
  } catch {
    // not JSON: an HTML error page says nothing useful in a log line
  }
  return "";
}

/**
 * One attempt per call: the durable delivery queue retries, with backoff and across restarts, and
 * a 429's Retry-After is passed on instead of being retried away inside one delivery.
 */
async function requestOnce(endpoint: string, options: RequestOptions = {}): Promise<FormattedResponse> {
  const { prefixUrl = "", searchParams, method = "GET", asStream = false, rateLimiters: _limits, agent: _agent, ...init } = options;
  const url = new URL(endpoint, prefixUrl.endsWith("/") ? prefixUrl : `${prefixUrl}/`);
  url.search = searchParams ?? "";
  const what = `${method} ${url.pathname}`;
  let response: Response;
  try {
    // The delivery's own signal too: a delivery whose claim is lost stops waiting for GitLab.
    response = await fetch(url, { ...(init as RequestInit), method, signal: withDeliverySignal(init.signal) ?? null });
  } catch (error) {
    throwIfDeliveryStopped();
    const name = (error as Error).name;
    if (name === "TimeoutError" || name === "AbortError")
      throw new GitLabApiError(`GitLab at ${url.origin} did not answer ${what} in time`, null);
    throw new GitLabApiError(`GitLab at ${url.origin} could not be reached (${networkCause(error)})`, null);
  }
  if (!response.ok) {
    const said = await refusalText(response);
    throw new GitLabApiError(
      `GitLab answered ${response.status} to ${what}${said ? `: ${said}` : ""}`,
      response.status,
      retryAfter(response.headers.get("retry-after")),
    );
  }
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  return { body: await body(response, asStream), headers, status: response.status };
}

const requesterFn = createRequesterFn(async (_service, options) => options, requestOnce);

/** A GitLab REST client for GITLAB_URL with GITLAB_TOKEN, with a timeout on every request. */
export function createGitLabApi(url: string, token: string, timeoutMs = 15_000): GitLabApi {
  return new Gitlab({ host: url.replace(/\/+$/, ""), token, queryTimeout: timeoutMs, requesterFn });
}

/** The HTTP status of a failed GitLab API call, when GitLab answered at all. */
export function gitlabStatus(error: unknown): number | null {
  return error instanceof GitLabApiError || (error as Error | null)?.name === "GitLabApiError" ? (error as GitLabApiError).status : null;
}

/**
 * A GitLab API failure in words, naming GITLAB_TOKEN when GitLab refused it. `restart`: the daemon
 * reads GITLAB_TOKEN at start, a one-shot command on every run.
 */
export function describeGitLabError(error: unknown, { restart = false } = {}): string {
  const status = gitlabStatus(error);
  const then = restart ? " and restart" : "";
  if (status === 401) return `GitLab refused GITLAB_TOKEN (401): it is wrong, revoked or expired; put a new one in place${then}`;
  if (status === 403) return "GitLab refused the request (403): GITLAB_TOKEN lacks the api scope or access to this project";
  return errorMessage(error);
}

/**
 * The error a sink throws for a failed GitLab call: its words and what it was doing, with GitLab's
 * status and Retry-After kept for the delivery queue, the API and the dashboard.
 */
export function gitlabFailure(what: string, error: unknown): GitLabApiError {
  const status = gitlabStatus(error);
  const retryAt = error instanceof GitLabApiError ? error.retryAt : null;
  return new GitLabApiError(`${what}: ${describeGitLabError(error, { restart: true })}`, status, retryAt);
}
