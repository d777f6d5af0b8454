import type { Request, Response } from "express";
import { requireAdminToken } from "../../http/admin-auth.js";
import { sendError } from "../../http/json-errors.js";
import type { Sink, SinkFactory } from "../../core/sink.js";
import { wholeNumberIn } from "../../core/whole-number.js";
import { INVENTORY_TYPES, inventoryChanges } from "./apply-event.js";
import type { DaemonConfig } from "../../config/daemon-settings.js";

/** What this sink reads of the configuration. */
type Settings = DaemonConfig;

/**
 * `inventory`: projects, groups and branches kept current by system and group hooks, served
 * read-only at /api/projects and /api/groups/<path>/projects (ADMIN_TOKEN).
 */
export const createInventorySink: SinkFactory<Settings> = ({ config, store, router }) => {
  const inventory = store.inventory;

  const pageOf = (req: Request, res: Response) => {
    const limit = req.query.limit === undefined ? 100 : wholeNumberIn(req.query.limit, 1, 1000);
    const offset = req.query.offset === undefined ? 0 : wholeNumberIn(req.query.offset, 0, Number.MAX_SAFE_INTEGER);
    if (limit === null) return sendError(res, 400, "limit must be from 1 to 1000, in plain digits");
    if (offset === null) return sendError(res, 400, "offset must be a whole number from 0, in plain digits");
    return { limit, offset };
  };
  const nonEmpty = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);

  const auth = requireAdminToken(config.ADMIN_TOKEN);
  router.get("/api/projects", auth, async (req: Request, res: Response) => {
    const page = pageOf(req, res);
    if (!page) return;
    res.json({ projects: await inventory.listProjects({ group: nonEmpty(req.query.group), q: nonEmpty(req.query.q), ...page }) });
  });

  router.get("/api/projects/:ref", auth, async (req: Request, res: Response) => {
    const ref = String(req.params.ref);
    const project = /^\d+$/.test(ref) ? await inventory.projectById(Number(ref)) : await inventory.projectByPath(ref);
    if (!project) return sendError(res, 404, `no project ${ref} in the inventory (ids, or paths URL-encoded: group%2Fproject)`);
    res.json({ ...project, branches: await inventory.branches(project.id) });
  });

  router.get("/api/groups/:path/projects", auth, async (req: Request, res: Response) => {
    const page = pageOf(req, res);
    if (!page) return;
    const path = String(req.params.path);
    const projects = await inventory.listProjects({ group: path, q: null, ...page });
    if (projects.length === 0 && !(await inventory.groupExists(path))) return sendError(res, 404, `no group ${path} in the inventory`);
    res.json({ group: path, projects });
  });

  const sink: Sink = {
    name: "inventory",
    accepts: (event) => INVENTORY_TYPES.has(event.type),
    handle: (event) => inventory.apply(inventoryChanges(event)),
  };
  return sink;
};
