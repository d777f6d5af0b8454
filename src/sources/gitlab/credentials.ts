import type { IncomingHttpHeaders } from "node:http";
import type { ProjectTokenEntry } from "./project-tokens.js";
import { matchesAnySecret } from "../../support/secrets.js";
import { verifySignature } from "./verify-signature.js";
import { readHeader } from "./read-header.js";

/**
 * Who sent a request. `instance`: a SOURCE_TOKEN value, trusted for every event. `signed`: a
 * SOURCE_SIGNING_TOKEN signature, trusted alike, whose signed webhook-id identifies the delivery.
 * `project`: a PROJECT_TOKENS token, trusted only for events of the projects its globs name.
 */
export type Credential = { kind: "instance" } | { kind: "signed"; webhookId: string } | { kind: "project"; globs: string[] };

interface CredentialOptions {
  tokens: readonly string[];
  signingSecrets: readonly string[];
  projectTokens: readonly ProjectTokenEntry[];
}

/** What the headers claim, before the body is read. */
export type Claimed =
  | { kind: "instance" }
  | { kind: "signature"; id: string | undefined; timestamp: string | undefined; signature: string }
  | { kind: "project"; entries: ProjectTokenEntry[] };

/**
 * Judges the headers alone: a token that matches no configured secret at all is refused here,
 * before a byte of the body is read (an anonymous 25 MB body costs nothing).
 */
export function claimedCredential(headers: IncomingHttpHeaders, options: CredentialOptions): Claimed | { refused: string } {
  const signature = readHeader(headers, "webhook-signature");
  if (signature !== undefined && options.signingSecrets.length > 0) {
    return { kind: "signature", id: readHeader(headers, "webhook-id"), timestamp: readHeader(headers, "webhook-timestamp"), signature };
  }
  const token = readHeader(headers, "x-gitlab-token");
  if (token === undefined || token === "") {
    return {
      refused:
        options.signingSecrets.length > 0
          ? "missing X-Gitlab-Token header or webhook-signature; set the hook's secret token"
          : "missing X-Gitlab-Token header; set the hook's secret token to a value of SOURCE_TOKEN",
    };
  }
  if (matchesAnySecret(token, options.tokens)) return { kind: "instance" };
  const entries = options.projectTokens.filter((entry) => matchesAnySecret(token, [entry.token]));
  if (entries.length > 0) return { kind: "project", entries };
  return { refused: "X-Gitlab-Token does not match any accepted token" };
}

/**
 * With the body read: a signature is checked over it, and a project token must name the project
 * the event is about. An event without a project path is never authenticated by a project token.
 */
export function confirmedCredential(
  claimed: Claimed,
  body: Buffer,
  projectPath: () => string | null,
  signingSecrets: readonly string[],
): Credential | { refused: string } {
  if (claimed.kind === "instance") return claimed;
  if (claimed.kind === "signature") {
    const refused = verifySignature({ ...claimed, body }, signingSecrets);
    return refused ? { refused } : { kind: "signed", webhookId: claimed.id as string };
  }
  const path = projectPath();
  const globs = path === null ? [] : claimed.entries.filter((entry) => entry.matches(path)).map((entry) => entry.glob);
  if (globs.length === 0) return { refused: "X-Gitlab-Token does not match any accepted token for this project" };
  return { kind: "project", globs };
}
