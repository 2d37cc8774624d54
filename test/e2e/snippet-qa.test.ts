import type { Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { leadOf, recordBatches, useHearthAndChromium, visitorOf } from '../support/e2e.ts';
import { embed, startFixtureSite, type FixtureSite } from '../support/fixture-site.ts';

// A demo request the page sends itself (it cancels the submit and posts with fetch: the page stays open), and a
// dialog with a Cancel button that closes it.
const DEMO = `
  <form id="demo" method="post" action="/blank">
    <input name="email" type="email" value="ada@acme.test"><input name="company" value="Acme">
    <button id="send">Book a demo</button>
  </form>
  <script>
    document.getElementById('demo').addEventListener('submit', (event) => {
      event.preventDefault();
      fetch('/blank', { method: 'POST', body: new FormData(event.target) });
    });
  </script>
  <dialog id="dialog">
    <form id="newsletter" method="post" action="/blank">
      <input name="email" value="grace@acme.test">
      <button id="subscribe">Subscribe</button>
      <button id="cancel" value="cancel" formmethod="dialog" formnovalidate>Cancel</button>
    </form>
    <form id="confirm" method="dialog"><input name="email" value="linus@acme.test"><button id="ok">OK</button></form>
  </dialog>`;

/** Which responses /collect gave, by status. */
function collectStatuses(responses: Response[]) {
  return responses.filter((r) => r.url().endsWith('/collect')).map((r) => r.status());
}

describe.runIf(browserTestsEnabled())('the snippet as a front-end developer installs it, in Chromium', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  const hashVisitors: string[] = [];
  let exitVisitor: string | undefined;
  beforeAll(async () => {
    site = await startFixtureSite({
      '/demo-request': `<!doctype html><title>Demo</title>${embed(world.hearth.url)}${DEMO}`,
      '/hashapp/': `<!doctype html><title>App</title>${embed(world.hearth.url, { hash: '' })}<main style="height:3000px">App</main>`,
      '/leave': `<!doctype html><title>Leave</title>${embed(world.hearth.url)}<main>Pricing</main>`,
    });
  });
  afterAll(() => site?.close());

  it('keeps a form submit made while the collector is unreachable, on a page that stays open, and delivers it once it is back', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await context.route('**/collect', (route) => route.abort('connectionrefused'));
    await page.goto(`${site.url}/demo-request`);
    await page.click('#send');
    await page.evaluate(() => (window as any).hearth('track', 'during-outage'));
    await expect.poll(() => sent.events('f').length).toBeGreaterThan(0);
    const visitor = (await visitorOf(page))!;

    // Every failed request's events are in the stash (the page view, the form and the event), with the time the
    // backoff ends: each failure doubles it, with jitter (1 to 3 s after two), so a fixed wait of 2.1 s was at times
    // too short, and with no later event the kept form was never sent.
    await expect.poll(() => page.evaluate(() => localStorage.getItem(Object.keys(localStorage).find((key) => key.startsWith('hearth_retry')) ?? '') ?? '')).toContain('during-outage');
    // Back; once the backoff has passed, the next event brings what was kept.
    await context.unroute('**/collect');
    await page.waitForFunction(() => JSON.parse(localStorage.getItem(Object.keys(localStorage).find((key) => key.startsWith('hearth_retry')) ?? '')!)[1] <= Date.now(), undefined, { timeout: 15_000, polling: 100 });
    await page.evaluate(() => (window as any).hearth('track', 'after-outage'));
    await expect.poll(() => leadOf(world.hearth, visitor).then((lead) => lead?.email), { timeout: 10_000 }).toBe('ada@acme.test');
    expect(page.url()).toBe(`${site.url}/demo-request`);
    await context.close();
  });

  it('sends nothing for a dialog closed by its Cancel button or a method="dialog" form; a real submit is sent', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await page.goto(`${site.url}/demo-request`);
    await page.evaluate(() => (document.getElementById('dialog') as HTMLDialogElement).showModal());
    await page.click('#cancel');
    await page.evaluate(() => (document.getElementById('dialog') as HTMLDialogElement).showModal());
    await page.click('#ok');
    expect(await page.evaluate(() => (document.getElementById('dialog') as HTMLDialogElement).open)).toBe(false);
    await page.evaluate(() => (window as any).hearth('track', 'after-dialog'));
    await expect.poll(() => sent.events('t').length).toBe(1);
    expect(sent.events('f')).toEqual([]);
    const visitor = (await visitorOf(page))!;
    await expect.poll(() => leadOf(world.hearth, visitor).then((lead) => lead?.pageviews), { timeout: 10_000 }).toBe(1);
    expect((await leadOf(world.hearth, visitor))!.email).toBeNull();

    await page.evaluate(() => (document.getElementById('dialog') as HTMLDialogElement).showModal());
    await Promise.all([page.waitForURL(/\/blank/), page.click('#subscribe')]);
    await expect.poll(() => sent.events('f').map((e) => e.k)).toEqual(['newsletter']);
    await context.close();
  });

  it('with data-hash, counts a landing at an anchor with its utm tags, and a route only when its path changes', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const responses: Response[] = [];
    context.on('response', (response) => responses.push(response));
    const page = await context.newPage();
    await page.goto(`${site.url}/hashapp/?utm_source=newsletter&utm_medium=email#faq`);
    await page.waitForFunction(() => typeof (window as { hearth?: unknown }).hearth === 'function' && !('q' in (window as any).hearth));
    await page.mouse.move(100, 100);
    await page.waitForTimeout(300);
    await page.mouse.move(120, 120);
    // The first route change, then a change of its query alone, by location.hash and by replaceState.
    await page.evaluate(() => (location.hash = '#/pricing'));
    await page.evaluate(() => (location.hash = '#/pricing?billing=annual'));
    await page.evaluate(() => history.replaceState(null, '', '#/pricing?billing=monthly'));
    await page.evaluate(() => (location.hash = '#faq'));
    await page.evaluate(() => (location.hash = '#/contact'));
    await expect.poll(() => sent.events('v').length).toBe(3);
    await page.waitForTimeout(500);
    expect(sent.events('v').map((e) => new URL(e.u).hash)).toEqual(['#faq', '#/pricing', '#/contact']);
    expect(new URL(sent.events('v')[0]!.u).searchParams.get('utm_source')).toBe('newsletter');
    // Every engagement piece names its page, and the collector took every batch.
    expect(sent.events('e').length).toBeGreaterThan(0);
    for (const event of sent.events('e')) expect(new URL(event.u).pathname).toBe('/hashapp/');
    await expect.poll(() => collectStatuses(responses).length).toBe(sent.bodies.length);
    expect(collectStatuses(responses).every((status) => status === 202)).toBe(true);
    const visitor = (await visitorOf(page))!;
    hashVisitors.push(visitor);
    await expect.poll(() => leadOf(world.hearth, visitor).then((lead) => lead?.pageviews), { timeout: 10_000 }).toBe(3);
    await context.close();
  });

  it('sends one engagement event per exit of a page', async () => {
    // Sent by beacon as each page is left, which the browser context does not report: counted in ClickHouse, below.
    const context = await world.browser.newContext();
    const page = await context.newPage();
    for (let visit = 0; visit < 3; visit++) {
      await page.goto(`${site.url}/leave?visit=${visit}`);
      await page.mouse.move(50, 50 + visit);
      await page.waitForTimeout(200);
      await page.mouse.move(60, 60 + visit);
      exitVisitor ??= await visitorOf(page);
      await page.goto(`${site.url}/blank`);
    }
    // The last exit's beacon leaves as /blank opens: time to reach the collector before the next test stops it.
    await page.waitForTimeout(1000);
    await expect.poll(() => leadOf(world.hearth, exitVisitor!).then((lead) => lead?.pageviews), { timeout: 10_000 }).toBe(3);
    await context.close();
  });

  it('stores the hash-routed visit as its pages with the landing page\'s source, and one engagement per page left (read in ClickHouse)', async () => {
    await world.hearth.stop();
    const client = createStoreClient({ dataDir: world.hearth.dataDir });
    const result = await client.query({
      query: `SELECT type, path, utm_source, utm_medium FROM events FINAL
              WHERE site_id = 'demo' AND visitor_id = {visitor:String} AND type IN ('pageview', 'engagement') ORDER BY ts, type DESC`,
      query_params: { visitor: hashVisitors[0] },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ type: string; path: string; utm_source: string; utm_medium: string }>();
    const exited = await client.query({
      query: `SELECT url, count() AS pieces FROM events FINAL
              WHERE site_id = 'demo' AND visitor_id = {visitor:String} AND type = 'engagement' GROUP BY url ORDER BY url`,
      query_params: { visitor: exitVisitor },
      format: 'JSONEachRow',
    });
    const exits = await exited.json<{ url: string; pieces: string }>();
    await client.close();
    const views = rows.filter((row) => row.type === 'pageview');
    expect(views.map((row) => row.path)).toEqual(['/hashapp/', '/hashapp/pricing', '/hashapp/contact']);
    expect([views[0]!.utm_source, views[0]!.utm_medium]).toEqual(['newsletter', 'email']);
    expect(rows.filter((row) => row.type === 'engagement').every((row) => row.path.startsWith('/hashapp/'))).toBe(true);

    // One engagement event for each page left, none of a few ms after it.
    expect(exits.map((row) => [new URL(row.url).search, Number(row.pieces)])).toEqual([
      ['?visit=0', 1],
      ['?visit=1', 1],
      ['?visit=2', 1],
    ]);
  });
});
