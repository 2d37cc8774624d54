import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:http` (HEARTH_TEST_CLICKHOUSE=http) runs the integration files again over ClickHouse's HTTP
 * interface: only those whose store follows that switch (startTestServer, openTestStore). The others (the CLI's, and
 * those that start their own HTTP ClickHouse or embedded store) would do the same work twice.
 */
function integrationFiles(): string[] {
  if (process.env.HEARTH_TEST_CLICKHOUSE !== 'http') return ['test/integration/**/*.test.ts'];
  const all = readdirSync('test/integration').filter((name) => name.endsWith('.test.ts'));
  const switched = all.filter((name) => /\b(startTestServer|openTestStore)\(/.test(readFileSync(`test/integration/${name}`, 'utf8')));
  // The config is read again by vitest and its workers, which inherit the environment: say it once.
  if (!process.env.HEARTH_TEST_HTTP_SAID) {
    console.log(`over HTTP: the ${switched.length} of ${all.length} integration files whose store follows HEARTH_TEST_CLICKHOUSE`);
    process.env.HEARTH_TEST_HTTP_SAID = '1';
  }
  return switched.map((name) => `test/integration/${name}`);
}

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    // chDB binds one data directory per process: each test file runs in its own child process.
    pool: 'forks',
    // Vitest runs one file fewer than the machine has cores: one at a time on two cores, where most files spend
    // their time waiting on timers, servers and child processes (a minute-long ClickHouse outage, a scorer's
    // rounds). Two at a time there.
    maxWorkers: Math.max(2, availableParallelism() - 1),
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
        test: { name: 'integration', include: integrationFiles(), environment: 'node', testTimeout: 30_000, hookTimeout: 60_000 },
      },
      {
        extends: true,
        // A page that loads its figures after it shows can take more than expect.poll's default second on a busy machine.
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], environment: 'node', testTimeout: 60_000, hookTimeout: 60_000, expect: { poll: { timeout: 10_000 } } },
      },
    ],
  },
});
