import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { configUsers, logIn, openPage } from '../support/dashboard-browser.ts';
import { drained, newVisitor, postBatch, SITE_ORIGIN, startTestServer, wireEvent } from '../support/server.ts';

/**
 * Sales' lead list, turned page by page in Chromium while leads keep arriving: each lead is listed once. With pages at
 * offsets, a lead that arrived between two turns pushed the last lead of page 1 to the top of page 2.
 */
describe.runIf(browserTestsEnabled())('the lead list pager in Chromium', () => {
  const sam = { name: 'sam', role: 'sales', password: 'sam-calls-the-hot-leads' } as const;
  let server: RunningServer;
  let browser: Browser;
  const minutesAgo = (minutes: number) => Date.now() - minutes * 60_000;
  /** A lead who gave their email `minutes` ago: the list sorted by "Most recent" has them in that order. */
  const arrive = async (email: string, minutes: number) => {
    const form = wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(minutes), p: { email } });
    expect((await postBatch(server, { s: 'acme', v: newVisitor(), e: [form] })).status).toBe(202);
  };
  // 55 leads, person 1 the most recent: 50 on the first page, 5 on the second.
  const people = Array.from({ length: 55 }, (_, n) => `person${String(n + 1).padStart(2, '0')}.${newVisitor()}@pager.test`);

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startTestServer({ sites: [{ id: 'acme', origins: [SITE_ORIGIN] }], users: await configUsers([sam]), limits: { identifyingBatchesPerMinutePerIp: 1000 } }),
      launchChromium(),
    ]);
    for (const [n, email] of people.entries()) await arrive(email, 100 + n);
    await drained(server);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists each lead once when one arrives between two turns of the page, forwards and back', async () => {
    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, sam, '/dashboard/leads?site=acme&temperature=all&sort=recent');
    const status = page.getByRole('status');
    const listed = () => page.locator('table.leads tbody tr th a').allInnerTexts();
    await expect.poll(() => status.innerText()).toBe('1–50 of 55 leads');
    expect(await listed()).toEqual(people.slice(0, 50));

    const newcomer = `newcomer.${newVisitor()}@pager.test`;
    await arrive(newcomer, 1);
    await drained(server);
    await page.getByRole('button', { name: 'Next page' }).click();
    // Person 50 was last on the first page and is not shown again; the newcomer moved everyone down one place.
    await expect.poll(() => status.innerText()).toBe('52–56 of 56 leads');
    expect(await listed()).toEqual(people.slice(50));
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);

    // Back: the 50 leads before person 51, then the one before them, the newcomer.
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => status.innerText()).toBe('2–51 of 56 leads');
    expect(await listed()).toEqual(people.slice(0, 50));
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => status.innerText()).toBe('1–1 of 56 leads');
    expect(await listed()).toEqual([newcomer]);
    expect(await page.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(true);
    // To the end and back to the top at once: the last page holds the last six, the first the first fifty.
    await page.getByRole('button', { name: 'Last page' }).click();
    await expect.poll(() => status.innerText()).toBe('51–56 of 56 leads');
    expect(await listed()).toEqual(people.slice(49));
    await page.getByRole('button', { name: 'First page' }).click();
    await expect.poll(() => status.innerText()).toBe('1–50 of 56 leads');
    expect(await listed()).toEqual([newcomer, ...people.slice(0, 49)]);
    expect(await page.getByRole('button', { name: 'First page' }).getAttribute('aria-disabled')).toBe('true');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('sorts by the fit or the engagement part of the score from "Sort by", each part in a column of its own', async () => {
    // A CEO of a large company who only gave an email, and a reader of pricing who asked for a demo.
    const [ceo, keen] = [`ceo.${newVisitor()}@bigcorp.test`, `keen.${newVisitor()}@pager.test`];
    const identify = wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: ceo, t: minutesAgo(30), p: { job_title: 'CEO', company_size: '5000' } });
    expect((await postBatch(server, { s: 'acme', v: newVisitor(), e: [identify] })).status).toBe(202);
    const visit = [
      wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(20) }),
      wireEvent({ u: `${SITE_ORIGIN}/product`, t: minutesAgo(19) }),
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(18), p: { email: keen } }),
    ];
    expect((await postBatch(server, { s: 'acme', v: newVisitor(), e: visit })).status).toBe(202);
    await drained(server);

    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, sam, '/dashboard/leads?site=acme&temperature=all');
    await expect.poll(async () => (await page.locator('table.leads thead th').allTextContents()).map((text) => text.trim()).slice(0, 4)).toEqual(['Score', 'Fit', 'Engagement', 'Lead']);
    const firstRow = page.locator('table.leads tbody tr').first();
    const cells = async () => [await firstRow.locator('th a').innerText(), ...(await firstRow.locator('td.number').allInnerTexts())];
    // Each sort puts the other first: at least one of them is not the list by score.
    await page.getByRole('combobox', { name: 'Sort by' }).selectOption({ label: 'Most engaged' });
    await expect.poll(() => firstRow.locator('th a').innerText()).toBe(keen);
    expect(new URL(page.url()).searchParams.get('sort')).toBe('engagement');
    await page.getByRole('combobox', { name: 'Sort by' }).selectOption({ label: 'Best fit' });
    // The CEO: 30 points for the title, 25 for the company's size; no engagement.
    await expect.poll(cells).toEqual([ceo, '55', '55', '0']);
    expect(new URL(page.url()).searchParams.get('sort')).toBe('fit');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
