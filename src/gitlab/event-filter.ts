import type { EventMeta, HookKind } from "../core/event.js";
import { eventTypesOf } from "./event-catalogue.js";
import { globMatcher } from "../core/glob.js";

/** What a subscriber asks for: every list that is not empty must match (the feed's meaning). */
interface EventFilterSpec {
  /** Object kinds or GitLab's hook-scope names (merge_requests, push_events, …). */
  types?: readonly string[];
  actions?: readonly string[];
  /** Project path globs; `*` matches across `/`. */
  projects?: readonly string[];
  hooks?: readonly HookKind[];
}

/** Whether an event passes every given filter; no filter at all passes everything. */
export function eventFilter(spec: EventFilterSpec): (meta: EventMeta) => boolean {
  const types = new Set(eventTypesOf(spec.types ?? []));
  const actions = new Set(spec.actions ?? []);
  const hooks = new Set(spec.hooks ?? []);
  const projects = spec.projects ?? [];
  const projectMatches = globMatcher(projects);
  return (meta) =>
    (types.size === 0 || types.has(meta.type)) &&
    (actions.size === 0 || (meta.action !== null && actions.has(meta.action))) &&
    (hooks.size === 0 || hooks.has(meta.hook)) &&
    (projects.length === 0 || (meta.project?.path != null && projectMatches(meta.project.path)));
}
