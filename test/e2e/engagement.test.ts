import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import type { Page } from 'playwright-core';
import { leadOf, recordBatches, useHearthAndChromium } from '../support/e2e.ts';
import type { HearthProcess } from '../support/hearth-process.ts';
import { embed, startFixtureSite, type FixtureSite } from '../support/fixture-site.ts';

describe.runIf(browserTestsEnabled())('engaged dwell in Chromium', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  beforeAll(async () => {
    const page = `<!doctype html><title>Pricing</title>${embed(world.hearth.url)}<main style="height:3000px">Plans</main>`;
    site = await startFixtureSite({ '/pricing': page });
  });
  afterAll(() => site?.close());

  it('measures the engaged time of a scripted visit with visible, hidden, blurred and idle phases, to the millisecond', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    // The clock moves only when the script says so: with a clock that also ran on its own, every step's real time
    // (slow on a loaded machine) counted as engaged time too.
    const start = Date.parse('2026-03-02T09:00:00Z');
    await page.clock.install({ time: start });
    await page.clock.pauseAt(start + 1000);
    await page.goto(`${site.url}/pricing`);
    await page.waitForFunction(() => typeof (window as { hearth?: unknown }).hearth === 'function' && !('q' in (window as any).hearth));
    const seconds = (s: number) => page.clock.runFor(s * 1000);
    const activeFor = async (s: number) => {
      for (let t = 0; t < s; t += 5) {
        await page.mouse.move(100 + t, 100 + t);
        await seconds(5);
      }
    };
    const setHidden = (hidden: boolean) =>
      page.evaluate((hidden) => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
        // As Chromium fires it: it bubbles to the window.
        document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
      }, hidden);
    const setFocused = (focused: boolean) =>
      page.evaluate((focused) => {
        document.hasFocus = () => focused;
        dispatchEvent(new Event(focused ? 'focus' : 'blur'));
      }, focused);

    await activeFor(10); // 10 s engaged
    await setHidden(true);
    await seconds(10); // hidden: 0
    await setHidden(false);
    await activeFor(5); // 5 s
    await setFocused(false);
    await seconds(10); // another window has the focus: 0
    await setFocused(true);
    await activeFor(5); // 5 s, the last activity at its start
    await seconds(60); // idle: counts until 30 s after the last activity, 25 s more
    await setHidden(true);

    await expect.poll(() => sent.events('e').length).toBeGreaterThan(0);
    const engaged = sent.events('e').reduce((sum, event) => sum + event.ms!, 0);
    expect(engaged).toBe(45_000);
    expect(sent.events('e').every((event) => new URL(event.u).pathname === '/pricing')).toBe(true);
    await context.close();
  });

  it('loses no engagement event over 100 page closes and navigations (counted in ClickHouse)', async () => {
    const context = await world.browser.newContext();
    let visitor: string | null = null;
    let page = await context.newPage();
    const started = Date.now();
    for (let visit = 0; visit < 100; visit++) {
      await page.goto(`${site.url}/pricing?visit=${visit}`);
      // Engaged time counts only in a focused page, which a new tab of a busy machine may not be yet: a visit with
      // none sends no piece, and this test is about losing none sent.
      await page.waitForFunction(() => document.hasFocus());
      await page.mouse.move(50, 50 + visit);
      await page.waitForTimeout(20);
      await page.mouse.move(60, 60 + visit);
      visitor ??= await page.evaluate(() => localStorage.getItem('hearth_vid')!.split('.')[0]!);
      // Half the visits navigate away to a page without the snippet, half close the tab.
      if (visit % 2) await page.goto(`${site.url}/blank`);
      else {
        await page.close({ runBeforeUnload: true });
        page = await context.newPage();
      }
    }
    console.log(`100 visits in ${Date.now() - started} ms`);
    try {
      await expect.poll(() => leadOf(world.hearth, visitor!).then((lead) => lead?.pageviews), { timeout: 20_000 }).toBe(100);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await missingVisits(world.hearth, page, visitor!)}`);
    }
    await context.close();

    // Stop Hearth (it drains on SIGTERM) and read its ClickHouse directly: every visit left its engagement.
    await world.hearth.stop();
    const client = createStoreClient({ dataDir: world.hearth.dataDir });
    const result = await client.query({
      query: `SELECT count() AS pieces, uniqExact(url) AS visits FROM events FINAL
              WHERE site_id = 'demo' AND visitor_id = {visitor:String} AND type = 'engagement'`,
      query_params: { visitor },
      format: 'JSONEachRow',
    });
    const [counts] = await result.json<{ pieces: string; visits: string }>();
    await client.close();
    expect(Number(counts!.visits)).toBe(100);
    expect(Number(counts!.pieces)).toBeGreaterThanOrEqual(100);
  }, 180_000);
});

/**
 * What a failure of the 100 visits needs to be told apart: the visits whose page view the collector has not (from
 * the person's export), and what the snippet still holds in its retry stash (the last page is one without it).
 */
async function missingVisits(hearth: HearthProcess, page: Page, visitor: string): Promise<string> {
  const lead = (await leadOf(hearth, visitor)) as { id: string } | undefined;
  const response = await fetch(`${hearth.url}/api/leads/${lead?.id}/export?site=demo`, { headers: { authorization: `Bearer ${hearth.token}` } });
  const { events = [] } = (await response.json()) as { events?: { type: string; url: string }[] };
  const stored = new Set(events.flatMap((event) => (event.type === 'pageview' ? [new URL(event.url).searchParams.get('visit')] : [])));
  const missing = Array.from({ length: 100 }, (_, visit) => String(visit)).filter((visit) => !stored.has(visit));
  const stash = await page.evaluate(() => localStorage.getItem(Object.keys(localStorage).find((key) => key.startsWith('hearth_retry')) ?? '')).catch((error: Error) => `unreadable: ${error.message}`);
  return `page views missing for visits ${missing.join(', ') || 'none'}; the snippet's retry stash: ${stash ?? 'empty'}`;
}

