/** A HOOKS_WATCH entry GitLab cannot answer for as written: shown as it is, not as a GitLab failure. */
export class HooksWatchError extends Error {
  override name = "HooksWatchError";
}
