import express, { type Router } from "express";
import type { Dispatcher } from "./dispatcher.js";
import type { HooksWatch } from "./hooks-watch.js";
import type { Store } from "./store/store.js";
import { VERSION } from "./version.js";

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
 * `GET /healthz`: liveness, the store, each sink's queue, and the watched hooks. Never a secret.
 * "degraded" (still 200: a platform must not restart a daemon whose GitLab hook is off) when a
 * watched hook is disabled or failing; 503 only when the daemon cannot take events.
 */
export function createHealthRouter(store: Store, dispatcher: Dispatcher, hooksWatch: HooksWatch | null = null): Router {
  const router = express.Router();
  router.get("/healthz", async (_req, res) => {
    try {
      await store.ping();
    } catch (error) {
      res.status(503).json({ status: "error", version: VERSION, store: `unusable: ${String(error)}` });
      return;
    }
    const sinks = Object.fromEntries((await dispatcher.sinkStates()).map(({ name, ...state }) => [name, state]));
    const hooks = hooksWatch ? hooksSummary(hooksWatch) : null;
    const degraded = hooks !== null && hooks.disabled + hooks.failing > 0;
    res.json({ status: degraded ? "degraded" : "ok", version: VERSION, store: "ok", sinks, ...(hooks && { hooks }) });
  });
  return router;
}
