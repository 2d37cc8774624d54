import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../collector/auth/passwords.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { startHearthProcess, type HearthProcess } from '../support/hearth-process.ts';
import { startFixtureSite } from '../support/fixture-site.ts';

const PASSWORD = 'ada-types-her-password';

describe.runIf(browserTestsEnabled())('the login page in Chromium', () => {
  let hearth: HearthProcess;
  let browser: Browser;
  beforeAll(async () => {
    // The user comes from HEARTH_USERS, as a deployment's secrets would provide it.
    const users = [{ name: 'ada', role: 'marketing', passwordHash: await hashPassword(PASSWORD) }];
    [hearth, browser] = await Promise.all([
      startHearthProcess(['--config', 'test/fixtures/hearth.demo.json'], { HEARTH_USERS: JSON.stringify(users) }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await hearth?.stop();
  });

  /** Collects console errors (CSP violations included) and page errors. */
  function watch(page: Page): string[] {
    const problems: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    return problems;
  }

  /** A new browser context in which ada has logged in through the login page, on the dashboard it lands on. */
  async function signedIn() {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${hearth.url}/login`);
    await page.getByLabel('Name').fill('ada');
    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([page.waitForURL(`${hearth.url}/dashboard`), page.getByLabel('Password').press('Enter')]);
    return { context, page };
  }

  it('logs in with the keyboard alone and lands on the next page, without a console error', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${hearth.url}/login?next=${encodeURIComponent('/demo/pricing/?plan=team')}`);
    expect(await page.title()).toBe('Log in · Hearth');
    // The name field has the focus on arrival; Tab goes to the password, Enter submits.
    await page.keyboard.type('ada');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await Promise.all([page.waitForURL(`${hearth.url}/demo/pricing/?plan=team`), page.keyboard.press('Enter')]);
    // The browser is now signed in as ada: the API answers it through the cookie.
    const session = await page.request.get(`${hearth.url}/api/session`);
    expect(await session.json()).toMatchObject({ user: { name: 'ada', role: 'marketing' }, csrfToken: expect.any(String) });
    const [cookie] = await context.cookies(hearth.url);
    expect(cookie).toMatchObject({ name: 'hearth_session', httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('opens a dashboard link followed from another site (an alert in Slack or an email) still logged in', async () => {
    const { context, page } = await signedIn();
    // A page of another site (localhost is not the same site as 127.0.0.1) links to a lead list, as an alert does.
    const elsewhere = await startFixtureSite({ '/': `<!doctype html><title>Chat</title><a href="${hearth.url}/dashboard/leads?site=demo">Open the lead</a>` });
    try {
      await page.goto(elsewhere.url.replace('127.0.0.1', 'localhost'));
      await Promise.all([page.waitForURL((url) => url.hostname === '127.0.0.1'), page.getByRole('link', { name: 'Open the lead' }).click()]);
      expect(new URL(page.url()).pathname).toBe('/dashboard/leads');
    } finally {
      await elsewhere.close();
      await context.close();
    }
  });

  it('says what went wrong, keeps the name and puts the focus back on the password', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${hearth.url}/login`);
    await page.getByLabel('Name').fill('ada');
    await page.getByLabel('Password').fill('not-her-password');
    await page.getByRole('button', { name: 'Log in' }).press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('wrong name or password');
    expect(await page.getByLabel('Name').inputValue()).toBe('ada');
    // `autofocus` takes effect at the page's next rendering step, which a busy machine may not have reached yet.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('password');
    expect(await page.title()).toBe('Error: Log in · Hearth');
    // A wrong password is a 401 response, which Chromium reports on the console; nothing else may appear.
    expect(problems.filter((problem) => !problem.includes('401'))).toEqual([]);
    await context.close();
  });

  it('signs out to the login page even while the page is still loading its panels', async () => {
    const { context, page } = await signedIn();
    // The marketing page's panels are held on their way, the header (session, sites) is not.
    const panels: Route[] = [];
    await page.route(
      (url) => url.pathname.startsWith('/api/dashboard/') && url.pathname !== '/api/dashboard/sites',
      (route) => void panels.push(route),
    );
    let loginPage: Route | undefined;
    await page.route(
      (url) => url.pathname === '/login',
      (route) => {
        if (new URL(route.request().url()).search === '') loginPage = route;
        else void route.continue();
      },
    );
    await page.reload();
    await expect.poll(() => panels.length).toBeGreaterThan(0);
    // The click's navigation to the login page is held below: Playwright, which waits for a navigation a click starts
    // to finish when the sign-out's request is answered before the click returns (a busy machine), must not wait here.
    await page.getByRole('button', { name: 'Sign out' }).click({ noWaitAfter: true });
    // Signed out: on its way to the login page, the panels' answers arrive, each a 401 now.
    await expect.poll(() => loginPage !== undefined).toBe(true);
    await Promise.all(panels.map((route) => route.continue()));
    await Promise.all(panels.map((route) => route.request().response()));
    await loginPage!.continue().catch(() => {});
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(page.url()).toBe(`${hearth.url}/login`);
    await context.close();
  });
});
