// The health panel: the daemon's version, uptime and store, each sink's state and queue, the
// watched GitLab hooks. It also learns which sinks have a queue, for the filters and the traffic panel.
import { api } from "./api.js";
import { $, badge, confirmAction, el, notice, statusBadge, time } from "./dom.js";
import { view } from "./state.js";

const FACT_LABELS = {
  postingAs: "posts as",
  bot: "posts as",
  tokenExpiresAt: "token expires",
  subscribers: "feed subscribers",
  path: "file",
  dryRun: "dry run",
  reviewersPage: "reviewers page",
};
const CONDITION_KEYS = new Set([
  "name",
  "state",
  "reason",
  "since",
  "lastError",
  "lastDeliveredAt",
  "pending",
  "failed",
  "inFlight",
  "tokenCheckedAt",
]);

/**
 * The feed (the sse sink) has no delivery queue: it follows the bus and replays from the store, so
 * it has nothing to filter events by nor to draw. It is the sink that reports feed subscribers.
 */
function hasQueue(sink) {
  return typeof sink.subscribers !== "number";
}

function sinkFacts(sink) {
  const facts = el("ul", { className: "facts" });
  for (const [key, value] of Object.entries(sink)) {
    if (CONDITION_KEYS.has(key) || value === null || value === undefined || typeof value === "object") continue;
    const shown = key === "tokenExpiresAt" && value === 0 ? "never" : String(value);
    facts.append(el("li", {}, `${FACT_LABELS[key] ?? key}: `, el("strong", {}, shown)));
  }
  if (sink.lastDeliveredAt) facts.append(el("li", {}, "last delivered: ", time(sink.lastDeliveredAt)));
  return facts;
}

function sinkWhy(sink) {
  const why = el("div", {});
  if (sink.reason) why.append(el("p", {}, sink.reason, sink.since ? " — since " : "", sink.since ? time(sink.since) : null));
  if (sink.lastError) {
    why.append(
      el(
        "p",
        { className: "error-text" },
        statusBadge(sink.lastError.status),
        " ",
        sink.lastError.message,
        " (",
        time(sink.lastError.at),
        ")",
      ),
    );
  }
  return why;
}

function sinkRow(sink) {
  const retry = el("td", {});
  if (sink.failed > 0) {
    const button = el("button", { type: "button" }, "Retry failed");
    button.addEventListener("click", async () => {
      if (!(await confirmAction(`Queue the ${sink.failed} failed deliveries of ${sink.name} again?`, "Retry"))) return;
      const { retried } = await api("/api/deliveries/retry", { method: "POST", body: JSON.stringify({ sink: sink.name }) });
      notice(`${retried} failed deliveries of ${sink.name} queued again.`);
      loadHealth().catch(() => {});
    });
    retry.append(button);
  }
  const queue = hasQueue(sink)
    ? `pending ${sink.pending} · in flight ${sink.inFlight} · failed ${sink.failed}`
    : "no queue: live from the bus, replays from the store";
  const tr = el(
    "tr",
    {},
    el("th", { scope: "row" }, sink.name),
    el("td", {}, badge(sink.state, sink.state)),
    el("td", {}, sinkWhy(sink)),
    el("td", {}, queue),
    el("td", {}, sinkFacts(sink)),
    retry,
  );
  tr.dataset.sink = sink.name;
  return tr;
}

function hookItem(hook) {
  return el(
    "li",
    {},
    badge(hook.state, hook.state === "ok" ? "ok" : "failing"),
    ` ${hook.kind} hook ${hook.id} of ${hook.target} → `,
    el("code", {}, hook.url),
    hook.lastStatuses.length ? ` · last answers ${hook.lastStatuses.join(", ")}` : "",
    hook.reason ? el("p", { className: "error-text" }, hook.reason) : null,
  );
}

function uptime(seconds) {
  const units = [
    ["d", 86400],
    ["h", 3600],
    ["min", 60],
  ];
  const parts = [];
  let left = seconds;
  for (const [unit, size] of units) {
    if (left >= size) {
      parts.push(`${Math.floor(left / size)} ${unit}`);
      left %= size;
    }
  }
  return parts.length ? parts.slice(0, 2).join(" ") : `${seconds} s`;
}

export async function loadHealth() {
  const status = await api("/api/status");
  const subscribers = status.sinks.find((sink) => typeof sink.subscribers === "number")?.subscribers;
  $("#daemon-facts").replaceChildren(
    `version ${status.version} · up ${uptime(status.uptimeSeconds)} (since `,
    time(status.startedAt),
    `) · store ${status.store.engine} `,
    el("code", {}, status.store.location),
    subscribers === undefined ? "" : ` · ${subscribers} feed subscriber${subscribers === 1 ? "" : "s"}`,
  );
  $("#sinks tbody").replaceChildren(...status.sinks.map(sinkRow));
  const hooks = status.hooks;
  $("#hooks-watched").hidden = !hooks || hooks.watching.length === 0;
  if (hooks) {
    $("#hooks-list").replaceChildren(
      ...hooks.hooks.map(hookItem),
      ...hooks.problems.map((problem) =>
        el("li", {}, badge("unchecked", "pending"), ` ${problem.entry}: `, el("span", { className: "error-text" }, problem.error)),
      ),
    );
  }
  const select = $("#filters [name=sink]");
  const chosen = select.value;
  view.queuedSinks = status.sinks.filter(hasQueue).map((sink) => sink.name);
  select.replaceChildren(el("option", { value: "" }, "any"), ...view.queuedSinks.map((name) => el("option", { value: name }, name)));
  select.value = chosen;
}
