import { globMatcher } from "../../core/glob.js";
import type { ReviewerEntry } from "./reviewers-page.js";

export interface ChangedFile {
  path: string;
  isNew: boolean;
}

/** Entries whose heading glob covers this project. */
export function entriesForProject(entries: readonly ReviewerEntry[], projectPath: string): ReviewerEntry[] {
  return entries.filter((entry) => globMatcher([entry.projectGlob])(projectPath));
}

/** Whether an entry needs the MR's changed files to decide. */
export function needsFiles(entry: ReviewerEntry): boolean {
  return entry.fileRegexp !== null || entry.onlyMatchNewFiles;
}

/**
 * Whether the MR's files satisfy an entry: no file_regexp matches any MR; file_regexp must match
 * one file, or every file with match_all_files; only_match_new_files looks at added files only.
 */
export function entryMatches(entry: ReviewerEntry, files: readonly ChangedFile[]): boolean {
  const candidates = entry.onlyMatchNewFiles ? files.filter((file) => file.isNew) : files;
  if (!needsFiles(entry)) return true;
  if (candidates.length === 0) return false;
  const regexp = entry.fileRegexp;
  const matches = (file: ChangedFile) => (regexp ? regexp.test(file.path) : true);
  return entry.matchAllFiles ? candidates.every(matches) : candidates.some(matches);
}

/** Usernames to mention: matching entries, minus everyone in `exclude` (compared case-insensitively). */
export function usersToMention(entries: readonly ReviewerEntry[], files: readonly ChangedFile[], exclude: Iterable<string>): string[] {
  const excluded = new Set([...exclude].map((name) => name.toLowerCase()));
  const users: string[] = [];
  for (const entry of entries) {
    const key = entry.username.toLowerCase();
    if (excluded.has(key) || !entryMatches(entry, files)) continue;
    excluded.add(key);
    users.push(entry.username);
  }
  return users;
}
