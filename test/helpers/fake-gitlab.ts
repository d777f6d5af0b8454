import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { sendJson, startFakeServer, type FakeServer } from "./fake-server.js";

export interface FakeGitLab extends FakeServer {
  requests: { method: string; path: string; body: string; token: string | undefined }[];
  /** Routes by "METHOD /api/v4/path" (regex source); the handler answers. */
  route(pattern: string, handler: (req: IncomingMessage, body: string, res: ServerResponse, match: RegExpMatchArray) => void): void;
  /**
   * Serves `items` at this path in pages of `perPage` (or the per_page asked for, up to
   * `maxPerPage`, as GitLab caps it), with GitLab's Link and X-* headers.
   */
  paginate(pattern: string, items: unknown[], perPage?: number, maxPerPage?: number): void;
  /** Answers every request with this status (for 401 tests) until set back to null. */
  failAll: number | null;
  /** Headers sent with failAll's answers (Retry-After with a 429). */
  failHeaders: Record<string, string>;
}

/** GitLab's /api/v4 on loopback: JSON bodies, PRIVATE-TOKEN auth, offset pagination with Link headers. */
export async function startFakeGitLab(token: string): Promise<FakeGitLab> {
  const routes: { regex: RegExp; handler: (req: IncomingMessage, body: string, res: ServerResponse, match: RegExpMatchArray) => void }[] =
    [];
  const requests: FakeGitLab["requests"] = [];
  const state: { failAll: number | null; failHeaders: Record<string, string> } = { failAll: null, failHeaders: {} };
  let base = "";
  const server = await startFakeServer((req, body, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const given = req.headers["private-token"];
    requests.push({ method: req.method ?? "GET", path: url.pathname + url.search, body, token: Array.isArray(given) ? given[0] : given });
    if (state.failAll !== null)
      return sendJson(res, state.failAll, { message: `${state.failAll} ${STATUS_CODES[state.failAll] ?? ""}` }, state.failHeaders);
    if (given !== token) return sendJson(res, 401, { message: "401 Unauthorized" });
    const key = `${req.method} ${url.pathname}`;
    for (const route of routes) {
      const match = key.match(route.regex);
      if (match) return route.handler(req, body, res, match);
    }
    sendJson(res, 404, { message: "404 Not Found" });
  });
  base = server.url;
  const fake: FakeGitLab = {
    ...server,
    requests,
    get failAll() {
      return state.failAll;
    },
    set failAll(value) {
      state.failAll = value;
    },
    get failHeaders() {
      return state.failHeaders;
    },
    set failHeaders(value) {
      state.failHeaders = value;
    },
    route(pattern, handler) {
      routes.push({ regex: new RegExp(`^${pattern}$`), handler });
    },
    paginate(pattern, items, perPage = 2, maxPerPage = 100) {
      fake.route(`GET ${pattern}`, (req, _body, res) => {
        const url = new URL(req.url ?? "/", base);
        const page = Number(url.searchParams.get("page") ?? "1");
        const size = Math.min(Number(url.searchParams.get("per_page") ?? perPage), maxPerPage);
        const pages = Math.max(1, Math.ceil(items.length / size));
        const headers: Record<string, string> = {
          "X-Page": String(page),
          "X-Per-Page": String(size),
          "X-Total": String(items.length),
          "X-Total-Pages": String(pages),
        };
        if (page < pages) {
          const next = new URL(url);
          next.searchParams.set("page", String(page + 1));
          next.searchParams.set("per_page", String(size));
          headers["X-Next-Page"] = String(page + 1);
          headers.Link = `<${next.href}>; rel="next"`;
        }
        sendJson(res, 200, items.slice((page - 1) * size, page * size), headers);
      });
    },
  };
  return fake;
}
