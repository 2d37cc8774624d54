import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsEnabled } from '../support/chromium.ts';
import { leadOf, recordBatches, useHearthAndChromium, visitorOf } from '../support/e2e.ts';
import { embed, startFixtureSite, type FixtureSite } from '../support/fixture-site.ts';

const CHECKOUT = `
  <form id="checkout" method="post" action="/blank">
    <label>Email <input name="email" type="email" value="ada@acme.test"></label>
    <label>Company <input name="company" value="Acme"></label>
    <label>Password <input name="password" type="password" value="hunter2-secret"></label>
    <label>Name on card <input name="card_name" value="ADA CARDHOLDER"></label>
    <label>Card <input name="cc-number" autocomplete="cc-number" value="4111 1111 1111 1111"></label>
    <label>Phone <input name="phone" value="4012-8888-8888-1881"></label>
    <label>Notes <input name="job_notes" data-hearth-ignore value="ignored-value"></label>
    <input type="hidden" name="company_ref" value="hidden-value">
    <button>Pay</button>
  </form>
  <form id="scripted" data-hearth-form="newsletter" action="/blank"><input name="work_email" value="grace@acme.test"></form>
  <form id="requested" action="/blank"><input name="email" value="linus@acme.test"></form>`;

// A single-page app's form: inputs with no name, id or autocomplete (an app keeps their values in its own state), sent
// by the app's own fetch once it cancelled the submit.
const APP_FORM = `
  <form id="app-signup">
    <input type="email" aria-label="Work email" value="margaret@acme.test">
    <input type="tel" aria-label="Phone" value="+33 1 23 45 67 89">
    <button>Get the demo</button>
  </form>
  <script>document.getElementById('app-signup').addEventListener('submit', (event) => { event.preventDefault(); document.body.dataset.sent = '1'; });</script>`;

describe.runIf(browserTestsEnabled())('form capture in Chromium', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite({
      '/checkout': `<!doctype html><title>Checkout</title>${embed(world.hearth.url)}${CHECKOUT}`,
      '/app': `<!doctype html><title>App</title>${embed(world.hearth.url)}${APP_FORM}`,
    });
  });
  afterAll(() => site?.close());

  it('sends the declarative fields and never a password, card, hidden or ignored value, even as the page navigates away', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await page.goto(`${site.url}/checkout`);
    await Promise.all([page.waitForURL(/\/blank/), page.click('#checkout button')]);
    // One submit, by its event id (a page navigating away may have it sent again under the same id: see below).
    await expect.poll(() => new Set(sent.events('f').map((e) => e.i)).size).toBe(1);
    const values = Object.values(sent.events('f')[0]!.p!);
    expect(values.sort()).toEqual(['Acme', 'ada@acme.test']);
    // Every text sent, but the random ids, the times and durations and the site's address (its port is random), in
    // which "4111" or "4012" may well appear.
    const body = sent
      .events()
      .map(({ i: _id, n: _type, ...event }) => JSON.stringify({ ...event, t: undefined, ms: undefined, sd: undefined, sid: undefined }).replaceAll(site.url, ''))
      .join('\n');
    for (const secret of ['hunter2', 'CARDHOLDER', '4111', '4012', 'ignored-value', 'hidden-value']) expect(body).not.toContain(secret);
    await context.close();
  });

  it("makes a lead of an app's form whose email input has no name, id or autocomplete", async () => {
    const context = await world.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.url}/app`);
    await page.click('#app-signup button');
    await page.waitForSelector('body[data-sent]');
    const visitor = await visitorOf(page);
    await expect.poll(() => leadOf(world.hearth, visitor!).then((lead) => lead?.email), { timeout: 10_000 }).toBe('margaret@acme.test');
    await context.close();
  });

  it('captures form.submit() and requestSubmit()', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await page.goto(`${site.url}/checkout`);
    await Promise.all([page.waitForURL(/\/blank/), page.evaluate(() => (document.getElementById('scripted') as HTMLFormElement).submit())]);
    await page.goto(`${site.url}/checkout`);
    await Promise.all([page.waitForURL(/\/blank/), page.evaluate(() => (document.getElementById('requested') as HTMLFormElement).requestSubmit())]);
    // Each submit once, by its event id: a keepalive fetch whose page navigates away may be seen failing by that page,
    // which keeps the event, and the next page of the site sends it again under the same id (stored once).
    const submits = () => [...new Map(sent.events('f').map((e) => [e.i, e])).values()];
    await expect.poll(() => submits().map((e) => [e.k, Object.values(e.p!)[0]])).toEqual([
      ['newsletter', 'grace@acme.test'],
      ['requested', 'linus@acme.test'],
    ]);
    await context.close();
  });
});
