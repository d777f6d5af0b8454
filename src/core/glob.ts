/**
 * What a project-path glob may hold: the characters of a GitLab project path (letters, digits,
 * `_`, `-`, `.`, `/`) and `*`. Anything richer (extglobs such as `+(*)`, braces, classes, `?`) is
 * refused: picomatch compiled those into nested quantifiers, and one anonymous feed filter or one
 * wiki heading froze the daemon with them.
 */
const GLOB_CHARACTERS = /^[A-Za-z0-9_./*-]+$/;

const GLOB_SYNTAX = "letters, digits, _ - . / and * (any characters, / included)";

/** Why a pattern is not a glob this daemon matches, naming it; null when it is one. */
export function globProblem(pattern: string): string | null {
  if (GLOB_CHARACTERS.test(pattern)) return null;
  const shown = pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern;
  return `${JSON.stringify(shown)} is not a project path glob: a glob holds only ${GLOB_SYNTAX}`;
}

class GlobError extends Error {}

/**
 * One glob, matched in time linear in the path: the literal before the first `*` must start it,
 * the one after the last `*` end it, and each literal in between is found after the previous one.
 * Taking the leftmost place for each never loses a match, so nothing is ever tried twice.
 */
function starMatcher(glob: string): (path: string) => boolean {
  const literals = glob.split("*");
  if (literals.length === 1) return (path) => path === glob;
  const head = literals[0] as string;
  const tail = literals[literals.length - 1] as string;
  const middle = literals.slice(1, -1).filter((literal) => literal !== "");
  return (path) => {
    const end = path.length - tail.length;
    if (end < head.length || !path.startsWith(head) || !path.endsWith(tail)) return false;
    let at = head.length;
    for (const literal of middle) {
      const found = path.indexOf(literal, at);
      if (found === -1 || found + literal.length > end) return false;
      at = found + literal.length;
    }
    return true;
  };
}

/** Compiled matchers by pattern list: subscribers with the same filter share one. */
const MATCHER_CACHE_SIZE = 256;
const matchers = new Map<string, (path: string) => boolean>();

/**
 * A matcher for project-path globs as people write them on the reviewers page and in filters:
 * `*` matches any run of characters, across `/` too (`repos/*` covers `repos/releng/blubber`).
 * Throws a GlobError naming a pattern that is not such a glob (see globProblem).
 */
export function globMatcher(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const problem = patterns.map(globProblem).find((found) => found !== null);
  if (problem) throw new GlobError(problem);
  const key = patterns.join("\n");
  const cached = matchers.get(key);
  if (cached) {
    // Most recently used last: Map iteration then gives the least recently used first.
    matchers.delete(key);
    matchers.set(key, cached);
    return cached;
  }
  const each = patterns.map(starMatcher);
  const match = (path: string) => each.some((matches) => matches(path));
  matchers.set(key, match);
  if (matchers.size > MATCHER_CACHE_SIZE) matchers.delete(matchers.keys().next().value as string);
  return match;
}
