import crypto, { createHash, randomBytes, timingSafeEqual } from "node:crypto";

// crypto.hash (Node 20.12) digests in one call, without the Hash object createHash builds for every
// request. Read from the module object: a named import of it would not even load on an older Node 20.
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;
const sha256: (value: string) => Buffer =
  typeof oneShot === "function" ? (value) => oneShot("sha256", value, "buffer") : (value) => createHash("sha256").update(value).digest();

/** Digests of the configured secrets, made once: only configuration ever lands here. */
const configuredDigests = new Map<string, Buffer>();

function digestOf(secret: string): Buffer {
  let digest = configuredDigests.get(secret);
  if (!digest) configuredDigests.set(secret, (digest = sha256(secret)));
  return digest;
}

/**
 * True when `given` equals one of `accepted` (configured secrets). Each comparison runs in
 * constant time over fixed-length digests, so neither a token's content nor its length leaks
 * through timing.
 */
export function matchesAnySecret(given: string | undefined, accepted: readonly string[]): boolean {
  if (given === undefined || given === "") return false;
  const digest = sha256(given);
  let matched = false;
  for (const candidate of accepted) {
    if (timingSafeEqual(digest, digestOf(candidate))) matched = true;
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
