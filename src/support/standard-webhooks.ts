import { createHmac } from "node:crypto";

/** The HMAC key of a Standard Webhooks secret: the base64 after `whsec_`. */
function signingKey(secret: string): Buffer {
  return Buffer.from(secret.replace(/^whsec_/, ""), "base64");
}

/**
 * A Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
export function sign(secret: string, id: string, timestamp: string, body: Buffer | string): string {
  const hmac = createHmac("sha256", signingKey(secret));
  hmac.update(`${id}.${timestamp}.`);
  hmac.update(body);
  return `v1,${hmac.digest("base64")}`;
}
