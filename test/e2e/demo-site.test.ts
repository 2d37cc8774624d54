import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { startHearthProcess, type HearthProcess } from '../support/hearth-process.ts';

describe.runIf(browserTestsEnabled())('demo site in Chromium', () => {
  let hearth: HearthProcess;
  let browser: Browser;

  beforeAll(async () => {
    // Exactly what `npm start` runs, on a free port and a fresh data directory.
    [hearth, browser] = await Promise.all([startHearthProcess(['--config', 'test/fixtures/hearth.demo.json']), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await hearth?.stop();
  });

  async function leadOf(visitor: string) {
    const response = await fetch(`${hearth.url}/api/leads?site=demo&visitor=${visitor}`, { headers: { authorization: `Bearer ${hearth.token}` } });
    return ((await response.json()) as { leads: { pageviews: number; events: number; visitorIds: string[] }[] }).leads[0];
  }

  it('records home → product → pricing (an SPA navigation) and shows the page views in /api/leads', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    const sentPaths: string[] = [];
    page.on('request', (request) => {
      if (!request.url().endsWith('/collect')) return;
      for (const event of JSON.parse(request.postData() ?? '{}').e ?? []) if (event.n === 'pageview') sentPaths.push(new URL(event.u).pathname);
    });

    const beaconSent = () => page.waitForRequest((request) => request.url().endsWith('/collect'));
    for (const path of ['/demo/', '/demo/product/']) await Promise.all([beaconSent(), page.goto(`${hearth.url}${path}`)]);
    const documentRequests: string[] = [];
    page.on('request', (request) => request.resourceType() === 'document' && documentRequests.push(request.url()));
    await Promise.all([beaconSent(), page.getByRole('link', { name: /see pricing/i }).first().click()]);
    await page.waitForURL('**/demo/pricing/');
    await expect.poll(() => page.title()).toMatch(/^Pricing/);
    expect(documentRequests).toEqual([]); // the pricing page came through pushState, not a page load

    const visitor = await page.evaluate(() => localStorage.getItem('hearth_vid'));
    expect(visitor).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => leadOf(visitor!).then((lead) => lead?.pageviews), { timeout: 10_000 }).toBe(3);
    expect(sentPaths).toEqual(['/demo/', '/demo/product/', '/demo/pricing/']);
    expect(await leadOf(visitor!)).toMatchObject({ visitorIds: [visitor], events: 3 });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('counts the back button as a page view and keeps the visitor across pages', async () => {
    const page = await browser.newPage();
    await page.goto(`${hearth.url}/demo/`);
    await page.getByRole('navigation').getByRole('link', { name: 'Product' }).click();
    await page.waitForURL('**/demo/product/');
    await page.goBack();
    await page.waitForURL(/\/demo\/$/);
    const visitor = await page.evaluate(() => localStorage.getItem('hearth_vid'));
    await expect.poll(() => leadOf(visitor!).then((lead) => lead?.pageviews), { timeout: 10_000 }).toBe(3);
    await page.close();
  });
});
