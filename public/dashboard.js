// The dashboard: reads the admin API with the token from session storage and follows /sse/ live.
// Every value from an event is put in the page with textContent: event fields come from outside.
import { createParser } from "/assets/eventsource-parser.js";

const TOKEN_KEY = "gitlab-webhooks-admin-token";
const $ = (selector) => document.querySelector(selector);
let liveAbort = null;

const token = () => sessionStorage.getItem(TOKEN_KEY);

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json", ...(options.headers ?? {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401 || response.status === 403) {
    signOut(body.error ?? "the token was refused");
    throw new Error(body.error ?? "unauthorized");
  }
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  return td;
}

function badge(text, kind) {
  const span = document.createElement("span");
  span.className = `badge ${kind}`;
  span.textContent = text;
  return span;
}

function notice(text) {
  $("#notice").textContent = text;
}

function eventRow(event) {
  const tr = document.createElement("tr");
  tr.dataset.id = String(event.id);
  tr.append(
    cell(`#${event.id}`),
    cell(new Date(event.receivedAt).toLocaleString()),
    cell(event.hook),
    cell(event.type),
    cell(event.action),
    cell(event.project?.path ?? ""),
    cell(event.actor?.username ?? event.actor?.name ?? ""),
  );
  const states = document.createElement("td");
  states.className = "deliveries";
  for (const delivery of event.deliveries ?? []) {
    const title = delivery.lastError ? `${delivery.status}: ${delivery.lastError}` : `${delivery.status}, ${delivery.attempts} attempt(s)`;
    const b = badge(`${delivery.sink}: ${delivery.status}`, delivery.status);
    b.title = title;
    states.append(b);
  }
  const actions = document.createElement("td");
  const redeliver = document.createElement("button");
  redeliver.textContent = "Redeliver";
  redeliver.addEventListener("click", async () => {
    try {
      const result = await api(`/api/events/${event.id}/redeliver`, { method: "POST", body: "{}" });
      notice(`Event #${event.id} queued again for ${result.sinks.join(", ") || "no sink"}.`);
      setTimeout(() => refreshEvent(event.id), 500);
    } catch (error) {
      notice(`Redeliver failed: ${error.message}`);
    }
  });
  actions.append(redeliver);
  tr.append(states, actions);
  return tr;
}

async function refreshEvent(id) {
  const event = await api(`/api/events/${id}`);
  const row = eventRow(event);
  const old = document.querySelector(`#events tr[data-id="${id}"]`);
  if (old) old.replaceWith(row);
  else {
    row.classList.add("fresh");
    $("#events tbody").prepend(row);
  }
}

async function loadEvents() {
  const { events } = await api("/api/events?limit=50");
  $("#events tbody").replaceChildren(...events.map(eventRow));
}

async function loadSinks() {
  const { sinks } = await api("/api/sinks");
  $("#sinks tbody").replaceChildren(
    ...sinks.map((sink) => {
      const tr = document.createElement("tr");
      tr.dataset.sink = sink.name;
      const retry = document.createElement("td");
      if (sink.failed > 0) {
        const button = document.createElement("button");
        button.textContent = "Retry failed";
        button.addEventListener("click", async () => {
          const { retried } = await api("/api/deliveries/retry", { method: "POST", body: JSON.stringify({ sink: sink.name }) });
          notice(`${retried} failed deliveries of ${sink.name} queued again.`);
          await loadSinks();
        });
        retry.append(button);
      }
      tr.append(cell(sink.name), cell(String(sink.pending)), cell(String(sink.inFlight)), cell(String(sink.failed)), retry);
      return tr;
    }),
  );
}

/** Follows /sse/ with the admin token in a header (EventSource cannot send one), resuming by id. */
async function followLive() {
  liveAbort?.abort();
  liveAbort = new AbortController();
  let lastId = null;
  for (;;) {
    try {
      const headers = { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const response = await fetch("/sse/", { headers, signal: liveAbort.signal });
      if (!response.ok) throw new Error(`feed answered ${response.status}`);
      $("#live").textContent = "live";
      $("#live").className = "badge on";
      const parser = createParser({
        onEvent: (message) => {
          if (message.event) return;
          lastId = message.id;
          refreshEvent(Number(message.id)).catch(() => {});
          loadSinks().catch(() => {});
        },
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch {
      if (liveAbort.signal.aborted) return;
    }
    $("#live").textContent = "offline";
    $("#live").className = "badge off";
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  liveAbort?.abort();
  $("#dashboard").hidden = true;
  $("#sign-out").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = reason ?? "";
}

async function open() {
  $("#login").hidden = true;
  $("#dashboard").hidden = false;
  $("#sign-out").hidden = false;
  await Promise.all([loadSinks(), loadEvents()]);
  followLive();
  // Delivery states change without new events (deliveries finishing, retries, dead letters):
  // look again at the sinks and at every row still showing a pending delivery.
  setInterval(() => {
    if (!token()) return;
    loadSinks().catch(() => {});
    for (const row of document.querySelectorAll("#events tr[data-id]")) {
      if (row.querySelector(".badge.pending")) refreshEvent(Number(row.dataset.id)).catch(() => {});
    }
  }, 1000);
}

$("#login").addEventListener("submit", (submit) => {
  submit.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
  $("#token").value = "";
  open().catch(() => {});
});
$("#sign-out").addEventListener("click", () => signOut());

if (token()) open().catch(() => {});
else signOut();
