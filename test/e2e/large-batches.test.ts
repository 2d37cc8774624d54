import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsEnabled } from '../support/chromium.ts';
import { recentEventsOf, recordBatches, useHearthAndChromium, visitorOf } from '../support/e2e.ts';
import { startFixtureSite, twoPlainPages, type FixtureSite } from '../support/fixture-site.ts';

describe.runIf(browserTestsEnabled())('large batches in Chromium', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite(twoPlainPages(world.hearth.url));
  });
  afterAll(() => site?.close());

  it('sends CJK text over 64 KB in UTF-8 (under 60,000 characters) in bodies the browser and the collector take, at once', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await page.goto(`${site.url}/a`);
    await expect.poll(() => sent.events('v').length).toBe(1);
    // Four events of 14 answers of 490 characters, 3 bytes each in UTF-8: 27,440 characters, 82 KB.
    await page.evaluate(() => {
      for (let i = 0; i < 4; i++) (window as any).hearth('track', `cjk-${i}`, Object.fromEntries(Array.from({ length: 14 }, (_, k) => [`k${k}`, '価格表'.repeat(163) + '価'])));
    });
    const visitor = (await visitorOf(page))!;
    await page.evaluate(() => (window as any).hearth('identify', 'cjk@acme.test'));
    // Chromium carries at most 64 KB of keepalive requests at once: the second half goes at once without keepalive,
    // so everything arrives while the page is open and nothing waits in the retry queue.
    const tracked = () => recentEventsOf(world.hearth, visitor).then((events) => events.filter((e) => e.type === 'track').map((e) => e.name).sort());
    await expect.poll(tracked, { timeout: 10_000 }).toEqual(['cjk-0', 'cjk-1', 'cjk-2', 'cjk-3']);
    expect(await page.evaluate(() => localStorage.getItem(Object.keys(localStorage).find((key) => key.startsWith('hearth_retry')) ?? ''))).toBeNull();
    for (const body of sent.bodies) expect(new Blob([body]).size).toBeLessThan(60_000);
    await context.close();
  });
});
