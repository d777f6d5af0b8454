import { fileURLToPath } from "node:url";
import express, { type Router } from "express";

const PUBLIC_DIR = fileURLToPath(new URL("../../../public/", import.meta.url));

/**
 * Everything the page loads comes from this daemon; no inline script or style, no framing by
 * another site (clickjacking), no guessing of types.
 */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** `GET /`: the dashboard page, served as it is (no build step); its data comes from the authenticated API. */
export function createDashboardRouter(): Router {
  const router = express.Router();
  router.use((req, res, next) => {
    if (req.path === "/" || req.path.startsWith("/assets/")) res.set(PAGE_HEADERS);
    next();
  });
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
