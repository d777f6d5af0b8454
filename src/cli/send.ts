import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { loadDotEnv } from "../core/config.js";
import { firstRunTokenPath } from "../core/first-run-token.js";
import { guessEventHeader } from "../sources/gitlab/event-header.js";
import { sign } from "../sources/gitlab/sign.js";
import { firstOf, parseCommandArgs, UsageError } from "./args.js";

export const SEND_HELP = `Usage: gitlab-webhooks send FILE... [options]

Posts each JSON file to a running daemon the way GitLab does: X-Gitlab-Event, X-Gitlab-Token,
a fresh Idempotency-Key and webhook-id/webhook-timestamp, and a Standard Webhooks signature
when a signing token is given. Prints each response.

Options:
  --url URL             where to post (default http://127.0.0.1:$PORT/hooks, PORT default 8000)
  --token T             X-Gitlab-Token (default: first SOURCE_TOKEN, else the daemon's first-run token)
  --signing-token S     whsec_… secret to sign with (default: first SOURCE_SIGNING_TOKEN, if any)
  --event NAME          X-Gitlab-Event, e.g. "Push Hook" or "System Hook" (default: guessed from the body)
  --instance URL        X-Gitlab-Instance (default https://gitlab.example.com)
  -h, --help            show this help

Exit status: 0 when every file was accepted (202 or duplicate 200), 1 otherwise.
`;

function defaultToken(): string | undefined {
  const configured = firstOf(process.env.SOURCE_TOKEN);
  if (configured) return configured;
  const path = firstRunTokenPath(process.env.DATABASE_PATH ?? "data/gitlab-webhooks.sqlite");
  return existsSync(path) ? readFileSync(path, "utf8").trim() : undefined;
}

export async function send(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      "signing-token": { type: "string" },
      event: { type: "string" },
      instance: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(SEND_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("send needs at least one JSON file");
  loadDotEnv();
  const url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? "8000"}/hooks`;
  const token = values.token ?? defaultToken();
  const signingToken = values["signing-token"] ?? firstOf(process.env.SOURCE_SIGNING_TOKEN);
  if (!token && !signingToken) throw new UsageError("no token: pass --token or --signing-token, or set SOURCE_TOKEN");

  let allAccepted = true;
  for (const file of positionals) {
    const body = readFileSync(file);
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      // Sent as it is: the daemon's answer says what is wrong with it.
    }
    const id = randomUUID();
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "User-Agent": "GitLab/gitlab-webhooks-send",
      "X-Gitlab-Event": values.event ?? guessEventHeader(parsed),
      "X-Gitlab-Instance": values.instance ?? "https://gitlab.example.com",
      "X-Gitlab-Event-UUID": id,
      "Idempotency-Key": id,
      "webhook-id": id,
      "webhook-timestamp": timestamp,
    };
    if (token) headers["X-Gitlab-Token"] = token;
    if (signingToken) headers["webhook-signature"] = sign(signingToken, id, timestamp, body);
    try {
      const response = await fetch(url, { method: "POST", headers, body });
      const text = (await response.text()).trim();
      process.stdout.write(`${file}: ${response.status} ${text}\n`);
      if (response.status !== 202 && response.status !== 200) allAccepted = false;
    } catch (error) {
      process.stdout.write(`${file}: could not reach ${url}: ${(error as Error).cause ?? (error as Error).message}\n`);
      allAccepted = false;
    }
  }
  return allAccepted ? 0 : 1;
}
