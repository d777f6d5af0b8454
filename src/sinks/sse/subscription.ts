import type { EventMeta, HookKind } from "../../core/event.js";
import { eventTypesOf } from "../../gitlab/event-catalogue.js";
import { eventFilter } from "../../gitlab/event-filter.js";
import { globProblem } from "../../core/glob.js";

interface Filters {
  type: string[];
  action: string[];
  project: string[];
  hook: HookKind[];
}

const HOOKS: readonly HookKind[] = ["system", "project", "group", "unknown"];

/**
 * The most values one filter parameter takes, and the longest value: what one subscriber's filter
 * costs to keep and to apply to every event stays small, whoever connects.
 */
const MAX_FILTER_VALUES = 20;
const MAX_FILTER_VALUE_LENGTH = 255;

function values(query: Record<string, unknown>, name: string): string[] | { error: string } {
  const raw = query[name];
  const parts = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const found = parts
    .flatMap((part) => String(part).split(","))
    .map((part) => part.trim())
    .filter((part) => part !== "");
  if (found.length > MAX_FILTER_VALUES)
    return { error: `${name}= has ${found.length} values; the feed takes at most ${MAX_FILTER_VALUES} per parameter` };
  const long = found.find((value) => value.length > MAX_FILTER_VALUE_LENGTH);
  if (long !== undefined)
    return { error: `a value of ${name}= is ${long.length} characters long; the feed takes at most ${MAX_FILTER_VALUE_LENGTH}` };
  return found;
}

const FILTER_PARAMETERS = ["type", "action", "project", "hook"] as const;

/** The query parameters /sse/ knows: a misspelt filter must not silently mean "everything". */
const FEED_PARAMETERS = [...FILTER_PARAMETERS, "since", "token", "format"] as const;

/**
 * Reads type= (object kinds or GitLab's hook-scope names: merge_requests, push_events), action=,
 * project= (globs) and hook= from a query; an error names the bad value or parameter.
 */
export function parseFilters(query: Record<string, unknown>): Filters | { error: string } {
  const unknownParameter = Object.keys(query).find((name) => !(FEED_PARAMETERS as readonly string[]).includes(name));
  if (unknownParameter !== undefined)
    return { error: `unknown parameter "${unknownParameter}" (the feed takes ${FEED_PARAMETERS.join(", ")})` };
  const lists = {} as Record<(typeof FILTER_PARAMETERS)[number], string[]>;
  for (const name of FILTER_PARAMETERS) {
    const parsed = values(query, name);
    if ("error" in parsed) return parsed;
    lists[name] = parsed;
  }
  const unknown = lists.hook.find((value) => !HOOKS.includes(value as HookKind));
  if (unknown !== undefined) return { error: `hook=${unknown} is not one of ${HOOKS.join(", ")}` };
  const notGlob = lists.project.map(globProblem).find((problem) => problem !== null);
  if (notGlob) return { error: `project=${notGlob}` };
  return { type: eventTypesOf(lists.type), action: lists.action, project: lists.project, hook: lists.hook as HookKind[] };
}

/**
 * Who may see what: without a token, only events of public projects. Events of private or internal
 * projects, and events about no project (users, groups, keys), need a token.
 */
function isPublic(meta: EventMeta): boolean {
  return meta.project?.visibility === "public";
}

/** Whether an event passes every given filter, whoever asks (the http sink's endpoints filter alike). */
function filterPredicate(filters: Filters): (meta: EventMeta) => boolean {
  return eventFilter({ types: filters.type, actions: filters.action, projects: filters.project, hooks: filters.hook });
}

/** The predicate a subscriber's events must pass: visibility first, then every given filter. */
export function subscriptionPredicate(filters: Filters, privileged: boolean): (meta: EventMeta) => boolean {
  const matches = filterPredicate(filters);
  return (meta) => (privileged || isPublic(meta)) && matches(meta);
}

/** Events a subscriber without a token asked for but may not see. */
export function withheldPredicate(filters: Filters): (meta: EventMeta) => boolean {
  const matches = filterPredicate(filters);
  return (meta) => !isPublic(meta) && matches(meta);
}
