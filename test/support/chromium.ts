import { existsSync } from 'node:fs';

/** Debian's Chromium, or HEARTH_CHROMIUM. Browser tests run when it exists; HEARTH_REQUIRE_BROWSER=1 (CI) makes it mandatory. */
export const chromiumPath = process.env.HEARTH_CHROMIUM || '/usr/bin/chromium';
export const chromiumPresent = existsSync(chromiumPath);
export const browserRequired = process.env.HEARTH_REQUIRE_BROWSER === '1';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** True when this run should execute browser tests; throws when they are required but cannot run. */
export function browserTestsEnabled(): boolean {
  if (chromiumPresent) return true;
  if (browserRequired) throw new Error(`browser tests are required (HEARTH_REQUIRE_BROWSER=1) but ${chromiumPath} does not exist: apt-get install -y chromium`);
  return false;
}
