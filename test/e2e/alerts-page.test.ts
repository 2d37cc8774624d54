import { mkdirSync } from 'node:fs';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertListResponse, AlertView } from '../../collector/api/alerts.routes.ts';
import type { RunningServer } from '../../collector/server.ts';
import { writeDeliveries } from '../../scoring/alerts/outbox.ts';
import { sampleAlert, settledDelivery, startHttpReceiver, waitFor, type HttpReceiver } from '../support/alerts.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { configUsers, logIn as logInAs, openPage as openTab, type DashboardUser } from '../support/dashboard-browser.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

/**
 * The Alerts page in Chromium, as sales use it: real demo requests through /collect become alerts, one delivered to
 * the French team's webhook and the others dead letters of a Slack channel that was deleted (404 no_service), until
 * the channel is back and sales retry them from the page, or from the lead's page. Marketing does not see them.
 * Initech has a long history of alerts, more than the page lists at first.
 */
const SCREENSHOTS = 'test-results/screenshots';
const USERS = {
  sam: { name: 'sam', role: 'sales', password: 'sam-reads-the-alerts' },
  ada: { name: 'ada', role: 'marketing', password: 'ada-reads-the-dashboards' },
} satisfies Record<string, DashboardUser>;

describe.runIf(browserTestsEnabled())('the alerts page in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let receiver: HttpReceiver;
  /** The Slack channel: deleted (404 no_service, a dead letter at once) until a test brings it back. */
  let slack: 'deleted' | 'back' = 'deleted';
  /** When set, the channel's next answer waits until the test releases it: the alert is seen pending meanwhile. */
  let holdNext = false;
  let release: (() => void) | undefined;
  const lead = { grace: 'Grace Hopper', alan: 'Alan Turing', mary: 'Mary Somerville', charles: 'Charles Babbage' };
  const alertOf: Record<string, AlertView> = {};

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    receiver.respond = async (request) => {
      if (!request.path.startsWith('/slack')) return { status: 204 };
      if (slack === 'deleted') return { status: 404, body: 'no_service' };
      if (holdNext) {
        holdNext = false;
        await new Promise<void>((resolve) => (release = resolve));
      }
      return { status: 200, body: 'ok' };
    };
    [server, browser] = await Promise.all([
      startTestServer({
        sites: [
          {
            id: 'acme',
            name: 'Acme website',
            origins: [SITE_ORIGIN],
            alerts: {
              destinations: [
                { type: 'webhook', id: 'crm-fr', url: `${receiver.url}/crm`, secret: 'whsec_' + Buffer.from('an-e2e-signing-key-of-32-bytes!!').toString('base64') },
                { type: 'slack', id: 'sales-world', url: `${receiver.url}/slack/T000/B000` },
              ],
              routes: [
                { destinations: ['crm-fr'], countries: ['FR'] },
                { destinations: ['sales-world'], fallback: true },
              ],
            },
          },
          { id: 'globex', name: 'Globex', origins: ['https://globex.test'] },
          {
            id: 'initech',
            name: 'Initech',
            origins: ['https://initech.test'],
            alerts: { destinations: [{ type: 'webhook', id: 'crm', url: `${receiver.url}/initech`, secret: 'whsec_' + Buffer.from('initech-e2e-signing-key-32-bytes').toString('base64') }] },
          },
        ],
        users: await configUsers(Object.values(USERS)),
        limits: { loginAttemptsPerIp: 100, loginAttemptsPerUser: 100 },
      }),
      launchChromium(),
    ]);
    mkdirSync(SCREENSHOTS, { recursive: true });
    // One demo request at a time, so that each alert is newer than the one before.
    for (const [key, country] of [['grace', 'France'], ['alan', 'United Kingdom'], ['mary', 'United Kingdom'], ['charles', 'United Kingdom']] as const) {
      const [first, last] = lead[key].split(' ');
      const email = `${first!.toLowerCase()}.${newVisitor()}@example.test`;
      const now = Date.now();
      const events = [
        wireEvent({ u: `${SITE_ORIGIN}/`, ss: 1, t: now - 120_000 }),
        wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: now - 60_000, p: { email, first_name: first, last_name: last, country } }),
      ];
      expect((await postBatch(server, { s: 'acme', v: newVisitor(), e: events })).status).toBe(202);
      await drained(server);
    }
    // Sent: delivered to the French team, dead letters for the others.
    const settled = await waitFor(
      async () => {
        const { body } = (await getJson(server, '/api/alerts?site=acme')) as { body: AlertListResponse };
        return body.alerts.length === 4 && body.alerts.every((alert) => alert.status !== 'pending') ? body.alerts : undefined;
      },
      15_000,
      'the four alerts sent',
    );
    for (const alert of settled) alertOf[Object.entries(lead).find(([, name]) => name === alert.lead.name)![0]] = alert;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await receiver?.close();
  });

  const openPage = (viewport?: { width: number; height: number }) => openTab(browser, viewport);
  const logIn = (page: Page, name: keyof typeof USERS, to?: string) => logInAs(page, server.url, USERS[name], to);
  const rows = (page: Page) => page.locator('table.alerts-table tbody tr');
  const rowOf = (page: Page, name: string) => rows(page).filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${name}`) }) });
  const hasFocus = (locator: Locator) => locator.evaluate((element) => element === document.activeElement);
  const rowNames = (page: Page) => rows(page).locator('th a').allInnerTexts();
  /** The line above the table that counts the alerts: the page's first status (the rows' retry notes come after). */
  const countLine = (page: Page) => page.getByRole('status').first().innerText();
  const focusedText = (page: Page) => page.evaluate(() => document.activeElement?.textContent?.trim());
  /** The status filter's options, as `counts` (the API's) should make them. */
  const offered = (counts: AlertListResponse['counts']) => [
    `All statuses (${Object.values(counts).reduce((sum, count) => sum + count, 0)})`,
    `Pending (${counts.pending})`,
    `Delivered (${counts.delivered})`,
    `Dead letters (${counts.dead})`,
    `Suppressed (${counts.suppressed})`,
  ];
  const countsNow = async () => ((await getJson(server, '/api/alerts?site=acme')) as { body: AlertListResponse }).body.counts;

  /** A demo request from someone new in the United Kingdom while the Slack channel is deleted: its alert, a dead letter. */
  async function deadLetterOf(name: string): Promise<AlertView> {
    slack = 'deleted';
    const [first, last] = name.split(' ');
    const email = `${first!.toLowerCase()}.${newVisitor()}@example.test`;
    const now = Date.now();
    const events = [
      wireEvent({ u: `${SITE_ORIGIN}/`, ss: 1, t: now - 120_000 }),
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: now - 60_000, p: { email, first_name: first, last_name: last, country: 'United Kingdom' } }),
    ];
    expect((await postBatch(server, { s: 'acme', v: newVisitor(), e: events })).status).toBe(202);
    await drained(server);
    return waitFor(
      async () => {
        const { body } = (await getJson(server, '/api/alerts?site=acme&status=dead')) as { body: AlertListResponse };
        return body.alerts.find((alert) => alert.lead.email === email);
      },
      15_000,
      `${name}'s dead letter`,
    );
  }

  it('shows sales what was sent where and what failed, filters the dead letters, and retries one with the keyboard', async () => {
    expect(Object.fromEntries(Object.entries(alertOf).map(([key, alert]) => [key, alert.status]))).toEqual({ grace: 'delivered', alan: 'dead', mary: 'dead', charles: 'dead' });
    const { page, problems } = await openPage();
    await logIn(page, 'sam');
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/dashboard/alerts');
    await page.getByText('Buying-signal alerts for sales, newest first. Acme website sends them to crm-fr (webhook) and sales-world (Slack).').waitFor();

    // Newest first, each with the lead, the signal and what became of it, per destination.
    await expect.poll(() => rows(page).locator('th').allInnerTexts()).toEqual([lead.charles, lead.mary, lead.alan, lead.grace].map((name) => expect.stringMatching(new RegExp(`^${name}\\n`))));
    expect(await page.getByRole('status').filter({ hasText: /alerts$/ }).innerText()).toBe('4 alerts');
    const grace = rowOf(page, lead.grace);
    expect(await grace.locator('td').allInnerTexts()).toEqual([
      expect.stringMatching(/^(just now|\d min ago)\n\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$/),
      'Demo request\nAsked to talk to sales: form demo-request',
      'Delivered',
      expect.stringMatching(/^crm-fr \(webhook\): delivered (just now|\d min ago)$/),
    ]);
    const alan = rowOf(page, lead.alan);
    expect(await alan.locator('.badge').innerText()).toBe('Dead letter');
    expect(await alan.getByRole('button').allInnerTexts()).toEqual([expect.stringMatching(/^Retry\b/)]);
    expect(await alan.locator('td').nth(3).innerText()).toBe(
      'sales-world (Slack): dead after 1 attempt\nSlack answered 404: no_service (a 4xx other than 408 and 429 is not retried: fix the receiver or the destination, then retry the dead letter)',
    );
    // On a phone, where the destinations' column is not shown, the same under the status: a Retry is no blind one.
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await alan.locator('.alert-status .deliveries:visible').innerText()).toBe(
      'sales-world (Slack): dead after 1 attempt\nSlack answered 404: no_service (a 4xx other than 408 and 429 is not retried: fix the receiver or the destination, then retry the dead letter)',
    );
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: `${SCREENSHOTS}/alerts.png`, fullPage: true });

    // The dead letters only: in the URL, counted, and the keyboard still on the filter. Until their answer comes, the
    // four alerts stay, and so do their words: not "4 dead letters" over a delivered one.
    let answer = () => {};
    const answered = new Promise<void>((resolve) => (answer = resolve));
    await page.route(/\/api\/alerts\?.*status=dead/, async (route) => {
      await answered;
      await route.continue();
    });
    const status = page.getByRole('combobox', { name: 'Status' });
    await status.focus();
    await status.selectOption('dead');
    await expect.poll(() => new URL(page.url()).searchParams.get('status')).toBe('dead');
    expect(await countLine(page)).toBe('4 alerts');
    expect(await rows(page).count()).toBe(4);
    answer();
    await expect.poll(() => page.getByRole('status').filter({ hasText: /dead letters$/ }).allInnerTexts()).toEqual(['3 dead letters']);
    expect(await rows(page).locator('th').allInnerTexts()).toEqual([lead.charles, lead.mary, lead.alan].map((name) => expect.stringMatching(new RegExp(`^${name}\\n`))));
    expect(await hasFocus(status)).toBe(true);

    // The channel is back: Enter on Alan's Retry sends the alert again. It shows pending while Slack takes its time,
    // then delivered; the focus goes from the button, which is gone, to what the retry did, and the row stays.
    slack = 'back';
    holdNext = true;
    const retry = page.getByRole('button', { name: `Retry Demo request for ${lead.alan}` });
    await retry.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => alan.locator('.badge').innerText()).toBe('Pending');
    expect(await alan.locator('td').nth(3).innerText()).toMatch(/^sales-world \(Slack\): pending, due now\nLast error: Slack answered 404: no_service /);
    await expect.poll(() => focusedText(page)).toBe('Sent again: pending, on its way again.');
    expect(await retry.count()).toBe(0);
    await waitFor(() => release, 10_000, 'the retried alert at the Slack channel');
    release!();
    await expect.poll(() => alan.locator('.badge').innerText(), { timeout: 10_000 }).toBe('Delivered');
    expect(await alan.locator('td').nth(3).innerText()).toMatch(/^sales-world \(Slack\): delivered (just now|\d min ago)$/);
    await expect.poll(() => focusedText(page)).toBe('Sent again: delivered.');
    expect((await getJson(server, `/api/alerts?site=acme&lead=${alertOf.alan!.lead.id}`)).body.alerts[0].status).toBe('delivered');

    // The lead's name opens the lead.
    await alan.getByRole('link', { name: lead.alan }).click();
    await page.getByRole('heading', { name: lead.alan, level: 1 }).waitFor();
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('says in words why a dead letter was not sent again: retried meanwhile, or its lead erased', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'sam', '/dashboard/alerts?site=acme&status=dead');
    const mary = rowOf(page, lead.mary);
    const charles = rowOf(page, lead.charles);
    await charles.waitFor();

    // A colleague retried Mary's alert since the page was opened, the channel being back: the page says so and shows
    // the alert as it stands now.
    slack = 'back';
    expect((await fetch(`${server.url}/api/alerts/${alertOf.mary!.id}/retry?site=acme`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status).toBe(200);
    await mary.getByRole('button', { name: /^Retry/ }).click();
    const marysNote = 'Not sent again: this alert is no longer a dead letter (retried meanwhile?). It is shown as it stands now.';
    await mary.getByText(marysNote).waitFor();
    await expect.poll(() => mary.locator('.badge').innerText(), { timeout: 10_000 }).toBe('Delivered');
    await expect.poll(() => focusedText(page)).toBe(marysNote);

    // Charles was erased meanwhile: the button stays, with the reason next to it.
    const erased = await fetch(`${server.url}/api/leads/${alertOf.charles!.lead.id}?site=acme`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(erased.status).toBe(200);
    const retryCharles = charles.getByRole('button', { name: /^Retry/ });
    await retryCharles.focus();
    await page.keyboard.press('Enter');
    await charles.getByText('Not sent again: this alert no longer exists (its lead may have been erased).').waitFor();
    expect(await hasFocus(retryCharles)).toBe(true);
    expect(await charles.locator('.badge').innerText()).toBe('Dead letter');
    // The browser reports the two refused requests; nothing else went wrong.
    expect(problems).toEqual([
      'Failed to load resource: the server responded with a status of 409 (Conflict)',
      'Failed to load resource: the server responded with a status of 404 (Not Found)',
    ]);
    await page.context().close();
  });

  it('counts a retried dead letter out of the dead letters at once, its row staying, on the dead letters and on all statuses', async () => {
    const emmy = await deadLetterOf('Emmy Noether');
    const lise = await deadLetterOf('Lise Meitner');
    const before = await countsNow();
    const deadLetters = (count: number) => `${count} dead letter${count === 1 ? '' : 's'}`;
    const { page, problems } = await openPage();
    await logIn(page, 'sam', '/dashboard/alerts?site=acme&status=dead');
    const options = () => page.getByRole('combobox', { name: 'Status' }).locator('option').allInnerTexts();
    const emmysRow = rowOf(page, emmy.lead.name!);
    await emmysRow.waitFor();
    expect(await countLine(page)).toBe(deadLetters(before.dead));
    expect(await options()).toEqual(offered(before));

    // Enter on Emmy's Retry: her row stays, delivered, and is no longer counted among the dead letters, by the count
    // line or by the filter, which count as the API does.
    slack = 'back';
    /** Enter on a row's Retry: delivered, so one dead letter fewer and one delivered more, on the filter as in the API. */
    const retried = async (row: typeof emmysRow, counts: typeof before) => {
      await row.getByRole('button', { name: /^Retry/ }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => focusedText(page), { timeout: 10_000 }).toBe('Sent again: delivered.');
      const after = { ...counts, dead: counts.dead - 1, delivered: counts.delivered + 1 };
      await expect.poll(options).toEqual(offered(after));
      expect(await countsNow()).toEqual(after);
      return after;
    };
    const afterEmmy = await retried(emmysRow, before);
    expect(await countLine(page)).toBe(deadLetters(afterEmmy.dead));
    expect(await emmysRow.locator('.badge').innerText()).toBe('Delivered');

    // On all statuses, Lise's retry moves her alert from the dead letters to the delivered ones.
    const status = page.getByRole('combobox', { name: 'Status' });
    await status.focus();
    await status.selectOption('');
    const alerts = `${Object.values(afterEmmy).reduce((sum, count) => sum + count, 0)} alerts`;
    await expect.poll(() => countLine(page)).toBe(alerts);
    expect(await options()).toEqual(offered(afterEmmy));
    await retried(rowOf(page, lise.lead.name!), afterEmmy);
    expect(await countLine(page)).toBe(alerts);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('fits a phone, and says what is empty on a site that sends no alerts', async () => {
    const { page, problems } = await openPage({ width: 360, height: 800 });
    await logIn(page, 'sam', '/dashboard/alerts?site=acme');
    await rows(page).first().waitFor();
    // Neither the page nor the table scrolls sideways: when, lead and its signal, and the status with its Retry (671
    // pixels of table in 353 showed when and lead alone, found by a QA pass on phones).
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    const table = await page.locator('table.alerts-table').evaluate((element) => ({ needed: element.scrollWidth, shown: element.closest('.table-scroll')!.clientWidth }));
    expect(table.needed).toBeLessThanOrEqual(table.shown);
    expect(await page.locator('table.alerts-table thead th:visible').allTextContents()).toEqual(['When', 'Lead', 'Status']);
    expect(await rows(page).first().locator('th strong:visible').textContent()).not.toBe('');
    // Each alert says under its status how each destination went (a dead letter's why: see the first test).
    expect(await rows(page).locator('.alert-status .deliveries:visible').count()).toBe(await rows(page).count());
    // On a tablet held upright, the whole table, destinations included (808 pixels of table at 810).
    for (const width of [768, 810]) {
      await page.setViewportSize({ width, height: 1000 });
      const upright = await page.locator('table.alerts-table').evaluate((element) => ({ needed: element.scrollWidth, shown: element.closest('.table-scroll')!.clientWidth }));
      expect(upright.needed, `${width} px`).toBeLessThanOrEqual(upright.shown);
    }
    await page.setViewportSize({ width: 360, height: 800 });
    await page.screenshot({ path: `${SCREENSHOTS}/alerts-phone.png`, fullPage: true });

    await page.getByRole('combobox', { name: 'Site' }).selectOption('globex');
    await page.getByText('Globex has no alert destination: its buying signals are sent to nobody.', { exact: false }).waitFor();
    await page.getByText('No alert on Globex yet.').waitFor();
    await page.getByRole('combobox', { name: 'Status' }).selectOption('dead');
    await page.getByText('No dead letter on Globex: no alert has failed for good.').waitFor();
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ site: 'globex', status: 'dead' });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('leaves the old site\'s account, page and list page behind when the site changes, and keeps the rest', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'sam', '/dashboard/leads?site=acme&temperature=warm&account=initech.test&content=page:/pricing&from=2026-11-01&to=2026-11-30&offset=50');
    await page.getByRole('combobox', { name: 'Site' }).selectOption('globex');
    await expect.poll(() => Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ site: 'globex', temperature: 'warm', from: '2026-11-01', to: '2026-11-30' });
    // An empty temperature of the accounts is said as such, not as no account at all.
    await page.goto(`${server.url}/dashboard/accounts?site=globex&temperature=hot`);
    await page.getByText('No hot account.').waitFor();
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('shows older alerts on demand, after the newest 100, with none repeated when one arrives meanwhile, and counts each status', async () => {
    // 150 alerts of Initech, one a minute until an hour ago, as the dispatcher left them: a dead letter every third.
    const start = Date.now() - 3_600_000 - 150 * 60_000;
    const history = Array.from({ length: 150 }, (_, i) => {
      const at = start + i * 60_000;
      const lead = { name: `Customer ${i + 1}`, email: `customer-${i + 1}@initech.test`, company: 'Initech' };
      // Each raised 10 minutes into what it tells of (a long pricing visit is told of once it has lasted).
      const alert = sampleAlert({ site: 'initech', triggeredAt: new Date(at - 600_000).toISOString(), createdAt: new Date(at).toISOString(), lead });
      return settledDelivery(alert, i % 3 === 0 ? 'dead' : 'delivered');
    });
    await writeDeliveries(server.client, history);
    const newestFirst = history.map((delivery) => delivery.alert.lead.name).reverse();
    const { page, problems } = await openPage();
    await logIn(page, 'sam', '/dashboard/alerts?site=initech');

    await expect.poll(() => rowNames(page)).toEqual(newestFirst.slice(0, 100));
    await expect.poll(() => countLine(page)).toBe('100 of 150 alerts');
    // When each was raised, as the list is ordered, then when what it tells of began.
    const when = /^1 h ago\n.* (\d\d):(\d\d) UTC\nbehaviour from .* (\d\d):(\d\d) UTC$/.exec(await page.locator('td.when').first().innerText());
    const minutes = (hours: string, mins: string) => Number(hours) * 60 + Number(mins);
    expect(when && (minutes(when[1]!, when[2]!) - minutes(when[3]!, when[4]!) + 1440) % 1440).toBe(10);
    expect(await page.getByRole('combobox', { name: 'Status' }).locator('option').allInnerTexts()).toEqual([
      'All statuses (150)',
      'Pending (0)',
      'Delivered (100)',
      'Dead letters (50)',
      'Suppressed (0)',
    ]);
    expect(await page.getByText('older ones are not listed').count()).toBe(0);

    // A new alert arrives while sales read; with the keyboard, the older 50 follow the first 100, none twice, none
    // left out, and the keyboard goes on from the first of them.
    await writeDeliveries(server.client, [settledDelivery(sampleAlert({ site: 'initech', lead: { name: 'Newcomer', email: 'newcomer@initech.test' } }), 'dead')]);
    const older = page.getByRole('button', { name: 'Show older alerts' });
    await older.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => rowNames(page)).toEqual(newestFirst);
    await expect.poll(() => focusedText(page)).toBe(newestFirst[100]);
    expect(await countLine(page)).toBe('150 alerts');
    expect(await older.count()).toBe(0);
    expect(await page.getByRole('combobox', { name: 'Status' }).locator('option').first().innerText()).toBe('All statuses (151)');

    // The dead letters, counted past their first page too, and the newcomer's among them.
    await page.getByRole('combobox', { name: 'Status' }).selectOption('dead');
    await expect.poll(() => countLine(page)).toBe('51 dead letters');
    expect((await rowNames(page))[0]).toBe('Newcomer');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('tells sales of the alerts made while the page is open, in the tab\'s title too, and shows them on a click', async () => {
    await writeDeliveries(server.client, [settledDelivery(sampleAlert({ site: 'initech', createdAt: new Date(Date.now() - 60_000).toISOString(), lead: { name: 'Earlier Lead', email: 'earlier@initech.test' } }), 'delivered')]);
    const { page, problems } = await openPage();
    // The page's timers on a clock the test moves (its time flowing as the real one's meanwhile): a look every 30 s is
    // seen at once, where the real clock made the test wait a minute.
    await page.clock.install();
    // The page looks every 30 s from when its list is shown: after the list's first answer, before its rows are seen.
    // Both moments are read on the page's clock, which flows meanwhile as fast as the test runs (seconds on a busy machine).
    const pageNow = () => page.evaluate(() => Date.now());
    const answered = page.waitForResponse((response) => response.url().includes('/api/alerts?')).then(pageNow);
    await logIn(page, 'sam', '/dashboard/alerts?site=initech');
    await rows(page).first().waitFor();
    const [looksFrom, looksBy] = [await answered, await pageNow()];
    const before = await rowNames(page);
    expect(await page.locator('.new-alerts button').count()).toBe(0);
    // A lead turns hot while sales watch: the page's next look, 30 s on, finds it; none before.
    await writeDeliveries(server.client, [settledDelivery(sampleAlert({ site: 'initech', createdAt: new Date().toISOString(), lead: { name: 'Watched Lead', email: 'watched@initech.test' } }), 'delivered')]);
    await page.clock.runFor(Math.max(0, looksFrom + 28_500 - (await pageNow())));
    await page.waitForTimeout(500);
    expect(await page.locator('.new-alerts button').count()).toBe(0);
    await page.clock.runFor(Math.max(0, looksBy + 30_500 - (await pageNow())));
    await page.getByRole('button', { name: '1 new alert: show' }).waitFor();
    expect(await page.title()).toBe('(1) Alerts · Initech · Hearth');
    // The tab in the background (sales at their mail): its title counts on.
    await page.evaluate(() => Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }));
    await writeDeliveries(server.client, [settledDelivery(sampleAlert({ site: 'initech', createdAt: new Date().toISOString(), lead: { name: 'Second Lead', email: 'second@initech.test' } }), 'delivered')]);
    await page.clock.runFor(30_000);
    await expect.poll(() => page.title()).toBe('(2) Alerts · Initech · Hearth');
    await page.evaluate(() => delete (document as { hidden?: boolean }).hidden);
    // The rows stay as they were until asked.
    expect(await rowNames(page)).toEqual(before);
    await page.getByRole('button', { name: '2 new alerts: show' }).click();
    await expect.poll(async () => (await rowNames(page)).slice(0, 2)).toEqual(['Second Lead', 'Watched Lead']);
    await expect.poll(() => page.title()).toBe('Alerts · Initech · Hearth');
    expect(await page.locator('.new-alerts button').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('retries a dead letter from the lead\'s page, as on the Alerts page; marketing sees no alert there', async () => {
    // Ada asks for a demo while the Slack channel is deleted: a dead letter.
    const dead = await deadLetterOf('Ada Lovelace');
    const leadPage = `${server.url}/dashboard/leads/${dead.lead.id}?site=acme`;

    // Sales: the channel is back, Enter on the Retry next to the alert sends it again.
    const { page, problems } = await openPage();
    await logIn(page, 'sam');
    await page.goto(leadPage);
    const panel = page.getByRole('region', { name: 'Buying signals and alerts' });
    const alert = panel.getByRole('listitem').filter({ hasText: 'Asked to talk to sales' });
    await expect.poll(() => alert.locator('.badge').innerText()).toBe('Dead letter');
    expect(await alert.getByRole('button').allInnerTexts()).toEqual([expect.stringMatching(/^Retry\b/)]);
    slack = 'back';
    const retry = panel.getByRole('button', { name: 'Retry Demo request for Ada Lovelace' });
    await retry.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => alert.locator('.badge').innerText(), { timeout: 10_000 }).toBe('Delivered');
    await expect.poll(() => focusedText(page)).toBe('Sent again: delivered.');
    expect(await alert.innerText()).toContain('to sales-world (delivered)');
    expect(await retry.count()).toBe(0);
    expect((await getJson(server, `/api/alerts?site=acme&lead=${dead.lead.id}`)).body.alerts[0].status).toBe('delivered');
    expect(problems).toEqual([]);
    await page.context().close();

    // Marketing reads the lead, not its alerts: nothing to retry.
    const marketing = await openPage();
    await logIn(marketing.page, 'ada');
    await marketing.page.goto(leadPage);
    const signals = marketing.page.getByRole('region', { name: 'Buying signals and alerts' });
    await signals.getByText('Alerts are shown to sales and admins.').waitFor();
    expect(await signals.getByRole('button').count()).toBe(0);
    expect(marketing.problems).toEqual([]);
    await marketing.page.context().close();
  });

  it('shows marketing no Alerts link, and the same message as on a lead page at its address', async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'ada');
    const navigation = page.getByRole('navigation', { name: 'Dashboards' });
    await navigation.getByRole('link', { name: 'Accounts' }).waitFor();
    expect(await navigation.getByRole('link').allInnerTexts()).toEqual(['Marketing', 'Leads', 'Accounts']);
    await page.goto(`${server.url}/dashboard/alerts?site=acme`);
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    await page.getByText('Alerts are shown to sales and admins.').waitFor();
    expect(await page.getByRole('combobox', { name: 'Status' }).count()).toBe(0);
    // Not even asked: a refused request would be a console error.
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('says a retried dead letter that failed again as a failure, in red, not as a success in green', async () => {
    // The Slack channel still deleted: sent again, the alert is a dead letter again.
    const dead = await deadLetterOf('Sophie Germain');
    const { page, problems } = await openPage();
    await logIn(page, 'sam', '/dashboard/alerts?site=acme&status=dead');
    const row = rowOf(page, dead.lead.name!);
    await row.getByRole('button', { name: /^Retry/ }).focus();
    await page.keyboard.press('Enter');
    const note = row.getByText('Sent again: failed again (the error is next to it).');
    await note.waitFor({ timeout: 10_000 });
    expect(await row.locator('.badge').innerText()).toBe('Dead letter');
    const look = await note.evaluate((element) => ({ classes: [...element.classList], color: getComputedStyle(element).color }));
    expect(look.classes).toContain('error');
    expect(look.classes).not.toContain('done');
    // --bad, the colour of the error next to it, not --good's green.
    expect(look.color).toBe('rgb(185, 28, 28)');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
