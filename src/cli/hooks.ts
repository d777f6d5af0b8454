import { loadDotEnv, loadSettings } from "../configuration.js";
import { didYouMean } from "../support/lookalike-variables.js";
import { createGitLabApi, describeGitLabError, gitlabStatus, type GitLabApi } from "../gitlab/api-client.js";
import { generateToken } from "../support/secrets.js";
import { HOOK_SCOPES, hookScope, type HookScope } from "../gitlab/event-catalogue.js";
import { describeTarget, listHooks, refOf, type HookTarget } from "../gitlab/hook-registrations.js";
import { parseCommandArgs, UsageError } from "./args.js";
import { recoverHooks } from "./hooks-recover.js";
import { showHooks } from "./hooks-status.js";

/** What every hooks subcommand reads, and what a first-time user gets wrong about it. */
const GITLAB_ENVIRONMENT = `Environment (or .env in the working directory):
  GITLAB_TOKEN        a GitLab access token with the api scope (personal, project or group
                      access token; Settings → Access tokens): Maintainer of the project, Owner of
                      the group, an administrator for system hooks
  GITLAB_URL          your GitLab, e.g. https://gitlab.example.org (default https://gitlab.com:
                      on a self-hosted GitLab set it, or the hooks are looked for on gitlab.com)`;

const TARGETS = `Targets (one):
  --project PATH|ID   a project's hooks (needs Maintainer)
  --group PATH|ID     a group's hooks (needs Owner)
  --system            the instance's system hooks (needs an administrator)`;

const EXIT = `Exit status: 0 on success, 1 when GitLab or the daemon refused, 2 for a usage mistake.`;

/** Each subcommand's own page: its options, what it reads, one example. */
const SUBCOMMAND_HELP = {
  add: `Usage: gitlab-webhooks hooks add TARGET --url URL [--events E,…] [--token T]

Registers a webhook of the target that posts to the daemon.

${TARGETS}

Options:
  --url URL           the daemon's ingest URL, e.g. https://hooks.example.org/hooks
  --events E,…        push, tag_push, merge_requests, issues, confidential_issues, notes,
                      confidential_notes, pipeline, job, wiki_page, deployment, releases,
                      repository_update (system); default: push,tag_push,merge_requests,issues,notes,pipeline
                      (system: push,tag_push,merge_requests,repository_update)
  --token T           the secret token; when omitted a strong one is generated and printed once,
                      with the PROJECT_TOKENS (or SOURCE_TOKEN) line to give the daemon

${GITLAB_ENVIRONMENT}

Example:
  GITLAB_URL=https://gitlab.example.org gitlab-webhooks hooks add --project repos/releng/scap --url https://hooks.example.org/hooks --events push,merge_requests

${EXIT}
`,
  list: `Usage: gitlab-webhooks hooks list TARGET

Lists the target's webhooks: id, URL and events.

${TARGETS}

${GITLAB_ENVIRONMENT}

Example:
  gitlab-webhooks hooks list --group repos

${EXIT}
`,
  remove: `Usage: gitlab-webhooks hooks remove TARGET --id N | --url URL

Removes a webhook of the target.

${TARGETS}

Options:
  --id N              the hook's id (see hooks list), or
  --url URL           every hook of the target with this URL

${GITLAB_ENVIRONMENT}

Example:
  gitlab-webhooks hooks remove --system --url https://hooks.example.org/hooks

${EXIT}
`,
  status: `Usage: gitlab-webhooks hooks status TARGET

Shows each hook's URL, events, whether GitLab disabled it (alert_status, disabled_until), and
the status codes of its last deliveries (project and group hooks), with how to re-enable it.

${TARGETS}

${GITLAB_ENVIRONMENT}

Example:
  gitlab-webhooks hooks status --project repos/releng/scap

Exit status: 0 when every hook is enabled, 1 when one is disabled or GitLab refused, 2 for a
usage mistake.
`,
  recover: `Usage: gitlab-webhooks hooks recover --project PATH|--group PATH [options]

Reads the hook's delivery log (GitLab keeps 7 days; GitLab 17.3+) and posts every request the
daemon did not take to the daemon again, with its own headers and body: its Idempotency-Key
makes a second run change nothing. GitLab redacts the secret token in its log, so the requests
are sent with the daemon's own credential. System hooks have no such log: there is nothing to
recover them from.

Options:
  --hook ID           the hook to read (needed when the target has several)
  --since TIME        only deliveries since TIME: 2026-11-20T08:00Z, or 6h, 2d ago
  --all               every logged delivery, not only the failed ones (the daemon answers
                      "duplicate" for those it holds)
  --dry-run           print what would be sent, send nothing
  --to URL            the daemon's /hooks (default http://127.0.0.1:$PORT/hooks, PORT default 8000)

${GITLAB_ENVIRONMENT}
  PORT                the daemon's port, for the default --to
  SOURCE_TOKEN        sent as X-Gitlab-Token (its first value); else the daemon's first-run
                      token from data/source-token
  SOURCE_SIGNING_TOKEN  signs the requests as Standard Webhooks instead (its first value)

Example:
  gitlab-webhooks hooks recover --project repos/releng/scap --since 2d --dry-run

${EXIT}
`,
} as const;
type Subcommand = keyof typeof SUBCOMMAND_HELP;
const SUBCOMMANDS = Object.keys(SUBCOMMAND_HELP) as Subcommand[];

const HOOKS_HELP = `Usage: gitlab-webhooks hooks add|list|remove|status|recover TARGET [options]

Registers this daemon's webhooks in GitLab, shows whether GitLab still calls them, and fetches
what GitLab could not deliver.

  add       register a webhook that posts to the daemon
  list      list the target's webhooks
  remove    remove a webhook
  status    whether GitLab still calls each hook, and its last deliveries
  recover   post again what GitLab could not deliver (GitLab 17.3+)

${TARGETS}

${GITLAB_ENVIRONMENT}

Example:
  gitlab-webhooks hooks status --group repos

Run "gitlab-webhooks hooks SUBCOMMAND --help" for a subcommand's options.
`;

/** The scopes a hook of this kind may ask for with `hooks add --events`. */
function askableScopes(target: HookTarget): HookScope[] {
  return HOOK_SCOPES.filter((entry) => entry.flag !== null && (target.kind === "system" ? entry.system : entry.projectOrGroup));
}

function eventFlags(names: readonly string[], target: HookTarget): Record<string, boolean> {
  const allowed = askableScopes(target);
  const wanted = new Set<string>();
  for (const name of names) {
    const entry = hookScope(name);
    if (!entry || !allowed.includes(entry)) {
      const named =
        entry?.name ??
        name
          .trim()
          .toLowerCase()
          .replace(/_events$/, "");
      throw new UsageError(`--events: "${named}" is not one of ${allowed.map((scope) => scope.name).join(", ")}`);
    }
    wanted.add(entry.name);
  }
  // Every flag is sent, so that GitLab's own defaults (push on) do not add events nobody asked for.
  return Object.fromEntries(allowed.map((entry) => [entry.flag as string, wanted.has(entry.name)]));
}

/** What `hooks add` asks for when it names no events. */
function defaultScopes(target: HookTarget): string[] {
  return askableScopes(target)
    .filter((entry) => target.kind === "system" || entry.byDefault)
    .map((entry) => entry.name);
}

/** What to tell the user when GitLab says no. */
function refusal(error: unknown, target: HookTarget): string {
  const status = gitlabStatus(error);
  if (status === 404) {
    return target.kind === "system"
      ? "GitLab answered 404: no such system hook"
      : `GitLab answered 404: ${target.kind} ${target.ref} (or that hook) does not exist, or GITLAB_TOKEN cannot see it`;
  }
  if (status === 403) {
    const who =
      target.kind === "system" ? "an administrator's token" : target.kind === "group" ? "Owner of the group" : "Maintainer of the project";
    return `GitLab answered 403: managing ${target.kind} hooks needs ${who}, with the api scope`;
  }
  return describeGitLabError(error);
}

async function addHook(api: GitLabApi, target: HookTarget, url: string, options: Record<string, unknown>): Promise<{ id: number }> {
  if (target.kind === "project") return (await api.ProjectHooks.add(refOf(target.ref), url, options)) as unknown as { id: number };
  if (target.kind === "group") return (await api.GroupHooks.add(refOf(target.ref), url, options)) as unknown as { id: number };
  return (await api.SystemHooks.add(url, options)) as unknown as { id: number };
}

async function removeHook(api: GitLabApi, target: HookTarget, id: number): Promise<void> {
  if (target.kind === "project") await api.ProjectHooks.remove(refOf(target.ref), id);
  else if (target.kind === "group") await api.GroupHooks.remove(refOf(target.ref), id);
  else await api.SystemHooks.remove(id);
}

export async function hooks(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      project: { type: "string" },
      group: { type: "string" },
      system: { type: "boolean", default: false },
      url: { type: "string" },
      events: { type: "string" },
      token: { type: "string" },
      id: { type: "string" },
      hook: { type: "string" },
      since: { type: "string" },
      all: { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      to: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [action, ...extra] = positionals;
  const known = SUBCOMMANDS.find((name) => name === action);
  if (values.help) {
    process.stdout.write(known ? SUBCOMMAND_HELP[known] : HOOKS_HELP);
    return 0;
  }
  if (action === undefined) throw new UsageError(`hooks needs a subcommand: ${SUBCOMMANDS.join(", ")}`, "hooks");
  if (!known)
    throw new UsageError(
      `unknown hooks subcommand "${action}"${didYouMean(action, SUBCOMMANDS)}; it is one of ${SUBCOMMANDS.join(", ")}`,
      "hooks",
    );
  const usage = (message: string) => new UsageError(message, `hooks ${known}`);
  if (extra.length > 0) throw usage(`unexpected ${extra.join(" ")}`);
  const chosen = [values.project !== undefined, values.group !== undefined, values.system === true].filter(Boolean).length;
  if (chosen !== 1) throw usage("name one target: --project, --group or --system");
  const target: HookTarget =
    values.project !== undefined
      ? { kind: "project", ref: values.project }
      : values.group !== undefined
        ? { kind: "group", ref: values.group }
        : { kind: "system" };

  loadDotEnv();
  const { GITLAB_URL: instance, GITLAB_TOKEN: token } = loadSettings(["GITLAB_URL", "GITLAB_TOKEN"]);
  if (!token) {
    throw usage(
      `GITLAB_TOKEN is not set: a GitLab access token with the api scope, in the environment or .env; it is used on ${instance}${process.env.GITLAB_URL?.trim() ? "" : " (GITLAB_URL is not set)"}`,
    );
  }
  const api = createGitLabApi(instance, token);
  const out = (line: string) => process.stdout.write(`${line}\n`);

  try {
    if (action === "status") return await showHooks(api, target, out);
    if (action === "recover") {
      if (target.kind === "system")
        throw new UsageError("system hooks have no delivery log in GitLab: there is nothing to recover them from");
      return await recoverHooks(
        api,
        target,
        { instance, hook: values.hook, since: values.since, all: values.all, dryRun: values["dry-run"], to: values.to },
        out,
      );
    }
    if (action === "list") {
      const found = await listHooks(api, target);
      if (found.length === 0) out(`no ${describeTarget(target)}s`);
      for (const hook of found) out(`${hook.id}\t${hook.url}\t${hook.events.join(",")}`);
      return 0;
    }
    if (action === "remove") {
      if (values.id === undefined && values.url === undefined) throw new UsageError("remove needs --id or --url");
      if (values.id !== undefined && !/^\d+$/.test(values.id)) throw new UsageError("--id takes a hook id (see hooks list)");
      const ids =
        values.id !== undefined
          ? [Number(values.id)]
          : (await listHooks(api, target)).filter((hook) => hook.url === values.url).map((hook) => hook.id);
      if (ids.length === 0) {
        out(`no ${describeTarget(target)} has the URL ${values.url}`);
        return 1;
      }
      for (const id of ids) {
        await removeHook(api, target, id);
        out(`removed ${describeTarget(target)} ${id}`);
      }
      return 0;
    }
    if (values.url === undefined) throw new UsageError("add needs --url (the daemon's /hooks URL)");
    try {
      const parsed = new URL(values.url);
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error("not http(s)");
    } catch {
      throw new UsageError(`--url is not an http(s) URL: ${values.url}`);
    }
    const events = values.events?.split(",").filter((e) => e.trim() !== "") ?? defaultScopes(target);
    const secret = values.token ?? generateToken();
    const hook = await addHook(api, target, values.url, { ...eventFlags(events, target), token: secret, enableSslVerification: true });
    out(`added ${describeTarget(target)} ${hook.id}: ${values.url} (${events.map((name) => hookScope(name)?.name ?? name).join(",")})`);
    if (values.token === undefined) {
      out("");
      out("Its secret token, shown this once (GitLab will not show it again):");
      out(`  ${secret}`);
      out("Give it to the daemon, then restart it:");
      if (target.kind === "system") out(`  SOURCE_TOKEN=${secret}   (append with a comma to the values already there)`);
      else {
        const glob = target.kind === "group" ? `${target.ref}/*` : target.ref;
        out(`  PROJECT_TOKENS=${glob}=${secret}   (append with a comma to the entries already there)`);
        if (/^\d+$/.test(target.ref)) out("  (PROJECT_TOKENS takes paths: use the path instead of the id)");
      }
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      error.command ??= `hooks ${known}`;
      throw error;
    }
    process.stderr.write(`gitlab-webhooks hooks: ${refusal(error, target)}\n`);
    return 1;
  }
}
