import { Gauge, type Registry } from "prom-client";
import type { Logger } from "winston";
import { describeGitLabError, gitlabStatus, type GitLabApi } from "./api-client.js";
import { hookDeliveries, hookHealth, listHooks, type HookState, type HookTarget } from "./hook-registrations.js";
import { HooksWatchError } from "./hooks-watch-error.js";

/** What the daemon knows of one watched hook. */
interface WatchedHook {
  target: string;
  kind: HookTarget["kind"];
  id: number;
  url: string;
  state: HookState;
  /** What is wrong and what to do, when it is not ok. */
  reason: string | null;
  alertStatus: string | null;
  disabledUntil: string | null;
  /** Status codes of its last deliveries, newest first. */
  lastStatuses: string[];
  checkedAt: string;
}

interface HooksWatchState {
  watching: string[];
  checkedAt: string | null;
  hooks: WatchedHook[];
  /** Entries that could not be checked (GitLab away, token refused, no such project). */
  problems: { entry: string; error: string }[];
}

/** A HOOKS_WATCH entry: `group/project` or `group`, optionally `#hook id`. */
function parseEntry(entry: string): { path: string; hookId: number | null } {
  const [path, hook] = entry.split("#");
  return { path: (path ?? "").trim(), hookId: hook !== undefined && /^\d+$/.test(hook.trim()) ? Number(hook.trim()) : null };
}

/** Whether a path names a project or a group: projects and groups share one namespace of paths. */
async function targetOf(api: GitLabApi, path: string): Promise<HookTarget> {
  try {
    await api.Projects.show(path);
    return { kind: "project", ref: path };
  } catch (error) {
    if (gitlabStatus(error) !== 404) throw error;
  }
  try {
    await api.Groups.show(path);
    return { kind: "group", ref: path };
  } catch (error) {
    if (gitlabStatus(error) !== 404) throw error;
    throw new HooksWatchError(`HOOKS_WATCH: ${path} is neither a project nor a group that GITLAB_TOKEN can see`, { cause: error });
  }
}

/**
 * HOOKS_WATCH: asks GitLab at start and every few minutes whether the hooks of the listed projects
 * and groups are still called. GitLab disables a hook after 4 failures in a row and tells nobody;
 * this logs an error naming how to re-enable it, and shows it on /healthz, /api/hooks, the
 * dashboard and as metrics.
 */
export class HooksWatch {
  private readonly targets = new Map<string, HookTarget>();
  private current: HooksWatchState;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly enabled: Gauge<"target" | "hook">;
  private readonly lastOk: Gauge<"target" | "hook">;

  constructor(
    private readonly api: GitLabApi,
    private readonly entries: readonly string[],
    private readonly intervalMs: number,
    private readonly logger: Logger,
    metrics: Registry,
  ) {
    this.current = { watching: [...entries], checkedAt: null, hooks: [], problems: [] };
    this.enabled = new Gauge({
      name: "gitlab_webhooks_hook_enabled",
      help: "1 while GitLab calls a watched hook (alert_status executable), 0 once it disabled it",
      labelNames: ["target", "hook"],
      registers: [metrics],
    });
    this.lastOk = new Gauge({
      name: "gitlab_webhooks_hook_last_delivery_ok",
      help: "1 when a watched hook's last logged delivery got a 2xx answer, else 0",
      labelNames: ["target", "hook"],
      registers: [metrics],
    });
  }

  start(): void {
    if (this.entries.length === 0) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get state(): HooksWatchState {
    return this.current;
  }

  /** Checks every entry once; a check already running is awaited rather than doubled. */
  check(): Promise<void> {
    this.running ??= this.checkAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkAll(): Promise<void> {
    const hooks: WatchedHook[] = [];
    const problems: HooksWatchState["problems"] = [];
    for (const entry of this.entries) {
      try {
        hooks.push(...(await this.checkEntry(entry)));
      } catch (error) {
        const why = error instanceof HooksWatchError ? error.message : describeGitLabError(error, { restart: true });
        problems.push({ entry, error: why });
        if (!this.current.problems.some((problem) => problem.entry === entry && problem.error === why)) {
          this.logger.error(`could not check the hooks of ${entry}: ${why}`);
        }
      }
    }
    for (const hook of hooks) this.report(hook);
    this.current = { watching: [...this.entries], checkedAt: new Date().toISOString(), hooks, problems };
  }

  private async checkEntry(entry: string): Promise<WatchedHook[]> {
    const { path, hookId } = parseEntry(entry);
    let target = this.targets.get(path);
    if (!target) {
      target = await targetOf(this.api, path);
      this.targets.set(path, target);
    }
    const checked: WatchedHook[] = [];
    for (const hook of (await listHooks(this.api, target)).filter((found) => hookId === null || found.id === hookId)) {
      const last = target.kind === "system" ? [] : await hookDeliveries(this.api, target, hook.id, { pages: 1, perPage: 5 });
      const health = hookHealth(target, hook, last);
      checked.push({
        target: path,
        kind: target.kind,
        id: hook.id,
        url: hook.url,
        state: health.state,
        reason: health.reason,
        alertStatus: hook.alertStatus,
        disabledUntil: hook.disabledUntil,
        lastStatuses: last.map((delivery) => delivery.responseStatus),
        checkedAt: new Date().toISOString(),
      });
    }
    if (hookId !== null && checked.length === 0) throw new HooksWatchError(`HOOKS_WATCH: ${path} has no hook ${hookId}`);
    return checked;
  }

  /** Logs a hook's state when it changes (an error for disabled or failing), and sets its gauges. */
  private report(hook: WatchedHook): void {
    const labels = { target: hook.target, hook: String(hook.id) };
    this.enabled.set(labels, hook.alertStatus === null || hook.alertStatus === "executable" ? 1 : 0);
    if (hook.lastStatuses.length > 0) this.lastOk.set(labels, /^2\d\d$/.test(hook.lastStatuses[0] as string) ? 1 : 0);
    const before = this.current.hooks.find((old) => old.target === hook.target && old.id === hook.id);
    if (before?.state === hook.state && before.reason === hook.reason) return;
    if (hook.state !== "ok") this.logger.error(hook.reason ?? `${hook.kind} hook ${hook.id} of ${hook.target} is ${hook.state}`);
    else if (before) this.logger.info(`${hook.kind} hook ${hook.id} of ${hook.target} (${hook.url}) is called again`);
  }
}
