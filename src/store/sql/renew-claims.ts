import type { SqlDriver } from "./driver.js";

/** Claims renewed per statement: the list stays short enough for any engine. */
const CLAIMS_PER_STATEMENT = 100;

/**
 * Extends the named claims (each one lane's), and says which are still held: a claim another
 * daemon took over after it lapsed has no row left, and its lane must stop.
 */
export async function renewClaims(db: SqlDriver, claims: readonly string[], now: number): Promise<string[]> {
  const held: string[] = [];
  for (let start = 0; start < claims.length; start += CLAIMS_PER_STATEMENT) {
    const some = claims.slice(start, start + CLAIMS_PER_STATEMENT);
    await db.run("UPDATE deliveries SET locked_at = :now WHERE locked_by IN (:claims) AND status = 'pending'", { claims: some, now });
    const rows = await db.all<{ locked_by: string }>("SELECT DISTINCT locked_by FROM deliveries WHERE locked_by IN (:claims)", {
      claims: some,
    });
    held.push(...rows.map((row) => row.locked_by));
  }
  return held;
}
