import { readFile } from 'node:fs/promises';
import type { Browser, Dialog, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { configUsers, logIn, openPage, seedHotLead } from '../support/dashboard-browser.ts';
import { drained, newVisitor, postBatch, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

/**
 * Leaving a dashboard page and coming back to it: Back to a list or the marketing page goes back to where the reader
 * was; a lead's qualification changed but not saved is not lost without a word (a link, Back, another site, a
 * reload), and a note's line breaks survive a save; an export followed after the session ended goes through the login
 * page and back, rather than save an error as the file.
 */
describe.runIf(browserTestsEnabled())('leaving a dashboard page and coming back, in Chromium', () => {
  const sam = { name: 'sam', role: 'sales', password: 'sam-calls-the-hot-leads' } as const;
  let server: RunningServer;
  let browser: Browser;
  let lead: string;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startTestServer({
        sites: [
          { id: 'acme', name: 'Acme website', origins: [SITE_ORIGIN], pageGroups: { pricing: ['/pricing*'] } },
          { id: 'globex', name: 'Globex', origins: ['https://globex.test'] },
        ],
        users: await configUsers([sam]),
      }),
      launchChromium(),
    ]);
    lead = await seedHotLead(server);
    // A list longer than the window: 40 newsletter readers, who read the pricing page first.
    for (let n = 0; n < 40; n++) {
      const form = { n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: Date.now() - (n + 2) * 60_000, p: { 'email  email': `reader${n}.${newVisitor()}@acme-readers.test` } };
      await postBatch(server, { s: 'acme', v: newVisitor(), e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: Date.now() - (n + 3) * 60_000 }), wireEvent(form)] });
    }
    await drained(server);
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

  /** Answers each dialog the page opens as `answer` says at the time, and keeps its kind and message. */
  const dialogs = (page: Page) => {
    const seen: { type: string; message: string }[] = [];
    const state = { accept: false, seen };
    page.on('dialog', (dialog: Dialog) => {
      seen.push({ type: dialog.type(), message: dialog.message() });
      void (state.accept ? dialog.accept() : dialog.dismiss());
    });
    return state;
  };
  const here = (page: Page) => new URL(page.url()).pathname + new URL(page.url()).search;

  it("asks before leaving a lead's qualification changed but not saved: by a link, Back, another site or a reload", async () => {
    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, sam, '/dashboard/leads?site=acme&temperature=all');
    await page.locator('table.leads tbody th a').first().click();
    const budget = page.getByRole('checkbox', { name: /^Budget/ });
    await budget.waitFor();
    const leadPage = here(page);
    const asked = dialogs(page);
    // Nothing changed: the breadcrumb leaves at once.
    await page.locator('.breadcrumb a').click();
    await expect.poll(() => here(page)).toBe('/dashboard/leads?site=acme&temperature=all');
    await page.goBack();
    await budget.waitFor();
    expect(asked.seen).toEqual([]);

    await budget.check();
    const stays = async (what: string) => {
      await expect.poll(() => asked.seen.length, { message: what }).toBeGreaterThan(0);
      // A moment for a navigation that should not come.
      await page.waitForTimeout(300);
      expect([here(page), await budget.isChecked()], what).toEqual([leadPage, true]);
      return asked.seen.splice(0);
    };
    // The user stays, each time: the box stays ticked.
    await page.locator('.breadcrumb a').click();
    expect(await stays('a link')).toEqual([{ type: 'confirm', message: 'This page has changes that are not saved. Leave it and lose them?' }]);
    await page.evaluate(() => history.back());
    expect((await stays('Back')).map((dialog) => dialog.type)).toEqual(['confirm']);
    // The site picker, with the mouse: the page stays on its site, and so does the picker.
    await page.getByRole('combobox', { name: 'Site' }).selectOption('globex');
    expect((await stays('another site')).map((dialog) => dialog.type)).toEqual(['confirm']);
    expect(await page.getByRole('combobox', { name: 'Site' }).inputValue()).toBe('acme');
    // A reload is the browser's to ask about.
    await page.evaluate(() => setTimeout(() => location.reload()));
    expect((await stays('a reload')).map((dialog) => dialog.type)).toEqual(['beforeunload']);

    // Leaving, said yes to: the list.
    asked.accept = true;
    await page.locator('.breadcrumb a').click();
    await expect.poll(() => here(page)).toBe('/dashboard/leads?site=acme&temperature=all');
    expect(asked.seen.map((dialog) => dialog.type)).toEqual(['confirm']);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("keeps a note's line breaks in its field and in what a save sends, and asks nothing once it is saved", async () => {
    const path = `/api/leads/${lead}/qualification?site=acme`;
    const qualify = (body: unknown) => fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // Written through the API, as a CRM sync does.
    expect((await qualify({ notes: { budget: '50k approved\nfrom the Q3 budget' } })).status).toBe(200);
    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, sam, `/dashboard/leads/${encodeURIComponent(lead)}?site=acme`);
    const note = page.getByRole('textbox', { name: 'Note on budget' });
    await expect.poll(() => note.inputValue()).toBe('50k approved\nfrom the Q3 budget');
    await note.focus();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' (signed)');
    await page.getByRole('button', { name: 'Save qualification' }).click();
    await page.getByText(/^Saved/).waitFor();
    const saved = (await (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).json()) as { notes: Record<string, string> };
    expect(saved.notes.budget).toBe('50k approved\nfrom the Q3 budget (signed)');
    // Saved: nothing is lost by leaving, and nothing asked.
    const asked = dialogs(page);
    await page.locator('.breadcrumb a').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/dashboard/leads');
    expect(asked.seen).toEqual([]);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('goes back to where the reader was on the leads list and the marketing page once drawn, the heading focused without scrolling', async () => {
    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, sam);
    const scrolled = () => page.evaluate(() => scrollY);
    const focusedTag = () => page.evaluate(() => document.activeElement?.tagName);
    // Each list's answer a moment late, as a long list's is: the position waits for it.
    await page.route(/\/api\/dashboard\/leads\?/, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.continue();
    });
    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all&sort=recent`);
    const far = page.locator('table.leads tbody tr').nth(30).locator('th a');
    await far.scrollIntoViewIfNeeded();
    const left = await scrolled();
    expect(left).toBeGreaterThan(500);
    await far.click();
    await page.getByRole('checkbox', { name: /^Budget/ }).waitFor();
    // A new page starts at its heading, at the top.
    await expect.poll(scrolled).toBe(0);
    await page.goBack();
    await expect.poll(scrolled).toBe(left);
    expect(await focusedTag()).toBe('H1');
    // Forward: the lead, as it was left, at its top; Back again, the list where it was.
    await page.goForward();
    await page.getByRole('checkbox', { name: /^Budget/ }).waitFor();
    await expect.poll(scrolled).toBe(0);
    await page.goBack();
    await expect.poll(scrolled).toBe(left);
    // So does a reload.
    await page.reload();
    await page.locator('table.leads').waitFor();
    await expect.poll(scrolled).toBe(left);

    // The marketing page, left from its content panel far down.
    await page.goto(`${server.url}/dashboard?site=acme`);
    const content = page.locator('.content-lists a', { hasText: '/pricing' });
    // Every panel drawn: one still loading above the content panel is shorter, and left it in view without scrolling.
    await content.waitFor();
    await expect.poll(() => page.locator('.loading').count()).toBe(0);
    await content.scrollIntoViewIfNeeded();
    const down = await scrolled();
    expect(down).toBeGreaterThan(500);
    await content.click();
    await page.locator('table.leads').waitFor();
    await page.goBack();
    await expect.poll(scrolled).toBe(down);
    expect(await focusedTag()).toBe('H1');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
