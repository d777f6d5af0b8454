import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadDotEnv } from "../configuration.js";
import { guessEventHeader } from "../sources/gitlab/event-header.js";
import { parseCommandArgs, UsageError } from "./args.js";
import { daemonTarget, postToDaemon } from "./post-to-daemon.js";
import { errorMessage } from "../support/error-message.js";

const SEND_HELP = `Usage: gitlab-webhooks send FILE... [options]

Posts each JSON file to a running daemon the way GitLab does: X-Gitlab-Event, X-Gitlab-Token,
a fresh Idempotency-Key and webhook-id/webhook-timestamp, and a Standard Webhooks signature
when a signing token is given. Prints each response.

Options:
  --url URL             where to post (default http://127.0.0.1:$PORT/hooks, PORT default 8000)
  --token T             X-Gitlab-Token (default: the first of SOURCE_TOKEN, else the first-run
                        token a daemon started in this directory keeps in data/source-token)
  --signing-token S     whsec_… secret to sign with (default: first SOURCE_SIGNING_TOKEN, if any)
  --event NAME          X-Gitlab-Event, e.g. "Push Hook" or "System Hook" (default: guessed from the body)
  --instance URL        X-Gitlab-Instance (default https://gitlab.example.com)
  -h, --help            show this help

Reads PORT, SOURCE_TOKEN and SOURCE_SIGNING_TOKEN from the environment or .env.

Example:
  gitlab-webhooks send test/fixtures/gitlab/project__issue.json

Exit status: 0 when every file was accepted (202 or duplicate 200), 1 otherwise.
`;

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
  const target = daemonTarget({ url: values.url, token: values.token, signingToken: values["signing-token"] });

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
    const headers = {
      "User-Agent": "GitLab/gitlab-webhooks-send",
      "X-Gitlab-Event": values.event ?? guessEventHeader(parsed),
      "X-Gitlab-Instance": values.instance ?? "https://gitlab.example.com",
      "X-Gitlab-Event-UUID": id,
    };
    try {
      const answer = await postToDaemon(target, body, headers, id);
      process.stdout.write(`${file}: ${answer.status} ${answer.text}\n`);
      if (answer.status !== 202 && answer.status !== 200) allAccepted = false;
    } catch (error) {
      process.stdout.write(`${file}: ${errorMessage(error)}\n`);
      allAccepted = false;
    }
  }
  return allAccepted ? 0 : 1;
}
