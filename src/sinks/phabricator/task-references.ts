/** A line that is only `Bug: T123` (any case, spaces around the colon allowed). */
const BUG_LINE = /^[ \t]*bug[ \t]*:[ \t]*(T[1-9]\d{0,9})[ \t]*$/gim;

/** Tasks named by `Bug:` lines in these texts, each once, in order of appearance. */
export function taskReferences(texts: readonly (string | null | undefined)[]): string[] {
  const tasks = new Set<string>();
  for (const text of texts) {
    if (!text) continue;
    for (const match of text.matchAll(BUG_LINE)) tasks.add((match[1] as string).toUpperCase());
  }
  return [...tasks];
}
