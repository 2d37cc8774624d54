import type { Reporter, TestModule } from 'vitest/node';
import { browserRequired, chromiumPath, chromiumPresent } from './chromium.ts';

const browserStatus = () =>
  chromiumPresent
    ? `browser tests: running with ${chromiumPath}`
    : browserRequired
      ? `browser tests: REQUIRED but ${chromiumPath} is missing, so they fail (apt-get install -y chromium)`
      : `browser tests: SKIPPED, no Chromium at ${chromiumPath} (apt-get install -y chromium, or set HEARTH_CHROMIUM)`;

/** Says up front whether browser tests run, and ends the run with one plain line: "tests: N passed, N failed, N skipped". */
export default class SummaryReporter implements Reporter {
  onInit(): void {
    console.log(browserStatus());
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const module of testModules) for (const test of module.children.allTests()) counts[test.result().state]++;
    // A file that failed to load has no failed test of its own; count it as a failure.
    const brokenFiles = testModules.filter((module) => module.state() === 'failed' && ![...module.children.allTests()].some((t) => t.result().state === 'failed'));
    console.log(`\n${browserStatus()}`);
    console.log(`tests: ${counts.passed} passed, ${counts.failed + brokenFiles.length} failed, ${counts.skipped + counts.pending} skipped`);
  }
}
