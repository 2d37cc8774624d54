import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../collector/auth/passwords.ts';
import type { RunningServer } from '../../collector/server.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { drained, newVisitor, postBatch, SITE_ORIGIN, startTestServer, wireEvent } from '../support/server.ts';

/**
 * The dashboards in Chromium, as marketing and sales use them: log in, read the key figures of seeded traffic,
 * open a hot lead, tick its BANT boxes, take it and see it become a prospect, log out. A screenshot of each page is
 * kept in test-results/screenshots/, and no page may log an error (a CSP violation is one).
 */
const SCREENSHOTS = 'test-results/screenshots';
const PASSWORDS = { sam: 'sam-calls-the-hot-leads', ada: 'ada-reads-the-dashboards' };
// A cheap scrypt cost keeps the file fast; the hash carries its cost, so logins verify the same way.
const TEST_COST = { N: 2 ** 10, r: 8, p: 1 };

describe.runIf(browserTestsEnabled())('the dashboards in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  const ceo = `ceo.${newVisitor()}@initech.test`;

  beforeAll(async () => {
    const users = [
      { name: 'sam', role: 'sales', passwordHash: await hashPassword(PASSWORDS.sam, TEST_COST) },
      { name: 'ada', role: 'marketing', passwordHash: await hashPassword(PASSWORDS.ada, TEST_COST) },
    ];
    [server, browser] = await Promise.all([
      startTestServer({
        sites: [{ id: 'acme', name: 'Acme website', origins: [SITE_ORIGIN], pageGroups: { product: ['/product*'], webinar: ['/webinar*'], pricing: ['/pricing*'], resources: ['/resources*'] } }],
        users,
      }),
      launchChromium(),
    ]);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await seed();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const minutesAgo = (minutes: number) => Date.now() - minutes * 60_000;
  const post = (events: Record<string, unknown>[]) => postBatch(server, { s: 'acme', v: newVisitor(), e: events.map((event) => wireEvent(event)) });

  /** Three leads and two anonymous visitors, through /collect as the snippet sends them. */
  async function seed() {
    await post([
      { u: `${SITE_ORIGIN}/?utm_source=linkedin`, r: 'https://www.linkedin.com/', ss: 1, t: minutesAgo(50) },
      { u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(49) },
      { n: 'e', u: `${SITE_ORIGIN}/pricing`, ms: 95_000, t: minutesAgo(47) },
      { n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(45), p: { 'email  email': ceo, 'first_name  ': 'Grace', 'last_name  ': 'Hopper', 'job_title  ': 'CEO', 'company  ': 'Initech', 'company_size  ': '500', 'industry  ': 'Software', 'country  ': 'France' } },
    ]);
    await post([
      { u: `${SITE_ORIGIN}/product?utm_source=linkedin`, ss: 1, t: minutesAgo(40) },
      { n: 'f', u: `${SITE_ORIGIN}/webinar`, k: 'webinar-signup', t: minutesAgo(39), p: { 'email  email': `ops.${newVisitor()}@globex.test`, 'job_title  ': 'Head of Operations' } },
    ]);
    await post([
      { u: `${SITE_ORIGIN}/resources?utm_source=display`, ss: 1, t: minutesAgo(30) },
      { n: 'f', u: `${SITE_ORIGIN}/resources`, k: 'whitepaper', t: minutesAgo(29), p: { 'email  email': `student.${newVisitor()}@gmail.com`, 'job_title  ': 'Student' } },
    ]);
    await post([{ u: `${SITE_ORIGIN}/`, ss: 1, t: minutesAgo(20) }]);
    await post([{ u: `${SITE_ORIGIN}/product`, ss: 1, t: minutesAgo(10) }]);
    await drained(server);
  }

  /** A browser tab that records every console error and uncaught exception. */
  async function openPage(): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    return { page, problems };
  }

  async function logIn(page: Page, name: keyof typeof PASSWORDS) {
    await page.goto(`${server.url}/dashboard`);
    await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
    await page.fill('#name', name);
    await page.fill('#password', PASSWORDS[name]);
    await Promise.all([page.waitForURL(`${server.url}/dashboard`), page.click('button[type=submit]')]);
  }

  /** The figure a key-figure card shows, by its label. */
  const kpi = (page: Page, label: string) => page.locator('.kpi', { has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('.kpi-value').first().innerText();

  it('takes sales from the marketing figures to a hot lead they qualify into a prospect, then logs out', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'sam');

    await expect.poll(() => kpi(page, 'Visitors')).toBe('5');
    expect(await kpi(page, 'Identified leads')).toBe('3');
    expect(await kpi(page, 'New leads')).toBe('3');
    expect(await kpi(page, 'Warm leads')).toBe('1');
    expect(await kpi(page, 'Hot leads')).toBe('1');
    expect(await kpi(page, 'MQLs')).toBe('1');
    expect(await kpi(page, 'Prospects')).toBe('0');
    await page.locator('#scores-title').waitFor();
    await page.locator('.sources tbody tr', { hasText: 'linkedin' }).waitFor();
    await page.locator('.uplot').first().waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/marketing.png`, fullPage: true });

    await page.getByRole('link', { name: 'Leads', exact: true }).click();
    await page.getByRole('heading', { name: 'Hot leads' }).waitFor();
    const rows = page.locator('table.leads tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain('Grace Hopper');
    expect(await rows.first().innerText()).toContain('C level +30');
    await page.screenshot({ path: `${SCREENSHOTS}/leads.png`, fullPage: true });

    await page.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    const status = page.locator('.lead-status');
    expect(await status.innerText()).toContain('MQL');
    for (const box of ['Budget', 'Authority', 'Need', 'Timing']) await page.getByRole('checkbox', { name: new RegExp(`^${box}`) }).check();
    await page.getByRole('textbox', { name: 'Note on budget' }).fill('40k approved for Q3');
    await page.getByRole('button', { name: 'Assign to me' }).click();
    expect(await page.getByRole('textbox', { name: 'Owner' }).inputValue()).toBe('sam');
    await page.getByRole('button', { name: 'Save qualification' }).click();
    await page.getByText('Saved: this lead is now a prospect.').waitFor();
    await expect.poll(() => status.innerText()).toContain('Prospect');
    await page.screenshot({ path: `${SCREENSHOTS}/lead.png`, fullPage: true });

    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.locator('table.accounts tbody tr', { hasText: 'initech.test' }).waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/accounts.png`, fullPage: true });

    await page.getByRole('link', { name: 'Marketing' }).click();
    await expect.poll(() => kpi(page, 'Prospects')).toBe('1');
    expect(await kpi(page, 'MQLs')).toBe('0');

    await Promise.all([page.waitForURL(/\/login$/), page.getByRole('button', { name: 'Sign out' }).click()]);
    await page.goto(`${server.url}/dashboard/leads`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('lets marketing read and export but not qualify', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    const exportLink = page.getByRole('link', { name: 'Export the period\'s leads (CSV)' });
    await exportLink.waitFor();
    const csv = await page.request.get(new URL((await exportLink.getAttribute('href'))!, server.url).href);
    expect(csv.status()).toBe(200);
    expect((await csv.text()).split('\r\n')[0]).toMatch(/^id,email,name,company,/);

    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all`);
    await page.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByText('Your role (marketing) can read qualifications').waitFor();
    expect(await page.getByRole('button', { name: 'Save qualification' }).isDisabled()).toBe(true);
    // Past the disabled form, the API itself refuses: a session's change needs the CSRF token, and then the role.
    const { csrfToken } = await (await page.request.get(`${server.url}/api/session`)).json();
    const leadId = new URL(page.url()).pathname.split('/').pop();
    const refused = await page.request.post(`${server.url}/api/leads/${leadId}/qualification?site=acme`, { headers: { 'x-csrf-token': csrfToken }, data: { owner: 'ada' } });
    expect(refused.status()).toBe(403);
    expect((await refused.json()).code).toBe('forbidden');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('refuses the dashboards and their API without a login', async () => {
    const page = await fetch(`${server.url}/dashboard/leads`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login?next=%2Fdashboard%2Fleads');
    expect((await fetch(`${server.url}/api/dashboard/summary?site=acme`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/leads.csv?site=acme`)).status).toBe(401);
  });

  it('serves the pages under a strict CSP, with hashed assets cached for a year', async () => {
    const { page } = await openPage();
    await logIn(page, 'ada');
    const shell = await page.request.get(`${server.url}/dashboard`);
    expect(shell.headers()['cache-control']).toBe('no-cache');
    expect(shell.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(shell.headers()['content-security-policy']).not.toContain('unsafe');
    const script = /src="(\/dashboard\/assets\/dashboard-[A-Z0-9]+\.js)"/.exec(await shell.text())![1]!;
    const asset = await page.request.get(`${server.url}${script}`);
    expect(asset.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers()['content-type']).toBe('text/javascript; charset=utf-8');
    await page.context().close();
  });
});
