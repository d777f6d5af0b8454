import { fileURLToPath } from "node:url";
import express, { type Router } from "express";

const PUBLIC_DIR = fileURLToPath(new URL("../../public/", import.meta.url));

/** `GET /`: the dashboard page, served as it is (no build step); its data comes from the authenticated API. */
export function createDashboardRouter(): Router {
  const router = express.Router();
  // The page's SSE parser is the very module the tail command uses, served from its package.
  const parser = fileURLToPath(import.meta.resolve("eventsource-parser"));
  router.get("/assets/eventsource-parser.js", (_req, res) => res.type("text/javascript").sendFile(parser));
  router.get("/", (_req, res) => res.sendFile("index.html", { root: PUBLIC_DIR }));
  router.use(
    "/assets",
    express.static(PUBLIC_DIR, {
      index: false,
      setHeaders: (res) => res.setHeader("Cache-Control", "no-cache"),
    }),
  );
  return router;
}
