import { mkdirSync } from 'node:fs';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { configUsers, logIn, openPage, seedHotLead, type DashboardUser } from '../support/dashboard-browser.ts';
import { drained, newVisitor, postBatch, SITE_ORIGIN, startTestServer, wireEvent } from '../support/server.ts';

/**
 * What the dashboards look like to someone who reads them with the keyboard or on a phone: every focused control
 * shows a ring that stands out from what is around it, a control that cannot be used looks it, and nothing makes the
 * page scroll sideways at 375 pixels, the site picker of a two-site install included.
 */
const USERS = {
  ada: { name: 'ada.lovelace@acme.com', role: 'marketing', password: 'ada-reads-the-dashboards' },
} satisfies Record<string, DashboardUser>;

/** WCAG's contrast ratio of two CSS colours as computed styles give them ("rgb(r, g, b)"). */
function contrast(a: string, b: string): number {
  const luminance = (color: string) => {
    const [r, g, b] = color.match(/\d+(\.\d+)?/g)!.slice(0, 3).map((channel) => {
      const c = Number(channel) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light! + 0.05) / (dark! + 0.05);
}

/** The focused element's outline colour and width, and the background colour it is drawn on (its nearest opaque one). */
const focusRing = (page: Page) =>
  page.evaluate(() => {
    const element = document.activeElement as HTMLElement;
    const style = getComputedStyle(element);
    let behind: Element | null = element.parentElement;
    let background = 'rgb(255, 255, 255)';
    while (behind) {
      const color = getComputedStyle(behind).backgroundColor;
      if (color !== 'rgba(0, 0, 0, 0)' && color !== 'transparent') {
        background = color;
        break;
      }
      behind = behind.parentElement;
    }
    const box = element.getBoundingClientRect();
    return { focusable: element.matches('a[href], button, select, input, textarea, summary'), text: element.textContent?.trim() ?? '', outline: style.outlineColor, width: parseFloat(style.outlineWidth), style: style.outlineStyle, background, box: { width: box.width, height: box.height } };
  });

/**
 * What an element's text (or outline) colour shows as: that colour over the nearest opaque background behind it, seen
 * through the opacity of the element and of every ancestor up to that background (a dimmed list, a faded legend).
 */
async function shownColour(locator: Locator, property: 'color' | 'outlineColor' = 'color'): Promise<{ shown: string; background: string; opacity: number }> {
  const { colour, background, opacity } = await locator.evaluate((element, property) => {
    let opacity = 1;
    let background = 'rgb(255, 255, 255)';
    for (let at: Element | null = element; at; at = at.parentElement) {
      const style = getComputedStyle(at);
      const color = style.backgroundColor;
      if (at !== element && color !== 'rgba(0, 0, 0, 0)' && color !== 'transparent') {
        background = color;
        break;
      }
      opacity *= Number(style.opacity);
    }
    return { colour: getComputedStyle(element)[property], background, opacity };
  }, property);
  const channels = (color: string) => color.match(/\d+(\.\d+)?/g)!.slice(0, 3).map(Number);
  const [front, back] = [channels(colour), channels(background)];
  const shown = front.map((channel, i) => Math.round(channel * opacity + back[i]! * (1 - opacity)));
  return { shown: `rgb(${shown.join(', ')})`, background, opacity };
}

describe.runIf(browserTestsEnabled())('how the dashboards look to keyboard and phone users', () => {
  let server: RunningServer;
  let browser: Browser;
  let lead: string;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startTestServer({
        sites: [
          { id: 'acme', name: 'Acme corporate website', origins: [SITE_ORIGIN], pageGroups: { pricing: ['/pricing*'] } },
          { id: 'acme-docs', name: 'Acme developer documentation portal (EMEA, staging)', origins: ['https://docs.acme.test'] },
        ],
        users: await configUsers(Object.values(USERS)),
        // Each test logs in afresh, more often than a person's ten attempts in 15 minutes.
        limits: { loginAttemptsPerUser: 100, loginAttemptsPerIp: 100 },
      }),
      launchChromium(),
    ]);
    lead = await seedHotLead(server);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws a focus ring around each key figure, of a colour that stands out from the page and from the top bar', async () => {
    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, USERS.ada);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await page.locator('.kpi a').first().waitFor();
    const rings = [];
    // Every link and control, in the order Tab reaches them, until the key figures are passed.
    for (let step = 0; step < 40; step++) {
      await page.keyboard.press('Tab');
      const ring = await focusRing(page);
      if (!ring.focusable) continue;
      rings.push(ring);
      if (/identified leads/i.test(ring.text) || rings.filter((r) => /see the list/.test(r.text)).length > 1) break;
    }
    const kpi = page.locator('.kpi a').first();
    await kpi.focus();
    const onFigure = await focusRing(page);
    const figure = (await page.locator('.kpi a .kpi-value').first().boundingBox())!;
    // The outline is drawn around the link's own box: an inline link around a block figure had none to draw around.
    expect(onFigure.box.height).toBeGreaterThanOrEqual(figure.height);
    expect(onFigure.box.width).toBeGreaterThan(0);
    for (const ring of [...rings, onFigure]) {
      expect(ring.style, ring.text).toBe('solid');
      expect(ring.width, ring.text).toBeGreaterThanOrEqual(2);
      // WCAG 2.2's focus appearance: at least 3:1 against what is around it, on the white panels and the dark top bar.
      expect(contrast(ring.outline, ring.background), `${ring.text}: ${ring.outline} on ${ring.background}`).toBeGreaterThanOrEqual(3);
    }
    expect(rings.some((ring) => ring.background !== 'rgb(255, 255, 255)')).toBe(true);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("rings the heading a keyboard user is taken to on a new page at 3:1 at least, on the page's background and on white", async () => {
    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, USERS.ada);
    await page.getByRole('heading', { level: 1, name: 'Marketing' }).waitFor();
    await page.getByRole('link', { name: 'Leads', exact: true }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    expect(await page.evaluate(() => document.activeElement!.matches(':focus-visible'))).toBe(true);
    const ring = await focusRing(page);
    expect([ring.style, ring.width >= 2]).toEqual(['solid', true]);
    expect(ring.background).toBe('rgb(245, 247, 250)');
    for (const background of [ring.background, 'rgb(255, 255, 255)']) {
      expect(contrast(ring.outline, background), `${ring.outline} on ${background}`).toBeGreaterThanOrEqual(3);
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('shows a button that cannot be used as greyed out, its text readable, the red Disqualify one too', async () => {
    const { page } = await openPage(browser);
    await logIn(page, server.url, USERS.ada, `/dashboard/leads/${encodeURIComponent(lead)}?site=acme`);
    const disqualify = page.getByRole('button', { name: 'Disqualify' });
    const save = page.getByRole('button', { name: /save/i }).first();
    // Marketing reads qualifications but does not change them.
    await expect.poll(() => disqualify.isDisabled()).toBe(true);
    const look = (button: typeof save) => button.evaluate((element) => ({ background: getComputedStyle(element).backgroundColor, color: getComputedStyle(element).color }));
    const [disabledDanger, disabledSave] = [await look(disqualify), await look(save)];
    expect(disabledDanger).toEqual(disabledSave);
    expect(contrast(disabledDanger.color, disabledDanger.background)).toBeGreaterThanOrEqual(4.5);
    await page.context().close();
  });

  it("says how an account's score is made, with the site's hot mark, so a reader can work one out", async () => {
    const { page } = await openPage(browser);
    await logIn(page, server.url, USERS.ada, '/dashboard/accounts?site=acme');
    const intro = page.locator('.intro');
    await expect.poll(() => intro.textContent()).toMatch(/60% of its best lead's score, 50% of the second's and 20% of the third's, each counted up to the hot mark \(60 points\), plus 10 points for each further kind of role/);
    // Grace alone (75 points, hot) makes initech.test 60% of 60: 36, cold.
    await expect.poll(() => page.locator('table tbody tr').first().textContent()).toMatch(/initech\.test.*36/);
    await page.context().close();
  });

  it('says an address names a site it does not have, and shows nothing of another site in its place', async () => {
    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, USERS.ada);
    // A removed site's alert link, or a typo: the lead's id is its email's, the same on the site that does exist.
    for (const path of ['/dashboard', `/dashboard/leads/${encodeURIComponent(lead)}`]) {
      await page.goto(`${server.url}${path}?site=acme-doc`);
      await page.getByRole('heading', { level: 1, name: 'No site “acme-doc”' }).waitFor();
      expect(await page.getByRole('alert').innerText()).toContain('Hearth has no site “acme-doc”');
      expect(await page.locator('.kpi').count()).toBe(0);
      expect(await page.getByText(/grace\./).count()).toBe(0);
      expect(await page.getByLabel('Site').evaluate((select) => (select as HTMLSelectElement).selectedOptions[0]!.textContent)).toBe('no site “acme-doc”');
      const links = page.getByRole('main').getByRole('link');
      expect(await links.evaluateAll((anchors) => anchors.map((a) => [a.textContent, new URL((a as HTMLAnchorElement).href).search]))).toEqual([
        ['Acme corporate website', '?site=acme'],
        ['Acme developer documentation portal (EMEA, staging)', '?site=acme-docs'],
      ]);
    }
    // From the lead's page: the site's own list of leads (the sales inbox: its MQLs).
    await page.getByRole('link', { name: 'Acme corporate website' }).click();
    await page.getByRole('heading', { level: 1, name: 'MQLs' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/dashboard/leads');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('never scrolls sideways at 375 pixels, with a site picker of long site names', async () => {
    const { page, problems } = await openPage(browser, { width: 375, height: 800 });
    await logIn(page, server.url, USERS.ada);
    for (const path of ['/dashboard', '/dashboard/leads', `/dashboard/leads/${encodeURIComponent(lead)}`, '/dashboard/accounts']) {
      await page.goto(`${server.url}${path}?site=acme`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.getByLabel('Site').waitFor();
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        window: innerWidth,
        // What sticks out, to say in the failure.
        wide: [...document.querySelectorAll('body *')].flatMap((element) => {
          // An element, or a text that runs out of its element (a long email with nowhere to break).
          const text = [...element.childNodes].filter((node) => node.nodeType === Node.TEXT_NODE).some((node) => {
            const range = document.createRange();
            range.selectNodeContents(node);
            return range.getBoundingClientRect().right > innerWidth;
          });
          return element.getBoundingClientRect().right > innerWidth || text ? [`${element.tagName.toLowerCase()}.${element.className}: ${element.textContent?.slice(0, 40)}`] : [];
        }),
      }));
      expect(widths.page, `${path}: ${widths.wide.join(' | ')}`).toBeLessThanOrEqual(widths.window);
      const picker = (await page.getByLabel('Site').boundingBox())!;
      expect(picker.x + picker.width, path).toBeLessThanOrEqual(375);
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('wraps a long campaign tag in the sources panel rather than push the figures out of sight', async () => {
    // A paid-social tag as ad platforms write them: 92 characters, no space to break at (found by a QA pass).
    const tag = 'fb_ads_q4_2026_retargeting_lookalike_audience_1pct_france_belgium_switzerland_carousel_v3_ab';
    await postBatch(server, { s: 'acme', v: newVisitor(), e: [wireEvent({ u: `${SITE_ORIGIN}/?utm_source=${tag}`, ss: 1, t: Date.now() - 60_000 })] });
    await drained(server);
    const { page, problems } = await openPage(browser, { width: 1280, height: 800 });
    await logIn(page, server.url, USERS.ada, '/dashboard?site=acme');
    const row = page.locator('.sources tbody tr', { hasText: tag.slice(0, 20) });
    await row.waitFor();
    const fits = await page.locator('.sources').evaluate((table) => ({ table: table.scrollWidth, shown: table.closest('.table-scroll')!.clientWidth }));
    expect(fits.table).toBeLessThanOrEqual(fits.shown);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("reads a chart series switched off in the legend at 4.5:1 at least, struck through rather than faded", async () => {
    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, USERS.ada);
    const chart = page.locator('figure.chart', { has: page.getByRole('img', { name: /^Leads seen per day, by temperature/ }) });
    const hot = chart.getByRole('button', { name: 'Hot' });
    await hot.click();
    await expect.poll(() => hot.getAttribute('aria-pressed')).toBe('false');
    const label = hot.locator('.u-label');
    const { shown, background } = await shownColour(label);
    expect(contrast(shown, background), `${shown} on ${background}`).toBeGreaterThanOrEqual(4.5);
    // Still told apart from a series shown: struck through, where the others are not.
    expect(await label.evaluate((element) => getComputedStyle(element).textDecorationLine)).toBe('line-through');
    expect(await chart.getByRole('button', { name: 'Warm' }).locator('.u-label').evaluate((element) => getComputedStyle(element).textDecorationLine)).toBe('none');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('keeps the focus ring of a control inside a list dimmed while it loads at 3:1 at least', async () => {
    const { page, problems } = await openPage(browser);
    await logIn(page, server.url, USERS.ada, '/dashboard/leads?site=acme&temperature=all');
    const lead = page.locator('table.leads tbody th a').first();
    await lead.waitFor();
    await page.getByRole('combobox', { name: 'Temperature' }).selectOption('cold');
    await expect.poll(() => page.locator('table.leads').count()).toBe(0);
    // Back to every temperature, and forward to the cold leads, whose answer is held: the list of every temperature
    // stays, dimmed, with the keyboard on a lead's link in it.
    await page.goBack();
    await lead.waitFor();
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const list = /\/api\/dashboard\/leads\?/;
    await page.route(list, async (route) => {
      await held;
      await route.continue();
    });
    await page.getByRole('combobox', { name: 'Sort by' }).focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    while (!(await lead.evaluate((element) => element === document.activeElement))) await page.keyboard.press('Tab');
    await page.evaluate(() => history.forward());
    await page.locator('[aria-busy="true"] table.leads').waitFor();
    expect(await lead.evaluate((element) => element.matches(':focus-visible'))).toBe(true);
    const ring = await shownColour(lead, 'outlineColor');
    expect(contrast(ring.shown, ring.background), `${ring.shown} on ${ring.background}`).toBeGreaterThanOrEqual(3);
    // The rest of the list is dimmed still.
    expect((await shownColour(page.locator('table.leads thead th').first())).opacity).toBeLessThan(0.6);
    release();
    await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0);
    await page.unroute(list);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("shows on a phone each lead's score, name, temperature, status, owner and last visit with no sideways scroll, and writes or calls a lead with a tap", async () => {
    const email = `phone.${newVisitor()}@umbrella.test`;
    await postBatch(server, { s: 'acme', v: newVisitor(), e: [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/pricing`, k: 'demo-request', p: { 'email  email': email, 'phone  tel': '+33 6 12 34 56 78' } })] });
    await drained(server);
    const { page, problems } = await openPage(browser, { width: 390, height: 844 });
    await logIn(page, server.url, USERS.ada, '/dashboard/leads?site=acme&temperature=all');
    const row = page.locator('table.leads tbody tr', { hasText: email });
    await row.waitFor();
    // The columns a phone has room for; the lead's temperature and status shown under its name instead of in theirs.
    expect(await page.locator('table.leads thead th:visible').allTextContents()).toEqual(['Score', 'Lead', 'Owner', 'Last seen']);
    expect(await row.locator('th .badge:visible').allTextContents()).toEqual([expect.stringMatching(/^(Hot|Warm|Cold)$/), expect.stringMatching(/^(MQL|Lead)$/)]);
    const fits = await page.locator('table.leads').evaluate((element) => ({ table: element.scrollWidth, shown: element.closest('.table-scroll')!.clientWidth }));
    expect(fits.table).toBeLessThanOrEqual(fits.shown);
    mkdirSync('test-results/screenshots', { recursive: true });
    await page.screenshot({ path: 'test-results/screenshots/phone-leads.png' });

    await row.getByRole('link', { name: email }).click();
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await page.getByRole('link', { name: email }).getAttribute('href')).toBe(`mailto:${email}`);
    expect(await page.getByRole('link', { name: '+33 6 12 34 56 78' }).getAttribute('href')).toBe('tel:+33612345678');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("fits a lead's reasons, the leads list, the sources' and devices' figures and the accounts in their boxes on a 360-pixel phone, and the lists and panels at 320 pixels and on a tablet held upright", async () => {
    // Found by a QA pass on phones: four columns cut the reasons' points at 375 pixels ("+3" for +30), the sources' bars
    // pushed their figures out of sight, and an upright iPad (810) had the desktop leads table, 1,175 pixels wide.
    const fits = (page: Page, table: string) => page.locator(table).evaluate((element) => ({ table: element.scrollWidth, shown: element.closest('.table-scroll')!.clientWidth }));
    const { page, problems } = await openPage(browser, { width: 360, height: 900 });
    await logIn(page, server.url, USERS.ada);
    for (const [width, checks] of [
      [360, [[`/dashboard/leads/${encodeURIComponent(lead)}?site=acme`, 'table:has(th:text("Points"))'], ['/dashboard/leads?site=acme&temperature=all', 'table.leads'], ['/dashboard?site=acme', 'table.sources'], ['/dashboard?site=acme', 'table.devices'], ['/dashboard/accounts?site=acme', 'table.accounts']]],
      [320, [['/dashboard/leads?site=acme&temperature=all', 'table.leads'], ['/dashboard?site=acme', 'table.sources'], ['/dashboard?site=acme', 'table.devices']]],
      [768, [['/dashboard/leads?site=acme&temperature=all', 'table.leads'], ['/dashboard?site=acme', 'table.sources'], ['/dashboard?site=acme', 'table.devices']]],
      [810, [['/dashboard/leads?site=acme&temperature=all', 'table.leads'], ['/dashboard?site=acme', 'table.sources'], ['/dashboard?site=acme', 'table.devices']]],
    ] as const) {
      // One tab, its viewport set to each width before its pages are opened (and a page opened once for its tables).
      await page.setViewportSize({ width, height: 900 });
      let opened = '';
      for (const [path, table] of checks) {
        if (path !== opened) await page.goto(`${server.url}${path}`);
        opened = path;
        await page.locator(`${table} tbody tr`).first().waitFor();
        const { table: needed, shown } = await fits(page, table);
        expect(needed, `${width} px, ${path}: ${table}`).toBeLessThanOrEqual(shown);
      }
      if (width === 360) {
        // The rule's kind under its name, each point whole: "+30", not "+3".
        await page.goto(`${server.url}/dashboard/leads/${encodeURIComponent(lead)}?site=acme`);
        const reasons = page.locator('table:has(th:text("Points"))');
        await reasons.locator('tbody tr').first().waitFor();
        expect(await reasons.locator('thead th:visible').allTextContents()).toEqual(['Rule', 'Times', 'Points']);
        expect(await reasons.locator('tbody th .sub:visible').first().textContent()).toMatch(/^(fit|engagement|source|negative)$/);
        // The devices panel names the kind of device the seeded browsers are (a computer's User-Agent).
        await page.goto(`${server.url}/dashboard?site=acme`);
        expect(await page.locator('table.devices tbody th').first().textContent()).toMatch(/^Desktop/);
        // A filter's ✕ is a tap target of 24 by 24 pixels at least (it was 13 wide).
        await page.goto(`${server.url}/dashboard/leads?site=acme&temperature=all&funnel=MOFU`);
        const remove = (await page.getByRole('button', { name: /^Remove filter/ }).first().boundingBox())!;
        expect([remove.width, remove.height].map((side) => side >= 24)).toEqual([true, true]);
      }
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('prints a lead with every event of its timeline and without the controls, its bars in their colours', async () => {
    // Forty visits' pages: more than the timeline's box shows on a screen, where it scrolls.
    const email = `printed.${newVisitor()}@umbrella.test`;
    const visitor = newVisitor();
    const minutesAgo = (minutes: number) => Date.now() - minutes * 60_000;
    await postBatch(server, { s: 'acme', v: visitor, e: [...Array.from({ length: 40 }, (_, i) => wireEvent({ u: `${SITE_ORIGIN}/pricing?page=${i}`, t: minutesAgo(60 - i) })), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(5), p: { 'email  email': email } })] });
    await drained(server);
    const { page, problems } = await openPage(browser, { width: 1280, height: 800 });
    await logIn(page, server.url, USERS.ada, `/dashboard/leads?site=acme&temperature=all&q=${encodeURIComponent(email)}`);
    await page.getByRole('link', { name: email }).click();
    await page.locator('.timeline li').nth(30).waitFor();
    expect(await page.locator('.timeline-scroll').evaluate((timeline) => timeline.scrollHeight > timeline.clientHeight)).toBe(true);
    await page.emulateMedia({ media: 'print' });
    const printed = await page.evaluate(() => {
      const timeline = document.querySelector('.timeline-scroll')!;
      const bar = document.querySelector('.bar-fill')!;
      return {
        topbar: getComputedStyle(document.querySelector('.topbar')!).display,
        buttons: [...document.querySelectorAll('button')].filter((button) => getComputedStyle(button).display !== 'none').length,
        timelineCut: timeline.scrollHeight > timeline.clientHeight,
        barColours: getComputedStyle(bar).printColorAdjust,
      };
    });
    expect(printed).toEqual({ topbar: 'none', buttons: 0, timelineCut: false, barColours: 'exact' });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('wraps a long email or domain in the leads and accounts tables rather than widen them past their box', async () => {
    // An address of 117 characters with nowhere to break, its domain an account of its own.
    const email = `${'procurement.department.'.repeat(2)}emea.x@${'very-long-subsidiary-name-'.repeat(2)}holding.test`;
    await postBatch(server, { s: 'acme', v: newVisitor(), e: [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/pricing`, k: 'demo-request', p: { 'email  email': email } })] });
    await drained(server);
    const { page, problems } = await openPage(browser, { width: 1280, height: 800 });
    await logIn(page, server.url, USERS.ada);
    for (const [path, table] of [
      ['/dashboard/leads?site=acme&temperature=all', 'table.leads'],
      ['/dashboard/accounts?site=acme', 'table.accounts'],
    ] as const) {
      await page.goto(`${server.url}${path}`);
      await page.locator(table, { hasText: email.slice(0, 30) }).waitFor();
      const fits = await page.locator(table).evaluate((element) => ({ table: element.scrollWidth, shown: element.closest('.table-scroll')!.clientWidth }));
      expect(fits.table, path).toBeLessThanOrEqual(fits.shown);
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
