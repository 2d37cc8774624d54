import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { configUsers, logIn, openPage, seedHotLead } from '../support/dashboard-browser.ts';
import { startTestServer } from '../support/server.ts';

/**
 * Leaving a dashboard page and coming back to it: an export followed after the session ended goes through the login
 * page and back, rather than save an error as the file.
 */
describe.runIf(browserTestsEnabled())('leaving a dashboard page and coming back, in Chromium', () => {
  const sam = { name: 'sam', role: 'sales', password: 'sam-calls-the-hot-leads' } as const;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer({ sites: [{ id: 'acme', name: 'Acme website', origins: ['https://www.acme.test'] }], users: await configUsers([sam]) }), launchChromium()]);
    await seedHotLead(server);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('takes an export followed after the session ended to the login page, and back to the list, rather than save the 401 as the file', async () => {
    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, sam);
    const list = '/dashboard/leads?site=acme&temperature=all';
    await page.goto(`${server.url}${list}`);
    const exportLink = page.getByRole('link', { name: 'Export this list (CSV)' });
    await page.locator('table.leads').waitFor();
    // Signed in: the list's file.
    const [file] = await Promise.all([page.waitForEvent('download'), exportLink.click()]);
    expect((await readFile((await file.path())!, 'utf8')).split('\r\n')[0]).toMatch(/^\uFEFFid,email,/);

    // The session ended (its cookie gone, as after a logout in another tab or 12 hours away): the login page, not a
    // file holding {"error": "log in at /login…"}.
    await page.context().clearCookies();
    const saved: string[] = [];
    page.on('download', (download) => saved.push(download.suggestedFilename()));
    await exportLink.click();
    await page.waitForURL((url) => url.pathname === '/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe(list);
    expect(saved).toEqual([]);
    await page.getByLabel('Name').fill(sam.name);
    await page.getByLabel('Password').fill(sam.password);
    await Promise.all([page.waitForURL(`${server.url}${list}`), page.getByLabel('Password').press('Enter')]);
    // The browser reports the session check's 401; nothing else went wrong.
    expect(problems.filter((problem) => !problem.includes('status of 401'))).toEqual([]);
    await page.context().close();
  });
});
