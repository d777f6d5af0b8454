// The admin API, called with the token from session storage.
import { token } from "./state.js";

/**
 * What the calls learn about the daemon itself, for the modules that show it: "unreachable" (the
 * request did not get through) and "refused" (the token was not accepted; `detail` says why).
 * An event rather than a call, so that this module needs none of the panels that react.
 */
export const connection = new EventTarget();

/** A JSON call; throws with the daemon's own error text when it answers with one. */
export async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options,
      headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json", ...(options.headers ?? {}) },
    });
  } catch (error) {
    connection.dispatchEvent(new Event("unreachable"));
    throw error;
  }
  const body = await response.json().catch(() => ({}));
  if (response.status === 401 || response.status === 403) {
    connection.dispatchEvent(new CustomEvent("refused", { detail: body.error ?? "the token was refused" }));
    throw new Error(body.error ?? "unauthorized");
  }
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}
