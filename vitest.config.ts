import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    // chDB binds one data directory per process: each test file runs in its own child process.
    pool: 'forks',
    globalSetup: ['./test/support/temp-root.ts'],
    isolate: true,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'happy-dom',
          // Script tags in unit tests only carry the snippet's attributes; nothing is fetched.
          environmentOptions: { happyDOM: { settings: { disableJavaScriptFileLoading: true, handleDisabledFileLoadingAsSuccess: true } } },
        },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], environment: 'node', testTimeout: 30_000, hookTimeout: 60_000 },
      },
      {
        extends: true,
        // A page that loads its figures after it shows can take more than expect.poll's default second on a busy machine.
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], environment: 'node', testTimeout: 60_000, hookTimeout: 60_000, expect: { poll: { timeout: 10_000 } } },
      },
    ],
  },
});
