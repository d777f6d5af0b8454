import picomatch from "picomatch";

/**
 * A matcher for project-path globs as people write them on the reviewers page and in filters:
 * `*` matches any run of characters, across `/` too (`repos/*` covers `repos/releng/blubber`).
 * picomatch's bash mode treats a single star as a globstar.
 */
export function globMatcher(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const match = picomatch([...patterns], { bash: true, dot: true });
  return (path) => match(path);
}
