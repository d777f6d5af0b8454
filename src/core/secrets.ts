import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * True when `given` equals one of `accepted`. Each comparison runs in constant time over
 * fixed-length digests, so neither a token's content nor its length leaks through timing.
 */
export function matchesAnySecret(given: string | undefined, accepted: readonly string[]): boolean {
  if (given === undefined || given === "") return false;
  const digest = createHash("sha256").update(given).digest();
  let matched = false;
  for (const candidate of accepted) {
    const expected = createHash("sha256").update(candidate).digest();
    if (timingSafeEqual(digest, expected)) matched = true;
  }
  return matched;
}

/** A strong random token (256 bits, URL-safe). */
export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The token of an `Authorization: Bearer …` header, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}
