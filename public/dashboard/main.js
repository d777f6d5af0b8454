// The dashboard: reads the admin API with the token from session storage and follows /sse/ live.
// This module signs in and out and starts the panels; each panel is a module of its own.
import { connection } from "./api.js";
import { $ } from "./dom.js";
import { showFeedAddress } from "./follow.js";
import { loadHealth } from "./health.js";
import { followLive, goOffline, isOffline, stopLive } from "./live.js";
import { refreshCurrent, route } from "./router.js";
import { forgetToken, rememberToken, token, view } from "./state.js";
import { loadTraffic } from "./traffic.js";

function signOut(reason) {
  forgetToken();
  stopLive();
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
    if (!token() || isOffline()) return;
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
  rememberToken($("#token").value.trim());
  $("#token").value = "";
  open().catch(() => {});
});
$("#sign-out").addEventListener("click", () => signOut());

// What the admin API's answers say about the daemon: out of reach, or the token refused.
connection.addEventListener("unreachable", goOffline);
connection.addEventListener("refused", (refused) => signOut(refused.detail));

showFeedAddress();

if (token()) open().catch(() => {});
else signOut();
