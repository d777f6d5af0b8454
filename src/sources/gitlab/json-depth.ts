const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** How many `{` and `[` a text holds, strings included; the count stops once it passes `limit`. */
function openingBracketsUpTo(text: string, limit: number): number {
  let count = 0;
  for (const bracket of ["{", "["]) {
    for (let at = text.indexOf(bracket); at !== -1 && count <= limit; at = text.indexOf(bracket, at + 1)) count++;
  }
  return count;
}

/**
 * Whether objects and arrays nest deeper than `max` in a JSON text (what is inside strings does
 * not count). A body nested thousands of levels deep parses, but every later JSON.stringify of it
 * (an API answer, a plugin's) overflows the stack: such a body is refused at the door.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  // A body can nest at most half as deep as it is long, and no deeper than it has brackets that
  // open: counted by the engine's own search (GitLab's merge request body has 20 in 5 KB), which
  // spares most bodies the scan below, character by character (25 µs for those 5 KB).
  if (text.length <= 2 * max || openingBracketsUpTo(text, max) <= max) return false;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) index++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) inString = true;
    else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) depth--;
  }
  return false;
}
