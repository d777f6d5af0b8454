import { Gauge } from "prom-client";
import { requireSettings } from "../../config/settings.js";
import type { GitLabEvent } from "../../core/event.js";
import { createGitLabApi, describeGitLabError, gitlabFailure, gitlabStatus } from "../../gitlab/api-client.js";
import { mergeRequestOf, mergeRequestOrderingKey, record, usernames } from "../../gitlab/payload.js";
import type { Sink, SinkFactory } from "../../core/sink.js";
import { entriesForProject, needsFiles, usersToMention, type ChangedFile } from "./decide-mentions.js";
import { ReviewersSource } from "./reviewers-source.js";
import { checkTokenExpiry, expiryTime, tokenExpiryProblem, type TokenExpiry } from "./token-expiry.js";
import type { DaemonConfig } from "../../config/daemon-settings.js";
import type { GitLabMentionsSettings } from "./settings.js";
import { errorMessage } from "../../support/error-message.js";

/** What this sink reads of the configuration. */
type Settings = DaemonConfig & GitLabMentionsSettings;

const DAY_MS = 86_400_000;
const SINK = "gitlab-mentions";

interface MergeRequest {
  /** What the ledger keys by: the id, stable across renames (the path when the event has none). */
  projectId: number | string;
  /** What the API is called with: the project the event's credential authenticated. */
  projectPath: string;
  iid: number;
  /** People the payload already shows on the MR: actor, assignees, reviewers. */
  known: string[];
}

/** Open and reopen always; update only when it pushed commits (it carries oldrev). */
function mergeRequestToMention(event: GitLabEvent): MergeRequest | null {
  const mr = mergeRequestOf(event);
  if (!mr) return null;
  const pushed = mr.action === "update" && mr.oldrev !== null;
  if (mr.action !== "open" && mr.action !== "reopen" && !pushed) return null;
  const projectPath = event.project?.path;
  if (!projectPath) return null;
  const known = [event.actor?.username, ...mr.assignees, ...mr.reviewers].filter((name): name is string => typeof name === "string");
  return { projectId: event.project?.id ?? projectPath, projectPath, iid: mr.iid, known };
}

/**
 * `gitlab-mentions`: mentions, on each new merge request, the people who asked for its project on
 * the reviewers page, so that GitLab notifies them. Never the author, a participant, the bot
 * itself, or anyone it mentioned on that MR before.
 */
export const createGitLabMentionsSink: SinkFactory<Settings> = ({ config, ledger, logger, metrics, signal }) => {
  const { GITLAB_TOKEN: token } = requireSettings(config, ["GITLAB_URL", "GITLAB_TOKEN"], SINK);
  const api = createGitLabApi(config.GITLAB_URL, token, config.GITLAB_TIMEOUT_MS);
  const reviewers = new ReviewersSource({
    file: config.REVIEWERS_FILE,
    url: config.REVIEWERS_URL,
    ttlMs: config.REVIEWERS_TTL * 1000,
    timeoutMs: config.GITLAB_TIMEOUT_MS,
    logger,
  });
  let botUsername: string | null = null;
  let expiry: TokenExpiry | null = null;
  let expiryTimer: NodeJS.Timeout | undefined;
  const expiryGauge = new Gauge({
    name: "gitlab_webhooks_gitlab_token_expiry_timestamp_seconds",
    help: "When GITLAB_TOKEN expires (Unix time); absent until checked, 0 for a token that never expires",
    registers: [metrics],
  });

  const checkExpiry = async () => {
    try {
      expiry = await checkTokenExpiry(api, logger);
      expiryGauge.set(expiry.expiresAt ? expiryTime(expiry.expiresAt) / 1000 : 0);
    } catch {
      // checkTokenExpiry logged why; the next daily check tries again.
    }
  };

  const gitlabTrouble = (what: string, error: unknown) => {
    if (gitlabStatus(error) === 401) logger.error(`${SINK}: ${describeGitLabError(error, { restart: true })}`);
    return gitlabFailure(what, error);
  };

  async function bot(): Promise<string> {
    if (botUsername) return botUsername;
    try {
      botUsername = String((await api.Users.showCurrentUser()).username);
      return botUsername;
    } catch (error) {
      throw gitlabTrouble("could not look up the bot's own account", error);
    }
  }

  async function changedFiles(mr: MergeRequest): Promise<ChangedFile[]> {
    try {
      const diffs = await api.MergeRequests.allDiffs(mr.projectPath, mr.iid);
      return diffs.map((diff) => ({ path: String(diff.new_path ?? diff.old_path), isNew: diff.new_file === true }));
    } catch (error) {
      throw gitlabTrouble("could not list the merge request's changed files", error);
    }
  }

  async function participants(mr: MergeRequest): Promise<string[]> {
    try {
      return usernames(await api.MergeRequests.allParticipants(mr.projectPath, mr.iid));
    } catch (error) {
      throw gitlabTrouble("could not list the merge request's participants", error);
    }
  }

  const ledgerPrefix = (mr: MergeRequest) => `${mr.projectId}!${mr.iid}:@`;

  /** People this sink mentioned on the MR, as its ledger says. */
  async function alreadyMentioned(mr: MergeRequest): Promise<string[]> {
    return (await ledger.keysWithPrefix(ledgerPrefix(mr))).map((key) => key.slice(ledgerPrefix(mr).length));
  }

  /**
   * After a post that was never answered: whether the bot's notes mention any of them (each one it
   * mentions is recorded). Any, not all: the reviewers page may have changed since, and a second
   * note mentioning someone again is the worse mistake.
   */
  async function notesMention(mr: MergeRequest, me: string, users: readonly string[]): Promise<boolean> {
    let notes;
    try {
      notes = await api.MergeRequestNotes.all(mr.projectPath, mr.iid);
    } catch (error) {
      throw gitlabTrouble("could not read the merge request's notes", error);
    }
    const mentioned = new Set<string>();
    for (const note of notes) {
      if (record(note.author).username !== me) continue;
      for (const match of String(note.body).matchAll(/(?<![\w@])@([A-Za-z0-9_.-]+)/g)) {
        const user = match[1] as string;
        mentioned.add(user.toLowerCase());
        await ledger.record(`${ledgerPrefix(mr)}${user}`);
      }
    }
    return users.some((user) => mentioned.has(user.toLowerCase()));
  }

  function noteText(users: string[], projectPath: string): string {
    const page = reviewers.pageLink ? `[Git/Reviewers](${reviewers.pageLink})` : "the reviewers page";
    return `${users.map((user) => `@${user}`).join(" ")}: you asked on ${page} to hear about merge requests to \`${projectPath}\`.`;
  }

  async function handle(event: GitLabEvent): Promise<void> {
    const mr = mergeRequestToMention(event);
    if (!mr) return;
    const page = await reviewers.get();
    const entries = entriesForProject(page.entries, mr.projectPath);
    if (entries.length === 0) return;
    const me = await bot();
    const files = entries.some(needsFiles) ? await changedFiles(mr) : [];
    const exclude = [...mr.known, me, ...(await participants(mr)), ...(await alreadyMentioned(mr))];
    const users = usersToMention(entries, files, exclude);
    if (users.length === 0) return;
    // One note per event: a retry, a redelivery or another daemon never posts it again.
    const posted = await ledger.once(
      `${mr.projectId}!${mr.iid}:note:${event.id}`,
      async () => {
        try {
          await api.MergeRequestNotes.create(mr.projectPath, mr.iid, noteText(users, mr.projectPath));
        } catch (error) {
          throw gitlabTrouble("could not post the mention note", error);
        }
      },
      { wasApplied: () => notesMention(mr, me, users) },
    );
    for (const user of users) await ledger.record(`${ledgerPrefix(mr)}${user}`);
    if (posted) logger.info("mentioned reviewers on a merge request", { project: mr.projectPath, iid: mr.iid, users });
  }

  const sink: Sink = {
    name: SINK,
    accepts: (event) => mergeRequestToMention(event) !== null,
    // Mentions concern one merge request: a failing one must not hold back the project's others.
    orderingKey: mergeRequestOrderingKey,
    handle,
    async start() {
      await Promise.all([
        checkExpiry(),
        bot().catch((error: unknown) => logger.warn(`${SINK}: ${errorMessage(error)}; will retry on the first merge request`)),
        reviewers.get().catch((error: unknown) => logger.warn(`${SINK}: ${errorMessage(error)}; will retry on the first merge request`)),
      ]);
      expiryTimer = setInterval(() => void checkExpiry(), DAY_MS);
      expiryTimer.unref();
      signal.addEventListener("abort", () => clearInterval(expiryTimer), { once: true });
    },
    async stop() {
      clearInterval(expiryTimer);
    },
    health: () => ({
      ...(expiry && { problem: tokenExpiryProblem(expiry.expiresAt) ?? undefined }),
      tokenExpiresAt: expiry?.expiresAt ?? null,
      tokenCheckedAt: expiry?.checkedAt ?? null,
      bot: botUsername,
      reviewersPage: reviewers.describe,
    }),
  };
  return sink;
};
