import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsEnabled } from '../support/chromium.ts';
import { recordBatches, useHearthAndChromium } from '../support/e2e.ts';
import { startFixtureSite, twoPlainPages, type FixtureSite } from '../support/fixture-site.ts';

describe.runIf(browserTestsEnabled())('sessions in Chromium', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite(twoPlainPages(world.hearth.url));
  });
  afterAll(() => site?.close());

  it('keeps one session across tabs: a visitor busy in tab B for 40 minutes is not new when back in tab A', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const start = Date.now();
    // Both tabs read the same clock; timers run as usual.
    const at = (minutes: number) => context.clock.setFixedTime(start + minutes * 60_000);
    const track = (tab: Page, name: string) => tab.evaluate((name) => (window as any).hearth('track', name), name);
    await at(0);
    const tabA = await context.newPage();
    await tabA.goto(`${site.url}/a`);
    // Tab B opens once tab A's session is in the browser's storage, as a person's second tab seconds after the first:
    // Chromium passes a page's localStorage writes to other tabs' processes asynchronously, and a busy CI run saw two
    // sessions here, most likely tab B starting before tab A's write reached it.
    const stored = () => localStorage.getItem('hearth_vid');
    await expect.poll(() => tabA.evaluate(stored)).toBeTruthy();
    const tabB = await context.newPage();
    await tabB.goto(`${site.url}/blank`);
    await expect.poll(() => tabB.evaluate(stored)).toBe(await tabA.evaluate(stored));
    await tabB.goto(`${site.url}/b`);
    for (const minutes of [10, 20, 30, 40]) {
      await at(minutes);
      await track(tabB, `b-${minutes}`);
    }
    await at(45);
    await track(tabA, 'back-in-a');
    await expect.poll(() => sent.events('t').map((event) => event.k)).toContain('back-in-a');

    const batches = sent.bodies.map((body) => JSON.parse(body) as { sid: string; e: { n: string; k?: string; ss?: 1 }[] });
    expect(new Set(batches.map((batch) => batch.sid)).size).toBe(1);
    expect(batches.flatMap((batch) => batch.e).filter((event) => event.ss).map((event) => event.n)).toEqual(['v']);
    await context.close();
  });
});
