import type { GitLabApi } from "../gitlab/api-client.js";
import { describeTarget, hookDeliveries, hookHealth, listHooks, type HookDelivery, type HookTarget } from "../gitlab/hook-registrations.js";

/** How many of a hook's last deliveries `status` shows. */
const SHOWN = 10;

/** `hooks status`: each hook, whether GitLab still calls it, and how its last deliveries went. 1 when one is disabled. */
export async function showHooks(api: GitLabApi, target: HookTarget, out: (line: string) => void): Promise<number> {
  const found = await listHooks(api, target);
  if (found.length === 0) out(`no ${describeTarget(target)}s`);
  let disabled = false;
  for (const hook of found) {
    let last: HookDelivery[] = [];
    let log = "";
    if (target.kind === "system") log = "  last deliveries: GitLab keeps no log of system hooks' deliveries";
    else {
      last = await hookDeliveries(api, target, hook.id, { pages: 1, perPage: SHOWN });
      log = `  last deliveries (newest first): ${last.length === 0 ? "none in the last 7 days" : last.map((delivery) => delivery.responseStatus).join(" ")}`;
    }
    const health = hookHealth(target, hook, last);
    if (health.state === "disabled") disabled = true;
    out(`${describeTarget(target)} ${hook.id}: ${hook.url}`);
    out(`  events: ${hook.events.join(", ") || "none"}`);
    out(`  alert_status: ${hook.alertStatus ?? "(not reported)"}${hook.disabledUntil ? `, disabled_until: ${hook.disabledUntil}` : ""}`);
    out(log);
    out(`  state: ${health.state}${health.reason ? ` (${health.reason})` : ""}`);
  }
  return disabled ? 1 : 0;
}
