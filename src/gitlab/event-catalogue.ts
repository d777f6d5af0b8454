/**
 * GitLab's events, in one place: the hook scopes a webhook asks for (as its settings page and API
 * spell them), the object kinds each one sends, and which hooks may ask for which. The feed's and
 * the http sink's filters, `hooks add --events` and the metrics' event types all read this table.
 */
export interface HookScope {
  /** The name `hooks add --events` and the README use. */
  name: string;
  /** Other spellings people use for it (singular, plural); `_events` may follow any of them. */
  aliases: readonly string[];
  /** The object kinds GitLab sends for it. */
  kinds: readonly string[];
  /** GitLab's hook flag as the API client sends it; null: `hooks add` cannot ask for it. */
  flag: string | null;
  /** A system hook may ask for it. */
  system: boolean;
  /** A project or group hook may ask for it. */
  projectOrGroup: boolean;
  /** Asked for when `hooks add` names no events (system hooks: every scope they may ask for). */
  byDefault: boolean;
}

const scope = (
  name: string,
  kinds: readonly string[],
  flag: string | null,
  options: Partial<Omit<HookScope, "name" | "kinds" | "flag">> = {},
): HookScope => ({
  name,
  kinds,
  flag,
  aliases: [],
  system: false,
  projectOrGroup: true,
  byDefault: false,
  ...options,
});

export const HOOK_SCOPES: readonly HookScope[] = [
  scope("push", ["push"], "pushEvents", { system: true, byDefault: true }),
  scope("tag_push", ["tag_push"], "tagPushEvents", { aliases: ["tags"], system: true, byDefault: true }),
  scope("merge_requests", ["merge_request"], "mergeRequestsEvents", { aliases: ["merge_request"], system: true, byDefault: true }),
  scope("issues", ["issue", "work_item"], "issuesEvents", { aliases: ["issue"], byDefault: true }),
  scope("confidential_issues", ["issue", "work_item"], "confidentialIssuesEvents"),
  scope("notes", ["note"], "noteEvents", { aliases: ["note"], byDefault: true }),
  scope("confidential_notes", ["note"], "confidentialNoteEvents", { aliases: ["confidential_note"] }),
  scope("pipeline", ["pipeline"], "pipelineEvents", { aliases: ["pipelines"], byDefault: true }),
  scope("job", ["build"], "jobEvents", { aliases: ["jobs"] }),
  scope("wiki_page", ["wiki_page"], "wikiPageEvents", { aliases: ["wiki_pages"] }),
  scope("deployment", ["deployment"], "deploymentEvents", { aliases: ["deployments"] }),
  scope("releases", ["release"], "releasesEvents", { aliases: ["release"] }),
  scope("repository_update", ["repository_update"], "repositoryUpdateEvents", { system: true, projectOrGroup: false }),
  scope("feature_flag", ["feature_flag"], null),
  scope("emoji", ["emoji"], null),
  scope("milestone", ["milestone"], null),
  scope("resource_access_token", ["access_token"], null),
  scope("vulnerability", ["vulnerability"], null),
  scope(
    "member",
    [
      "user_add_to_group",
      "user_update_for_group",
      "user_remove_from_group",
      "user_access_request_to_group",
      "user_access_request_denied_for_group",
    ],
    null,
  ),
  scope("subgroup", ["subgroup_create", "subgroup_destroy"], null),
];

/** Object kinds only system hooks send (no scope asks for them: a system hook gets them all). */
const SYSTEM_HOOK_KINDS = [
  "project_create",
  "project_destroy",
  "project_rename",
  "project_transfer",
  "project_update",
  "group_create",
  "group_destroy",
  "group_rename",
  "user_create",
  "user_destroy",
  "user_rename",
  "user_failed_login",
  "user_add_to_team",
  "user_remove_from_team",
  "user_update_for_team",
  "key_create",
  "key_destroy",
  "member_approved",
];

/** Every object kind GitLab documents, and `unknown` (a body that names none). */
export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set([
  ...HOOK_SCOPES.flatMap((entry) => entry.kinds),
  ...SYSTEM_HOOK_KINDS,
  "unknown",
]);

/** The scope a name stands for (any case, `_events` or not), or undefined. */
export function hookScope(name: string): HookScope | undefined {
  const bare = name
    .trim()
    .toLowerCase()
    .replace(/_events$/, "");
  return HOOK_SCOPES.find((entry) => entry.name === bare || entry.aliases.includes(bare));
}

/**
 * The event types a list of names stands for, each once: an object kind stands for itself (with
 * or without `_events`: `merge_request_events` is merge requests), a scope for the kinds it sends; a name that is neither is taken as an object kind (custom
 * templates name their own).
 */
export function eventTypesOf(names: readonly string[]): string[] {
  const types = names.flatMap((name) => {
    const lower = name.trim().toLowerCase();
    const bare = lower.replace(/_events$/, "");
    if (KNOWN_EVENT_TYPES.has(bare)) return [bare];
    return hookScope(lower)?.kinds ?? [lower];
  });
  return [...new Set(types)];
}
