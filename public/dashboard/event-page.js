// One event's page (`#/event/<id>`): the normalized event, every attempt of every sink with
// redelivery, the request headers as stored, and the payload as a tree that opens level by level.
import { api } from "./api.js";
import { $, badge, confirmAction, duration, el, link, notice, statusBadge, time } from "./dom.js";
import { view } from "./state.js";

function jsonNode(key, value) {
  const label = key === null ? "" : `${key}: `;
  if (value === null || typeof value !== "object") {
    return el(
      "div",
      { className: "leaf" },
      label,
      el("span", { className: `json-${value === null ? "null" : typeof value}` }, JSON.stringify(value)),
    );
  }
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
  const size = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  const details = el("details", {}, el("summary", {}, label, el("span", { className: "hint" }, size)));
  // Children are made when first opened: a 25 MB payload must not freeze the tab.
  let filled = false;
  details.addEventListener("toggle", () => {
    if (!details.open || filled) return;
    filled = true;
    details.append(...entries.map(([childKey, child]) => jsonNode(childKey, child)));
  });
  return details;
}

function fact(term, ...value) {
  return [el("dt", {}, term), el("dd", {}, ...value)];
}

function renderEventFacts(event) {
  const object = event.object;
  const project = event.project;
  $("#event-title").textContent =
    `#${event.id} ${[event.type, event.action].filter(Boolean).join(" · ")}${object?.title ? ` — ${object.title}` : ""}`;
  $("#event-facts").replaceChildren(
    ...fact("received", time(event.receivedAt)),
    ...fact("hook", event.hook),
    ...fact(
      "project",
      project ? link(project.url, project.path ?? String(project.id)) : "—",
      project?.visibility ? ` (${project.visibility})` : "",
    ),
    ...fact("by", event.actor ? `${event.actor.username ? `@${event.actor.username}` : ""} ${event.actor.name ?? ""}`.trim() : "—"),
    ...(object
      ? fact(
          object.kind,
          object.iid !== null ? `!${object.iid} ` : object.id !== null ? `${object.id} ` : "",
          link(object.url, object.title ?? object.url ?? ""),
          object.ref ? ` · ${object.ref}` : "",
          object.state ? ` · ${object.state}` : "",
        )
      : []),
    ...fact("delivery id", el("code", {}, event.deliveryId)),
    ...(event.instance ? fact("instance", event.instance) : []),
  );
}

function attemptRow(attempt) {
  return el(
    "tr",
    {},
    el("td", {}, time(attempt.startedAt)),
    el("td", {}, duration(attempt.durationMs)),
    el(
      "td",
      {},
      badge(attempt.outcome, attempt.outcome === "delivered" ? "delivered" : attempt.outcome === "retry" ? "pending" : "failed"),
    ),
    el("td", {}, statusBadge(attempt.errorStatus), " ", el("span", { className: "error-text" }, attempt.error ?? "")),
  );
}

async function redeliver(id, sinks) {
  const to = sinks ? sinks.join(", ") : "every sink that takes it";
  const confirmed = await confirmAction(
    `Deliver event #${id} again to ${to}? Sinks with a ledger (phabricator, gitlab-mentions) skip what they already posted; others (the log, the feed) repeat it.`,
    "Redeliver",
  );
  if (!confirmed) return;
  try {
    const result = await api(`/api/events/${id}/redeliver`, { method: "POST", body: JSON.stringify(sinks ? { sinks } : {}) });
    notice(`Event #${id} queued again for ${result.sinks.join(", ") || "no sink"}.`);
    // The page shows the delivery queued again, then its new attempt.
    loadEvent(id, { full: false });
  } catch (error) {
    notice(`Redeliver failed: ${error.message}`);
  }
}

function renderDeliveries(event) {
  const blocks = event.deliveries.map((delivery) => {
    const attempts = event.attempts.filter((attempt) => attempt.sink === delivery.sink);
    const button = el("button", { type: "button" }, `Redeliver to ${delivery.sink}`);
    button.addEventListener("click", () => redeliver(event.id, [delivery.sink]));
    const block = el(
      "article",
      { className: "delivery" },
      el(
        "h4",
        {},
        delivery.sink,
        " ",
        badge(delivery.status, delivery.status),
        ` ${delivery.attempts} attempt${delivery.attempts === 1 ? "" : "s"}`,
      ),
      delivery.status === "pending" && delivery.nextAttemptAt ? el("p", {}, "next attempt ", time(delivery.nextAttemptAt)) : null,
      attempts.length
        ? el(
            "div",
            { className: "scroll" },
            el(
              "table",
              { className: "attempts" },
              el(
                "thead",
                {},
                el("tr", {}, el("th", {}, "started (UTC)"), el("th", {}, "took"), el("th", {}, "outcome"), el("th", {}, "error")),
              ),
              el("tbody", {}, ...attempts.map(attemptRow)),
            ),
          )
        : el("p", { className: "hint" }, "not attempted yet"),
      button,
    );
    block.dataset.sink = delivery.sink;
    return block;
  });
  $("#event-deliveries").replaceChildren(...(blocks.length ? blocks : [el("p", { className: "hint" }, "No sink takes this event.")]));
}

export async function loadEvent(id, { full }) {
  let event;
  try {
    event = await api(`/api/events/${id}`);
  } catch (error) {
    if (full) {
      $("#event-title").textContent = `Event #${id}`;
      $("#event-facts").replaceChildren();
      notice(error.message);
    }
    return;
  }
  if (view.openEventId !== id) return;
  renderEventFacts(event);
  renderDeliveries(event);
  if (!full) return;
  $("#event-headers tbody").replaceChildren(
    ...Object.entries(event.requestHeaders ?? {}).map(([name, value]) =>
      el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, value)),
    ),
  );
  const root = jsonNode(null, event.payload);
  if (root.tagName === "DETAILS") root.open = true;
  $("#event-payload").replaceChildren(root);
}

$("#redeliver-all").addEventListener("click", () => redeliver(view.openEventId, null));
