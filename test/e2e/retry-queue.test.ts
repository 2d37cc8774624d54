import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsEnabled } from '../support/chromium.ts';
import { createStoreClient } from '../../collector/store/client.ts';
import { leadOf, useHearthAndChromium, visitorOf } from '../support/e2e.ts';
import { embed, startFixtureSite, type FixtureSite } from '../support/fixture-site.ts';

describe.runIf(browserTestsEnabled())('retry queue in Chromium', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite({
      '/a': `<!doctype html><title>A</title>${embed(world.hearth.url)}`,
      '/b': `<!doctype html><title>B</title>${embed(world.hearth.url)}`,
    });
  });
  afterAll(() => site?.close());

  it('keeps events while the collector is down and delivers them exactly once when it is back', async () => {
    const context = await world.browser.newContext();
    const page = await context.newPage();
    // The collector is unreachable: every POST /collect fails at the network level.
    await context.route('**/collect', (route) => route.abort('connectionrefused'));
    await page.goto(`${site.url}/a`);
    await page.evaluate(() => (window as any).hearth('track', 'during-outage'));
    const stashed = () => page.evaluate(() => JSON.parse(localStorage.getItem('hearth_retry') ?? '[0,0,[]]')[2].map((e: { i: string }) => e.i) as string[]);
    await expect.poll(stashed).toHaveLength(2);
    const kept = await stashed();

    // Back up; the next page resends what was kept once its backoff (1–2 s after one failure) has passed.
    await context.unroute('**/collect');
    await page.waitForTimeout(2100);
    await page.goto(`${site.url}/b`);
    const visitor = (await visitorOf(page))!;
    await expect.poll(() => leadOf(world.hearth, visitor).then((lead) => lead?.pageviews), { timeout: 10_000 }).toBe(2);
    expect(await page.evaluate(() => localStorage.getItem('hearth_retry'))).toBeNull();
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
