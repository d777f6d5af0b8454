/**
 * A worker thread's compiled module, by its path under the store's directory ("worker/store-worker.js"):
 * beside this module in `dist/`, and in `dist/` too when running from sources under test (a worker
 * thread cannot load TypeScript).
 */
export function compiledWorkerUrl(pathInStore: string): URL {
  const here = import.meta.url;
  return here.endsWith(".ts") ? new URL(`../../dist/store/${pathInStore}`, here) : new URL(`./${pathInStore}`, here);
}
