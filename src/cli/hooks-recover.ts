import ms from "ms";
import type { GitLabApi } from "../gitlab/api-client.js";
import {
  describeTarget,
  hookDeliveries,
  listHooks,
  wasAccepted,
  type HookDelivery,
  type HookTarget,
} from "../gitlab/hook-registrations.js";
import { UsageError } from "./args.js";
import { daemonTarget, postToDaemon } from "./post-to-daemon.js";
import { readHeader } from "../sources/gitlab/read-header.js";

interface RecoverOptions {
  /** GitLab's URL (GITLAB_URL), as the daemon knows its instance. */
  instance: string;
  hook?: string;
  since?: string;
  /** Every logged delivery, not only the failed ones. */
  all: boolean;
  dryRun: boolean;
  /** The daemon's /hooks. */
  to?: string;
}

/** Headers of the logged request that are not sent again: the credential (redacted in the log anyway), and what fetch or postToDaemon sets. */
const NOT_RESENT = new Set([
  "x-gitlab-token",
  "content-length",
  "host",
  "connection",
  "transfer-encoding",
  "idempotency-key",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
]);

/** `2026-11-20T08:00Z`, or a duration ago: `90m`, `6h`, `2d`. */
function parseSince(value: string, now = Date.now()): number {
  const ago = /^\d+(\.\d+)?\s*[a-z]+$/i.test(value.trim()) ? ms(value.trim() as ms.StringValue) : undefined;
  if (typeof ago === "number" && Number.isFinite(ago)) return now - ago;
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new UsageError(`--since: "${value}" is neither a time (2026-11-20T08:00Z) nor a duration (6h, 2d)`);
  return at;
}

/** A header of a logged request, trimmed; empty counts as absent. */
function header(headers: Record<string, string>, name: string): string | undefined {
  const value = readHeader(headers, name)?.trim();
  return value ? value : undefined;
}

/**
 * The delivery id the daemon stored the original under (see getDeliveryId): the signed webhook-id
 * for a signed request, else Idempotency-Key, webhook-id, X-Gitlab-Event-UUID; for a request with
 * none of them, one made from the log entry, so that a second run is still a no-op.
 */
function originalDeliveryId(delivery: HookDelivery, instance: string): string {
  // GitLab's hook log keeps header names as they were sent: read them in any case.
  const headers = Object.fromEntries(Object.entries(delivery.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const signed = header(headers, "webhook-signature") !== undefined ? header(headers, "webhook-id") : undefined;
  return (
    signed ??
    header(headers, "idempotency-key") ??
    header(headers, "webhook-id") ??
    header(headers, "x-gitlab-event-uuid") ??
    `gitlab-hook-log:${new URL(instance).host}:${delivery.hookId}:${delivery.id}`
  );
}

async function chooseHook(api: GitLabApi, target: HookTarget, wanted: string | undefined): Promise<number> {
  const hooks = await listHooks(api, target);
  if (wanted !== undefined) {
    if (!/^\d+$/.test(wanted)) throw new UsageError("--hook takes a hook id (see hooks list)");
    if (!hooks.some((hook) => hook.id === Number(wanted)))
      throw new UsageError(`${describeTarget(target)} ${wanted} does not exist (see hooks list)`);
    return Number(wanted);
  }
  if (hooks.length === 1) return (hooks[0] as { id: number }).id;
  if (hooks.length === 0) throw new UsageError(`there is no ${describeTarget(target)}`);
  throw new UsageError(`name the hook with --hook: ${hooks.map((hook) => `${hook.id} (${hook.url})`).join(", ")}`);
}

/**
 * `hooks recover`: every request the hook's log holds that the daemon did not take (or every one,
 * with --all), posted to the daemon again in the order GitLab made them. Returns 1 when the daemon
 * refused one or could not be reached.
 */
export async function recoverHooks(
  api: GitLabApi,
  target: Exclude<HookTarget, { kind: "system" }>,
  options: RecoverOptions,
  out: (line: string) => void,
): Promise<number> {
  const since = options.since === undefined ? null : parseSince(options.since);
  const hookId = await chooseHook(api, target, options.hook);
  const daemon = options.dryRun ? null : daemonTarget({ url: options.to });

  const logged = (await hookDeliveries(api, target, hookId)).sort((a, b) => a.id - b.id);
  const inWindow = logged.filter((delivery) => since === null || delivery.at === null || Date.parse(delivery.at) >= since);
  // One request per delivery id: GitLab logs each attempt (and each manual resend) separately.
  const byId = new Map<string, HookDelivery[]>();
  for (const delivery of inWindow) {
    const id = originalDeliveryId(delivery, options.instance);
    byId.set(id, [...(byId.get(id) ?? []), delivery]);
  }
  const failed = [...byId.values()].filter((attempts) => !attempts.some(wasAccepted)).length;
  out(
    `${describeTarget(target)} ${hookId}: ${inWindow.length} logged requests${since === null ? "" : ` since ${new Date(since).toISOString()}`}, ${byId.size} deliveries, ${failed} never accepted`,
  );

  const counts = { stored: 0, held: 0, refused: 0, skipped: 0 };
  for (const [deliveryId, attempts] of byId) {
    const latest = attempts.at(-1) as HookDelivery;
    const what = `#${latest.id} ${latest.trigger ?? "?"} ${latest.at ?? ""} (GitLab got "${latest.responseStatus}")`.replace("  ", " ");
    if (!options.all && attempts.some(wasAccepted)) {
      counts.skipped++;
      continue;
    }
    if (!daemon) {
      out(`would send ${what} as ${deliveryId}`);
      continue;
    }
    const headers = Object.fromEntries(Object.entries(latest.headers).filter(([name]) => !NOT_RESENT.has(name.toLowerCase())));
    const answer = await postToDaemon(daemon, latest.body, headers, deliveryId);
    if (answer.status === 202) {
      counts.stored++;
      out(`stored ${what} as event ${answer.body?.id ?? "?"}`);
    } else if (answer.status === 200 && answer.body?.duplicate) {
      counts.held++;
      out(`already held ${what}: event ${answer.body.id ?? "?"}`);
    } else {
      counts.refused++;
      out(`refused ${what}: ${answer.status} ${answer.body?.error ?? answer.text}`);
    }
  }
  if (!daemon) {
    out(
      `dry run: nothing sent${counts.skipped > 0 ? `; ${counts.skipped} accepted by the daemon at the time left out (--all sends them too)` : ""}`,
    );
    return 0;
  }
  out(
    `stored ${counts.stored}, already held ${counts.held}, refused ${counts.refused}${counts.skipped > 0 ? `, ${counts.skipped} accepted at the time and not sent (--all sends them too)` : ""}`,
  );
  return counts.refused > 0 ? 1 : 0;
}
