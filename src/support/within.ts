/**
 * `work`'s outcome, or, should `ms` pass first, what `expired()` returns or throws; the timer is
 * cleared either way. `work` settling later changes nothing (its rejection then is handled here).
 * For waits on a peer that may never answer: a statement, a connection's goodbye, a health check.
 */
export function within<T>(work: Promise<T>, ms: number, expired: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(expired());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
