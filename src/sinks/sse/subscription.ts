import type { EventMeta, HookKind } from "../../core/event.js";
import { globMatcher } from "../../core/glob.js";

export interface Filters {
  type: string[];
  action: string[];
  project: string[];
  hook: HookKind[];
}

const HOOKS: readonly HookKind[] = ["system", "project", "group", "unknown"];

function values(query: Record<string, unknown>, name: string): string[] {
  const raw = query[name];
  const parts = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return parts
    .flatMap((part) => String(part).split(","))
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/** Reads type=, action=, project= (globs) and hook= from a query; an error names the bad value. */
export function parseFilters(query: Record<string, unknown>): Filters | { error: string } {
  const hook = values(query, "hook");
  const unknown = hook.find((value) => !HOOKS.includes(value as HookKind));
  if (unknown !== undefined) return { error: `hook=${unknown} is not one of ${HOOKS.join(", ")}` };
  return { type: values(query, "type"), action: values(query, "action"), project: values(query, "project"), hook: hook as HookKind[] };
}

/**
 * Who may see what: without a token, only events of public projects. Events of private or internal
 * projects, and events about no project (users, groups, keys), need a token.
 */
export function isPublic(meta: EventMeta): boolean {
  return meta.project?.visibility === "public";
}

/** The predicate a subscriber's events must pass: visibility first, then every given filter. */
export function subscriptionPredicate(filters: Filters, privileged: boolean): (meta: EventMeta) => boolean {
  const types = new Set(filters.type);
  const actions = new Set(filters.action);
  const hooks = new Set(filters.hook);
  const projectMatches = globMatcher(filters.project);
  return (meta) =>
    (privileged || isPublic(meta)) &&
    (types.size === 0 || types.has(meta.type)) &&
    (actions.size === 0 || (meta.action !== null && actions.has(meta.action))) &&
    (hooks.size === 0 || hooks.has(meta.hook)) &&
    (filters.project.length === 0 || (meta.project?.path != null && projectMatches(meta.project.path)));
}
