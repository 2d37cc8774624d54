import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsEnabled } from '../support/chromium.ts';
import { createStoreClient } from '../../collector/store/client.ts';
import { leadOf, recentEventsOf, recordBatches, useHearthAndChromium, visitorOf } from '../support/e2e.ts';
import { startFixtureSite, twoPlainPages, type FixtureSite } from '../support/fixture-site.ts';

/** Until the stash's "no retry before" (its backoff, or the lease of a page resending it) has passed. */
const retryDue = (tab: Page) => expect.poll(() => tab.evaluate(() => JSON.parse(localStorage.getItem(Object.keys(localStorage).find((key) => key.startsWith('hearth_retry')) ?? '')!)[1] < Date.now()), { timeout: 15_000 }).toBe(true);

describe.runIf(browserTestsEnabled())('retry queue in Chromium', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite(twoPlainPages(world.hearth.url));
  });
  afterAll(() => site?.close());

  it('keeps stashed events while their resend is in flight: a tab closed before it fails loses nothing', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    await context.route('**/collect', (route) => route.abort('connectionrefused'));
    const page = await context.newPage();
    await page.goto(`${site.url}/a`);
    await page.evaluate(() => (window as any).hearth('track', 'during-outage'));
    const stashedIn = (tab: Page) =>
      tab.evaluate(() => JSON.parse(localStorage.getItem(Object.keys(localStorage).find((key) => key.startsWith('hearth_retry')) ?? '') ?? '[0,0]').slice(2).map((e: { i: string }) => e.i) as string[]);
    await expect.poll(() => stashedIn(page)).toHaveLength(2);
    const kept = await stashedIn(page);
    const visitor = (await visitorOf(page))!;

    // The collector is back but slow: the request that resends the stash hangs until the tab is closed, then fails.
    await context.unroute('**/collect');
    const held: Route[] = [];
    await context.route('**/collect', (route) => (route.request().postData()!.includes(kept[0]!) ? held.push(route) : route.continue()));
    await retryDue(page);
    await page.goto(`${site.url}/b`);
    await expect.poll(() => held.length).toBe(1);
    expect(await stashedIn(page)).toEqual(kept);
    // Another tab opening meanwhile leaves them alone rather than sending them a second time.
    const carrying = () => sent.bodies.filter((body) => body.includes(kept[0]!)).length;
    const sentBefore = carrying();
    const other = await context.newPage();
    await other.goto(`${site.url}/a`);
    await other.waitForTimeout(1000);
    expect(carrying()).toBe(sentBefore);
    await page.close();
    await other.close();
    await held[0]!.abort('failed');

    // A later page, once the lease has passed, delivers them.
    await context.unroute('**/collect');
    const later = await context.newPage();
    await later.goto(`${site.url}/blank`);
    expect(await stashedIn(later)).toEqual(kept);
    await retryDue(later);
    await later.goto(`${site.url}/a`);
    await later.evaluate(() => (window as any).hearth('identify', 'retry@acme.test'));
    const storedKept = () => recentEventsOf(world.hearth, visitor).then((events) => events.map((e) => e.event_id).filter((id) => kept.includes(id)).sort());
    await expect.poll(storedKept, { timeout: 10_000 }).toEqual([...kept].sort());
    expect(await stashedIn(later)).toEqual([]);
    await context.close();
  });

  it('keeps events while the collector is down and delivers them exactly once when it is back', async () => {
    const context = await world.browser.newContext();
    const page = await context.newPage();
    // The collector is unreachable: every POST /collect fails at the network level.
    await context.route('**/collect', (route) => route.abort('connectionrefused'));
    await page.goto(`${site.url}/a`);
    await page.evaluate(() => (window as any).hearth('track', 'during-outage'));
    const stashed = () => page.evaluate(() => JSON.parse(localStorage.getItem(Object.keys(localStorage).find((key) => key.startsWith('hearth_retry')) ?? '') ?? '[0,0]').slice(2).map((e: { i: string }) => e.i) as string[]);
    await expect.poll(stashed).toHaveLength(2);
    const kept = await stashed();

    // Back up; the next page resends what was kept once its backoff has passed (0.5–1.5 s after one failure, 1–3 s after
    // two: the page's keepalive fetch and its fallback can both fail). A fixed 2.1 s wait failed CI now and then.
    await context.unroute('**/collect');
    await retryDue(page);
    await page.goto(`${site.url}/b`);
    const visitor = (await visitorOf(page))!;
    await expect.poll(() => leadOf(world.hearth, visitor).then((lead) => lead?.pageviews), { timeout: 10_000 }).toBe(2);
    expect(await page.evaluate(() => localStorage.getItem(Object.keys(localStorage).find((key) => key.startsWith('hearth_retry')) ?? ''))).toBeNull();
    // Later pages and online events send nothing twice.
    await page.evaluate(() => dispatchEvent(new Event('online')));
    await page.goto(`${site.url}/a`);
    await expect.poll(() => leadOf(world.hearth, visitor).then((lead) => lead?.pageviews), { timeout: 10_000 }).toBe(3);
    await context.close();

    await world.hearth.stop();
    const client = createStoreClient({ dataDir: world.hearth.dataDir });
    const rows = await client.query({
      query: 'SELECT event_id, type FROM events WHERE visitor_id = {visitor:String} AND has({kept:Array(String)}, toString(event_id))',
      query_params: { visitor, kept },
      format: 'JSONEachRow',
    });
    const stored = await rows.json<{ event_id: string; type: string }>();
    await client.close();
    expect(stored.map((row) => row.event_id).sort()).toEqual([...kept].sort());
    expect(stored.map((row) => row.type).sort()).toEqual(['pageview', 'track']);
  });
});
