import RE2 from "re2";
import { globProblem } from "../../core/glob.js";
import { errorMessage } from "../../support/error-message.js";

/** One `{{Gitlab-mention|…}}` entry under a heading of the reviewers page. */
export interface ReviewerEntry {
  /** The heading it stands under: a project path glob. */
  projectGlob: string;
  username: string;
  /**
   * Case-insensitive; the entry matches only MRs whose changed files match it. An RE2 expression
   * from the page: RE2 matches in linear time, so a wiki edit cannot make a match run for minutes.
   */
  fileRegexp: RegExp | null;
  matchAllFiles: boolean;
  onlyMatchNewFiles: boolean;
  line: number;
}

export interface ParsedReviewersPage {
  entries: ReviewerEntry[];
  /** Entries skipped, each saying which line and why. */
  warnings: string[];
}

// What is matched against the page runs on RE2, in linear time: the page is a publicly editable
// wiki page, and JavaScript's backtracking took seconds to minutes on lines such as `{{` followed
// by spaces, or thousands of unclosed `<nowiki>`.
const TEMPLATE = new RE2(/\{\{\s*([^|{}]+?)\s*(\|[^{}]*)?\}\}/g);
const NOWIKI = new RE2(/<nowiki>([\s\S]*?)<\/nowiki>/gi);
const COMMENT = new RE2(/<!--[\s\S]*?(?:-->|$)/g);
const MENTION_TEMPLATE = /^gitlab[ _-]mention$/i;
/** GitLab usernames: letters, digits, `_`, `-`, `.`; no leading/trailing punctuation. */
const USERNAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const FLAGS = new Set(["match_all_files", "only_match_new_files"]);

/**
 * The text of a heading line (`== text ==`, one to six `=` on each side, as many on both), or null.
 * Written out rather than as a regular expression: the one it replaces backtracked cubically.
 */
function headingText(line: string): string | null {
  const opening = /^={1,6}/.exec(line)?.[0].length ?? 0;
  for (let level = opening; level >= 1; level--) {
    if (line.length > 2 * level && line.endsWith("=".repeat(level))) return line.slice(level, line.length - level);
  }
  return null;
}

/**
 * Reads the reviewers page: headings (any level) name project path globs; `{{Gitlab-mention|user|…}}`
 * list entries under them ask for mentions. Other templates are ignored; a malformed entry is
 * skipped with a warning and the rest still count.
 */
export function parseReviewersPage(wikitext: string): ParsedReviewersPage {
  const entries: ReviewerEntry[] = [];
  const warnings: string[] = [];
  // Comments hide examples; <nowiki> keeps `|`, `{` and `}` of a regexp from being read as syntax.
  const nowiki: string[] = [];
  const text = wikitext
    .replace(COMMENT, (comment) => comment.replace(/[^\n]/g, ""))
    .replace(NOWIKI, (_all, inner: string) => `\ue000${nowiki.push(inner) - 1}\ue000`);
  const restore = (value: string) => value.replace(/\ue000(\d+)\ue000/g, (_all, index: string) => nowiki[Number(index)] ?? "");

  let glob: string | null = null;
  let headingProblem: string | null = null;
  text.split("\n").forEach((rawLine, index) => {
    const line = index + 1;
    const heading = headingText(rawLine.trim());
    if (heading !== null) {
      glob = restore(heading).trim();
      headingProblem = glob === "" ? null : globProblem(glob);
      return;
    }
    for (const match of rawLine.matchAll(TEMPLATE)) {
      if (!MENTION_TEMPLATE.test((match[1] as string).trim())) continue;
      const where = `line ${line}`;
      if (glob === null || glob === "") {
        warnings.push(`${where}: {{Gitlab-mention}} before any heading (a heading names the projects); skipped`);
        continue;
      }
      if (headingProblem !== null) {
        warnings.push(`${where}: the heading above it, ${headingProblem}; skipped`);
        continue;
      }
      const params = (match[2] ?? "")
        .split("|")
        .slice(1)
        .map((param) => param.trim());
      const [username = "", ...options] = params;
      if (!USERNAME.test(username)) {
        warnings.push(`${where}: ${username === "" ? "no username" : `"${restore(username)}" is not a GitLab username`}; skipped`);
        continue;
      }
      const entry: ReviewerEntry = { projectGlob: glob, username, fileRegexp: null, matchAllFiles: false, onlyMatchNewFiles: false, line };
      let problem: string | null = null;
      for (const option of options) {
        if (option === "") continue;
        if (FLAGS.has(option)) {
          if (option === "match_all_files") entry.matchAllFiles = true;
          else entry.onlyMatchNewFiles = true;
          continue;
        }
        const named = /^file_regexp\s*=\s*([\s\S]*)$/.exec(option);
        if (!named) {
          problem = `unknown parameter "${restore(option)}"`;
          break;
        }
        try {
          entry.fileRegexp = new RE2(restore(named[1] as string).trim(), "i");
        } catch (error) {
          problem = `file_regexp is not a valid regular expression for RE2 (${errorMessage(error)}; RE2 has no backreferences or lookaround)`;
          break;
        }
      }
      if (problem) warnings.push(`${where}: ${problem}; skipped`);
      else entries.push(entry);
    }
  });
  return { entries, warnings };
}
