import { browserTestsEnabled, chromiumPath } from './chromium.ts';

/** Says once, before any test, whether the browser tests will run, so a skip is never silent. */
export default function setup(): void {
  if (browserTestsEnabled()) console.log(`browser tests: running with ${chromiumPath}`);
  else console.warn(`browser tests: SKIPPED, no Chromium at ${chromiumPath} (apt-get install -y chromium, or set HEARTH_CHROMIUM)`);
}
