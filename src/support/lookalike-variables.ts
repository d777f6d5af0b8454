import leven from "leven";

interface Lookalike {
  /** The variable as set in the environment. */
  given: string;
  /** The configuration variable it most likely meant. */
  expected: string;
}

/**
 * The known name a mistyped one most likely meant (`SINK_ENABLED` → `SINKS_ENABLED`, `logs` →
 * `log`, `statsu` → `status`), any case. Short names get one edit of slack and longer ones two,
 * so that `HOME` is not taken for `HOST`.
 */
export function closestName(given: string, known: readonly string[]): string | undefined {
  const wanted = given.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = leven(wanted, name.toLowerCase());
    const slack = name.length >= 6 ? 2 : 1;
    if (distance <= slack && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** ` (did you mean "x"?)` when one of `known` is close to `given`; else nothing. */
export function didYouMean(given: string, known: readonly string[]): string {
  const near = closestName(given, known);
  return near === undefined ? "" : ` (did you mean "${near}"?)`;
}

/**
 * Environment variables that are not ours but look like one of ours (`SINK_ENABLED`,
 * `GITLAB_TOKENS`, `port`): a typo there silently leaves the setting at its default.
 */
export function lookalikeVariables(env: NodeJS.ProcessEnv, known: readonly string[]): Lookalike[] {
  const ours = new Set(known);
  const found: Lookalike[] = [];
  for (const given of Object.keys(env)) {
    if (ours.has(given)) continue;
    const expected = closestName(given, known);
    if (expected !== undefined) found.push({ given, expected });
  }
  return found;
}
