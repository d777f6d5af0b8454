import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import type { EventSourceMessage } from "eventsource-parser";
import { retryDelayMs } from "../core/backoff.js";
import { loadDotEnv } from "../configuration.js";
import { gitlabHeaders } from "../gitlab/headers.js";
import { retryAfter } from "../core/failure.js";
import { networkCause } from "../support/network-cause.js";
import { responseStart } from "../support/response-start.js";
import { hookKindOf } from "../sources/gitlab/event-header.js";
import { normalize } from "../sources/gitlab/normalize.js";
import { firstOf, parseCommandArgs, UsageError } from "./args.js";
import { printable } from "./format-event.js";
import { FatalFeedError, follow } from "./tail.js";
import { errorMessage } from "../support/error-message.js";

const FORWARD_HELP = `Usage: gitlab-webhooks forward --to URL [options]

Follows a daemon's event feed and POSTs each event to URL as GitLab sent it (its body, and GitLab's
headers X-Gitlab-Event, X-Gitlab-Instance, X-Gitlab-Event-UUID, Idempotency-Key, User-Agent), so
that a bot written for GitLab's webhooks runs on a machine GitLab cannot reach. One line per event:
id, type, action, project, the target's status and how long it took. The last event the target
took is kept in a state file: a restart resumes after it, without gap or repeat. A 5xx answer, a
timeout or no answer is retried with backoff, in order, never skipped; a 4xx is printed and skipped,
as GitLab does.

  --to URL            where to POST each event (the bot's webhook URL), required
  --from URL          the feed (default http://127.0.0.1:$PORT/sse/, PORT default 8000)
  --token T           the feed's token, to get private and internal projects' events and their
                      request headers (default: the first of $SSE_TOKEN, else of $ADMIN_TOKEN)
  --target-token T    sent as X-Gitlab-Token: the secret token the bot expects from GitLab
  --type T,…          only these types (object kinds or GitLab's hook scopes)
  --action A,…        only these actions (open,merge,…)
  --project GLOB,…    only projects whose path matches (repos/releng/*)
  --hook H,…          only these hooks (system, project, group)
  --since ID          start after this event id instead of where the state file says
  --state FILE        the state file (default $XDG_STATE_HOME/gitlab-webhooks/forward.json,
                      else ~/.local/state/gitlab-webhooks/forward.json); one entry per feed and target
  --timeout SECONDS   how long the target may take to answer (default 10, as GitLab)
  -h, --help          show this help

Reads PORT, SSE_TOKEN and ADMIN_TOKEN (as above, from the environment or .env), XDG_STATE_HOME.

Example:
  gitlab-webhooks forward --from 'https://hooks.example.org/sse/' --token "$SSE_TOKEN" --to http://localhost:3000/webhook --target-token dev-secret
`;

const RETRY = { minMs: 1000, maxMs: 60_000 };

/** The last event id the target took, per feed and target, in a JSON file written whole each time. */
class ForwardState {
  constructor(
    private readonly path: string,
    private readonly key: string,
  ) {}

  private read(): Record<string, number> {
    try {
      return JSON.parse(readFileSync(this.path, "utf8")) as Record<string, number>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw new Error(`the state file ${this.path} cannot be read (${errorMessage(error)}): fix or remove it, or pass --since`);
    }
  }

  get lastId(): number | undefined {
    const id = this.read()[this.key];
    return typeof id === "number" && Number.isSafeInteger(id) ? id : undefined;
  }

  save(id: number): void {
    const all = { ...this.read(), [this.key]: id };
    mkdirSync(dirname(this.path), { recursive: true });
    // Written aside then renamed: a crash mid-write leaves the previous state, never half a file.
    const aside = `${this.path}.${process.pid}.tmp`;
    writeFileSync(aside, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    renameSync(aside, this.path);
  }
}

interface SmeeData {
  body: unknown;
  [header: string]: unknown;
}

/** id, type, action and project of an event, as the line shows them. */
function describe(id: number, headers: Record<string, string>, body: unknown): string {
  const eventHeader = headers["x-gitlab-event"];
  const event = normalize(
    { eventHeader, instance: headers["x-gitlab-instance"], deliveryId: "", receivedAt: new Date() },
    hookKindOf(eventHeader),
    body,
  );
  return [`#${id}`, event.type, event.action, event.project?.path ?? null]
    .filter((part): part is string => part !== null && part !== "")
    .map(printable)
    .join(" ");
}

/**
 * The body as the daemon stored it, byte for byte: the daemon's smee frames end with
 * `,"body":<the stored text>}`, and no header before it can hold that sequence unescaped. Checked
 * against the parsed body; anything else (another server's order) is sent re-encoded, the same JSON.
 */
function storedBody(data: string, body: unknown): string {
  const start = data.indexOf(',"body":');
  if (start >= 0 && data.endsWith("}")) {
    const text = data.slice(start + ',"body":'.length, -1);
    try {
      if (isDeepStrictEqual(JSON.parse(text), body)) return text;
    } catch {
      // Not where the body is: re-encoded below.
    }
  }
  return JSON.stringify(body);
}

interface ForwardOptions {
  to: string;
  targetToken: string | undefined;
  timeoutMs: number;
  state: ForwardState;
  write: (line: string) => void;
  signal: AbortSignal;
}

/** POSTs one event until the target takes it (2xx) or refuses it (4xx); returns when either is done. */
async function forwardEvent(message: EventSourceMessage, options: ForwardOptions): Promise<void> {
  const id = Number(message.id);
  let data: SmeeData | undefined;
  try {
    data = JSON.parse(message.data) as SmeeData;
  } catch {
    // Said below.
  }
  if (!Number.isSafeInteger(id) || typeof data !== "object" || data === null || !("body" in data)) {
    throw new FatalFeedError("the feed sent something that is not an event of its smee format: is --from a gitlab-webhooks feed (…/sse/)?");
  }
  // GitLab's own headers, sent on as they came; the rest (proxies') is not the bot's business.
  const headers: Record<string, string> = { ...gitlabHeaders(data), "content-type": "application/json" };
  const line = describe(id, headers, data.body);
  if (options.targetToken) headers["x-gitlab-token"] = options.targetToken;
  const body = storedBody(message.data, data.body);
  for (let attempt = 1; ; attempt++) {
    const started = performance.now();
    let outcome: string;
    let waitUntil: number | null = null;
    try {
      const response = await fetch(options.to, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      const text = await responseStart(response);
      const took = `${response.status} ${Math.round(performance.now() - started)} ms`;
      if (response.status < 300) {
        options.state.save(id);
        return options.write(`${line} ${took}`);
      }
      // GitLab gives up on a 4xx; a 429 says when to come back.
      if (response.status !== 429 && response.status < 500) {
        options.state.save(id);
        const said = printable(text).slice(0, 200);
        return options.write(`${line} ${took}, skipped${said ? `: ${said}` : ""}`);
      }
      outcome = took;
      waitUntil = retryAfter(response.headers.get("retry-after"));
    } catch (error) {
      if (options.signal.aborted) throw error;
      const why =
        (error as Error).name === "TimeoutError" ? `no answer within ${options.timeoutMs / 1000} s` : `no answer (${networkCause(error)})`;
      outcome = why;
    }
    // A Retry-After is honoured up to an hour: a bot on a laptop does not mean days.
    const waitMs = waitUntil !== null ? Math.min(Math.max(0, waitUntil - Date.now()), 3_600_000) : retryDelayMs(attempt, RETRY);
    options.write(`${line} ${outcome}, retrying in ${(waitMs / 1000).toFixed(1)} s`);
    await sleep(waitMs, undefined, { signal: options.signal });
  }
}

function defaultStatePath(): string {
  const base = process.env.XDG_STATE_HOME?.trim() || join(homedir(), ".local", "state");
  return join(base, "gitlab-webhooks", "forward.json");
}

function parseUrl(value: string, what: string): URL {
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return url;
  } catch {
    // Said below.
  }
  throw new UsageError(`${what} takes an http(s) URL, got ${JSON.stringify(value)}`);
}

export async function forward(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args: argv,
    allowPositionals: false,
    options: {
      to: { type: "string" },
      from: { type: "string" },
      token: { type: "string" },
      "target-token": { type: "string" },
      type: { type: "string" },
      action: { type: "string" },
      project: { type: "string" },
      hook: { type: "string" },
      since: { type: "string" },
      state: { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(FORWARD_HELP);
    return 0;
  }
  if (values.to === undefined) throw new UsageError("--to URL is required: the bot's webhook URL");
  loadDotEnv();
  const to = parseUrl(values.to, "--to");
  const from = parseUrl(values.from ?? `http://127.0.0.1:${process.env.PORT?.trim() || "8000"}/sse/`, "--from");
  if (values.since !== undefined && !/^\d{1,15}$/.test(values.since)) throw new UsageError("--since takes an event id (a whole number)");
  const timeoutSeconds = Number(values.timeout ?? "10");
  if (!(timeoutSeconds > 0 && timeoutSeconds <= 3600))
    throw new UsageError("--timeout takes a number of seconds, more than 0 and at most 3600");

  const state = new ForwardState(values.state ?? defaultStatePath(), `${from.origin}${from.pathname} → ${to.href}`);
  const since = values.since !== undefined ? Number(values.since) : state.lastId;
  const feed = new URL(from);
  feed.searchParams.set("format", "smee");
  for (const name of ["type", "action", "project", "hook"] as const) {
    const value = values[name];
    if (value !== undefined) feed.searchParams.set(name, value);
  }
  const token = values.token ?? firstOf(process.env.SSE_TOKEN) ?? firstOf(process.env.ADMIN_TOKEN);
  const warn = (line: string) => process.stderr.write(`gitlab-webhooks forward: ${line}\n`);
  if (!token) warn("no token (--token, SSE_TOKEN or ADMIN_TOKEN): only public projects' events are forwarded");
  warn(`forwarding ${from.origin}${from.pathname} to ${to.href}, ${since === undefined ? "from the next event" : `after event #${since}`}`);

  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  const options: ForwardOptions = {
    to: to.href,
    targetToken: values["target-token"],
    timeoutMs: timeoutSeconds * 1000,
    state,
    write: (line) => process.stdout.write(`${line}\n`),
    signal: controller.signal,
  };
  try {
    await follow({
      url: feed.href,
      token,
      since,
      json: false,
      write: options.write,
      warn,
      signal: controller.signal,
      onEvent: (message) => forwardEvent(message, options),
    });
  } catch (error) {
    if (error instanceof FatalFeedError) {
      warn(`the feed refused: ${error.message}`);
      return 1;
    }
    throw error;
  }
  return 0;
}
