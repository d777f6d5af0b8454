import leven from "leven";

export interface Lookalike {
  /** The variable as set in the environment. */
  given: string;
  /** The configuration variable it most likely meant. */
  expected: string;
}

/**
 * Environment variables that are not ours but look like one of ours (`SINK_ENABLED`,
 * `GITLAB_TOKENS`, `port`): a typo there silently leaves the setting at its default. Short
 * names get one edit of slack and longer ones two, so that `HOME` is not taken for `HOST`.
 */
export function lookalikeVariables(env: NodeJS.ProcessEnv, known: readonly string[]): Lookalike[] {
  const ours = new Set(known);
  const found: Lookalike[] = [];
  for (const given of Object.keys(env)) {
    if (ours.has(given)) continue;
    const upper = given.toUpperCase();
    let best: { expected: string; distance: number } | null = null;
    for (const expected of known) {
      const distance = leven(upper, expected);
      const slack = expected.length >= 8 ? 2 : 1;
      if (distance <= slack && (best === null || distance < best.distance)) best = { expected, distance };
    }
    if (best) found.push({ given, expected: best.expected });
  }
  return found;
}
