import type { Logger } from "winston";
import type { EventProject } from "../../core/event.js";
import type { Store } from "../../core/store.js";
import type { Credential } from "./credentials.js";

/** Bindings this process wrote for instance credentials, so that a known project costs no write. */
const CACHE_LIMIT = 50_000;

/**
 * Holds a project token to the project it authenticates. A project token is checked against the
 * event's path; every consumer acts on the event's id and path, so the two must agree with what
 * the store knows of them: bindings written by instance-wide credentials (system hooks,
 * SOURCE_TOKEN) are the truth, and a project token's first event of a project binds it otherwise.
 */
export class ProjectIdentities {
  private readonly bound = new Map<number, string>();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  /** The project consumers may act on, or why the event is refused. */
  async check(credential: Credential, project: EventProject | null): Promise<{ project: EventProject | null } | { refused: string }> {
    if (project === null || project.id === null || project.path === null) return { project };
    const { id, path } = project;
    if (credential.kind !== "project") {
      if (this.bound.get(id) !== path) {
        await this.store.bindProject(id, path, true, Date.now());
        if (this.bound.size >= CACHE_LIMIT) this.bound.clear();
        this.bound.set(id, path);
      }
      return { project };
    }
    const known = await this.store.projectIdentity(id, path);
    if (known.pathOfId?.confirmed && known.pathOfId.path !== path) {
      return {
        refused: `project id ${id} is ${known.pathOfId.path}, not ${path}: a project token only authenticates events about its own project`,
      };
    }
    if (known.idOfPath?.confirmed && known.idOfPath.id !== id) {
      return {
        refused: `${path} is project id ${known.idOfPath.id}, not ${id}: a project token only authenticates events about its own project`,
      };
    }
    if ((known.pathOfId && known.pathOfId.path !== path) || (known.idOfPath && known.idOfPath.id !== id)) {
      // Two project tokens disagree and nothing instance-wide says which is right: act on the path alone.
      this.logger.warn(
        "a project token's event names a project id that another project token's event bound to another path; the id is withheld",
        {
          project: path,
          id,
        },
      );
      return { project: { ...project, id: null } };
    }
    if (!known.pathOfId) await this.store.bindProject(id, path, false, Date.now());
    return { project };
  }
}
