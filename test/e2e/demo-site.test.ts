import { describe, expect, it } from 'vitest';
import { browserTestsEnabled } from '../support/chromium.ts';
import { leadOf, recordBatches, useHearthAndChromium, visitorOf } from '../support/e2e.ts';

describe.runIf(browserTestsEnabled())('demo site in Chromium', () => {
  // Exactly what `npm start` runs, on a free port and a fresh data directory.
  const world = useHearthAndChromium();

  it('records home → product → pricing (an SPA navigation) and shows the page views in /api/leads', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));

    const beaconSent = () => page.waitForRequest((request) => request.url().endsWith('/collect'));
    for (const path of ['/demo/', '/demo/product/']) await Promise.all([beaconSent(), page.goto(`${world.hearth.url}${path}`)]);
    const documentRequests: string[] = [];
    page.on('request', (request) => request.resourceType() === 'document' && documentRequests.push(request.url()));
    await Promise.all([beaconSent(), page.getByRole('link', { name: /see pricing/i }).first().click()]);
    await page.waitForURL('**/demo/pricing/');
    await expect.poll(() => page.title()).toMatch(/^Pricing/);
    expect(documentRequests).toEqual([]); // the pricing page came through pushState, not a page load

    const visitor = await visitorOf(page);
    expect(visitor).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => leadOf(world.hearth, visitor!).then((lead) => lead?.pageviews), { timeout: 10_000 }).toBe(3);
    // A beacon still unanswered when its page navigates away may be sent again by a later page (the snippet's retry),
    // under the same event id, which the collector keeps once: the page views sent are the distinct ids.
    const views = new Map(sent.events('v').map((event) => [event.i, new URL(event.u).pathname]));
    expect([...views.values()]).toEqual(['/demo/', '/demo/product/', '/demo/pricing/']);
    expect(await leadOf(world.hearth, visitor!)).toMatchObject({ visitorIds: [visitor] });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('counts the back button as a page view and keeps the visitor across pages', async () => {
    const context = await world.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${world.hearth.url}/demo/`);
    await page.getByRole('navigation').getByRole('link', { name: 'Product' }).click();
    await page.waitForURL('**/demo/product/');
    await page.goBack();
    await page.waitForURL(/\/demo\/$/);
    const visitor = await visitorOf(page);
    await expect.poll(() => leadOf(world.hearth, visitor!).then((lead) => lead?.pageviews), { timeout: 10_000 }).toBe(3);
    await context.close();
  });

  it('turns a visitor into a lead with the demo-request form, keeping the anonymous page views, and never sends the message or hidden fields', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await page.goto(`${world.hearth.url}/demo/pricing/`);
    await page.goto(`${world.hearth.url}/demo/contact/?topic=quote`);
    await page.getByLabel(/work email/i).fill('ada@lovelace-logistics.test');
    await page.getByLabel(/first name/i).fill('Ada');
    await page.getByLabel(/last name/i).fill('Lovelace');
    await page.getByLabel(/job title/i).fill('CEO');
    await page.getByLabel(/^company$/i).fill('Lovelace Logistics');
    await page.getByLabel(/company size/i).selectOption('251-1000');
    await page.getByLabel(/industry/i).selectOption('Logistics');
    await page.getByLabel(/country/i).selectOption('FR');
    await page.getByLabel(/what would you like/i).fill('Our budget is 40k, confidential');
    await page.getByRole('checkbox').check();
    // The submit navigates to the thank-you page: the form event must survive it.
    await Promise.all([page.waitForURL('**/demo/thanks/'), page.getByRole('button', { name: /book|request|send|submit/i }).click()]);

    const visitor = await visitorOf(page);
    await expect.poll(() => leadOf(world.hearth, visitor!), { timeout: 10_000 }).toMatchObject({ kind: 'lead', email: 'ada@lovelace-logistics.test', pageviews: 3 });
    const form = sent.events('f')[0]!;
    expect(form.k).toBe('demo-request');
    const body = sent.bodies.join('\n');
    for (const secret of ['confidential', 'site-contact', 'utm_campaign_internal']) expect(body).not.toContain(secret);
    await context.close();
  });
});
