// Live updates: follows /sse/ and reads again what new events change; says since when the daemon
// is out of reach, and catches up when it is back.
import { createParser } from "/assets/eventsource-parser.js";
import { $, notice, time } from "./dom.js";
import { onFirstPage } from "./event-list.js";
import { loadHealth } from "./health.js";
import { refreshCurrent } from "./router.js";
import { token, view } from "./state.js";

/** When the daemon was last found out of reach, null while it answers. */
let offlineSince = null;
/** Ends the feed's request: on signing out, or when a new follow replaces it. */
let liveAbort = null;

export const isOffline = () => offlineSince !== null;

let reloadTimer = null;
/**
 * After new events: the first page of the list and the health panel are read again, at most four
 * times a second however fast events come.
 */
function scheduleReload() {
  if (reloadTimer !== null) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = null;
    if (view.openEventId === null && onFirstPage()) refreshCurrent();
    loadHealth().catch(() => {});
  }, 250);
}

export function goOffline() {
  if (offlineSince !== null) return;
  offlineSince = new Date().toISOString();
  const live = $("#live");
  live.className = "badge off";
  live.replaceChildren("offline since ", time(offlineSince));
  // What was said before is no longer known to be true.
  notice("");
  $("#dashboard").classList.add("stale");
}

function goOnline() {
  const wasOffline = offlineSince !== null;
  offlineSince = null;
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
export async function followLive() {
  liveAbort?.abort();
  const abort = (liveAbort = new AbortController());
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

export function stopLive() {
  liveAbort?.abort();
}
