import type { EventSourceMessage } from "eventsource-parser";
import { setTimeout as sleep } from "node:timers/promises";
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { GitLabEvent } from "../core/event.js";
import { loadDotEnv } from "../configuration.js";
import { networkCause } from "../support/network-cause.js";
import { firstOf, parseCommandArgs, UsageError } from "./args.js";
import { formatEvent } from "./format-event.js";

const TAIL_HELP = `Usage: gitlab-webhooks tail [URL] [options]

Follows a daemon's event feed and prints one line per event. Reconnects after a dropped connection
or a daemon restart and resumes from the last event seen, so nothing is missed.

  URL                 the feed (default http://127.0.0.1:$PORT/sse/, PORT default 8000)
  --type T,…          only these types: object kinds (merge_request, push, …) or GitLab's hook
                      scopes (merge_requests, push_events, …)
  --action A,…        only these actions (open,merge,…)
  --project GLOB,…    only projects whose path matches (repos/releng/*)
  --hook H,…          only these hooks (system, project, group)
  --since ID          start after this event id (replays what is stored)
  --token T           to see private and internal projects' events, and events about no project
                      (default: the first of $SSE_TOKEN, else of $ADMIN_TOKEN); without one, tail
                      says how many events the feed withheld
  --json              print each event as one JSON line instead
  -h, --help          show this help

Reads PORT, SSE_TOKEN and ADMIN_TOKEN from the environment or .env.

Example:
  gitlab-webhooks tail --type merge_request --project 'repos/releng/*'
`;

const MAX_WAIT_MS = 30_000;

export class FatalFeedError extends Error {}
/** The daemon answered, but not with its feed (a 5xx while it starts or stops). */
class FeedAnswer extends Error {}

/** Why the feed is gone, with where it was looked for: a refused connection is a daemon not running. */
function lostFeed(error: unknown, url: string): string {
  if (error instanceof FeedAnswer) return error.message;
  const cause = networkCause(error);
  if (/^ECONNREFUSED|^ENOTFOUND|^EHOSTUNREACH|^ECONNRESET/.test(cause))
    return `cannot reach the feed at ${url} (${cause}): is the daemon running?`;
  return `feed connection to ${url} lost (${cause})`;
}

interface TailOptions {
  url: string;
  token?: string;
  since?: number;
  json: boolean;
  write: (line: string) => void;
  warn: (line: string) => void;
  signal?: AbortSignal;
  /** Takes each event's message instead of printing it: the feed waits for it, and resumes after the last one taken. */
  onEvent?: (message: EventSourceMessage) => Promise<void>;
}

/** How long to wait before reconnecting: the server's retry hint, doubling while the daemon stays away. */
function waitAfter(retryMs: number, failures: number): number {
  return Math.min(MAX_WAIT_MS, retryMs * 2 ** Math.max(0, failures - 1));
}

/** Reads the feed until aborted, reconnecting with Last-Event-ID; throws only on a refusal (4xx). */
export async function follow(options: TailOptions): Promise<void> {
  let lastId = options.since;
  let retryMs = 1000;
  let failures = 0;
  while (!options.signal?.aborted) {
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      if (options.token) headers.Authorization = `Bearer ${options.token}`;
      if (lastId !== undefined) headers["Last-Event-ID"] = String(lastId);
      const response = await fetch(options.url, { headers, signal: options.signal });
      if (response.status >= 400 && response.status < 500) {
        const body = (await response.json().catch(() => ({}))) as { error?: string };
        throw new FatalFeedError(`${response.status}: ${body.error ?? response.statusText}`);
      }
      if (!response.ok || !response.body) throw new FeedAnswer(`the feed at ${options.url} answered ${response.status}`);
      failures = 0;
      const messages = response.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream({ onRetry: (ms) => (retryMs = ms) }));
      for await (const message of messages) {
        if (message.event === "stale") {
          options.warn(`some requested events were pruned before they could be replayed: ${message.data}`);
          continue;
        }
        if (message.event === "withheld") {
          const { count } = JSON.parse(message.data) as { count: number };
          options.warn(
            `${count} event${count === 1 ? "" : "s"} withheld: private and internal projects' events, and events about no project, need a token (--token, SSE_TOKEN or ADMIN_TOKEN)`,
          );
          continue;
        }
        if (message.event !== undefined) continue;
        if (options.onEvent) {
          await options.onEvent(message);
          lastId = Number(message.id);
          continue;
        }
        const event = JSON.parse(message.data) as GitLabEvent;
        lastId = event.id;
        options.write(options.json ? message.data : formatEvent(event));
      }
    } catch (error) {
      if (error instanceof FatalFeedError) throw error;
      if (options.signal?.aborted) return;
      failures++;
      const wait = waitAfter(retryMs, failures);
      if (failures === 1 || failures % 10 === 0) {
        const tries = failures === 1 ? "" : ` (${failures} tries so far)`;
        options.warn(`${lostFeed(error, options.url)}; trying again in ${Math.round(wait / 1000)} s${tries}`);
      }
    }
    // Ctrl-C ends the wait too: it must not take up to half a minute to be heard.
    try {
      await sleep(waitAfter(retryMs, failures), undefined, { signal: options.signal });
    } catch {
      return;
    }
  }
}

export async function tail(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      type: { type: "string" },
      action: { type: "string" },
      project: { type: "string" },
      hook: { type: "string" },
      since: { type: "string" },
      token: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(TAIL_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError("tail takes one URL");
  loadDotEnv();
  let url: URL;
  try {
    url = new URL(positionals[0] ?? `http://127.0.0.1:${process.env.PORT ?? "8000"}/sse/`);
  } catch {
    throw new UsageError(`not a URL: ${positionals[0]}`);
  }
  for (const name of ["type", "action", "project", "hook"] as const) {
    const value = values[name];
    if (value !== undefined) url.searchParams.set(name, value);
  }
  let since: number | undefined;
  if (values.since !== undefined) {
    if (!/^\d+$/.test(values.since)) throw new UsageError("--since takes an event id (a whole number)");
    since = Number(values.since);
  }
  // An admin token sees the whole feed too.
  const token = values.token ?? firstOf(process.env.SSE_TOKEN) ?? firstOf(process.env.ADMIN_TOKEN);
  if (!token)
    process.stderr.write("gitlab-webhooks tail: no token (--token, SSE_TOKEN or ADMIN_TOKEN): only public projects' events are shown\n");
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  try {
    await follow({
      url: url.href,
      token,
      since,
      json: values.json ?? false,
      write: (line) => process.stdout.write(`${line}\n`),
      warn: (line) => process.stderr.write(`gitlab-webhooks tail: ${line}\n`),
      signal: controller.signal,
    });
  } catch (error) {
    if (error instanceof FatalFeedError) {
      process.stderr.write(`gitlab-webhooks tail: the feed refused: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  return 0;
}
