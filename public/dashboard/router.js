// Which view the address shows: the event list (`#/`, `#/?<filters>`) or one event (`#/event/<id>`).
import { $ } from "./dom.js";
import { loadEvents, showList } from "./event-list.js";
import { loadEvent } from "./event-page.js";
import { view } from "./state.js";

/** Shows the view the address names, read from the daemon. */
export function route() {
  const match = /^#\/event\/(\d+)$/.exec(location.hash);
  view.openEventId = match ? Number(match[1]) : null;
  $("#event-page").hidden = !match;
  $("#event-list").hidden = Boolean(match);
  if (match) {
    loadEvent(view.openEventId, { full: true });
    window.scrollTo(0, 0);
  } else {
    showList();
  }
}

/** Reads the open view again in place: the list's page as it is, or the open event's deliveries. */
export function refreshCurrent() {
  if (view.openEventId !== null) loadEvent(view.openEventId, { full: false });
  else loadEvents();
}
