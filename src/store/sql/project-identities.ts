import type { ProjectIdentity } from "../../core/store.js";
import { first, toNumber, type SqlDriver, type SqlQueries } from "./driver.js";

export async function projectIdentity(db: SqlQueries, id: number, path: string): Promise<ProjectIdentity> {
  const byId = await first<{ path: string; confirmed: number | string }>(
    db,
    "SELECT path, confirmed FROM project_identities WHERE project_id = :id",
    { id },
  );
  const byPath = await first<{ project_id: number | string; confirmed: number | string }>(
    db,
    "SELECT project_id, confirmed FROM project_identities WHERE path = :path",
    { path },
  );
  return {
    pathOfId: byId ? { path: byId.path, confirmed: toNumber(byId.confirmed) === 1 } : null,
    idOfPath: byPath ? { id: toNumber(byPath.project_id) as number, confirmed: toNumber(byPath.confirmed) === 1 } : null,
  };
}

export function bindProject(db: SqlDriver, id: number, path: string, confirmed: boolean, now: number): Promise<void> {
  return db.transaction(async (tx) => {
    if (!confirmed) {
      const taken = await tx.all("SELECT project_id FROM project_identities WHERE project_id = :id OR path = :path", { id, path });
      if (taken.length === 0) await tx.insertIfAbsent("project_identities", { project_id: id, path, confirmed: 0, updated_at: now });
      return;
    }
    // The path now belongs to this id; whichever id had it before lost it (a rename, a deleted project's path reused).
    await tx.run("DELETE FROM project_identities WHERE path = :path AND project_id <> :id", { path, id });
    if (await tx.insertIfAbsent("project_identities", { project_id: id, path, confirmed: 1, updated_at: now })) return;
    await tx.run("UPDATE project_identities SET path = :path, confirmed = 1, updated_at = :now WHERE project_id = :id", { id, path, now });
  });
}
