import type { Reporter, TestModule } from 'vitest/node';
import { chromiumPresent } from './chromium.ts';

/** Ends the run with one plain line, "tests: N passed, N failed, N skipped", and names skipped browser tests. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const module of testModules) for (const test of module.children.allTests()) counts[test.result().state]++;
    const failedModules = testModules.filter((module) => module.state() === 'failed' && ![...module.children.allTests()].some((t) => t.result().state === 'failed'));
    const failed = counts.failed + failedModules.length;
    if (!chromiumPresent) console.log('\nbrowser tests were SKIPPED: no Chromium on this machine');
    console.log(`\ntests: ${counts.passed} passed, ${failed} failed, ${counts.skipped + counts.pending} skipped`);
  }
}
