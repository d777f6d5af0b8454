/**
 * The inventory's storage: projects, groups and branches, kept by the `inventory` sink through
 * this interface (one implementation per engine, in the engines' migrations).
 *
 * Every row remembers `asOf`, the GitLab time of the news it holds: a change applies only when its
 * news is at least as new, so events arriving late or twice leave the right final state.
 */
export interface InventoryStore {
  /** Applies the changes one event makes, in one transaction. */
  apply(changes: readonly InventoryChange[]): Promise<void>;
  listProjects(search: ProjectSearch): Promise<InventoryProject[]>;
  projectById(id: number): Promise<InventoryProject | null>;
  /** The live project at this path, else the newest deleted one. */
  projectByPath(path: string): Promise<InventoryProject | null>;
  branches(projectId: number): Promise<InventoryBranch[]>;
  groupExists(path: string): Promise<boolean>;
}

export type InventoryChange =
  | ({ kind: "project" } & ProjectNews)
  | ({ kind: "project-deleted" } & ProjectFacts & { asOf: string })
  /** A project seen only through a push: a row without attributes, if it has none yet. */
  | ({ kind: "project-seen" } & ProjectFacts)
  | ({ kind: "group" } & GroupNews)
  | ({ kind: "group-deleted" } & { id: number; path: string | null; name: string | null; asOf: string })
  | { kind: "push"; projectId: number; at: string; pusher: string | null; defaultBranch: string | null }
  | { kind: "branch"; projectId: number; name: string; commit: string | null; at: string; deleted: boolean };

interface ProjectFacts {
  id: number;
  path: string | null;
  name: string | null;
  namespace: string | null;
  visibility: string | null;
}

interface ProjectNews extends ProjectFacts {
  path: string;
  owner: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  asOf: string;
}

interface GroupNews {
  id: number;
  path: string;
  name: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  asOf: string;
  /** The group's path before a rename: every project below it moves along. */
  renamedFrom: string | null;
}

export interface ProjectSearch {
  /** Projects of this group and its subgroups. */
  group: string | null;
  /** Case-insensitive substring of the path or the name. */
  q: string | null;
  limit: number;
  offset: number;
}

export interface InventoryProject {
  id: number;
  path: string | null;
  name: string | null;
  namespace: string | null;
  visibility: string | null;
  owner: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  defaultBranch: string | null;
  lastPushAt: string | null;
  lastPusher: string | null;
  deleted: boolean;
}

export interface InventoryBranch {
  name: string;
  lastCommit: string | null;
  updatedAt: string;
}
