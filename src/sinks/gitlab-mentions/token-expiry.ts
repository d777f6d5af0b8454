import type { Logger } from "winston";
import { describeGitLabError, type GitLabApi } from "../../gitlab/api-client.js";

const DAY_MS = 86_400_000;
const WARN_DAYS = 14;

export interface TokenExpiry {
  /** YYYY-MM-DD, or null for a token that never expires. */
  expiresAt: string | null;
  checkedAt: string;
}

/** When a token with this expiry date stops working: GitLab's tokens expire at the start of the date (UTC). */
export const expiryTime = (expiresAt: string): number => Date.parse(`${expiresAt}T00:00:00Z`);

/** A sentence for /healthz and the log when the token has expired or soon will; null otherwise. */
export function tokenExpiryProblem(expiresAt: string | null, now = Date.now()): string | null {
  if (expiresAt === null) return null;
  const left = expiryTime(expiresAt) - now;
  if (left <= 0) return `GITLAB_TOKEN expired on ${expiresAt}`;
  if (left <= WARN_DAYS * DAY_MS) return `GITLAB_TOKEN expires on ${expiresAt}, in ${Math.ceil(left / DAY_MS)} days`;
  return null;
}

/**
 * Looks up when GITLAB_TOKEN expires and says so in the log: a warning from 14 days before, an
 * error once it has. Maintainers rotate it yearly and forget.
 */
export async function checkTokenExpiry(api: GitLabApi, logger: Logger, now = new Date()): Promise<TokenExpiry> {
  let token: { expires_at?: string | null };
  try {
    token = (await api.PersonalAccessTokens.show()) as { expires_at?: string | null };
  } catch (error) {
    logger.error(`could not check GITLAB_TOKEN's expiry: ${describeGitLabError(error, { restart: true })}`);
    throw error;
  }
  const expiresAt = token.expires_at ?? null;
  const problem = tokenExpiryProblem(expiresAt, now.getTime());
  if (problem) {
    const expired = expiresAt !== null && expiryTime(expiresAt) <= now.getTime();
    logger.log(expired ? "error" : "warn", `${problem}: rotate it (create a new token, set GITLAB_TOKEN, restart)`);
  }
  return { expiresAt, checkedAt: now.toISOString() };
}
