/**
 * Event types by every name people use for them: the object kind (`merge_request`, `build`), and
 * GitLab's hook-scope names as its webhook settings and API spell them (`merge_requests_events`,
 * `merge_requests`, `push_events`, `job_events`). A name not listed here is taken as an object kind.
 */
const SCOPES: Readonly<Record<string, readonly string[]>> = {
  push: ["push"],
  tag_push: ["tag_push"],
  tags: ["tag_push"],
  merge_requests: ["merge_request"],
  issues: ["issue", "work_item"],
  confidential_issues: ["issue", "work_item"],
  note: ["note"],
  notes: ["note"],
  confidential_note: ["note"],
  confidential_notes: ["note"],
  pipeline: ["pipeline"],
  pipelines: ["pipeline"],
  job: ["build"],
  jobs: ["build"],
  wiki_page: ["wiki_page"],
  wiki_pages: ["wiki_page"],
  deployment: ["deployment"],
  deployments: ["deployment"],
  releases: ["release"],
  feature_flag: ["feature_flag"],
  emoji: ["emoji"],
  milestone: ["milestone"],
  resource_access_token: ["access_token"],
  vulnerability: ["vulnerability"],
  repository_update: ["repository_update"],
  member: ["user_add_to_group", "user_update_for_group", "user_remove_from_group", "user_access_request_to_group", "user_access_request_denied_for_group"],
  subgroup: ["subgroup_create", "subgroup_destroy"],
};

/** The event types a list of names (kinds or hook scopes, any case) stands for, each once. */
export function eventTypesOf(names: readonly string[]): string[] {
  const types = names.flatMap((name) => {
    const lower = name.trim().toLowerCase();
    return SCOPES[lower.replace(/_events$/, "")] ?? [lower];
  });
  return [...new Set(types)];
}
