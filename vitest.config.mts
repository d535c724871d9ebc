import { defineConfig } from "vitest/config";

// One run, three layers (see README, "Tests"): unit tests, storage tests against real MinIO servers
// that each test file starts itself, and engine tests through the real Pulumi CLI.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    pool: "forks",
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Two cores: more workers only make the engine tests fight for them.
    maxWorkers: 2,
  },
});
