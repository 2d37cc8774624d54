import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { configUsers, logIn as logInAs, openPage as openTab, seedHotLead, type DashboardUser } from '../support/dashboard-browser.ts';
import { drained, newVisitor, postBatch, SITE_ORIGIN, startTestServer, wireEvent } from '../support/server.ts';

/**
 * The dashboards as a WCAG 2.2 AA audit found them, and as keyboard, screen-reader and phone users meet them since:
 * a select moved with the arrow keys that waits for Enter before leaving the page, a 320-pixel screen, lists that say
 * they are empty, the focus kept off the page's body, scrolling boxes the keyboard reaches, chart legends that are
 * toggle buttons, lines told apart by their dashes, titles and names that say where one is.
 */
const USERS = {
  root: { name: 'root', role: 'admin', password: 'root-sees-everything' },
  ana: { name: 'ana', role: 'marketing', password: 'ana-sees-acme-alone', sites: ['acme'] },
} satisfies Record<string, DashboardUser>;

/** What Chromium's accessibility tree holds under the first element `selector` finds (ignored nodes left out). */
async function accessibleNodes(page: Page, selector = 'body') {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    const { nodes } = await cdp.send('Accessibility.queryAXTree', { nodeId });
    return nodes
      .filter((node) => !node.ignored)
      .map((node) => ({
        role: String(node.role?.value ?? ''),
        name: String(node.name?.value ?? ''),
        pressed: node.properties?.find((property) => property.name === 'pressed')?.value.value as string | boolean | undefined,
      }));
  } finally {
    await cdp.detach();
  }
}

/** The focused element: its tag, role and text, to say where the keyboard is. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const element = document.activeElement!;
    return { tag: element.tagName, role: element.getAttribute('role'), text: element.textContent?.trim() ?? '' };
  });

describe.runIf(browserTestsEnabled())('the dashboards for keyboard, screen-reader and phone users', () => {
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
        users: await configUsers(Object.values(USERS)),
        limits: { loginAttemptsPerIp: 100, loginAttemptsPerUser: 100 },
      }),
      launchChromium(),
    ]);
    // A warm lead, so that the daily chart has hot and warm lines, then a hot one with a timeline.
    await postBatch(server, {
      s: 'acme',
      v: newVisitor(),
      e: [
        wireEvent({ u: `${SITE_ORIGIN}/`, ss: 1, t: Date.now() - 50_000 }),
        wireEvent({ n: 'f', u: `${SITE_ORIGIN}/`, k: 'newsletter', t: Date.now() - 40_000, p: { 'email  email': `ops.${newVisitor()}@globex.test`, 'job_title  ': 'Head of Operations' } }),
      ],
    });
    lead = await seedHotLead(server);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const openPage = (viewport?: { width: number; height: number }) => openTab(browser, viewport);
  const logIn = (page: Page, to?: string) => logInAs(page, server.url, USERS.root, to);
  const leadPage = () => `${server.url}/dashboard/leads/${encodeURIComponent(lead)}?site=acme`;
  const here = (page: Page) => {
    const url = new URL(page.url());
    return url.pathname + url.search;
  };

  it('takes a site picked with the arrow keys on Enter only, keeping the notes typed on a lead page; one picked from the list at once', async () => {
    const { page, problems } = await openPage();
    await logIn(page);
    await page.goto(leadPage());
    const note = page.getByRole('textbox', { name: 'Note on budget' });
    await note.fill('40k approved for Q3');
    const site = page.getByRole('combobox', { name: 'Site' });
    await site.focus();
    const before = here(page);
    await page.keyboard.press('ArrowDown');
    // Chromium moves a closed select on an arrow, and says so: the choice is shown, not taken.
    expect(await site.evaluate((select) => (select as HTMLSelectElement).selectedOptions[0]!.textContent)).toBe('Globex');
    // A moment for a navigation that should not come.
    await page.waitForTimeout(300);
    expect(here(page)).toBe(before);
    expect(await note.inputValue()).toBe('40k approved for Q3');
    // Taken on Enter, once the user has said to leave the note unsaved.
    const asked: string[] = [];
    page.on('dialog', (dialog) => {
      asked.push(dialog.type());
      void dialog.accept();
    });
    await page.keyboard.press('Enter');
    await expect.poll(() => here(page)).toBe('/dashboard/leads?site=globex');
    expect(asked).toEqual(['confirm']);

    // Picked from the list (or with the mouse): taken at once.
    await page.goto(leadPage());
    await page.getByRole('combobox', { name: 'Site' }).selectOption('globex');
    await expect.poll(() => here(page)).toBe('/dashboard/leads?site=globex');

    // On the Alerts page, arrows add no history entry each: Enter takes the status they reached, once.
    await page.goto(`${server.url}/dashboard/alerts?site=acme`);
    const status = page.getByRole('combobox', { name: 'Status' });
    await status.focus();
    const entries = await page.evaluate(() => history.length);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.waitForTimeout(300);
    expect([here(page), await page.evaluate(() => history.length)]).toEqual(['/dashboard/alerts?site=acme', entries]);
    await page.keyboard.press('Enter');
    await expect.poll(() => here(page)).toBe('/dashboard/alerts?site=acme&status=delivered');
    expect(await page.evaluate(() => history.length)).toBe(entries + 1);
    // Once the page has settled on the status taken, its alerts in: an arrow pressed while it was still drawing the
    // select at that status was undone (CI, under load, saw the status stay "delivered").
    await page.waitForLoadState('networkidle');
    // Leaving the select takes what the arrows reached, too.
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Tab');
    await expect.poll(() => here(page)).toBe('/dashboard/alerts?site=acme&status=dead');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('never scrolls sideways at 320 pixels for an admin, whose navigation has one link more', async () => {
    const { page, problems } = await openPage({ width: 320, height: 600 });
    await logIn(page);
    for (const path of ['/dashboard?site=acme', '/dashboard/leads?site=acme', `/dashboard/leads/${encodeURIComponent(lead)}?site=acme`]) {
      await page.goto(`${server.url}${path}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.getByRole('link', { name: 'Alerts' }).waitFor();
      await page.locator('.loading').first().waitFor({ state: 'detached' });
      expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(320);
      const alerts = (await page.getByRole('link', { name: 'Alerts' }).boundingBox())!;
      expect(alerts.x + alerts.width, path).toBeLessThanOrEqual(320);
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('says in a status line that a list is empty, and in an alert that figures could not load', async () => {
    const { page } = await openPage();
    await logIn(page, '/dashboard/leads?site=acme&temperature=all');
    await page.getByRole('status').filter({ hasText: /leads$/ }).waitFor();
    await page.getByRole('searchbox', { name: 'Search' }).fill('nobody-has-this-name');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'No lead matches these filters.' }).count()).toBe(1);

    await page.goto(`${server.url}/dashboard/alerts?site=globex`);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'No alert on Globex yet.' }).count()).toBe(1);
    await page.goto(`${server.url}/dashboard/accounts?site=globex&temperature=hot`);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'No hot account.' }).count()).toBe(1);

    // A panel that could not load: why is said once, in an alert (the panel's own line is not one more).
    await page.route(/\/api\/dashboard\/funnel\?/, (route) => route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: 'the funnel broke' }) }));
    await page.goto(`${server.url}/dashboard?site=acme`);
    await expect.poll(() => page.getByRole('alert').allInnerTexts()).toEqual(['Could not load the funnel: the funnel broke']);
    await page.context().close();
  });

  it('moves the focus to the page\'s heading once "Try again" has brought the panels back, not to the page\'s body', async () => {
    const { page } = await openPage();
    await logIn(page);
    const funnel = /\/api\/dashboard\/funnel\?/;
    await page.route(funnel, (route) => route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: 'the funnel broke' }) }));
    await page.goto(`${server.url}/dashboard?site=acme`);
    const tryAgain = page.getByRole('button', { name: 'Try again' });
    await tryAgain.focus();
    await page.unroute(funnel);
    await page.keyboard.press('Enter');
    await page.locator('.funnel').waitFor();
    await expect.poll(() => tryAgain.count()).toBe(0);
    await expect.poll(() => focused(page)).toEqual({ tag: 'H1', role: null, text: 'Marketing' });
    await page.context().close();
  });

  it('offers "Try again" on the leads, accounts, alerts and lead pages too, and takes the keyboard to the heading once back', async () => {
    const { page, problems } = await openPage();
    await logIn(page);
    const broken = (route: Route) => route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: 'the store broke' }) });
    for (const [path, api, what, heading, shown] of [
      ['/dashboard/leads?site=acme&temperature=all', /\/api\/dashboard\/leads\?/, 'the leads', 'Leads', 'table.leads'],
      ['/dashboard/accounts?site=acme', /\/api\/dashboard\/accounts\?/, 'the accounts', 'Accounts', 'table.accounts'],
      ['/dashboard/alerts?site=acme', /\/api\/alerts\?/, 'the alerts', 'Alerts', '.page p[role=status]'],
      // The lead's own answer: the page shows only its loading line while it comes again.
      [`/dashboard/leads/${encodeURIComponent(lead)}?site=acme`, /\/api\/leads\/[^/?]+\?/, 'this lead', /^grace\./, '#qualification-title'],
    ] as const) {
      await page.route(api, broken);
      await page.goto(`${server.url}${path}`);
      await expect.poll(() => page.getByRole('alert').allInnerTexts(), { message: path }).toEqual([`Could not load ${what}: the store broke`]);
      const tryAgain = page.getByRole('button', { name: 'Try again' });
      await tryAgain.focus();
      await page.unroute(api);
      await page.keyboard.press('Enter');
      await page.locator(shown).first().waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);
      await expect.poll(() => focused(page), { message: path }).toMatchObject({ tag: 'H1', text: typeof heading === 'string' ? heading : expect.stringMatching(heading) });
    }
    expect(problems.filter((problem) => !problem.includes('status of 500'))).toEqual([]);
    await page.context().close();
  });

  it('moves the focus to the count line after "Go to the last page", not to the page\'s body', async () => {
    const { page, problems } = await openPage();
    await logIn(page, '/dashboard/leads?site=acme&temperature=all&offset=5000');
    await page.getByRole('button', { name: 'Go to the last page' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => here(page)).toBe('/dashboard/leads?site=acme&temperature=all');
    await expect.poll(() => focused(page)).toEqual({ tag: 'P', role: 'status', text: '1–2 of 2 leads' });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("lets the keyboard scroll a lead's timeline and qualification history, each a named region", async () => {
    const { page, problems } = await openPage();
    await logIn(page);
    await page.goto(leadPage());
    await page.getByRole('textbox', { name: 'Note on budget' }).fill('40k approved for Q3');
    await page.getByRole('button', { name: 'Save qualification' }).click();
    await page.locator('.qualification-history li').first().waitFor();
    for (const [list, name] of [
      ['ol.timeline', 'Timeline events'],
      ['ol.qualification-history', 'Qualification history'],
    ] as const) {
      // The box that scrolls the list: the list itself or around it.
      const box = await page.locator(list).evaluate((element) => {
        let scroller: Element | null = element;
        while (scroller && !/auto|scroll/.test(getComputedStyle(scroller).overflowY)) scroller = scroller.parentElement;
        return { tabindex: scroller?.getAttribute('tabindex'), role: scroller?.getAttribute('role'), label: scroller?.getAttribute('aria-label') };
      });
      expect(box).toEqual({ tabindex: '0', role: 'region', label: name });
      expect(await page.getByRole('region', { name }).locator(list).count()).toBe(1);
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('makes a chart legend toggle buttons the keyboard presses, and no table inside the chart', async () => {
    const { page, problems } = await openPage();
    await logIn(page);
    const chart = page.locator('figure.chart', { has: page.getByRole('img', { name: /^Leads seen per day, by temperature/ }) });
    await chart.locator('.u-legend').waitFor();
    const hot = chart.getByRole('button', { name: 'Hot' });
    await expect.poll(() => hot.count()).toBe(1);

    // Reached with Tab, from the chart before.
    await page.getByText('Visitors per day: data table').focus();
    await page.keyboard.press('Tab');
    expect(await hot.evaluate((element) => element === document.activeElement)).toBe(true);
    expect(await hot.getAttribute('aria-pressed')).toBe('true');
    const hidden = () => hot.evaluate((element) => element.closest('tr')!.classList.contains('u-off'));
    await page.keyboard.press('Enter');
    expect([await hot.getAttribute('aria-pressed'), await hidden()]).toEqual(['false', true]);
    await page.keyboard.press(' ');
    expect([await hot.getAttribute('aria-pressed'), await hidden()]).toEqual(['true', false]);
    await hot.click();
    expect([await hot.getAttribute('aria-pressed'), await hidden()]).toEqual(['false', true]);

    // As Chromium tells screen readers: no nameless table in the chart; its toggles, pressed or not.
    const nodes = await accessibleNodes(page, 'figure.chart:has(> [aria-label^="Leads seen per day"])');
    expect(nodes.filter((node) => /table/i.test(node.role))).toEqual([]);
    expect(nodes.filter((node) => node.role === 'button').map(({ name, pressed }) => [name, pressed])).toEqual([
      ['Hot', 'false'],
      ['Warm', 'true'],
      ['Cold', 'true'],
    ]);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('draws the hot, warm and cold lines with different dashes, as their legend shows', async () => {
    const { page, problems } = await openPage();
    // Every line the charts stroke: its chart, colour and dash.
    await page.addInitScript(() => {
      const strokes: { chart: string; color: string; dash: string }[] = [];
      (window as unknown as { strokes: typeof strokes }).strokes = strokes;
      const stroke = CanvasRenderingContext2D.prototype.stroke;
      CanvasRenderingContext2D.prototype.stroke = function (this: CanvasRenderingContext2D, ...args: [Path2D?]) {
        strokes.push({ chart: this.canvas.closest('[role=img]')?.getAttribute('aria-label') ?? '', color: String(this.strokeStyle), dash: this.getLineDash().join(' ') });
        return stroke.apply(this, args as [Path2D]);
      } as typeof stroke;
    });
    await logIn(page);
    const chart = page.locator('figure.chart', { has: page.getByRole('img', { name: /^Leads seen per day, by temperature/ }) });
    await chart.locator('.u-legend').waitFor();
    const dashes = (color: string) =>
      page.evaluate((color) => {
        const { strokes } = window as unknown as { strokes: { chart: string; color: string; dash: string }[] };
        return [...new Set(strokes.filter((one) => one.chart.startsWith('Leads seen per day') && one.color === color).map((one) => one.dash))].sort();
      }, color);
    const [hot, warm, cold] = [await dashes('#c81e1e'), await dashes('#b45309'), await dashes('#1d4ed8')];
    expect(hot).toEqual(['']);
    expect(warm.filter(Boolean)).toHaveLength(1);
    expect(cold.filter(Boolean)).toHaveLength(1);
    expect(warm.filter(Boolean)).not.toEqual(cold.filter(Boolean));
    const markers = await chart.getByRole('button').locator('.u-marker').evaluateAll((elements) => elements.map((element) => getComputedStyle(element).borderTopStyle));
    expect(markers).toEqual(['solid', 'dashed', 'dotted']);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('titles a page that does not exist, and an address naming no site, as the other pages are titled', async () => {
    const { page } = await openPage();
    await logIn(page, '/dashboard/nothing');
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    await expect.poll(() => page.title()).toBe('Page not found · Hearth');
    await page.goto(`${server.url}/dashboard?site=nope`);
    await page.getByRole('heading', { level: 1, name: 'No site “nope”' }).waitFor();
    await expect.poll(() => page.title()).toBe('No site “nope” · Hearth');
    expect(await page.getByRole('alert').innerText()).toMatch(/^Hearth has no site “nope”: it may have been removed from the configuration/);
    await page.context().close();
  });

  it("tells a user limited to some sites that another site's address is not one of theirs, not that Hearth has no such site", async () => {
    const { page, problems } = await openPage();
    await logInAs(page, server.url, USERS.ana, '/dashboard?site=globex');
    await page.getByRole('heading', { level: 1, name: 'No site “globex”' }).waitFor();
    expect(await page.getByRole('alert').innerText()).toBe(
      '“globex” is not one of the sites your account opens: an admin can give you access to it if Hearth has it, or the address was mistyped. Nothing of another site is shown in its place.',
    );
    expect(await page.locator('.site-choices a').allInnerTexts()).toEqual(['Acme website']);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("names a lead's status group, each region of the marketing page once, and gives the site links targets of 24 pixels", async () => {
    const { page, problems } = await openPage();
    await logIn(page);
    await page.goto(leadPage());
    const status = page.getByRole('group', { name: 'Status' });
    await expect.poll(() => status.count()).toBe(1);
    expect(await status.innerText()).toMatch(/\d+ points/);

    await page.goto(`${server.url}/dashboard?site=acme`);
    await page.locator('.sources tbody tr').first().waitFor();
    const regions = (await accessibleNodes(page)).filter((node) => node.role === 'region').map((node) => node.name);
    expect(regions).toContain('Lead quality by source');
    expect(regions.filter((name, i) => regions.indexOf(name) !== i)).toEqual([]);

    await page.goto(`${server.url}/dashboard?site=nope`);
    const links = page.getByRole('main').getByRole('link');
    await expect.poll(() => links.count()).toBe(2);
    for (const box of await links.evaluateAll((anchors) => anchors.map((anchor) => anchor.getBoundingClientRect().toJSON() as DOMRect))) {
      expect(box.height).toBeGreaterThanOrEqual(24);
      expect(box.width).toBeGreaterThanOrEqual(24);
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('lists the 25 best sources and says how many more there are, so that referrer spam does not bury the real ones', async () => {
    // Thirty made-up sources from one script (on the Globex site, apart from the figures of the tests above), and one
    // real visitor from a source written with blanks and an invisible character around it, which is the same source.
    const spam = Array.from({ length: 30 }, (_, n) => wireEvent({ u: `https://globex.test/?utm_source=casino-${n}`, ss: 1, sid: `spam-visit-${String(n).padStart(4, '0')}` }));
    await postBatch(server, { s: 'globex', v: newVisitor(), e: spam }, { origin: 'https://globex.test' });
    for (const source of ['linkedin', ' linkedin\u200b ']) {
      await postBatch(server, { s: 'globex', v: newVisitor(), e: [wireEvent({ u: `https://globex.test/?utm_source=${encodeURIComponent(source)}`, ss: 1 }), wireEvent({ n: 'f', u: 'https://globex.test/contact', k: 'newsletter', p: { 'email  email': `reader.${newVisitor()}@globex.test` } })] }, { origin: 'https://globex.test' });
    }
    await drained(server);
    const { page, problems } = await openPage();
    await logIn(page, '/dashboard?site=globex');
    const rows = page.locator('table.sources tbody tr');
    await expect.poll(() => rows.count()).toBe(25);
    // The real source first, once, with its two visitors and leads.
    expect(await rows.first().locator('th').innerText()).toBe('linkedin');
    expect(await rows.first().locator('td').first().innerText()).toBe('2');
    // Spam brings no lead: the Leads page's filter would find none of them (QA: the page said it finds any of them).
    expect(await page.getByText('And 6 more sources, with fewer leads and visitors each, none with a lead in this period.').count()).toBe(1);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
