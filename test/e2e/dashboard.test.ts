import { mkdirSync } from 'node:fs';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendQualification, leadIdOf } from '../../collector/api/lead-store.ts';
import type { RunningServer } from '../../collector/server.ts';
import { encodedInsertOf } from '../../collector/store/client.ts';
import { leadSnapshots, writeSnapshots } from '../../scoring/snapshots.ts';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { configUsers, logIn as logInAs, openPage as openTab, type DashboardUser } from '../support/dashboard-browser.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, wireEvent } from '../support/server.ts';

/**
 * The dashboards in Chromium, as marketing and sales use them: log in, read the key figures of seeded traffic,
 * open a hot lead, tick its BANT boxes, take it and see it become a prospect, log out. A screenshot of each page is
 * kept in test-results/screenshots/, and no page may log an error (a CSP violation is one).
 */
const SCREENSHOTS = 'test-results/screenshots';

/** A text a chart's canvas drew: where it is (a share of the canvas' width, as aligned) and where it starts (its left edge, in pixels). */
interface DrawnText {
  text: string;
  at: number;
  left: number;
}

/** uPlot writes its axes' labels on the chart's canvas, not in the page: each canvas keeps what it last drew. */
const keepDrawnTexts = (page: Page) =>
  page.addInitScript(() => {
    type Drawing = HTMLCanvasElement & { drawn?: DrawnText[] };
    const { clearRect, fillText } = CanvasRenderingContext2D.prototype;
    CanvasRenderingContext2D.prototype.clearRect = function (this: CanvasRenderingContext2D, ...args: Parameters<typeof clearRect>) {
      (this.canvas as Drawing).drawn = [];
      return clearRect.apply(this, args);
    };
    CanvasRenderingContext2D.prototype.fillText = function (this: CanvasRenderingContext2D, ...args: Parameters<typeof fillText>) {
      const width = this.measureText(args[0]).width;
      const left = this.textAlign === 'right' ? args[1] - width : this.textAlign === 'center' ? args[1] - width / 2 : args[1];
      ((this.canvas as Drawing).drawn ??= []).push({ text: args[0], at: args[1] / this.canvas.width, left });
      return fillText.apply(this, args);
    };
  });

/** What the canvas of the chart named `chart` last drew (keepDrawnTexts). */
const drawnTexts = (page: Page, chart: string) =>
  page.locator(`.chart-canvas[aria-label^="${chart}. "] canvas`).evaluate((canvas: HTMLCanvasElement & { drawn?: DrawnText[] }) => canvas.drawn ?? []);
const USERS = {
  sam: { name: 'sam', role: 'sales', password: 'sam-calls-the-hot-leads' },
  lin: { name: 'lin', role: 'sales', password: 'lin-closes-the-deals' },
  ada: { name: 'ada', role: 'marketing', password: 'ada-reads-the-dashboards' },
} satisfies Record<string, DashboardUser>;

describe.runIf(browserTestsEnabled())('the dashboards in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  const ceo = `ceo.${newVisitor()}@initech.test`;

  beforeAll(async () => {
    const users = await configUsers(Object.values(USERS));
    [server, browser] = await Promise.all([
      startTestServer({
        sites: [{ id: 'acme', name: 'Acme website', origins: [SITE_ORIGIN], pageGroups: { product: ['/product*'], webinar: ['/webinar*'], pricing: ['/pricing*'], resources: ['/resources*'] } }],
        users,
        // Every test logs in from this one address, and most of them as ada.
        limits: { loginAttemptsPerIp: 100, loginAttemptsPerUser: 100 },
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
  /** Every browser the seed posts from: the Visitors key figure counts each once, whatever the days it was seen. */
  const visitors = new Set<string>();
  const post = (events: Record<string, unknown>[], v = newVisitor()) => {
    visitors.add(v);
    return postBatch(server, { s: 'acme', v, e: events.map((event) => wireEvent(event)) });
  };
  /** Engaged time on pricing over the period's pricing-page views (the CEO's one view): 119.5 s a view. */
  const PRICING = { views: 1, engagedMs: 119_500 };

  /**
   * Four leads and two anonymous visitors, through /collect as the snippet sends them. Under the default rules
   * (warm from 30, hot above 60): the CEO 110 (C level 30, 500 employees 25, software 20, France 15, pricing 20), hot;
   * the head of operations 35 (manager 20, webinar 15), warm; the student -25 (student -15, free mail -10), cold;
   * Ada Lovelace 60 (head 20, 500 employees 25, France 15), warm, seen yesterday and today from one browser.
   */
  async function seed() {
    await post([
      { u: `${SITE_ORIGIN}/?utm_source=linkedin`, r: 'https://www.linkedin.com/', ss: 1, t: minutesAgo(50) },
      { u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(49) },
      // In two pieces, as the snippet sends engaged time (a piece counts a minute at most).
      { n: 'e', u: `${SITE_ORIGIN}/pricing`, ms: PRICING.engagedMs / 2, t: minutesAgo(48) },
      { n: 'e', u: `${SITE_ORIGIN}/pricing`, ms: PRICING.engagedMs / 2, t: minutesAgo(47) },
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
    // Ada's browser, anonymous late yesterday (UTC; under 25 h ago, so the collector keeps the time), then today
    // where she types her name in a plain "Name" field (kept as full_name). Her email does not say "Lovelace".
    const ada = newVisitor();
    const todayStart = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    const today = (minutes: number) => Math.max(minutesAgo(minutes), todayStart + 60_000);
    await post([{ u: `${SITE_ORIGIN}/`, ss: 1, t: todayStart - 30 * 60_000 }], ada);
    await post(
      [
        { u: `${SITE_ORIGIN}/`, ss: 1, t: today(6) },
        { n: 'f', u: `${SITE_ORIGIN}/`, k: 'newsletter', t: today(5), p: { 'name  ': 'Ada Lovelace', 'email  email': `ada.${newVisitor()}@analytical-engines.test`, 'company  ': 'Analytical Engines', 'job_title  ': 'Head of Research', 'company_size  ': '500', 'country  ': 'France' } },
      ],
      ada,
    );
    await post([{ u: `${SITE_ORIGIN}/`, ss: 1, t: minutesAgo(20) }]);
    await post([{ u: `${SITE_ORIGIN}/product`, ss: 1, t: minutesAgo(10) }]);
    await drained(server);
  }

  /** The seeded leads' scores under the default rules, as the seed's comment adds them up. */
  const SCORES = { ceo: 30 + 25 + 20 + 15 + 20, ops: 20 + 15, student: -15 - 10, ada: 20 + 25 + 15 };
  const temperatureOf = (score: number) => (score > 60 ? 'hot' : score >= 30 ? 'warm' : 'cold');
  /** The key figures the seed makes: each browser once, each lead once (all of them new), by its temperature. */
  const expected = () => {
    const count = (temperature: string) => String(Object.values(SCORES).filter((score) => temperatureOf(score) === temperature).length);
    const leads = String(Object.keys(SCORES).length);
    return { visitors: String(visitors.size), leads, newLeads: leads, cold: count('cold'), warm: count('warm'), hot: count('hot') };
  };

  const openPage = () => openTab(browser);
  const logIn = (page: Page, name: keyof typeof USERS, to?: string) => logInAs(page, server.url, USERS[name], to);

  /** A tab where Sam, signed in, has Initech's lead open, ready to qualify it. */
  const onInitechLead = async () => {
    const tab = await openPage();
    await logIn(tab.page, 'sam', '/dashboard/leads?site=acme&temperature=all&q=initech');
    await tab.page.locator('table.leads tbody tr a').first().click();
    await tab.page.getByRole('checkbox', { name: /^Budget/ }).waitFor();
    return tab;
  };

  /** The figure a key-figure card shows, by its label. */
  const kpi = (page: Page, label: string) => page.locator('.kpi', { has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('.kpi-value').first().innerText();

  it('takes sales from the marketing figures to a hot lead they qualify into a prospect, then logs out', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'sam');

    const figures = expected();
    expect(figures).toEqual({ visitors: '6', leads: '4', newLeads: '4', cold: '1', warm: '2', hot: '1' });
    await expect.poll(() => kpi(page, 'Visitors')).toBe(figures.visitors);
    expect(await kpi(page, 'Identified leads')).toBe(figures.leads);
    expect(await kpi(page, 'New leads')).toBe(figures.newLeads);
    expect(await kpi(page, 'Warm leads')).toBe(figures.warm);
    expect(await kpi(page, 'Hot leads')).toBe(figures.hot);
    // An MQL is a lead nobody has qualified yet who is hot or asked for a demo: the CEO, who did both.
    expect(await kpi(page, 'MQLs')).toBe('1');
    expect(await kpi(page, 'Prospects')).toBe('0');
    await page.locator('#scores-title').waitFor();
    await page.locator('.sources tbody tr', { hasText: 'linkedin' }).waitFor();
    await page.locator('.uplot').first().waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/marketing.png`, fullPage: true });

    await page.getByRole('link', { name: 'Leads', exact: true }).click();
    // Sales' inbox: the MQLs.
    await page.getByRole('heading', { name: 'MQLs' }).waitFor();
    const rows = page.locator('table.leads tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain('Grace Hopper');
    expect(await page.getByRole('status').filter({ hasText: /leads?$/ }).innerText()).toBe('1 lead');
    expect(await rows.first().innerText()).toContain('CEO, founder (C-level) +30');
    await page.screenshot({ path: `${SCREENSHOTS}/leads.png`, fullPage: true });

    await page.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    const status = page.locator('.lead-status');
    expect(await status.innerText()).toContain('MQL');
    for (const box of ['Budget', 'Authority', 'Need', 'Timing']) await page.getByRole('checkbox', { name: new RegExp(`^${box}`) }).check();
    await page.getByRole('textbox', { name: 'Note on budget' }).fill('40k approved for Q3');
    await page.getByRole('button', { name: 'Assign to me' }).click();
    expect(await page.getByRole('combobox', { name: 'Owner' }).inputValue()).toBe('sam');
    await page.getByRole('button', { name: 'Save qualification' }).click();
    await page.getByText('Saved: this lead is now a prospect.').waitFor();
    await expect.poll(() => status.innerText()).toContain('Prospect');
    await page.screenshot({ path: `${SCREENSHOTS}/lead.png`, fullPage: true });

    // The checklist is the site's framework, named, with nothing to pick: the config says which boxes make a prospect.
    await page.locator('p.framework', { hasText: 'Framework: BANT' }).waitFor();
    expect(await page.getByRole('combobox', { name: 'Framework' }).count()).toBe(0);
    // Unticking a box says what the lead needs again; ticking it back makes it a prospect again.
    await page.getByRole('checkbox', { name: /^Timing/ }).uncheck();
    await page.getByRole('button', { name: 'Save qualification' }).click();
    await page.getByText('Saved: no longer a prospect. It needs Timing.').waitFor();
    await page.getByRole('checkbox', { name: /^Timing/ }).check();
    await page.getByRole('button', { name: 'Save qualification' }).click();
    await page.getByText('Saved: this lead is now a prospect.').waitFor();
    expect(await page.getByRole('textbox', { name: 'Note on budget' }).inputValue()).toBe('40k approved for Q3');
    // A note saved on a prospect leaves it one: the message does not announce it again.
    await page.getByRole('textbox', { name: 'Note on timing' }).fill('signs in Q3');
    await page.getByRole('button', { name: 'Save qualification' }).click();
    await expect.poll(() => page.locator('p.saved[role=status]').innerText()).toBe('Saved.');
    // Who changed what, and when, newest first.
    const history = page.locator('.qualification-history li');
    await expect.poll(() => history.allInnerTexts()).toHaveLength(4);
    const changes = (await history.allInnerTexts()).map((line) => line.replace(/^\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC · /, ''));
    expect(changes).toEqual([
      'sam: noted on Timing: “signs in Q3”',
      'sam: ticked Timing',
      'sam: unticked Timing',
      'sam: ticked Budget, Authority, Need, and Timing; noted on Budget: “40k approved for Q3”; assigned to sam',
    ]);

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

  it('says a list is temporarily unavailable while the server answers 503, and shows it once it answers, with no reload', async () => {
    const { page } = await openPage();
    await logIn(page, 'sam');
    // The leads list answered 503 (its database unreachable) twice, as the collector does with Retry-After.
    let refused = 0;
    await page.route(/\/api\/dashboard\/leads\?/, (route) =>
      refused++ < 2
        ? route.fulfill({ status: 503, headers: { 'retry-after': '1' }, contentType: 'application/json', body: JSON.stringify({ error: 'the database cannot be reached or is failing; nothing was read or changed, try again shortly', code: 'store_unavailable' }) })
        : route.continue(),
    );
    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all`);
    await page.getByText('temporarily unavailable. This page tries again by itself.').first().waitFor();
    await page.getByRole('link', { name: 'Grace Hopper' }).waitFor({ timeout: 15_000 });
    expect(refused).toBeGreaterThanOrEqual(3);
    expect(await page.getByText('temporarily unavailable').count()).toBe(0);
    await page.context().close();
  });

  it('lets marketing read and export but not qualify', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    const exportLink = page.getByRole('link', { name: 'Export the period\'s leads (CSV)' });
    await exportLink.waitFor();
    const csv = await page.request.get(new URL((await exportLink.getAttribute('href'))!, server.url).href);
    expect(csv.status()).toBe(200);
    // After the byte-order mark that tells Excel the file is UTF-8.
    expect((await csv.text()).split('\r\n')[0]).toMatch(/^\uFEFFid,email,name,company,/);

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

  it('shows marketing the qualification\'s text fields as read-only, not as boxes to type in', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada', '/dashboard/leads?site=acme&temperature=all&q=initech');
    await page.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByText('Your role (marketing) can read qualifications').waitFor();
    const white = 'rgb(255, 255, 255)';
    for (const name of ['Note on budget', 'Owner', 'Reason']) {
      const field = page.getByRole('textbox', { name, exact: true });
      // Read-only (reached with the keyboard, read and copied; announced as such), not a white box that takes no typing.
      const looks = await field.evaluate((input: HTMLInputElement) => ({ readOnly: input.readOnly, disabled: input.disabled, background: getComputedStyle(input).backgroundColor, placeholder: input.placeholder }));
      expect(looks, name).toEqual({ readOnly: true, disabled: false, background: looks.background, placeholder: '' });
      expect(looks.background, name).not.toBe(white);
      const before = await field.inputValue();
      await field.focus();
      await page.keyboard.type('typed by marketing');
      expect(await field.inputValue(), name).toBe(before);
    }
    expect(await page.getByRole('checkbox', { name: /^Budget/ }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Assign to me' }).count()).toBe(0);
    // An editable field, for comparison: the list's search field is the white box.
    await page.goto(`${server.url}/dashboard/leads?site=acme`);
    expect(await page.getByRole('searchbox', { name: 'Search' }).evaluate((input) => getComputedStyle(input).backgroundColor)).toBe(white);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('finds its way for keyboard users, past the end of a list, and from an account to its leads', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    // A key figure's link says what it lists, not only its number.
    await page.getByRole('link', { name: `${expected().warm} warm leads: see the list` }).waitFor();

    // A link kept from when the list was longer: told so, and a way back.
    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all&offset=5000`);
    await page.getByText(`This page is past the end of the list: ${Object.keys(SCORES).length} leads match these filters.`).waitFor();
    await page.getByRole('button', { name: 'Go to the last page' }).click();
    await expect.poll(() => page.locator('table.leads tbody tr').count()).toBe(Object.keys(SCORES).length);
    // The chips give whole points: the webinar sign-up, 39 minutes old, is 14.99 decayed (the API's and CSV's figure).
    expect(await page.locator('table.leads tbody tr', { hasText: 'Head of Operations' }).innerText()).toContain('Webinar sign-up +15');

    // Opening a lead with the keyboard puts the focus on its name, once the page has drawn it.
    await page.getByRole('link', { name: 'Grace Hopper' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    await expect.poll(() => page.evaluate(() => document.activeElement?.tagName + ' ' + document.activeElement?.textContent)).toBe('H1 Grace Hopper');

    // An account leads to its leads, and exports as the page lists it.
    await page.getByRole('link', { name: 'Accounts' }).click();
    const exportLink = page.getByRole('link', { name: 'Export this list (CSV)' });
    const csv = await page.request.get(new URL((await exportLink.getAttribute('href'))!, server.url).href);
    expect((await csv.text()).split('\r\n')[0]).toBe('\uFEFFid,name,score,temperature,leads,roles,roles_counted,best_leads');
    await page.getByRole('link', { name: 'Initech', exact: true }).click();
    await expect.poll(() => page.locator('table.leads tbody tr').allInnerTexts()).toEqual([expect.stringContaining('Grace Hopper')]);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('keeps the keyboard in the search field after a search, and on the next filter after removing one', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    const from = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all&funnel=TOFU&content=page:/pricing&from=${from}&to=${new Date().toISOString().slice(0, 10)}`);
    const hasFocus = (locator: Locator) => locator.evaluate((element) => element === document.activeElement);

    // A search typed and sent with Enter: the list shows its lead, and the next keystroke still goes to the field.
    const search = page.getByRole('searchbox', { name: 'Search' });
    await search.fill('initech');
    await search.press('Enter');
    await expect.poll(() => page.locator('table.leads tbody tr').allInnerTexts()).toEqual([expect.stringContaining('Grace Hopper')]);
    expect(new URL(page.url()).searchParams.get('q')).toBe('initech');
    expect(await hasFocus(search)).toBe(true);
    await page.keyboard.type(' hopper');
    expect(await search.inputValue()).toBe('initech hopper');
    await search.fill('initech');

    // Three filters removed with Enter alone: each time the focus is on the next filter's button, then in the search field.
    const remove = (text: RegExp) => page.getByRole('button', { name: text });
    await remove(/^Remove filter: Funnel/).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => hasFocus(remove(/^Remove filter: Engaged with page \/pricing/))).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => hasFocus(remove(/^Remove filter: Seen /))).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.drill-downs').count()).toBe(0);
    await expect.poll(() => hasFocus(search)).toBe(true);
    expect([...new URL(page.url()).searchParams.keys()].sort()).toEqual(['q', 'site', 'temperature']);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('applies a search typed but not sent when another filter is picked, as the box shows it', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    // Typed as soon as the box is there, while the page still settles (on a busy machine, what runs once it is painted
    // runs late): it wiped what was typed, and CI saw the filter picked next leave the search out.
    await page.addInitScript(() => {
      window.requestAnimationFrame = () => 0;
      new MutationObserver((_, observer) => {
        const box = document.querySelector<HTMLInputElement>('input[type=search]');
        if (!box) return;
        observer.disconnect();
        box.value = 'initech';
        box.dispatchEvent(new Event('input', { bubbles: true }));
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all`);
    const search = page.getByRole('searchbox', { name: 'Search' });
    await search.waitFor();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await search.inputValue()).toBe('initech');
    // Picked without Apply: the list was every hot lead while the box still said "initech".
    await page.getByRole('combobox', { name: 'Temperature' }).selectOption('hot');
    await expect.poll(() => new URL(page.url()).searchParams.get('temperature')).toBe('hot');
    expect(new URL(page.url()).searchParams.get('q')).toBe('initech');
    await expect.poll(() => page.locator('table.leads tbody tr').allInnerTexts()).toEqual([expect.stringContaining('Grace Hopper')]);
    expect(await search.inputValue()).toBe('initech');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('reads the charts and figures as the key figures count: a returning visitor once, 60 points warm, engaged time in whole minutes', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    const figures = expected();

    // 119.5 s a view rounds to 120 s: two whole minutes, not "1 min 60 s".
    expect(Math.round(PRICING.engagedMs / PRICING.views / 1000)).toBe(120);
    await expect.poll(() => kpi(page, 'Engaged time per view')).toBe('2 min');

    // Ada's 60 points are warm (hot is above 60): the bucket of 60 to 69 points holds one warm lead and no hot one.
    expect([SCORES.ada, temperatureOf(SCORES.ada)]).toEqual([60, 'warm']);
    const scores = page.locator('figure.chart', { has: page.locator('summary', { hasText: 'Leads by score: data table' }) });
    await scores.locator('summary').click();
    expect(await scores.locator('thead th').allTextContents()).toEqual(['Bucket', 'Cold', 'Warm', 'Hot']);
    const sixties = scores.locator('tbody tr', { has: page.locator('th', { hasText: /^60 to 69 points$/ }) });
    await expect.poll(() => sixties.locator('td').allInnerTexts()).toEqual(['0', '1', '0']);
    // A bucket opens its leads: Ada alone, under a filter that says so.
    await sixties.getByRole('link', { name: '60 to 69 points' }).click();
    await page.getByRole('button', { name: 'Remove filter: Score 60 to 69' }).waitFor();
    await expect.poll(() => page.locator('table.leads tbody tr').count()).toBe(1);
    expect(await page.locator('table.leads tbody tr').first().innerText()).toContain('Ada Lovelace');
    await page.goBack();

    // The charts' summaries for screen readers say the period's figures: Ada's browser and Ada, seen on two days, count once.
    await expect.poll(() => kpi(page, 'Visitors')).toBe(figures.visitors);
    expect(await kpi(page, 'Warm leads')).toBe(figures.warm);
    const summaryOf = (label: string) => page.locator(`.chart-canvas[role=img][aria-label^="${label}. "]`).getAttribute('aria-label');
    const total = (summary: string | null, series: string) => new RegExp(`${series}: (\\d+) in all`).exec(summary ?? '')?.[1];
    expect(total(await summaryOf('Visitors per day'), 'Visitors')).toBe(figures.visitors);
    const leads = await summaryOf('Leads seen per day, by temperature');
    expect([total(leads, 'Cold'), total(leads, 'Warm'), total(leads, 'Hot')]).toEqual([figures.cold, figures.warm, figures.hot]);
    await page.screenshot({ path: `${SCREENSHOTS}/marketing-figures.png`, fullPage: true });

    // The pricing panel's leads open as a list, as many as it counts.
    const viewers = await kpi(page, 'Leads who viewed pricing');
    await page.getByRole('link', { name: `${viewers} leads who viewed pricing: see the list` }).click();
    await page.getByRole('button', { name: 'Remove filter: Viewed pricing' }).waitFor();
    await expect.poll(() => page.locator('table.leads tbody tr').count()).toBe(Number(viewers));
    await page.goBack();
    // So do the new leads.
    const newLeads = await kpi(page, 'New leads');
    expect(Number(newLeads)).toBeGreaterThan(0);
    await page.getByRole('link', { name: `${newLeads} new leads: see the list` }).click();
    await page.getByRole('button', { name: 'Remove filter: New: first gave their email in the period' }).waitFor();
    await expect.poll(() => page.locator('table.leads tbody tr').count()).toBe(Number(newLeads));
    await page.goBack();

    // Ada saw only the home page: among the leads seen, she is at no step of the funnel, and it says so.
    expect(await page.getByText(/identified leads seen; each sits at the furthest step/).innerText()).toBe(
      `${figures.leads} identified leads seen; each sits at the furthest step it reached, and a step counts the leads at it or beyond. 1 of them reached no step: they saw no page of the funnel's page groups.`,
    );
    // A month with no lead: the funnel gives no rate out of a step with none, where it read "0% of the step before".
    await page.goto(`${server.url}/dashboard?site=acme&from=2026-01-01&to=2026-01-31`);
    await expect.poll(() => page.locator('.funnel-rate').allInnerTexts()).toEqual(['', ...Array(4).fill('– (none at the step before)')]);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('keeps both changes when two salespeople qualify one lead from pages opened before either saved', async () => {
    // Sam and Lin open the head of operations' lead, each in their own browser, before either saves.
    const sam = await openPage();
    const lin = await openPage();
    await logIn(sam.page, 'sam');
    await logIn(lin.page, 'lin');
    for (const { page } of [sam, lin]) {
      await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all&q=globex`);
      await page.locator('table.leads tbody tr a').first().click();
      await page.getByRole('checkbox', { name: /^Budget/ }).waitFor();
    }
    const leadId = new URL(sam.page.url()).pathname.split('/').pop();

    // Sam learns the budget and takes the lead.
    await sam.page.getByRole('checkbox', { name: /^Budget/ }).check();
    await sam.page.getByRole('textbox', { name: 'Note on budget' }).fill('20k set aside');
    await sam.page.getByRole('button', { name: 'Assign to me' }).click();
    await sam.page.getByRole('button', { name: 'Save qualification' }).click();
    await sam.page.getByText(/^Saved\./).waitFor();

    // Lin, whose page still shows the lead as it was, confirms the need. Her save sent every box unticked but
    // hers, no owner and no budget note: Sam's change was undone.
    await lin.page.getByRole('checkbox', { name: /^Need/ }).check();
    await lin.page.getByRole('textbox', { name: 'Note on need' }).fill('replacing spreadsheets');
    await lin.page.getByRole('button', { name: 'Save qualification' }).click();
    await lin.page.getByText(/^Saved\./).waitFor();

    // Lin's page now shows the lead as the server has it: both changes.
    const form = (page: Page) => ({
      budget: page.getByRole('checkbox', { name: /^Budget/ }).isChecked(),
      need: page.getByRole('checkbox', { name: /^Need/ }).isChecked(),
      budgetNote: page.getByRole('textbox', { name: 'Note on budget' }).inputValue(),
      needNote: page.getByRole('textbox', { name: 'Note on need' }).inputValue(),
      owner: page.getByRole('combobox', { name: 'Owner' }).inputValue(),
    });
    const both = { budget: true, need: true, budgetNote: '20k set aside', needNote: 'replacing spreadsheets', owner: 'sam' };
    const read = async (page: Page) => Object.fromEntries(await Promise.all(Object.entries(form(page)).map(async ([key, value]) => [key, await value])));
    await expect.poll(() => read(lin.page)).toEqual(both);
    await expect.poll(() => lin.page.locator('.qualification-status').innerText()).toBe('Status: Lead (missing: Authority, Timing)');
    // She is told what Sam changed while her page was open: her save merged onto it.
    expect(await lin.page.getByText(/^Saved\./).innerText()).toBe(
      'Saved. To become a prospect it still needs Authority, Timing. While this page was open, sam changed it: ticked Budget; noted on Budget: “20k set aside”; assigned to sam.',
    );

    // And so does the API, and Sam's page once reloaded.
    const { body } = await getJson(server, `/api/leads/${leadId}/qualification?site=acme`);
    expect({ boxes: body.boxes, notes: body.notes, owner: body.owner }).toEqual({ boxes: { budget: true, need: true }, notes: { budget: '20k set aside', need: 'replacing spreadsheets' }, owner: 'sam' });
    await sam.page.reload();
    await sam.page.getByRole('checkbox', { name: /^Budget/ }).waitFor();
    await expect.poll(() => read(sam.page)).toEqual(both);

    // Sam in a second tab of his: what he changed there is told too, as his own change is not this save's.
    const second = await sam.page.context().newPage();
    await second.goto(sam.page.url());
    await second.getByRole('checkbox', { name: /^Authority/ }).check();
    await second.getByRole('button', { name: 'Save qualification' }).click();
    await second.getByText(/^Saved\./).waitFor();
    await sam.page.getByRole('textbox', { name: 'Note on timing' }).fill('Q3');
    await sam.page.getByRole('button', { name: 'Save qualification' }).click();
    await expect.poll(() => sam.page.locator('p.saved[role=status]').innerText()).toBe(
      'Saved. To become a prospect it still needs Timing. While this page was open, sam changed it: ticked Authority.',
    );

    // Sam rewrites the budget note; Lin, her page as it was after her save, writes another one: not saved over his
    // (QA: a rep's call notes were replaced without a word), she is told what he changed, and her note stays typed.
    await sam.page.getByRole('textbox', { name: 'Note on budget' }).fill('25k set aside');
    await sam.page.getByRole('button', { name: 'Save qualification' }).click();
    await expect.poll(() => sam.page.locator('p.saved[role=status]').innerText()).toMatch(/^Saved\./);
    await lin.page.getByRole('textbox', { name: 'Note on budget' }).fill('budget unknown');
    await lin.page.getByRole('button', { name: 'Save qualification' }).click();
    await expect.poll(() => lin.page.getByText(/^Not saved\./).innerText()).toMatch(
      /^Not saved\. While this page was open, sam changed it: .*noted on Budget: “25k set aside”\. Your changes are still in the form: save again to replace theirs, or reload the page to start from theirs\.$/,
    );
    expect(await lin.page.getByRole('textbox', { name: 'Note on budget' }).inputValue()).toBe('budget unknown');
    expect((await getJson(server, `/api/leads/${leadId}/qualification?site=acme`)).body.notes.budget).toBe('25k set aside');
    // Saved again, knowingly: hers replaces his.
    await lin.page.getByRole('button', { name: 'Save qualification' }).click();
    await lin.page.getByText(/^Saved\./).waitFor();
    expect((await getJson(server, `/api/leads/${leadId}/qualification?site=acme`)).body.notes.budget).toBe('budget unknown');
    // Sam disqualifies the lead; Lin, her page as it was, adds a note of two lines on Need: saved, her message says
    // Sam disqualified it, not she, and the history keeps her note's lines.
    await sam.page.reload();
    await sam.page.getByRole('textbox', { name: 'Reason' }).fill('duplicate of another lead');
    await sam.page.getByRole('button', { name: 'Disqualify' }).click();
    await expect.poll(() => sam.page.locator('p.saved[role=status]').innerText()).toMatch(/^Saved: disqualified\./);
    await lin.page.getByRole('textbox', { name: 'Note on need' }).fill('Call notes:\n- 40 seats');
    await lin.page.getByRole('button', { name: 'Save qualification' }).click();
    await expect.poll(() => lin.page.locator('p.saved[role=status]').innerText()).toMatch(
      /^Saved\. The lead is disqualified\. While this page was open, sam changed it: disqualified: duplicate of another lead\.$/,
    );
    await expect.poll(() => lin.page.locator('.qualification-history li').first().innerText()).toMatch(/noted on Need: “Call notes:\n- 40 seats”/);
    // Sam, his page as it was after his disqualifying, saves with nothing changed: told what Lin changed, and shown it.
    await sam.page.getByRole('button', { name: 'Save qualification' }).click();
    await expect.poll(() => sam.page.locator('p.saved[role=status]').innerText()).toMatch(/^Nothing to save\. While this page was open, lin changed it: noted on Need: .*\. The checklist shows it now\.$/s);
    expect(await sam.page.getByRole('textbox', { name: 'Note on need' }).inputValue()).toBe('Call notes:\n- 40 seats');
    // The refusal is the browser's one logged failure, the one expected.
    expect([...sam.problems, ...lin.problems]).toEqual(['Failed to load resource: the server responded with a status of 409 (Conflict)']);
    await sam.page.context().close();
    await lin.page.context().close();
  });

  it('saves and signs out from a tab opened before its user signed in again in another tab', async () => {
    const first = await onInitechLead();
    // Another tab of the same browser signs out and in again: the cookie is a new session's, with a new CSRF token.
    const second = await first.page.context().newPage();
    await second.goto(`${server.url}/dashboard`);
    await Promise.all([second.waitForURL(/\/login$/), second.getByRole('button', { name: 'Sign out' }).click()]);
    await second.fill('#name', 'sam');
    await second.fill('#password', USERS.sam.password);
    await Promise.all([second.waitForURL(`${server.url}/dashboard`), second.click('button[type=submit]')]);

    await first.page.getByRole('textbox', { name: 'Note on timing' }).fill('signing in January');
    await first.page.getByRole('button', { name: 'Save qualification' }).click();
    await first.page.getByText(/^Saved/).waitFor();
    const leadId = new URL(first.page.url()).pathname.split('/').pop();
    expect((await getJson(server, `/api/leads/${leadId}/qualification?site=acme`)).body.notes.timing).toBe('signing in January');

    // Once more, and the first tab signs out: signed out for real, in every tab.
    await Promise.all([second.waitForURL(/\/login$/), second.getByRole('button', { name: 'Sign out' }).click()]);
    await second.fill('#name', 'sam');
    await second.fill('#password', USERS.sam.password);
    await Promise.all([second.waitForURL(`${server.url}/dashboard`), second.click('button[type=submit]')]);
    await Promise.all([first.page.waitForURL(/\/login$/), first.page.getByRole('button', { name: 'Sign out' }).click()]);
    await second.goto(`${server.url}/dashboard/leads`);
    expect(new URL(second.url()).pathname).toBe('/login');
    // The save's and the sign-out's first tries, with the old session's token, which the page then renewed.
    expect(first.problems).toEqual(Array(2).fill('Failed to load resource: the server responded with a status of 403 (Forbidden)'));
    await first.page.context().close();
  });

  it('keeps what was typed when a save finds the session ended, and saves it once signed in again in another tab', async () => {
    const first = await onInitechLead();
    const leadUrl = first.page.url();
    // Another tab signs out: the session is gone.
    const second = await first.page.context().newPage();
    await second.goto(`${server.url}/dashboard`);
    await Promise.all([second.waitForURL(/\/login$/), second.getByRole('button', { name: 'Sign out' }).click()]);

    const note = first.page.getByRole('textbox', { name: 'Note on need' });
    await note.fill('three teams, one tool');
    await first.page.getByRole('button', { name: 'Save qualification' }).click();
    await first.page.getByText('Not saved: your session has ended. Sign in again in another tab (this page keeps what you typed), then try again.').waitFor();
    expect(first.page.url()).toBe(leadUrl);
    expect(await note.inputValue()).toBe('three teams, one tool');

    await second.fill('#name', 'sam');
    await second.fill('#password', USERS.sam.password);
    await Promise.all([second.waitForURL(`${server.url}/dashboard`), second.click('button[type=submit]')]);
    await first.page.getByRole('button', { name: 'Save qualification' }).click();
    await first.page.getByText(/^Saved/).waitFor();
    const leadId = new URL(leadUrl).pathname.split('/').pop();
    expect((await getJson(server, `/api/leads/${leadId}/qualification?site=acme`)).body.notes.need).toBe('three teams, one tool');
    // The refused save, and the next one's first try with the old session's token, which the page then renewed.
    expect(first.problems).toEqual([
      'Failed to load resource: the server responded with a status of 401 (Unauthorized)',
      'Failed to load resource: the server responded with a status of 403 (Forbidden)',
    ]);
    await first.page.context().close();
  });

  it('says which days the list covers when the URL gives only where the period ends', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    // The API lists the leads seen in the 30 days up to `to`; the page said "Seen <today> – 30 Nov 2026".
    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all&to=2026-11-30`);
    await expect.poll(() => page.locator('.drill-downs button').getAttribute('aria-label')).toBe('Remove filter: Seen 1 Nov 2026 – 30 Nov 2026, UTC');
    const seen = page.getByRole('combobox', { name: 'Seen' });
    expect(await seen.locator('option:checked').innerText()).toBe('1 Nov 2026 – 30 Nov 2026');
    // Up to today, the same 30 days are the "last 30 days" choice.
    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all&to=${new Date().toISOString().slice(0, 10)}`);
    await expect.poll(() => seen.locator('option:checked').innerText()).toBe('In the last 30 days');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('names a lead by the "Name" field it filled in, and finds it by that name', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada', '/dashboard/leads?site=acme&temperature=all&q=Lovelace');
    const rows = page.locator('table.leads tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain('Ada Lovelace');
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('heading', { name: 'Ada Lovelace', level: 1 }).waitFor();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Ada Lovelace');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('draws a score that changed twice in a day at the times it changed, not twice on the same day', async () => {
    // A lead who signs up for the newsletter, then, a batch later, reads the pricing page: two scores minutes apart.
    const reader = newVisitor();
    const email = `reader.${newVisitor()}@hooli.test`;
    await postBatch(server, { s: 'acme', v: reader, e: [wireEvent({ ss: 1, t: minutesAgo(9) }), wireEvent({ n: 'f', k: 'newsletter', t: minutesAgo(8), p: { 'email  email': email, 'company  ': 'Hooli' } })] });
    await drained(server);
    await postBatch(server, { s: 'acme', v: reader, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(3) })] });
    await drained(server);
    visitors.add(reader);

    const { page, problems } = await openPage();
    await logIn(page, 'ada', `/dashboard/leads?site=acme&temperature=all&q=${encodeURIComponent(email)}`);
    await page.getByRole('link', { name: email }).click();
    const chart = page.locator('figure.chart', { has: page.locator('summary', { hasText: 'Score over time: data table' }) });
    await chart.locator('summary').click();
    const table = chart.locator('details table');
    expect(await table.locator('thead th').allTextContents()).toEqual(['Time', 'Score']);
    // Each score at its own time (the table had "1 Dec 2026" twice, and the chart one day for both).
    const times = await table.locator('tbody th').allTextContents();
    expect(times).toHaveLength(2);
    for (const time of times) expect(time).toMatch(/^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$/);
    expect(await table.locator('tbody td').allTextContents()).toEqual(['0', '20']);
    await chart.screenshot({ path: `${SCREENSHOTS}/lead-score-over-time.png` });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('marks where the scoring rules changed on the score over time, and says what the score went from and to then', async () => {
    const visitor = newVisitor();
    const email = `rules.${newVisitor()}@vandelay.test`;
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ n: 'f', k: 'newsletter', t: minutesAgo(8), p: { 'email  email': email, 'company  ': 'Vandelay' } })] });
    await drained(server);
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(3) })] });
    await drained(server);
    visitors.add(visitor);
    const id = leadIdOf(email);
    // The site's rules changed (a pricing page worth 35 rather than 20): the collector rescored the lead under them.
    const [latest] = await leadSnapshots(server.client, 'acme', id);
    await writeSnapshots(encodedInsertOf(server.client), [{ ...latest!, score: 35, rules_hash: 'the new rules', scored_at: toClickHouseTime(Date.now() + 1000) }]);

    const { page, problems } = await openPage();
    await logIn(page, 'ada', `/dashboard/leads/${id}?site=acme`);
    const note = page.getByText(/^The scoring rules changed on \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC: the score went from 20 to 35 then\.$/);
    await note.waitFor();
    const chart = page.locator('figure.chart', { has: page.locator('summary', { hasText: 'Score over time: data table' }) });
    expect(await chart.locator('[role="img"]').getAttribute('aria-label')).toMatch(/rules changed at \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC\./);
    await chart.locator('summary').click();
    const table = chart.locator('details table');
    expect(await table.locator('thead th').allTextContents()).toEqual(['Time', 'Score', 'Note']);
    expect(await table.locator('tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)))).toEqual([
      ['0', ''],
      ['20', ''],
      ['35', 'rules changed'],
    ]);
    await chart.screenshot({ path: `${SCREENSHOTS}/lead-score-rules-changed.png` });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("shows what a checklist kept from the site's earlier framework holds, beside the site's", async () => {
    const visitor = newVisitor();
    const email = `kept.${newVisitor()}@initrode.test`;
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ n: 'f', k: 'newsletter', t: minutesAgo(5), p: { 'email  email': email, 'company  ': 'Initrode' } })] });
    await drained(server);
    visitors.add(visitor);
    const id = leadIdOf(email);
    // As the site stored it under MEDDICC, before its config moved to BANT.
    const state = { framework: 'meddicc' as const, boxes: { metrics: true, champion: false }, notes: { metrics: 'cut churn 20%' }, owner: '', disqualified: false, reason: '' };
    await appendQualification(server.client, 'acme', id, { state, change: { framework: 'meddicc', boxes: { metrics: true, champion: false }, notes: { metrics: 'cut churn 20%' } } }, 'lin', Date.now() - 60_000);

    const { page, problems } = await openPage();
    await logIn(page, 'sam', `/dashboard/leads/${id}?site=acme`);
    await page.locator('p.framework', { hasText: 'Framework: BANT' }).waitFor();
    await page.getByText("Kept from the site's earlier framework: Metrics (ticked): “cut churn 20%”").waitFor();
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('says what is wrong with a period written in the URL, rather than drawing nothing or "invalid query"', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    // A month that does not exist: the leads page threw formatting the day ("Invalid time value") and drew nothing.
    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all&from=2026-13-01`);
    await page.getByText('Could not load the leads: from: not a calendar day (got "2026-13-01")').waitFor();
    expect(await page.getByRole('button', { name: /^Remove filter: Seen 2026-13-01 – / }).count()).toBe(1);
    // A period longer than a view covers, picked by hand: each panel said "invalid query", not which day to change.
    await page.goto(`${server.url}/dashboard?site=acme&from=2024-01-01&to=2026-01-01`);
    await page.getByText('Could not load the figures: from: a view covers at most 366 days (got "2024-01-01")').waitFor();
    // A day that does not exist: named, and the page does not count days from it ("the 0 days before").
    await page.goto(`${server.url}/dashboard?site=acme&from=2026-02-30&to=2026-03-01`);
    await page.getByText('Could not load the figures: from: not a calendar day (got "2026-02-30")').waitFor();
    expect(await page.locator('p.intro').count()).toBe(0);
    // Only the end given, and wrong: named as `to`, where the page sent a `from` worked out from it and had `from` named.
    await page.goto(`${server.url}/dashboard?site=acme&to=1970-01-10`);
    await page.getByText('Could not load the figures: to: the period before this one, which it is compared with, would start on 1969-11-12: periods run from 1970-01-01 to 2200-12-31 (got "1970-01-10")').waitFor();
    // A start that is no day at all: named, where the page showed the last 30 days as if the URL had none.
    await page.goto(`${server.url}/dashboard?site=acme&from=yesterday`);
    await page.getByText('Could not load the figures: from: expected a day as YYYY-MM-DD (got "yesterday")').waitFor();
    // The browser reports each refused request; nothing else went wrong.
    expect(problems.filter((problem) => !problem.includes('the server responded with a status of 400'))).toEqual([]);
    await page.context().close();
  });

  it('refuses a custom period longer than 366 days next to its fields, without asking the server', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    await page.getByRole('combobox', { name: 'Period' }).selectOption('custom');
    const from = page.getByLabel('From', { exact: true });
    const to = page.getByLabel('To', { exact: true });
    const asked: string[] = [];
    page.on('request', (request) => request.url().includes('/api/') && asked.push(request.url()));

    // Two years: the panels each said "Could not load …: from: a view covers at most 366 days".
    await from.fill('2024-01-01');
    await to.fill('2025-12-31');
    await page.getByRole('button', { name: 'Show' }).click();
    const message = page.getByRole('form', { name: 'Period' }).getByRole('alert');
    await expect.poll(() => message.allInnerTexts()).toEqual(['A period covers at most 366 days; this one has 731. Pick days closer together.']);
    expect(await from.getAttribute('aria-invalid')).toBe('true');
    expect(await to.getAttribute('aria-describedby')).toBe(await message.getAttribute('id'));
    expect(new URL(page.url()).searchParams.get('from')).toBeNull();
    expect(asked).toEqual([]);

    // 366 days, a leap year's, are shown; the message goes once the days change.
    await to.fill('2024-12-31');
    expect(await message.count()).toBe(0);
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('from')).toBe('2024-01-01');
    await expect.poll(() => kpi(page, 'Visitors')).toBe('0');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('keeps a period within the days that have passed: the picker offers none to come, and a link\'s are cut at today', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    const day = (daysAhead: number) => new Date(Date.now() + daysAhead * 86_400_000).toISOString().slice(0, 10);
    // Four days so far of a month-long period: compared with the 27 days before, every figure read as a fall.
    await page.goto(`${server.url}/dashboard?site=acme&from=${day(-3)}&to=${day(27)}`);
    const to = page.getByLabel('To', { exact: true });
    await expect.poll(() => to.inputValue()).toBe(day(0));
    expect([await to.getAttribute('max'), await page.getByLabel('From', { exact: true }).getAttribute('max')]).toEqual([day(0), day(0)]);
    await page.getByText('changes compare with the 4 days before.', { exact: false }).waitFor();
    // A day to come typed in is refused by the field itself: nothing is asked of the server.
    await to.fill(day(5));
    await page.getByRole('button', { name: 'Show' }).click();
    expect(await to.evaluate((input) => (input as HTMLInputElement).validity.rangeOverflow)).toBe(true);
    expect(new URL(page.url()).searchParams.get('to')).toBe(day(27));
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('keeps the keyboard focus on the period picker while it changes the period', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    const focused = () => page.evaluate(() => `${document.activeElement?.tagName.toLowerCase()} ${document.activeElement?.textContent?.trim().slice(0, 20) ?? ''}`);
    const period = page.getByRole('combobox', { name: 'Period' });
    // A preset picked: the page shows the new period and the focus stays on the list, not on the page's body.
    await period.focus();
    await period.selectOption('7');
    // Kept rolling in the URL, as Plausible's and PostHog's are: bookmarked, it is the last 7 days of the day it is opened (QA).
    await expect.poll(() => new URL(page.url()).searchParams.get('period')).toBe('7d');
    expect(new URL(page.url()).searchParams.get('from')).toBeNull();
    // Its days, which are UTC's (a user far from Greenwich sees another "today" on their own calendar).
    const days = (iso: string) => new Date(`${iso}T00:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
    const [from, to] = [new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10), new Date().toISOString().slice(0, 10)];
    await expect.poll(() => page.locator('.period-days').innerText()).toBe(`${days(from)} – ${days(to)}, UTC`);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.closest('label')?.textContent?.trim().slice(0, 6))).toBe('Period');
    // Days picked by hand and shown with Enter: the focus stays on "Show", and the fields on the days shown.
    await period.selectOption('custom');
    expect(await page.locator('form', { has: page.getByLabel('From', { exact: true }) }).innerText()).toContain('days in UTC');
    await page.getByLabel('From', { exact: true }).fill('2026-01-05');
    await page.getByLabel('To', { exact: true }).fill('2026-01-20');
    await page.getByRole('button', { name: 'Show' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).searchParams.get('from')).toBe('2026-01-05');
    await expect.poll(() => kpi(page, 'Visitors')).toBe('0');
    expect(await focused()).toBe('button Show');
    expect(await page.getByLabel('From', { exact: true }).inputValue()).toBe('2026-01-05');
    expect(await page.getByLabel('To', { exact: true }).inputValue()).toBe('2026-01-20');
    // Back to the preset: the fields close, as the URL says.
    await page.goBack();
    await expect.poll(() => page.getByLabel('From', { exact: true }).count()).toBe(0);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('opens a bookmarked preset as the last days of the day it is opened, and the bare page as the last 30', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    const asked: string[] = [];
    page.on('request', (request) => request.url().includes('/api/dashboard/summary') && asked.push(request.url()));
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    await page.goto(`${server.url}/dashboard?site=acme&period=90d`);
    await expect.poll(() => page.getByRole('combobox', { name: 'Period' }).inputValue()).toBe('90');
    await expect.poll(() => asked.map((url) => new URL(url).searchParams.get('from')).at(-1)).toBe(day(89));
    await expect.poll(() => kpi(page, 'Visitors')).not.toBe('');
    // Back to the 30 days: the bare URL, rolling too.
    await page.getByRole('combobox', { name: 'Period' }).selectOption('30');
    await expect.poll(() => new URL(page.url()).search).toBe('?site=acme');
    // Days given win over a preset left in the URL.
    await page.goto(`${server.url}/dashboard?site=acme&period=7d&from=2026-01-05&to=2026-01-20`);
    await expect.poll(() => page.getByRole('combobox', { name: 'Period' }).inputValue()).toBe('custom');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('keeps the leads list\'s "Seen" presets rolling in the URL, as the marketing page\'s period, and opens a bookmarked one as the last days', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    const asked: string[] = [];
    page.on('request', (request) => request.url().includes('/api/dashboard/leads?') && asked.push(request.url()));
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    const lastAsked = () => {
      const params = new URL(asked.at(-1) ?? 'http://none/').searchParams;
      return [params.get('from'), params.get('to')];
    };
    const seen = page.getByRole('combobox', { name: 'Seen' });
    // A bookmark of "In the last 7 days": the page showed "Any time" and listed every day.
    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all&period=7d`);
    await expect.poll(() => seen.locator('option:checked').innerText()).toBe('In the last 7 days');
    await expect.poll(lastAsked).toEqual([day(6), day(0)]);
    // Picked: the preset in the URL, not that day's dates.
    await seen.selectOption({ label: 'In the last 90 days' });
    await expect.poll(() => new URL(page.url()).search).toBe('?site=acme&temperature=all&period=90d');
    await expect.poll(lastAsked).toEqual([day(89), day(0)]);
    await seen.selectOption({ label: 'Any time' });
    await expect.poll(() => new URL(page.url()).search).toBe('?site=acme&temperature=all');
    await expect.poll(lastAsked).toEqual([null, null]);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('labels each day of a short period once on the daily charts, and a single day in the middle of its chart', async () => {
    const { page, problems } = await openPage();
    await keepDrawnTexts(page);
    await logIn(page, 'ada');
    /** A chart's day labels ("1 Dec") as drawn, left to right; the other texts are the counts' axis. */
    const dayLabels = async (chart: string) => (await drawnTexts(page, chart)).filter(({ text }) => /^\d{1,2} [A-Z][a-z]{2}$/.test(text));
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    const shortDay = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
    // 1 day read "1 Dec, 1 Apr, 1 Aug…" over years, 2 days "1 Dec" eight times, 5 days each day twice (noon ticks).
    for (const days of [1, 2, 5]) {
      await page.goto(`${server.url}/dashboard?site=acme&from=${day(days - 1)}&to=${day(0)}`);
      const each = Array.from({ length: days }, (_, i) => shortDay.format(new Date(`${day(days - 1 - i)}T00:00:00Z`)));
      for (const chart of ['Visitors per day', 'Leads seen per day, by temperature', 'Pricing-page views per day']) {
        await expect.poll(async () => (await dayLabels(chart)).map(({ text }) => text), { message: `${chart}, ${days} days` }).toEqual(each);
      }
      if (days === 1) {
        // Its one point is at its label, in the middle: not at the left edge of an axis of years.
        const [only] = await dayLabels('Visitors per day');
        expect(only!.at).toBeGreaterThan(0.35);
        expect(only!.at).toBeLessThan(0.65);
        await page.locator('figure.chart').first().screenshot({ path: `${SCREENSHOTS}/marketing-one-day.png` });
      }
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("draws a large site's daily counts whole on the counts axis", async () => {
    const { page, problems } = await openPage();
    await keepDrawnTexts(page);
    // A site of ~18,000 visitors a day: the period's answer as the API gives it, its counts scaled up.
    let visitorsADay = 18_000;
    await page.route(/\/api\/dashboard\/timeseries\?/, async (route) => {
      const answer = await (await route.fetch()).json();
      answer.visitors = answer.visitors.map((_: number, n: number) => visitorsADay + ((n * 97) % 1_000));
      await route.fulfill({ json: answer });
    });
    await logIn(page, 'ada');
    const drawn = () => drawnTexts(page, 'Visitors per day');
    const counts = async () => (await drawn()).map(({ text }) => text).filter((text) => /^[\d,]+$/.test(text));
    // The counts, up to 20,000 (uPlot's fixed axis width drew "0,000 / 5,000 / 0,000 / 5,000 / 0").
    await expect.poll(counts).toEqual(['0', '5,000', '10,000', '15,000', '20,000']);
    for (const { text, left } of await drawn()) expect(left, text).toBeGreaterThanOrEqual(0);
    // Past 5,000,000 a step, uPlot had no step to label the axis with: it drew none.
    visitorsADay = 52_000_000;
    await page.reload();
    await expect.poll(counts).toEqual(['0', '20,000,000', '40,000,000']);
    for (const { text, left } of await drawn()) expect(left, text).toBeGreaterThanOrEqual(0);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('dims and marks busy the figures of the period or filters before, until the new ones are in', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    await expect.poll(() => page.locator('.loading').count()).toBe(0);
    // The new answers held back, as a big history makes them slow; `release` lets them through.
    const slow = /\/api\/dashboard\/[a-z-]+\?/;
    const holdAnswers = async () => {
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      await page.route(slow, async (route) => {
        await held;
        await route.continue();
      });
      return async () => {
        release();
        await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0);
        await page.unroute(slow);
      };
    };
    // What is dimmed is what the busy element holds (not the element itself: the keyboard's focus in it stays bright).
    const opacity = (locator: Locator) => locator.evaluate((element) => Number(getComputedStyle(element.firstElementChild ?? element).opacity));
    const release = await holdAnswers();
    await page.getByRole('combobox', { name: 'Period' }).selectOption('7');
    // The 30 days' key figures, still on screen under "Last 7 days": marked busy and dimmed, as is every panel.
    const figures = page.locator('[aria-busy="true"]', { has: page.getByLabel('Key figures', { exact: true }) });
    await figures.waitFor({ timeout: 5_000 });
    expect(await opacity(figures)).toBeLessThan(0.6);
    expect(await page.locator('.panel [aria-busy="true"]').count()).toBe(7);
    await release();
    expect(await opacity(page.getByLabel('Key figures', { exact: true }).locator('..'))).toBe(1);

    // A filter's list of the filters before (leads, accounts): dimmed and busy too, until the new one is in.
    const dimmedWhileFiltered = async (table: string, temperature: string) => {
      const release = await holdAnswers();
      await page.getByRole('combobox', { name: 'Temperature' }).selectOption(temperature);
      const list = page.locator('[aria-busy="true"]', { has: page.locator(table) });
      await list.waitFor({ timeout: 5_000 });
      expect(await opacity(list)).toBeLessThan(0.6);
      await release();
    };
    await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all`);
    await page.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    await dimmedWhileFiltered('table.leads', 'cold');
    await expect.poll(() => page.locator('table.leads tbody tr').allInnerTexts()).not.toContainEqual(expect.stringContaining('Grace Hopper'));
    await page.goto(`${server.url}/dashboard/accounts?site=acme`);
    await page.locator('table.accounts').waitFor();
    await dimmedWhileFiltered('table.accounts', 'hot');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('says once why the figures could not load, tries again on request and by itself, and describes no refused period', async () => {
    const { page, problems } = await openPage();
    // The page's timers on a clock the test moves (its time flowing as the real one's meanwhile): the retry a few
    // seconds on is made at once, where the real clock made the test wait them out.
    await page.clock.install();
    await logIn(page, 'ada');
    await expect.poll(() => kpi(page, 'Visitors')).toBe(expected().visitors);
    const alerts = page.getByRole('alert');
    const tryAgain = page.getByRole('button', { name: 'Try again' });

    // Hearth stopped: every panel's request refused. One alert, not seven identical ones, and a way to try again.
    const api = /\/api\/dashboard\/[a-z-]+\?/;
    await page.route(api, (route) => route.abort('connectionrefused'));
    await page.getByRole('combobox', { name: 'Period' }).selectOption('7');
    await expect.poll(() => alerts.allInnerTexts()).toEqual(['Could not load the figures: Hearth cannot be reached: check the connection, then try again.']);
    await page.getByText('Could not load the funnel.').waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/marketing-unreachable.png`, fullPage: true });
    // Back: "Try again" reloads the panels that failed.
    await page.unroute(api);
    await tryAgain.click();
    await expect.poll(() => alerts.count()).toBe(0);
    expect(await kpi(page, 'Visitors')).toBe(expected().visitors);
    expect(await page.getByText('Could not load').count()).toBe(0);
    expect(await tryAgain.count()).toBe(0);

    // The connection lost, then back: the page recovers by itself.
    await page.context().setOffline(true);
    await page.getByRole('combobox', { name: 'Period' }).selectOption('90');
    await expect.poll(() => alerts.count()).toBe(1);
    await page.context().setOffline(false);
    await expect.poll(() => alerts.count()).toBe(0);
    await expect.poll(() => kpi(page, 'Visitors')).toBe(expected().visitors);
    // So it does when Hearth is started again, which the browser is not told of: it asks again every few seconds.
    await page.route(api, (route) => route.abort('connectionrefused'));
    await page.getByRole('combobox', { name: 'Period' }).selectOption('30');
    await expect.poll(() => alerts.count()).toBe(1);
    await page.unroute(api);
    await page.clock.runFor(1_000);
    expect(await alerts.count()).toBe(1);
    await page.clock.runFor(5_000);
    await expect.poll(() => alerts.count()).toBe(0);
    expect(await kpi(page, 'Visitors')).toBe(expected().visitors);

    // Periods the server refuses: said once, with no "Try again" (the URL is wrong), and not described as a period
    // ("changes compare with the 4 days before", "the 702 days before").
    for (const [from, to, problem] of [
      ['2026-02-30', '2026-03-05', 'from: not a calendar day (got "2026-02-30")'],
      ['2025-01-01', '2026-12-03', 'from: a view covers at most 366 days (got "2025-01-01")'],
    ]) {
      await page.goto(`${server.url}/dashboard?site=acme&from=${from}&to=${to}`);
      await expect.poll(() => alerts.allInnerTexts()).toEqual([`Could not load the figures: ${problem}`]);
      expect(await page.getByText('changes compare with').count()).toBe(0);
      expect(await tryAgain.count()).toBe(0);
    }
    // The browser reports each request refused or cut off; nothing else went wrong.
    expect(problems.filter((problem) => !/status of 400|net::ERR_(CONNECTION_REFUSED|INTERNET_DISCONNECTED)/.test(problem))).toEqual([]);
    await page.context().close();
  });

  it('keeps the notes typed but not saved when sales disqualify a lead', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'lin', '/dashboard/leads?site=acme&temperature=all&q=student');
    await page.locator('table.leads tbody tr a').first().click();
    await page.getByRole('textbox', { name: 'Note on budget' }).fill('no budget: a student project');
    await page.getByRole('textbox', { name: 'Reason' }).fill('not a buyer');
    await page.getByRole('button', { name: 'Disqualify' }).click();
    await page.getByText('Saved: disqualified.').waitFor();
    expect(await page.getByRole('textbox', { name: 'Note on budget' }).inputValue()).toBe('no budget: a student project');
    const leadId = new URL(page.url()).pathname.split('/').pop();
    const { body } = await getJson(server, `/api/leads/${leadId}/qualification?site=acme`);
    expect({ disqualified: body.disqualified, reason: body.reason, budget: body.notes.budget }).toEqual({ disqualified: true, reason: 'not a buyer', budget: 'no budget: a student project' });
    // A note saved afterwards is not a second disqualification.
    await page.getByRole('textbox', { name: 'Note on need' }).fill('coursework');
    await page.getByRole('button', { name: 'Save qualification' }).click();
    await expect.poll(() => page.locator('p.saved[role=status]').innerText()).toBe('Saved. The lead stays disqualified.');
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
    expect(shell.headers()['cache-control']).toBe('no-store');
    expect(shell.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(shell.headers()['content-security-policy']).not.toContain('unsafe');
    const script = /src="(\/dashboard\/assets\/dashboard-[A-Z0-9]+\.js)"/.exec(await shell.text())![1]!;
    const asset = await page.request.get(`${server.url}${script}`);
    expect(asset.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers()['content-type']).toBe('text/javascript; charset=utf-8');
    await page.context().close();
  });

  // Near the end: it adds a lead, which the figures of the tests above do not count.
  it('lists a cold lead who asked for a demo in sales\' inbox, the MQLs, and every status once "Any status" is picked', async () => {
    // Only her name and company: the grid gives her no points.
    await post([{ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(2), p: { 'email  email': `hedy.${newVisitor()}@lamarr.test`, 'name  ': 'Hedy Lamarr', 'company  ': 'Frequency Hopping' } }]);
    await drained(server);

    const { page, problems } = await openPage();
    await logIn(page, 'sam');
    await page.getByRole('link', { name: 'Leads', exact: true }).click();
    // The inbox lists her, cold as she is, and only MQLs: not the prospect the first test made of Grace Hopper.
    await page.getByRole('heading', { name: 'MQLs' }).waitFor();
    const hedy = page.locator('table.leads tbody tr', { hasText: 'Hedy Lamarr' });
    await hedy.waitFor();
    expect(await page.getByRole('combobox', { name: 'Status' }).inputValue()).toBe('mql');
    expect(await page.getByRole('combobox', { name: 'Temperature' }).inputValue()).toBe('all');
    expect(await hedy.locator('.badge:visible').allInnerTexts()).toEqual(['Cold', 'MQL']);
    const badges = await page.locator('table.leads tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('.badge')].map((badge) => badge.textContent)));
    expect(badges.every((texts) => texts.includes('MQL'))).toBe(true);
    // Any status: every lead, Grace Hopper the prospect among them.
    await page.getByRole('combobox', { name: 'Status' }).selectOption('any');
    await page.getByRole('heading', { name: 'Leads', exact: true }).waitFor();
    await page.locator('table.leads tbody tr', { hasText: 'Grace Hopper' }).waitFor();
    expect(await page.getByRole('combobox', { name: 'Temperature' }).inputValue()).toBe('all');
    // Temperatures written in another order are the same choice.
    await page.goto(`${server.url}/dashboard/leads?temperature=hot,warm`);
    await page.getByRole('heading', { name: 'Leads', exact: true }).waitFor();
    expect(await page.getByRole('combobox', { name: 'Temperature' }).inputValue()).toBe('warm,hot');
    await hedy.getByRole('link', { name: 'Hedy Lamarr' }).waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Leads', exact: true }).click();
    await page.getByRole('heading', { name: 'MQLs' }).waitFor();
    await hedy.getByRole('link', { name: 'Hedy Lamarr' }).click();
    await page.getByRole('heading', { name: 'Hedy Lamarr', level: 1 }).waitFor();
    // Her demo request puts her at the bottom of the funnel, whatever page it was on.
    expect(await page.locator('.lead-status .badge').allInnerTexts()).toEqual(['Cold', 'MQL', 'BOFU']);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  // Last: it adds two leads, which the figures of the tests above do not count.
  it('pages through a long accounts list 100 at a time, and back to its last page from past its end', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'sam');
    // 250 accounts, answered as the API would (a site of 250 companies takes long to make here).
    const total = 250;
    const accounts = Array.from({ length: total }, (_, i) => ({ id: `co${i + 1}.test`, name: `co${i + 1}.test`, score: 1000 - i, temperature: 'hot', leads: 1, personas: [], countedPersonas: [], topLeads: [] }));
    // The first has a cold manager and a cold intern besides its keen CEO: their roles are listed apart, not counted.
    Object.assign(accounts[0]!, { leads: 3, personas: ['c_level', 'manager', 'student'], countedPersonas: ['c_level'] });
    const asked: string[] = [];
    await page.route(/\/api\/dashboard\/accounts\?/, (route) => {
      const url = new URL(route.request().url());
      asked.push(url.searchParams.get('offset') ?? '');
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Number(url.searchParams.get('limit'));
      return route.fulfill({ json: { site: 'acme', total, offset, accounts: accounts.slice(offset, offset + limit) } });
    });
    await page.goto(`${server.url}/dashboard/accounts?site=acme`);
    const status = page.locator('.page p.muted[role=status]');
    const rows = page.locator('table.accounts tbody tr');
    await expect.poll(() => status.innerText()).toBe('Accounts 1–100 of 250, best first');
    expect(await rows.first().locator('td').nth(3).innerText()).toBe('C-level; Manager, Student (cold leads only: not counted)');
    expect(await rows.nth(1).locator('td').nth(3).innerText()).toBe('–');
    expect(await page.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => status.innerText()).toBe('Accounts 101–200 of 250, best first');
    expect(await rows.first().locator('th').innerText()).toBe('co101.test');
    // By keyboard to the last page, from the pager under the list: the reader is taken to the top of the new page, its
    // count line, as on the leads list (the focus stayed on Next page, at the bottom of a page it no longer showed).
    await page.getByRole('button', { name: 'Next page' }).press('Enter');
    await expect.poll(() => status.innerText()).toBe('Accounts 201–250 of 250, best first');
    expect([await rows.count(), await page.getByRole('button', { name: 'Next page' }).isDisabled()]).toEqual([50, true]);
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Accounts 201–250 of 250, best first');
    expect(await status.evaluate((element) => Math.abs(Math.round(element.getBoundingClientRect().top)))).toBe(0);
    expect(new URL(page.url()).searchParams.get('offset')).toBe('200');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => status.innerText()).toBe('Accounts 101–200 of 250, best first');
    // To either end at once.
    await page.getByRole('button', { name: 'Last page' }).click();
    await expect.poll(() => status.innerText()).toBe('Accounts 201–250 of 250, best first');
    expect(await page.getByRole('button', { name: 'Last page' }).getAttribute('aria-disabled')).toBe('true');
    await page.getByRole('button', { name: 'First page' }).click();
    await expect.poll(() => status.innerText()).toBe('Accounts 1–100 of 250, best first');
    expect(await page.getByRole('button', { name: 'First page' }).getAttribute('aria-disabled')).toBe('true');
    // An offset past the end (a link kept while the list shrank) says so and offers its last page.
    await page.goto(`${server.url}/dashboard/accounts?site=acme&offset=900`);
    await page.getByRole('button', { name: 'Show its last page' }).click();
    await expect.poll(() => status.innerText()).toBe('Accounts 201–250 of 250, best first');
    // The button is gone with the page it was on: the keyboard's focus is on the new page's count line.
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Accounts 201–250 of 250, best first');
    expect(asked).toEqual(['', '100', '200', '100', '200', '', '900', '200']);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('opens exactly an account\'s leads from the accounts page, as many as the account counts, and back to them from a lead', async () => {
    // Two people on free mail who typed their company two ways: one account ("Acmé SAS" = "ACME, Inc.").
    const bruce = `bruce.${newVisitor()}@gmail.com`;
    const diana = `diana.${newVisitor()}@gmail.com`;
    for (const [email, company] of [[bruce, 'Acmé SAS'], [diana, 'ACME, Inc.']]) {
      await post([{ u: `${SITE_ORIGIN}/`, ss: 1, t: minutesAgo(3) }, { n: 'f', u: `${SITE_ORIGIN}/`, k: 'newsletter', t: minutesAgo(2), p: { 'email  email': email, 'company  ': company } }]);
    }
    await drained(server);

    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    await page.getByRole('link', { name: 'Accounts' }).click();
    const row = page.locator('table.accounts tbody tr', { hasText: /Acmé SAS|ACME, Inc\./ });
    await row.waitFor();
    expect(await row.locator('td').nth(2).innerText()).toBe('2');
    // The link searched for the account's name, which found only the one who typed it that way.
    await row.getByRole('rowheader').getByRole('link').click();
    await expect.poll(() => page.locator('table.leads tbody tr').count()).toBe(2);
    expect(await page.getByRole('status').filter({ hasText: 'leads' }).innerText()).toBe('1–2 of 2 leads');
    const listed = await page.locator('table.leads tbody tr').allInnerTexts();
    expect([bruce, diana].map((email) => listed.some((text) => text.includes(email)))).toEqual([true, true]);
    await page.getByRole('button', { name: 'Remove filter: Account: acme' }).waitFor();
    // A lead opened from the list leads back to the list as it was, its filter kept, not to the inbox.
    const listUrl = page.url();
    await page.locator('table.leads tbody tr', { hasText: bruce }).getByRole('link').click();
    await page.getByRole('heading', { level: 1 }).filter({ hasText: /bruce/i }).waitFor();
    await page.locator('.breadcrumb').getByRole('link', { name: 'Leads' }).click();
    await page.getByRole('button', { name: 'Remove filter: Account: acme' }).waitFor();
    expect(page.url()).toBe(listUrl);
    await expect.poll(() => page.locator('table.leads tbody tr').count()).toBe(2);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  // At the end as well: it adds a lead.
  it('keeps the keyboard on the qualification as sales take a lead, save, disqualify and requalify it', async () => {
    const katherine = `katherine.${newVisitor()}@nasa.test`;
    await post([{ u: `${SITE_ORIGIN}/`, ss: 1, t: minutesAgo(3) }, { n: 'f', u: `${SITE_ORIGIN}/`, k: 'newsletter', t: minutesAgo(2), p: { 'email  email': katherine, 'first_name  ': 'Katherine', 'last_name  ': 'Johnson' } }]);
    await drained(server);
    const { page, problems } = await openPage();
    await logIn(page, 'sam', '/dashboard/leads?site=acme&temperature=all&q=katherine');
    await page.getByRole('link', { name: 'Katherine Johnson' }).click();
    await page.getByRole('heading', { name: 'Katherine Johnson', level: 1 }).waitFor();
    const hasFocus = (locator: Locator) => locator.evaluate((element) => element === document.activeElement);
    const owner = page.getByRole('combobox', { name: 'Owner' });
    const save = page.getByRole('button', { name: 'Save qualification' });
    const reason = page.getByRole('textbox', { name: 'Reason' });
    const disqualify = page.getByRole('button', { name: 'Disqualify' });
    const requalify = page.getByRole('button', { name: 'Requalify' });

    // The Owner field suggests who may own a lead, the sales and admins who log in: a typed owner's alerts go to it.
    expect(await owner.evaluate((input) => [...(input as HTMLInputElement).list!.options].map((option) => option.value))).toEqual(['lin', 'sam']);

    // "Assign to me" goes once the owner is Sam: the keyboard goes on from the Owner field that now says so.
    await page.getByRole('button', { name: 'Assign to me' }).focus();
    await page.keyboard.press('Enter');
    expect(await owner.inputValue()).toBe('sam');
    expect(await hasFocus(owner)).toBe(true);
    await page.keyboard.press('Tab');
    expect(await hasFocus(save)).toBe(true);

    // Saving: the button stays focused, marked unavailable, and a second Enter sends nothing. Changes are counted in
    // the lead's qualification history, as sales read it: counted where the page's requests were seen (in the route
    // that holds the answer, then as the page sends them), CI twice saw the save answered with none counted.
    const changes = async () => (await getJson(server, `/api/leads/${leadIdOf(katherine)}/qualification?site=acme`)).body.history.length as number;
    let answer = () => {};
    const answered = new Promise<void>((resolve) => (answer = resolve));
    await page.route(/\/qualification\?/, async (route) => {
      if (route.request().method() === 'POST') await answered;
      await route.continue();
    });
    await page.keyboard.press('Enter');
    await expect.poll(() => save.getAttribute('aria-disabled')).toBe('true');
    expect(await hasFocus(save)).toBe(true);
    await page.keyboard.press('Enter');
    answer();
    await page.getByText('Saved. To become a prospect it still needs Budget, Authority, Need, Timing.').waitFor();
    expect(await changes()).toBe(1);
    expect(await hasFocus(save)).toBe(true);
    expect(await save.getAttribute('aria-disabled')).toBeNull();

    // Disqualify turns into Requalify, and back, under the keyboard's focus. Without a reason, the browser asks for one.
    await page.keyboard.press('Tab');
    expect(await hasFocus(reason)).toBe(true);
    await page.keyboard.press('Enter');
    expect(await reason.evaluate((input) => (input as HTMLInputElement).validity.valid)).toBe(false);
    expect(await changes()).toBe(1);
    await page.keyboard.type('no budget this year');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByText('Saved: disqualified.').waitFor();
    await expect.poll(() => hasFocus(requalify)).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => hasFocus(disqualify)).toBe(true);
    expect(await page.locator('.qualification-status').innerText()).not.toContain('no budget this year');

    // Enter in the reason disqualifies too: the reason goes, and the keyboard goes on from Requalify.
    await reason.focus();
    await page.keyboard.type('gone to a competitor');
    await page.keyboard.press('Enter');
    await expect.poll(() => hasFocus(requalify)).toBe(true);
    expect(await page.locator('.qualification-status').innerText()).toContain('gone to a competitor');
    expect(await changes()).toBe(4);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('names a lead\'s first touch and each visit\'s arrival as the lists name sources, and opens the leads who came the same way', async () => {
    const mary = `mary.${newVisitor()}@jackson.test`;
    await post([
      { u: `${SITE_ORIGIN}/`, r: 'https://www.Google.com/', ss: 1, t: minutesAgo(3) },
      // Her engaged time on the page, in the pieces the snippet sends it in, each with the deepest scroll so far.
      { n: 'e', u: `${SITE_ORIGIN}/`, ms: 15_000, sd: 45, t: minutesAgo(2.7) },
      { n: 'e', u: `${SITE_ORIGIN}/`, ms: 10_000, sd: 70, t: minutesAgo(2.5) },
      { n: 'f', u: `${SITE_ORIGIN}/`, k: 'newsletter', t: minutesAgo(2), p: { 'email  email': mary, 'first_name  ': 'Mary', 'last_name  ': 'Jackson' } },
    ]);
    await drained(server);
    const { page, problems } = await openPage();
    await logIn(page, 'sam', '/dashboard/leads?site=acme&temperature=all&q=mary');
    expect(await page.locator('table.leads tbody tr', { hasText: 'Mary Jackson' }).innerText()).toContain('google.com');
    await page.getByRole('link', { name: 'Mary Jackson' }).click();
    await page.getByRole('heading', { name: 'Mary Jackson', level: 1 }).waitFor();
    // Not "www.Google.com": the list's Source filter finds nothing by that name.
    await page.locator('.timeline', { hasText: 'arriving from google.com' }).waitFor();
    // One line for the view, its time and how far down she read, none for each piece of it.
    expect(await page.locator('.timeline li').allInnerTexts()).toEqual([
      expect.stringMatching(/UTC\s+Submitted the form newsletter as mary\./),
      expect.stringMatching(/UTC\s+Viewed \/, arriving from google\.com, engaged for 25 s, saw 70% of the page$/),
    ]);
    expect(await page.locator('section[aria-labelledby=timeline-title] p.muted').innerText()).toBe('All 2 events, newest first.');
    await page.locator('.profile').getByRole('link', { name: 'google.com', exact: true }).click();
    await page.getByRole('heading', { name: 'Leads', exact: true }).waitFor();
    expect(await page.getByLabel('Source').inputValue()).toBe('google.com');
    await page.locator('table.leads tbody tr', { hasText: 'Mary Jackson' }).waitFor();
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('takes a link to a lead whose email was put right in the same visit (an alert sent before) on to the lead it is now', async () => {
    const visitor = newVisitor();
    const [typo, fixed] = [`grace.${visitor}@initech.tset`, `grace.${visitor}@initech.test`];
    const sent = (email: string, minutes: number) =>
      postBatch(server, { s: 'acme', v: visitor, sid: `visit-${visitor}`, e: [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(minutes), p: { 'email  email': email } })] });
    await sent(typo, 3);
    await drained(server);
    const typoLead = (await getJson(server, `/api/leads?site=acme&limit=1000`)).body.leads.find((lead: { email: string }) => lead.email === typo).id;
    await sent(fixed, 2);
    await drained(server);
    const { page, problems } = await openPage();
    await logIn(page, 'sam', `/dashboard/leads/${typoLead}?site=acme`);
    expect(await page.getByRole('alert').innerText()).toBe(`This lead is no more: another email was given after its own in the same visit (an email put right). Its visits belong to ${fixed} now.`);
    await page.getByRole('link', { name: fixed }).click();
    await page.getByRole('heading', { name: fixed, level: 1 }).waitFor();
    // The alert about the demo request is listed there, saying which email it was sent about (it said "No alert about
    // this lead", on the page its link leads to).
    await expect.poll(() => page.locator('ul.alerts li').allInnerTexts()).toEqual([expect.stringMatching(new RegExp(`^Asked to talk to sales: form demo-request .*\\(sent about ${typo.replace(/\./g, '\\.')}\\)`))]);
    // The lead page's API answered the old link with a 404, which the browser logs.
    expect(problems.filter((problem) => !/status of 404/.test(problem))).toEqual([]);
    await page.context().close();
  });

  it("shows an anonymous visitor's page with no checklist, and takes its link on to the lead it became", async () => {
    const visitor = newVisitor();
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(4) })] });
    await drained(server);
    const { page, problems } = await openPage();
    await logIn(page, 'sam', `/dashboard/leads/v_${visitor}?site=acme`);
    await page.getByRole('heading', { name: 'Anonymous visitor', level: 1 }).waitFor();
    expect(await page.getByRole('region', { name: 'Timeline', exact: true }).innerText()).toContain('/pricing');
    // No one's to qualify: no checklist, where sales would take a lead.
    expect(await page.getByRole('heading', { level: 2 }).allInnerTexts()).not.toContain('Qualification');
    expect(await page.getByRole('checkbox').count()).toBe(0);
    const email = `visitor.${visitor}@initech.test`;
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/pricing`, em: email, t: minutesAgo(3) })] });
    await drained(server);
    await page.reload();
    expect(await page.getByRole('alert').innerText()).toBe(`This anonymous visitor gave an email since: its visits belong to ${email} now.`);
    await page.getByRole('link', { name: email }).click();
    await page.getByRole('heading', { name: email, level: 1 }).waitFor();
    expect(problems.filter((problem) => !/status of 404/.test(problem))).toEqual([]);
    await page.context().close();
  });
});
