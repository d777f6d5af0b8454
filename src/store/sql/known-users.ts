import { first, type SqlDriver, type SqlQueries } from "./driver.js";

/** Binds a user id to its username (a rename replaces it). */
export function rememberUser(db: SqlDriver, id: number, username: string, now: number): Promise<void> {
  return db.transaction(async (tx) => {
    if (await tx.insertIfAbsent("known_users", { user_id: id, username, updated_at: now })) return;
    await tx.run("UPDATE known_users SET username = :username, updated_at = :now WHERE user_id = :id AND username <> :username", {
      id,
      username,
      now,
    });
  });
}

export async function usernameOf(db: SqlQueries, id: number): Promise<string | null> {
  return (await first<{ username: string }>(db, "SELECT username FROM known_users WHERE user_id = :id", { id }))?.username ?? null;
}
