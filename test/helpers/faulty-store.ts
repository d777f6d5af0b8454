import type { Store } from "../../src/core/store.js";

/**
 * A real store whose named operations fail while `failing()` says so, with the error a full disk
 * gives: faults injected around the store, not a store of make-believe.
 */
export function faultyStore(store: Store, operations: readonly (keyof Store)[], failing: () => boolean): Store & { failures: number } {
  let failures = 0;
  return new Proxy(store as Store & { failures: number }, {
    get(target, property, receiver) {
      if (property === "failures") return failures;
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (!operations.includes(property as keyof Store)) return (value as (...args: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        if (failing()) {
          failures++;
          return Promise.reject(Object.assign(new Error("SQLITE_FULL: database or disk is full"), { code: "SQLITE_FULL" }));
        }
        return (value as (...args: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
