import express, { type Router } from "express";
import type { Dispatcher, SinkStatus } from "../../core/dispatcher.js";
import type { HooksWatch } from "../../gitlab/hooks-watch.js";
import type { Store } from "../../core/store.js";
import { VERSION } from "../../support/version.js";
import { errorMessage } from "../../support/error-message.js";

/**
 * Watched hooks without their projects' paths or URLs: /healthz is public, and a private
 * project's name is not everybody's business (the admin API has the details).
 */
function hooksSummary(watch: HooksWatch) {
  const { checkedAt, hooks, problems } = watch.state;
  return {
    checkedAt,
    watched: hooks.length,
    disabled: hooks.filter((hook) => hook.state === "disabled").length,
    failing: hooks.filter((hook) => hook.state === "failing").length,
    uncheckable: problems.length,
  };
}

/**
 * An error as the public may read it: URLs keep their host and lose their path, since a GitLab API
 * URL names the project, and a private project's name is not everybody's business; a path on its
 * own (`GET /api/v4/projects/secret%2Fx/…` in a GitLab client error, a file of this machine such
 * as the log file or the reviewers file) is left out altogether. The admin API has the full text.
 */
export function publicErrorText(message: string): string {
  return message
    .replace(/\b(https?:\/\/[^/\s"'<>]+)\/[^\s"'<>)]*/g, "$1/…")
    .replace(/(^|[\s"'(=])\/[^\s"'<>)]*?(?=[:;,.]?(?:[\s"'<>)]|$))/g, "$1…");
}

/**
 * A sink's state as the public may read it: each text in it (the reason, the last error, what a
 * sink reports such as the log file or the reviewers page) through publicErrorText.
 */
const publicSinkState = ({ name, lastError, ...state }: SinkStatus) => [
  name,
  {
    ...Object.fromEntries(
      Object.entries(state).map(([field, value]) => [field, typeof value === "string" ? publicErrorText(value) : value]),
    ),
    lastError: lastError && { ...lastError, message: publicErrorText(lastError.message) },
  },
];

/**
 * `GET /healthz`: liveness, the store, each sink's condition (ok, degraded, failing: why and
 * since when) and the watched hooks. Never a secret. "degraded" is still 200: a platform must
 * not restart a daemon because its downstream is down; 503 only when the daemon cannot take events.
 */
export function createHealthRouter(store: Store, dispatcher: Dispatcher, hooksWatch: HooksWatch | null = null): Router {
  const router = express.Router();
  router.get("/healthz", async (_req, res) => {
    try {
      await store.ping();
    } catch (error) {
      res.status(503).json({ status: "error", version: VERSION, store: `unusable: ${publicErrorText(errorMessage(error))}` });
      return;
    }
    const states = await dispatcher.sinkStates();
    const hooks = hooksWatch ? hooksSummary(hooksWatch) : null;
    const degraded = states.some((sink) => sink.state !== "ok") || (hooks !== null && hooks.disabled + hooks.failing > 0);
    res.json({
      status: degraded ? "degraded" : "ok",
      version: VERSION,
      store: "ok",
      sinks: Object.fromEntries(states.map(publicSinkState)),
      ...(hooks && { hooks }),
    });
  });
  return router;
}
