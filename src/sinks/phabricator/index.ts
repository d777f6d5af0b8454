import { requireSettings } from "../../config/settings.js";
import type { GitLabEvent } from "../../core/event.js";
import { createGitLabApi, gitlabFailure } from "../../gitlab/api-client.js";
import { mergeRequestOrderingKey } from "../../gitlab/payload.js";
import type { Sink, SinkFactory } from "../../core/sink.js";
import { commentText } from "./comment.js";
import { ConduitClient, ConduitError, ConduitTransportError } from "./conduit-client.js";
import type { ConduitValue } from "./encode-params.js";
import { ACTIONS, mergeRequestFacts, type MergeRequestFacts } from "./merge-request.js";
import { taskReferences } from "./task-references.js";
import type { DaemonConfig } from "../../config/daemon-settings.js";
import type { PhabricatorSettings } from "./settings.js";
import { errorMessage } from "../../support/error-message.js";

/** What this sink reads of the configuration. */
type Settings = DaemonConfig & PhabricatorSettings;

interface TransactionSearch {
  data: { type: string | null; comments?: { content?: { raw?: string } }[] }[];
}

/**
 * `phabricator`: comments on every task named by a `Bug: T123` line of a merge request, as
 * Gerrit's integration did. A ledger of (MR, task, action[, head]) makes every comment happen once.
 */
export const createPhabricatorSink: SinkFactory<Settings> = ({ config, ledger, logger }) => {
  const { PHABRICATOR_URL: url, PHABRICATOR_TOKEN: token } = requireSettings(
    config,
    ["PHABRICATOR_URL", "PHABRICATOR_TOKEN"],
    "phabricator",
  );
  const conduit = new ConduitClient({ url, token, timeoutMs: config.PHABRICATOR_TIMEOUT_MS });
  const gitlab = config.GITLAB_TOKEN ? createGitLabApi(config.GITLAB_URL, config.GITLAB_TOKEN, config.GITLAB_TIMEOUT_MS) : null;
  let postingAs: string | null = null;
  let patchForReviewPhid: string | null = null;

  const mrKey = (mr: MergeRequestFacts) => `${mr.projectId}!${mr.iid}:`;

  /** Commit messages of the MR: every commit through the API when GITLAB_TOKEN is set, else the payload's last one. */
  async function commitMessages(mr: MergeRequestFacts): Promise<string[]> {
    const messages = mr.lastCommit ? [mr.lastCommit.message] : [];
    if (!gitlab) return messages;
    try {
      const commits = await gitlab.MergeRequests.allCommits(mr.projectPath, mr.iid);
      return [...messages, ...commits.map((commit) => String(commit.message ?? ""))];
    } catch (error) {
      const failure = gitlabFailure("could not list the merge request's commits", error);
      if (failure.status === 401) logger.error(failure.message, { sink: "phabricator" });
      throw failure;
    }
  }

  /** Tasks this delivery should comment on. */
  async function tasksFor(mr: MergeRequestFacts): Promise<string[]> {
    const now = taskReferences([mr.description, ...(await commitMessages(mr))]);
    if (mr.action !== "update") return now;
    // An update comments only on tasks that are new: not already commented on for this MR, and
    // not named by the description as it was before this update.
    const known = new Set((await ledger.keysWithPrefix(mrKey(mr))).map((key) => key.split(":")[1]));
    for (const task of taskReferences([mr.previousDescription ?? mr.description])) known.add(task);
    return now.filter((task) => !known.has(task));
  }

  async function resolvePatchForReview(): Promise<string | null> {
    const wanted = config.PHABRICATOR_PATCH_FOR_REVIEW;
    if (!wanted) return null;
    if (wanted.startsWith("PHID-")) return wanted;
    if (patchForReviewPhid) return patchForReviewPhid;
    const slug = wanted.toLowerCase().replace(/\s+/g, "_");
    const found = await conduit.call<{ data: { phid: string }[] }>("project.search", { constraints: { slugs: [slug] } });
    patchForReviewPhid = found.data[0]?.phid ?? null;
    if (!patchForReviewPhid) logger.warn(`PHABRICATOR_PATCH_FOR_REVIEW names no project (${wanted}); tasks are commented but not tagged`);
    return patchForReviewPhid;
  }

  /** After an answer that never came, whether our comment is on the task anyway. */
  async function alreadyCommented(task: string, firstLine: string): Promise<boolean> {
    const found = await conduit.call<TransactionSearch>("transaction.search", { objectIdentifier: task, limit: 100 });
    return found.data.some((xaction) => xaction.comments?.some((comment) => comment.content?.raw?.startsWith(firstLine)));
  }

  /** Comments once per key: an unanswered post is looked for on the task before it is made again. */
  async function comment(task: string, key: string, text: string, mr: MergeRequestFacts): Promise<void> {
    const transactions: ConduitValue[] = [{ type: "comment", value: text }];
    const project = mr.action === "open" ? await resolvePatchForReview() : null;
    if (project) transactions.push({ type: "projects.add", value: [project] });
    if (config.PHABRICATOR_DRY_RUN) {
      logger.info("dry run: would comment on a Phabricator task", { task, text, addProject: project });
      return;
    }
    const firstLine = text.split("\n")[0] as string;
    const commented = await ledger.once(
      key,
      () => conduit.call("maniphest.edit", { objectIdentifier: task, transactions }).then(() => undefined),
      {
        wasApplied: () => alreadyCommented(task, firstLine),
        // Conduit's own error answer refused the edit; a transport failure may or may not have reached it.
        mayHaveApplied: (error) => (error instanceof ConduitTransportError ? error.mayHaveApplied : !(error instanceof ConduitError)),
      },
    );
    if (commented) logger.info("commented on a Phabricator task", { task, mergeRequest: mr.url, action: mr.action });
  }

  async function handle(event: GitLabEvent): Promise<void> {
    const mr = mergeRequestFacts(event);
    if (!mr) return;
    if (mr.action === "update" && mr.oldrev === null && mr.previousDescription === null) return;
    const tasks = await tasksFor(mr);
    const head = mr.action === "update" ? `:${mr.lastCommit?.id ?? mr.oldrev ?? ""}` : "";
    const text = commentText({
      actor: event.actor?.username ?? null,
      action: mr.action,
      url: mr.url,
      projectPath: mr.projectPath,
      targetBranch: mr.targetBranch,
      title: mr.title,
    });
    const failures: Error[] = [];
    const failedTasks: string[] = [];
    for (const task of tasks) {
      const key = `${mrKey(mr)}${task}:${mr.action}${head}`;
      if (await ledger.has(key)) continue;
      try {
        await comment(task, key, text, mr);
      } catch (error) {
        if (error instanceof ConduitError && error.isNoSuchObject) {
          logger.warn("a Bug: line names a task that does not exist; skipped", { task, mergeRequest: mr.url });
          continue;
        }
        if (error instanceof ConduitError && error.isInvalidAuth) {
          logger.error("Phabricator refused PHABRICATOR_TOKEN (ERR-INVALID-AUTH); put a valid api- token in place and restart", { task });
        }
        failures.push(error as Error);
        failedTasks.push(task);
      }
    }
    // Retry the whole event: the ledger skips the tasks already commented on.
    // Several failures travel together, so that each one's status and Retry-After is kept.
    if (failures.length > 0) {
      throw new AggregateError(
        failures,
        `could not comment on ${failures.map((failure, i) => `${failedTasks[i]}: ${failure.message}`).join("; ")}`,
      );
    }
  }

  const sink: Sink = {
    name: "phabricator",
    accepts: (event) =>
      event.type === "merge_request" &&
      ACTIONS.includes(event.action as (typeof ACTIONS)[number]) &&
      // Titles of private and internal projects' MRs must not land on public tasks.
      (config.PHABRICATOR_PRIVATE || event.project?.visibility === "public"),
    // Comments concern one merge request: a task the bot may not edit must not hold back the project's other MRs.
    orderingKey: mergeRequestOrderingKey,
    handle,
    async start() {
      try {
        const me = await conduit.whoami();
        postingAs = me.userName;
        logger.info(
          `phabricator sink: comments will be posted as ${me.userName}${config.PHABRICATOR_DRY_RUN ? " (dry run: nothing is posted)" : ""}`,
        );
      } catch (error) {
        if (error instanceof ConduitError && error.isInvalidAuth) {
          logger.error(
            "phabricator sink: Phabricator refused PHABRICATOR_TOKEN (ERR-INVALID-AUTH); deliveries will retry until it is fixed",
          );
        } else {
          logger.warn(`phabricator sink: could not reach Phabricator at start-up (${errorMessage(error)}); deliveries will retry`);
        }
      }
    },
    health: () => ({ postingAs, dryRun: config.PHABRICATOR_DRY_RUN }),
  };
  return sink;
};
