import express, { type Router } from "express";
import type { Dispatcher } from "./dispatcher.js";
import type { Store } from "./store/store.js";
import { VERSION } from "./version.js";

/** `GET /healthz`: liveness, the store, and each sink's queue. Never a secret. */
export function createHealthRouter(store: Store, dispatcher: Dispatcher): Router {
  const router = express.Router();
  router.get("/healthz", async (_req, res) => {
    try {
      await store.ping();
    } catch (error) {
      res.status(503).json({ status: "error", version: VERSION, store: `unusable: ${String(error)}` });
      return;
    }
    const sinks = Object.fromEntries((await dispatcher.sinkStates()).map(({ name, ...state }) => [name, state]));
    res.json({ status: "ok", version: VERSION, store: "ok", sinks });
  });
  return router;
}
