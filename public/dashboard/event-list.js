// The event list: newest first, a page at a time, filtered by the address (`#/?type=push`) so that
// a view can be bookmarked; the filter form and the address follow each other.
import { api } from "./api.js";
import { $, badge, el, notice, statusBadge, time } from "./dom.js";

const PAGE_SIZE = 25;
const FILTERS = ["q", "type", "action", "project", "hook", "status", "sink", "since", "until"];

/** The page shown: the `before` cursor it was read with (null for the newest), and those of the pages seen before it, for "Newer". */
let before = null;
const newer = [];
/** The address the filter form itself last wrote: its hashchange must not rewrite what was typed since. */
let formHash = null;
/** Lists asked for so far: an answer to an older request is dropped, not shown over a newer one. */
let listRequests = 0;

/** Whether the list shows its newest page, the one new events appear on. */
export const onFirstPage = () => before === null;

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

export async function loadEvents() {
  const params = filtersFromHash();
  for (const key of ["since", "until"]) if (params.get(key)) params.set(key, `${params.get(key)}Z`);
  params.set("limit", String(PAGE_SIZE));
  if (before !== null) params.set("before", String(before));
  const request = ++listRequests;
  let page;
  try {
    page = await api(`/api/events?${params}`);
  } catch (error) {
    if (request === listRequests) notice(`Could not list events: ${error.message}`);
    return;
  }
  if (request !== listRequests) return;
  $("#events tbody").replaceChildren(...page.events.map(eventRow));
  $("#empty").hidden = page.events.length > 0;
  $("#older").disabled = page.next === null;
  $("#older").dataset.next = page.next ?? "";
  $("#newer").disabled = before === null;
}

function showFiltersFromHash() {
  const params = filtersFromHash();
  const form = $("#filters");
  for (const name of FILTERS) form.elements[name].value = params.get(name) ?? "";
}

/** The list for the filters in the address; the form follows an address that changed from outside (a bookmark, Back). */
export function showList() {
  if (location.hash !== formHash) showFiltersFromHash();
  formHash = null;
  loadEvents();
}

/** Shows the first page for these filters, and puts them in the address (for bookmarks and Back). */
function showFirstPage(hash) {
  before = null;
  newer.length = 0;
  // The same address again makes no hashchange: nothing else would read the list again.
  if (location.hash === hash) {
    loadEvents();
    return;
  }
  formHash = hash;
  location.hash = hash;
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
  newer.push(before);
  before = Number($("#older").dataset.next);
  loadEvents();
});
$("#newer").addEventListener("click", () => {
  before = newer.pop() ?? null;
  loadEvents();
});
