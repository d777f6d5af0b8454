import { timingSafeEqual } from "node:crypto";
import { sign } from "../../support/standard-webhooks.js";

/** Standard Webhooks' recommended tolerance for webhook-timestamp. */
const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

interface SignedRequest {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string;
  body: Buffer;
}

/** Why a signature was refused, or null when one of the secrets signed this request. */
export function verifySignature(request: SignedRequest, secrets: readonly string[], now: Date = new Date()): string | null {
  if (!request.id || !request.timestamp) {
    return "webhook-signature needs webhook-id and webhook-timestamp headers";
  }
  if (!/^\d{1,12}$/.test(request.timestamp)) return "webhook-timestamp must be whole seconds since 1970";
  const skew = Math.abs(now.getTime() / 1000 - Number(request.timestamp));
  if (skew > TIMESTAMP_TOLERANCE_SECONDS) {
    return "webhook-timestamp is more than 5 minutes from now (replayed request, or a clock out of sync)";
  }
  const offered = request.signature
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => Buffer.from(entry.slice(3), "base64"));
  if (offered.length === 0) return "webhook-signature has no v1 signature";
  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(sign(secret, request.id, request.timestamp, request.body).slice(3), "base64");
    for (const candidate of offered) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
  }
  return matched ? null : "webhook-signature does not match any SOURCE_SIGNING_TOKEN secret";
}
