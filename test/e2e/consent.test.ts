import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsEnabled } from '../support/chromium.ts';
import { leadOf, recordBatches, useHearthAndChromium, visitorOf } from '../support/e2e.ts';
import { embed, startFixtureSite, type FixtureSite } from '../support/fixture-site.ts';

describe.runIf(browserTestsEnabled())('consent and opt-outs in Chromium', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite({
      '/required': `<!doctype html><title>Consent</title>${embed(world.hearth.url, { consent: 'required' })}<p>Hello</p>`,
      '/plain': `<!doctype html><title>Plain</title>${embed(world.hearth.url)}<p>Hello</p>`,
      '/dnt-ignored': `<!doctype html><title>DNT ignored</title>${embed(world.hearth.url, { 'respect-dnt': 'false' })}<p>Hello</p>`,
    });
  });
  afterAll(() => site?.close());

  it('sends and stores nothing before consent, then everything it kept once granted', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await page.goto(`${site.url}/required`);
    await page.evaluate(() => (window as any).hearth('track', 'video-play'));
    await page.waitForTimeout(1500);
    expect(sent.bodies).toEqual([]);
    expect(await page.evaluate(() => [localStorage.length, document.cookie])).toEqual([0, '']);

    await page.evaluate(() => (window as any).hearth('consent', 'granted'));
    await expect.poll(() => sent.events().map((e) => e.n)).toEqual(['v', 't']);
    const visitor = await visitorOf(page);
    await expect.poll(() => leadOf(world.hearth, visitor!).then((lead) => lead?.events), { timeout: 10_000 }).toBe(2);
    await context.close();
  });

  it('drops everything when consent is denied', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await page.goto(`${site.url}/required`);
    await page.evaluate(() => (window as any).hearth('consent', 'denied'));
    await page.evaluate(() => (window as any).hearth('track', 'after-denial'));
    await page.goto(`${site.url}/plain`.replace('/plain', '/required'));
    await page.waitForTimeout(1000);
    await page.close({ runBeforeUnload: true });
    expect(sent.bodies).toEqual([]);
    await context.close();
  });

  it('erases the visitor id, the cookie and the retry queue when consent is denied after a grant; a later grant is a new visitor', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await context.route('**/collect', (route) => route.abort('connectionrefused'));
    await page.goto(`${site.url}/plain`);
    const stored = () => page.evaluate(() => [localStorage.getItem('hearth_vid'), localStorage.getItem(Object.keys(localStorage).find((key) => key.startsWith('hearth_retry')) ?? '')]);
    // The stash is flat: [attempts, notBefore, ...events].
    await expect.poll(async () => JSON.parse((await stored())[1] ?? '[0,0]').slice(2).length).toBe(1);
    const visitor = (await visitorOf(page))!;
    expect((await context.cookies()).map((cookie) => [cookie.name, cookie.value])).toEqual([['hearth_vid', visitor]]);
    await context.unroute('**/collect');

    await page.evaluate(() => (window as any).hearth('consent', 'denied'));
    expect(await stored()).toEqual([null, null]);
    // The page's cookie write reaches the browser's cookie store, which the test reads, a moment later (CI saw it not yet).
    await expect.poll(() => context.cookies()).toEqual([]);
    const failedBodies = sent.bodies.length;

    // The backoff has passed and the browser is back online: the stashed page view stays unsent.
    await page.waitForTimeout(2100);
    await page.evaluate(() => dispatchEvent(new Event('online')));
    await page.evaluate(() => (window as any).hearth('consent', 'granted'));
    await page.evaluate(() => (window as any).hearth('track', 'after-grant'));
    await expect.poll(() => sent.events('t').map((event) => event.k)).toEqual(['after-grant']);
    const later = sent.bodies.slice(failedBodies).map((body) => JSON.parse(body));
    expect(later.map((batch) => batch.e.map((event: { n: string }) => event.n))).toEqual([['t']]);
    const newVisitor = later[0].v;
    expect(newVisitor).not.toBe(visitor);
    expect(await visitorOf(page)).toBe(newVisitor);
    await expect.poll(async () => (await context.cookies()).map((cookie) => [cookie.name, cookie.value])).toEqual([['hearth_vid', newVisitor]]);
    await expect.poll(() => leadOf(world.hearth, newVisitor).then((lead) => lead?.events), { timeout: 10_000 }).toBe(1);
    expect(await leadOf(world.hearth, visitor)).toBeUndefined();
    await context.close();
  });

  it('stops every open tab when consent is denied in one: the others send nothing more and do not store the ids again', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const first = await context.newPage();
    const second = await context.newPage();
    await first.goto(`${site.url}/plain`);
    await second.goto(`${site.url}/plain`);
    await expect.poll(() => sent.events('v').length).toBe(2);
    const visitor = (await visitorOf(first))!;

    // The other tab learns of the deny by a storage event; the test waits for it as the snippet's own listener
    // (registered first, so it has run by then) gets it.
    await second.evaluate(() => addEventListener('storage', (event) => ((window as any).seen = event.key)));
    await first.evaluate(() => (window as any).hearth('consent', 'denied'));
    await second.waitForFunction(() => (window as any).seen === 'hearth_vid');
    await second.evaluate(() => (window as any).hearth('track', 'after-denial-in-another-tab'));
    await second.evaluate(() => history.pushState({}, '', '/plain?next'));
    await second.waitForTimeout(1000);
    await second.close({ runBeforeUnload: true });
    expect(sent.events('t')).toEqual([]);
    expect(sent.events('v')).toHaveLength(2);
    expect(await first.evaluate(() => localStorage.getItem('hearth_vid'))).toBeNull();
    expect(await context.cookies()).toEqual([]);
    await expect.poll(() => leadOf(world.hearth, visitor).then((lead) => lead?.events), { timeout: 10_000 }).toBe(2);
    await context.close();
  });

  it('honours Global Privacy Control and Do-Not-Track, unless data-respect-dnt="false"', async () => {
    const context = await world.browser.newContext({ extraHTTPHeaders: { DNT: '1', 'Sec-GPC': '1' } });
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });
      Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' });
    });
    const sent = recordBatches(context);
    const page = await context.newPage();
    await page.goto(`${site.url}/plain`);
    await page.waitForTimeout(1000);
    expect(sent.bodies).toEqual([]);
    await page.goto(`${site.url}/dnt-ignored`);
    await expect.poll(() => sent.events('v').length).toBe(1);
    await context.close();
  });

  it('sends nothing from a browser opted out with localStorage.hearth_ignore', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await page.goto(`${site.url}/plain`);
    // Its page view has gone out: otherwise the reload would send it by beacon, and the count below would race.
    await expect.poll(() => sent.events('v').length).toBe(1);
    await page.evaluate(() => localStorage.setItem('hearth_ignore', '1'));
    const before = sent.bodies.length;
    await page.reload();
    await page.waitForTimeout(1000);
    await page.close({ runBeforeUnload: true });
    expect(sent.bodies.length).toBe(before);
    await context.close();
  });
});
