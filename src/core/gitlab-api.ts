import { Gitlab } from "@gitbeaker/rest";

export type GitLabApi = InstanceType<typeof Gitlab<false>>;

/** A GitLab REST client for GITLAB_URL with GITLAB_TOKEN, with a timeout on every request. */
export function createGitLabApi(url: string, token: string, timeoutMs = 15_000): GitLabApi {
  return new Gitlab({ host: url.replace(/\/+$/, ""), token, queryTimeout: timeoutMs });
}

/** The HTTP status of a failed GitLab API call, when GitLab answered at all. */
export function gitlabStatus(error: unknown): number | null {
  const cause = (error as { cause?: { response?: { status?: unknown } } } | null)?.cause;
  const status = cause?.response?.status;
  return typeof status === "number" ? status : null;
}

/** A GitLab API failure in words, naming GITLAB_TOKEN when GitLab refused it. */
export function describeGitLabError(error: unknown): string {
  const status = gitlabStatus(error);
  if (status === 401) return "GitLab refused GITLAB_TOKEN (401): it is wrong, revoked or expired; put a new one in place and restart";
  if (status === 403) return "GitLab refused the request (403): GITLAB_TOKEN lacks the api scope or access to this project";
  if (status !== null) return `GitLab answered ${status}`;
  return `GitLab could not be reached: ${error instanceof Error ? error.message : String(error)}`;
}
