import { existsSync, readFileSync } from "node:fs";
import { FIRST_RUN_TOKEN_COPY } from "../sources/gitlab/first-run-token.js";
import { networkCause } from "../support/network-cause.js";
import { sign } from "../support/standard-webhooks.js";
import { firstOf, UsageError } from "./args.js";

/** Where and how a command posts to a running daemon's /hooks, as its operator. */
interface DaemonTarget {
  url: string;
  /** X-Gitlab-Token: a SOURCE_TOKEN value, or the daemon's first-run token. */
  token: string | undefined;
  /** A SOURCE_SIGNING_TOKEN secret: requests are signed as Standard Webhooks. */
  signingToken: string | undefined;
}

/** The token the daemon accepts from its own machine when SOURCE_TOKEN is unset: its first-run token's copy. */
function firstRunToken(): string | undefined {
  return existsSync(FIRST_RUN_TOKEN_COPY) ? readFileSync(FIRST_RUN_TOKEN_COPY, "utf8").trim() : undefined;
}

/** The daemon of this environment (PORT, SOURCE_TOKEN, SOURCE_SIGNING_TOKEN), unless options say otherwise. */
export function daemonTarget(given: { url?: string; token?: string; signingToken?: string }): DaemonTarget {
  const target = {
    url: given.url ?? `http://127.0.0.1:${process.env.PORT?.trim() || "8000"}/hooks`,
    token: given.token ?? firstOf(process.env.SOURCE_TOKEN) ?? firstRunToken(),
    signingToken: given.signingToken ?? firstOf(process.env.SOURCE_SIGNING_TOKEN),
  };
  if (!target.token && !target.signingToken) {
    throw new UsageError(
      `no token: pass --token or --signing-token, or set SOURCE_TOKEN; a daemon started in this directory without one keeps its first-run token in ${FIRST_RUN_TOKEN_COPY}, and there is none here`,
    );
  }
  return target;
}

interface DaemonAnswer {
  status: number;
  body: { id?: number; duplicate?: boolean; error?: string } | null;
  text: string;
}

/**
 * POSTs one request body to the daemon with the operator's credential. `deliveryId` is what makes
 * a second post a duplicate: the Idempotency-Key, and the signed webhook-id.
 */
export async function postToDaemon(
  target: DaemonTarget,
  body: string | Buffer,
  headers: Record<string, string>,
  deliveryId: string,
): Promise<DaemonAnswer> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const sent: Record<string, string> = {
    "Content-Type": "application/json",
    ...headers,
    "Idempotency-Key": deliveryId,
    "webhook-id": deliveryId,
    "webhook-timestamp": timestamp,
  };
  if (target.token) sent["X-Gitlab-Token"] = target.token;
  if (target.signingToken) sent["webhook-signature"] = sign(target.signingToken, deliveryId, timestamp, body);
  let response: Response;
  try {
    response = await fetch(target.url, { method: "POST", headers: sent, body: typeof body === "string" ? body : new Uint8Array(body) });
  } catch (error) {
    throw new Error(`could not reach the daemon at ${target.url} (${networkCause(error)}): is it running?`);
  }
  const text = (await response.text()).trim();
  let parsed: DaemonAnswer["body"] = null;
  try {
    parsed = JSON.parse(text) as DaemonAnswer["body"];
  } catch {
    // Not the daemon's JSON: the text says what answered.
  }
  return { status: response.status, body: parsed, text };
}
