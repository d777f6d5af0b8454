// Making the page's elements, and the formats several panels share. Every value from an event is
// put in the page as text (textContent, text nodes), never as markup: event fields come from
// outside. Links are made only from http(s) URLs.

export const $ = (selector) => document.querySelector(selector);

/** An element with properties and children; strings become text nodes, never markup. */
export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}

/** A link only to an http(s) URL; anything else (javascript:, data:) stays text. */
export function link(url, text) {
  if (typeof url !== "string" || !/^https?:\/\//i.test(url)) return el("span", {}, text ?? "");
  return el("a", { href: url, rel: "noreferrer noopener", target: "_blank" }, text ?? url);
}

/** UTC as text, the reader's local time on hover. */
export function time(iso) {
  if (!iso) return el("span", {}, "—");
  const date = new Date(iso);
  return el("time", { dateTime: iso, title: date.toLocaleString() }, `${iso.slice(0, 19).replace("T", " ")} UTC`);
}

export function badge(text, kind) {
  return el("span", { className: `badge ${kind}` }, text);
}

/** What a downstream's HTTP status means for the operator. */
export function statusBadge(status) {
  if (status === null || status === undefined) return null;
  if (status === 401 || status === 403) return badge(`configuration (HTTP ${status})`, "config");
  if (status === 429) return badge("rate limited (HTTP 429)", "pending");
  if (status >= 500) return badge(`downstream error (HTTP ${status})`, "failed");
  return badge(`HTTP ${status}`, "neutral");
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1) return "<1 ms";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The one line of news at the top of the dashboard (what an action did, what went wrong). */
export function notice(text) {
  $("#notice").textContent = text;
}

/** Asks in a modal dialog; resolves true when confirmed. */
export function confirmAction(text, action) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-yes").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true }));
}
