// The dashboard: reads the admin API with the token from session storage and follows /sse/ live.
// Every value from an event is put in the page as text (textContent, text nodes): event fields
// come from outside. Links are made only from http(s) URLs.
import { createParser } from "/assets/eventsource-parser.js";

const TOKEN_KEY = "gitlab-webhooks-admin-token";
const PAGE_SIZE = 25;
const FILTERS = ["q", "type", "action", "project", "hook", "status", "sink", "since", "until"];
const $ = (selector) => document.querySelector(selector);

const view = {
  /** `before` cursors of the pages already seen, for "Newer". */
  newer: [],
  before: null,
  offlineSince: null,
  liveAbort: null,
  openEventId: null,
  /** The address the filter form itself last wrote: its hashchange must not rewrite what was typed since. */
  formHash: null,
  /** Lists asked for so far: an answer to an older request is dropped, not shown over a newer one. */
  listRequests: 0,
  /** Sinks with a delivery queue (not the feed): the delivery filter's and the traffic panel's. */
  queuedSinks: [],
};

const token = () => sessionStorage.getItem(TOKEN_KEY);

/** An element with properties and children; strings become text nodes, never markup. */
function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}

/** A link only to an http(s) URL; anything else (javascript:, data:) stays text. */
function link(url, text) {
  if (typeof url !== "string" || !/^https?:\/\//i.test(url)) return el("span", {}, text ?? "");
  return el("a", { href: url, rel: "noreferrer noopener", target: "_blank" }, text ?? url);
}

/** UTC as text, the reader's local time on hover. */
function time(iso) {
  if (!iso) return el("span", {}, "—");
  const date = new Date(iso);
  return el("time", { dateTime: iso, title: date.toLocaleString() }, `${iso.slice(0, 19).replace("T", " ")} UTC`);
}

function badge(text, kind) {
  return el("span", { className: `badge ${kind}` }, text);
}

/** What a downstream's HTTP status means for the operator. */
function statusBadge(status) {
  if (status === null || status === undefined) return null;
  if (status === 401 || status === 403) return badge(`configuration (HTTP ${status})`, "config");
  if (status === 429) return badge("rate limited (HTTP 429)", "pending");
  if (status >= 500) return badge(`downstream error (HTTP ${status})`, "failed");
  return badge(`HTTP ${status}`, "neutral");
}

function duration(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1) return "<1 ms";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function uptime(seconds) {
  const units = [["d", 86400], ["h", 3600], ["min", 60]];
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

function notice(text) {
  $("#notice").textContent = text;
}

// ---- talking to the daemon ----

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options,
      headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json", ...(options.headers ?? {}) },
    });
  } catch (error) {
    goOffline();
    throw error;
  }
  const body = await response.json().catch(() => ({}));
  if (response.status === 401 || response.status === 403) {
    signOut(body.error ?? "the token was refused");
    throw new Error(body.error ?? "unauthorized");
  }
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

/** Asks in a modal dialog; resolves true when confirmed. */
function confirmAction(text, action) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-yes").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true }));
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
    refreshCurrent();
  } catch (error) {
    notice(`Redeliver failed: ${error.message}`);
  }
}

// ---- health panel ----

const FACT_LABELS = {
  postingAs: "posts as",
  bot: "posts as",
  tokenExpiresAt: "token expires",
  subscribers: "feed subscribers",
  path: "file",
  dryRun: "dry run",
  reviewersPage: "reviewers page",
};
const CONDITION_KEYS = new Set(["name", "state", "reason", "since", "lastError", "lastDeliveredAt", "pending", "failed", "inFlight", "tokenCheckedAt"]);

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
    why.append(el("p", { className: "error-text" }, statusBadge(sink.lastError.status), " ", sink.lastError.message, " (", time(sink.lastError.at), ")"));
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
  const queue = hasQueue(sink) ? `pending ${sink.pending} · in flight ${sink.inFlight} · failed ${sink.failed}` : "no queue: live from the bus, replays from the store";
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

async function loadHealth() {
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
      ...hooks.problems.map((problem) => el("li", {}, badge("unchecked", "pending"), ` ${problem.entry}: `, el("span", { className: "error-text" }, problem.error))),
    );
  }
  const select = $("#filters [name=sink]");
  const chosen = select.value;
  view.queuedSinks = status.sinks.filter(hasQueue).map((sink) => sink.name);
  select.replaceChildren(el("option", { value: "" }, "any"), ...view.queuedSinks.map((name) => el("option", { value: name }, name)));
  select.value = chosen;
}

// ---- traffic panel ----

const SVG = "http://www.w3.org/2000/svg";
const MINUTE_MS = 60_000;
/** Minutes per bar: 96 bars a day, each still a few pixels wide on a phone. */
const SLOT_MINUTES = 15;
const SLOTS = (24 * 60) / SLOT_MINUTES;
/** The charts' drawing box; the SVG stretches it to the page's width. */
const CHART_WIDTH = SLOTS * 10;
const CHART_HEIGHT = 100;

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** Counts per minute → totals per slot of the window, oldest first. */
function slotTotals(counts, since) {
  const totals = new Array(SLOTS).fill(0);
  for (const { minute, count } of counts) {
    const slot = Math.floor((Date.parse(minute) - since) / (SLOT_MINUTES * MINUTE_MS));
    if (slot >= 0 && slot < SLOTS) totals[slot] += count;
  }
  return totals;
}

function slotLabel(since, slot) {
  const start = new Date(since + slot * SLOT_MINUTES * MINUTE_MS).toISOString().slice(11, 16);
  const end = new Date(since + (slot + 1) * SLOT_MINUTES * MINUTE_MS).toISOString().slice(11, 16);
  return `${start}–${end} UTC`;
}

const perMinute = (total) => {
  const rate = total / SLOT_MINUTES;
  return rate >= 10 ? rate.toFixed(0) : rate.toFixed(rate >= 1 ? 1 : 2);
};

/**
 * A bar chart of one or more stacked series (slot totals), scaled to its tallest bar, with the
 * numbers of each bar in its tooltip.
 */
function barChart(title, series, since, extra) {
  const stacked = series[0].totals.map((_, slot) => series.reduce((sum, one) => sum + one.totals[slot], 0));
  const max = Math.max(0, ...stacked);
  const chart = svg("svg", { viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`, preserveAspectRatio: "none", role: "img", "aria-label": title });
  if (max > 0) {
    stacked.forEach((total, slot) => {
      if (total === 0) return;
      let top = CHART_HEIGHT;
      const tooltip = `${slotLabel(since, slot)}: ${series.map((one) => `${one.totals[slot]} ${one.name}`).join(", ")} (${perMinute(total)}/min)`;
      for (const one of series) {
        const value = one.totals[slot];
        if (value === 0) continue;
        const height = (value / max) * CHART_HEIGHT;
        top -= height;
        const bar = svg("rect", { class: `bar ${one.name}`, x: slot * 10 + 1, y: top, width: 8, height }, svg("title", {}, tooltip));
        bar.dataset.slot = String(slot);
        bar.dataset.count = String(value);
        chart.append(bar);
      }
    });
  }
  // The scale: what the top of the chart stands for.
  const scale = max === 0 ? "nothing in 24 h" : `${perMinute(max)}/min`;
  return el(
    "figure",
    { className: "chart" },
    el("h3", {}, el("span", {}, title), extra ? el("span", { className: "delay" }, extra) : null),
    el("div", { className: "plot" }, chart, el("span", { className: "scale" }, scale)),
    el("div", { className: "axis" }, el("span", {}, "24 h ago"), el("span", {}, "12 h ago"), el("span", {}, "now")),
  );
}

function delayText(delay) {
  if (!delay) return "no deliveries";
  return `delay p50 ${duration(delay.p50)} · p95 ${duration(delay.p95)} (${delay.count})`;
}

function renderTraffic(traffic) {
  const since = Date.parse(traffic.since);
  const charts = [barChart("events received", [{ name: "received", totals: slotTotals(traffic.received, since) }], since)];
  for (const sink of traffic.sinks) {
    if (!view.queuedSinks.includes(sink.name)) continue;
    const series = ["delivered", "retried", "failed"].map((name) => ({ name, totals: slotTotals(sink[name], since) }));
    const chart = barChart(sink.name, series, since, delayText(sink.delayMs));
    chart.dataset.sink = sink.name;
    charts.push(chart);
  }
  const legend = el(
    "p",
    { className: "legend" },
    "deliveries:",
    ...["delivered", "retried", "failed"].flatMap((name) => [el("span", { className: `swatch ${name}` }), name]),
    " · delay: from an event's receipt to its delivery",
  );
  $("#traffic-charts").replaceChildren(...charts, legend);
}

async function loadTraffic() {
  renderTraffic(await api("/api/traffic"));
}

// ---- event list ----

function filtersFromHash() {
  const query = location.hash.startsWith("#/?") ? location.hash.slice(3) : "";
  return new URLSearchParams(query);
}

function deliveryBadges(deliveries) {
  const cell = el("td", { className: "deliveries" });
  for (const delivery of deliveries ?? []) {
    const item = el("div", {}, badge(`${delivery.sink}: ${delivery.status}`, delivery.status));
    if (delivery.status !== "delivered" && delivery.lastError) {
      item.append(" ", statusBadge(delivery.lastErrorStatus) ?? "", el("span", { className: "error-text clip" }, delivery.lastError));
    }
    cell.append(item);
  }
  return cell;
}

function eventHeadline(event) {
  const what = [event.type, event.action].filter(Boolean).join(" · ");
  const title = event.object?.title ?? event.object?.ref;
  return el("td", {}, el("a", { href: `#/event/${event.id}` }, what), title ? el("div", { className: "title" }, title) : null);
}

function eventRow(event) {
  const tr = el(
    "tr",
    {},
    el("td", {}, el("a", { href: `#/event/${event.id}` }, `#${event.id}`)),
    el("td", {}, time(event.receivedAt)),
    el("td", {}, event.hook),
    eventHeadline(event),
    el("td", {}, event.project?.path ?? ""),
    el("td", {}, event.actor?.username ? `@${event.actor.username}` : (event.actor?.name ?? "")),
    deliveryBadges(event.deliveries),
  );
  tr.dataset.id = String(event.id);
  return tr;
}

async function loadEvents() {
  const params = filtersFromHash();
  for (const key of ["since", "until"]) if (params.get(key)) params.set(key, `${params.get(key)}Z`);
  params.set("limit", String(PAGE_SIZE));
  if (view.before !== null) params.set("before", String(view.before));
  const request = ++view.listRequests;
  let page;
  try {
    page = await api(`/api/events?${params}`);
  } catch (error) {
    if (request === view.listRequests) notice(`Could not list events: ${error.message}`);
    return;
  }
  if (request !== view.listRequests) return;
  $("#events tbody").replaceChildren(...page.events.map(eventRow));
  $("#empty").hidden = page.events.length > 0;
  $("#older").disabled = page.next === null;
  $("#older").dataset.next = page.next ?? "";
  $("#newer").disabled = view.before === null;
}

function showFiltersFromHash() {
  const params = filtersFromHash();
  const form = $("#filters");
  for (const name of FILTERS) form.elements[name].value = params.get(name) ?? "";
}

/** Shows the first page for these filters, and puts them in the address (for bookmarks and Back). */
function showFirstPage(hash) {
  view.before = null;
  view.newer = [];
  view.formHash = hash;
  if (location.hash === hash) route();
  else location.hash = hash;
}

$("#filters").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = submit.target.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  showFirstPage(params.size > 0 ? `#/?${params}` : "#/");
});
$("#filters").addEventListener("reset", () => showFirstPage("#/"));
$("#older").addEventListener("click", () => {
  view.newer.push(view.before);
  view.before = Number($("#older").dataset.next);
  loadEvents();
});
$("#newer").addEventListener("click", () => {
  view.before = view.newer.pop() ?? null;
  loadEvents();
});

// ---- one event ----

function jsonNode(key, value) {
  const label = key === null ? "" : `${key}: `;
  if (value === null || typeof value !== "object") {
    return el("div", { className: "leaf" }, label, el("span", { className: `json-${value === null ? "null" : typeof value}` }, JSON.stringify(value)));
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
  $("#event-title").textContent = `#${event.id} ${[event.type, event.action].filter(Boolean).join(" · ")}${object?.title ? ` — ${object.title}` : ""}`;
  $("#event-facts").replaceChildren(
    ...fact("received", time(event.receivedAt)),
    ...fact("hook", event.hook),
    ...fact("project", project ? link(project.url, project.path ?? String(project.id)) : "—", project?.visibility ? ` (${project.visibility})` : ""),
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
    el("td", {}, badge(attempt.outcome, attempt.outcome === "delivered" ? "delivered" : attempt.outcome === "retry" ? "pending" : "failed")),
    el("td", {}, statusBadge(attempt.errorStatus), " ", el("span", { className: "error-text" }, attempt.error ?? "")),
  );
}

function renderDeliveries(event) {
  const blocks = event.deliveries.map((delivery) => {
    const attempts = event.attempts.filter((attempt) => attempt.sink === delivery.sink);
    const button = el("button", { type: "button" }, `Redeliver to ${delivery.sink}`);
    button.addEventListener("click", () => redeliver(event.id, [delivery.sink]));
    const block = el(
      "article",
      { className: "delivery" },
      el("h4", {}, delivery.sink, " ", badge(delivery.status, delivery.status), ` ${delivery.attempts} attempt${delivery.attempts === 1 ? "" : "s"}`),
      delivery.status === "pending" && delivery.nextAttemptAt ? el("p", {}, "next attempt ", time(delivery.nextAttemptAt)) : null,
      attempts.length
        ? el(
            "div",
            { className: "scroll" },
            el("table", { className: "attempts" }, el("thead", {}, el("tr", {}, el("th", {}, "started (UTC)"), el("th", {}, "took"), el("th", {}, "outcome"), el("th", {}, "error"))), el("tbody", {}, ...attempts.map(attemptRow))),
          )
        : el("p", { className: "hint" }, "not attempted yet"),
      button,
    );
    block.dataset.sink = delivery.sink;
    return block;
  });
  $("#event-deliveries").replaceChildren(...(blocks.length ? blocks : [el("p", { className: "hint" }, "No sink takes this event.")]));
}

async function loadEvent(id, { full }) {
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
    ...Object.entries(event.requestHeaders ?? {}).map(([name, value]) => el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, value))),
  );
  const root = jsonNode(null, event.payload);
  if (root.tagName === "DETAILS") root.open = true;
  $("#event-payload").replaceChildren(root);
}
$("#redeliver-all").addEventListener("click", () => redeliver(view.openEventId, null));

// ---- routing, live updates, offline ----

function route() {
  const match = /^#\/event\/(\d+)$/.exec(location.hash);
  view.openEventId = match ? Number(match[1]) : null;
  $("#event-page").hidden = !match;
  $("#event-list").hidden = Boolean(match);
  if (match) {
    loadEvent(view.openEventId, { full: true });
    window.scrollTo(0, 0);
  } else {
    // The address changed from outside (a bookmark, Back): the form follows it.
    if (location.hash !== view.formHash) showFiltersFromHash();
    view.formHash = null;
    loadEvents();
  }
}

function refreshCurrent() {
  if (view.openEventId !== null) loadEvent(view.openEventId, { full: false });
  else loadEvents();
}

let reloadTimer = null;
/**
 * After new events: the first page of the list and the health panel are read again, at most four
 * times a second however fast events come.
 */
function scheduleReload() {
  if (reloadTimer !== null) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = null;
    if (view.openEventId === null && view.before === null) refreshCurrent();
    loadHealth().catch(() => {});
  }, 250);
}

function goOffline() {
  if (view.offlineSince !== null) return;
  view.offlineSince = new Date().toISOString();
  const live = $("#live");
  live.className = "badge off";
  live.replaceChildren("offline since ", time(view.offlineSince));
  // What was said before is no longer known to be true.
  notice("");
  $("#dashboard").classList.add("stale");
}

function goOnline() {
  const wasOffline = view.offlineSince !== null;
  view.offlineSince = null;
  const live = $("#live");
  live.className = "badge on";
  live.textContent = "live";
  $("#dashboard").classList.remove("stale");
  if (wasOffline) {
    loadHealth().catch(() => {});
    refreshCurrent();
  }
}

/** Follows /sse/ with the admin token in a header (EventSource cannot send one), resuming by id. */
async function followLive() {
  view.liveAbort?.abort();
  const abort = (view.liveAbort = new AbortController());
  let lastId = null;
  for (;;) {
    try {
      const headers = { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const response = await fetch("/sse/", { headers, signal: abort.signal });
      if (!response.ok) throw new Error(`feed answered ${response.status}`);
      goOnline();
      const parser = createParser({
        onEvent: (message) => {
          if (message.event) return;
          lastId = message.id;
          // New events show on the first page of the list; the open event page follows its own.
          scheduleReload();
        },
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch {
      if (abort.signal.aborted) return;
    }
    goOffline();
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  view.liveAbort?.abort();
  $("#dashboard").hidden = true;
  $("#sign-out").hidden = true;
  // Signed out is not offline: the badge says how live updates go only once there are some.
  $("#live").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = reason ?? "";
  showWhetherAdminApiIsOn();
}

/** Without ADMIN_TOKEN no token can open the dashboard: say so instead of asking for one. */
async function showWhetherAdminApiIsOn() {
  let response;
  try {
    response = await fetch("/api/status");
  } catch {
    return;
  }
  if (response.status !== 403 || token()) return;
  const body = await response.json().catch(() => ({}));
  $("#login").hidden = true;
  $("#admin-off").hidden = false;
  $("#admin-off-reason").textContent = body.error ? `The daemon says: ${body.error}.` : "";
}

let ticker = null;
async function open() {
  $("#login").hidden = true;
  $("#dashboard").hidden = false;
  $("#sign-out").hidden = false;
  $("#live").hidden = false;
  await loadHealth();
  loadTraffic().catch(() => {});
  route();
  followLive();
  // Delivery states change without new events (retries, dead letters): look again while any is pending.
  clearInterval(ticker);
  let ticks = 0;
  ticker = setInterval(() => {
    if (!token() || view.offlineSince !== null) return;
    ticks++;
    if (ticks % 5 === 0) loadHealth().catch(() => {});
    if (ticks % 30 === 0) loadTraffic().catch(() => {});
    const pending = view.openEventId !== null ? $("#event-deliveries .badge.pending") : $("#events .badge.pending");
    if (pending) refreshCurrent();
  }, 1000);
}

window.addEventListener("hashchange", () => {
  if (token()) route();
});
$("#login").addEventListener("submit", (submit) => {
  submit.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
  $("#token").value = "";
  open().catch(() => {});
});
$("#sign-out").addEventListener("click", () => signOut());

// The feed as others reach it: this page's own address, for the forward and smee commands.
for (const url of document.querySelectorAll(".feed-url")) url.textContent = new URL("/sse/", window.location.href).href;

if (token()) open().catch(() => {});
else signOut();
