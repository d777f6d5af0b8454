// What several of the dashboard's modules read: the admin token and which view is open. State that
// one module alone needs (the list's paging cursors, the feed's connection) stays in that module.

const TOKEN_KEY = "gitlab-webhooks-admin-token";

/** The admin token, kept in this tab's session storage only: it leaves with the tab. */
export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const rememberToken = (value) => sessionStorage.setItem(TOKEN_KEY, value);
export const forgetToken = () => sessionStorage.removeItem(TOKEN_KEY);

export const view = {
  /** The event whose page is open (`#/event/<id>`), null on the list; set by the router. */
  openEventId: null,
  /** Sinks with a delivery queue (not the feed), from the health panel: the delivery filter's and the traffic panel's. */
  queuedSinks: [],
};
