import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One PostgreSQL (and, where installed, one MariaDB) server for the whole run.
    globalSetup: ["test/setup/databases.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Daemon-spawning tests bind ports and files of their own; two workers match the two cores.
    maxWorkers: 2,
  },
});
