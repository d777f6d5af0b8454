import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Daemon-spawning tests bind ports and files of their own; two workers match the two cores.
    maxWorkers: 2,
  },
});
