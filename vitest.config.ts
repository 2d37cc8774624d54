import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * The integration files whose store follows HEARTH_TEST_CLICKHOUSE (startTestServer, openTestStore): `npm test` runs
 * them a second time over ClickHouse's HTTP interface (the integration-http project; `npm run test:http` runs that
 * project alone). The others (the CLI's, and those that start their own HTTP ClickHouse or embedded store) would do
 * the same work twice, and so would these, whose subject is decided before the store or beside it: the write-ahead
 * log's own disk, request bodies' encodings, what a real page's addresses make of a batch, User-Agents, rate limits
 * and logins (their events stored over HTTP by the other files alike); the scorer's rounds, whose file runs its case
 * over HTTP itself (startOverClickHouseHttp), and a shutdown's order and bounds (40 and 32 s a run on a busy machine);
 * the lead page's reads (111 s over HTTP on a busy machine), whose statements and formats the stored scores', lists'
 * and dashboards' files read over HTTP alike, and erasures (78 s), of which the scorer's rounds' file runs one over HTTP
 * during a full pass; alert delivery's senders and retries (27 s), whose outbox statements the alert path's file runs
 * over HTTP from a beacon to a webhook. Run once, they keep CI within its 20 minutes.
 */
const SAME_OVER_HTTP = ['readiness-unwritable-log', 'readiness-full-disk', 'collect-encoding', 'collect-real-pages', 'user-agent', 'rate-limits', 'auth', 'scorer-rounds', 'shutdown', 'lead-api', 'erase', 'alert-delivery'];
function switchedIntegrationFiles(): string[] {
  const all = readdirSync('test/integration').filter((name) => name.endsWith('.test.ts') && !SAME_OVER_HTTP.includes(name.replace(/\.test\.ts$/, '')));
  return all.filter((name) => /\b(startTestServer|openTestStore)\(/.test(readFileSync(`test/integration/${name}`, 'utf8'))).map((name) => `test/integration/${name}`);
}

/** What both integration projects share: a real Fastify on a port and a real ClickHouse take seconds to start. */
const INTEGRATION = { environment: 'node', testTimeout: 30_000, hookTimeout: 60_000 } as const;

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    // chDB binds one data directory per process: each test file runs in its own child process.
    pool: 'forks',
    // Vitest runs one file fewer than the machine has cores, and two at least: most files spend their time waiting
    // on timers, servers and child processes (a minute-long ClickHouse outage, a scorer's rounds). On two cores,
    // three ran CI's tests in 1,122-1,204 s where two took 1,169-1,227 s, within the machine's own spread, and a
    // start's rescoring outlasted a test's wait.
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
        // Embedded whatever the shell says: the other project is the one over HTTP.
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], env: { HEARTH_TEST_CLICKHOUSE: 'embedded' }, ...INTEGRATION },
      },
      {
        extends: true,
        // In the same run as the rest, so the two workers share out every file at once rather than run this set after.
        test: { name: 'integration-http', include: switchedIntegrationFiles(), env: { HEARTH_TEST_CLICKHOUSE: 'http' }, ...INTEGRATION },
      },
      {
        extends: true,
        // A page that loads its figures after it shows can take more than expect.poll's default second on a busy machine.
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], environment: 'node', testTimeout: 60_000, hookTimeout: 60_000, expect: { poll: { timeout: 10_000 } } },
      },
    ],
  },
});
