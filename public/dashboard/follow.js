// The "events elsewhere" section: the forward and smee-client commands name this daemon's feed.

/** The feed as others reach it: this page's own address, so the commands can be pasted as they are. */
export function showFeedAddress() {
  for (const url of document.querySelectorAll(".feed-url")) url.textContent = new URL("/sse/", window.location.href).href;
}
