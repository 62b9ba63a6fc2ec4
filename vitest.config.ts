import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/support/global-setup.ts"],
    pool: "forks",
    // Much of a test's time is spent waiting on a database, so use every core (vitest's default leaves one idle).
    maxWorkers: Math.max(2, availableParallelism()),
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test output stays readable: the app's structured logs go to files' own sinks.
    silent: "passed-only",
  },
});
