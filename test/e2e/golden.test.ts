import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadIdOf } from '../../collector/api/lead-store.ts';
import { demoConfigPath } from '../../collector/paths.ts';
import { defaultRules } from '../../scoring/rules.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { recordBatches, visitorOf } from '../support/e2e.ts';
import { startHearthProcess, type HearthProcess } from '../support/hearth-process.ts';

/**
 * The article's scoring grid, end to end: personas browse the demo site in Chromium through the real snippet and
 * the real forms, and the lead API shows the score the grid gives them. Expected points are the article's
 * (scoring/rules.ts defaultRules): fit PDG 30, manager/director 20, over 250 employees 25, target industry 20,
 * covered country 15; engagement product page 5, white paper 10, webinar 15, pricing page 20; a student -15.
 * Cold below 30, hot above 60. Everything happens within a minute, so decay leaves each point whole once rounded.
 */

/**
 * The demo config with the default grid written out, plus `countBots`: Playwright's Chromium reports itself as
 * automated (navigator.webdriver), and scores leave such browsers out unless the rules count them.
 */
function goldenConfig(): string {
  const demo = JSON.parse(readFileSync(demoConfigPath, 'utf8'));
  delete demo.$schema;
  const site = demo.sites[0];
  site.rules = { ...defaultRules(site.pageGroups), countBots: true };
  const file = join(mkdtempSync(join(tmpdir(), 'hearth-golden-')), 'hearth.config.json');
  writeFileSync(file, JSON.stringify(demo, null, 2));
  return file;
}

interface Reason {
  rule: string;
  kind: string;
  count: number;
  points: number;
  capped: boolean;
}

/** What GET /api/leads/:id says of a lead's score, points rounded to whole ones. */
interface ScoreCard {
  visitorIds: string[];
  score: number;
  fit: number;
  engagement: number;
  negative: number;
  temperature: string;
  stage: string | null;
  lifecycle: string;
  reasons: Reason[];
}

describe.runIf(browserTestsEnabled())('the article’s scoring grid, through the demo site in Chromium', () => {
  let hearth: HearthProcess;
  let browser: Browser;
  beforeAll(async () => {
    [hearth, browser] = await Promise.all([startHearthProcess(['--config', goldenConfig()]), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await hearth?.stop();
  });

  const get = (path: string) => fetch(`${hearth.url}${path}`, { headers: { authorization: `Bearer ${hearth.token}` } });

  async function scoreCard(email: string): Promise<ScoreCard | undefined> {
    const response = await get(`/api/leads/${leadIdOf(email)}?site=demo`);
    if (response.status === 404) return undefined; // its form is not stored yet
    const lead = await response.json();
    return {
      visitorIds: lead.visitorIds,
      score: lead.score,
      fit: Math.round(lead.fit),
      engagement: Math.round(lead.engagement),
      negative: Math.round(lead.negative),
      temperature: lead.temperature,
      stage: lead.stage,
      lifecycle: lead.lifecycle,
      reasons: (lead.reasons as Reason[]).map((reason) => ({ ...reason, points: Math.round(reason.points) })),
    };
  }

  /** Polls the lead API until the lead shows this score card: the events travel snippet → log → ClickHouse first. */
  const expectScoreCard = (email: string, expected: ScoreCard) => expect.poll(() => scoreCard(email), { timeout: 15_000, interval: 250 }).toEqual(expected);

  const reason = (rule: string, kind: string, points: number, count = 1): Reason => ({ rule, kind, count, points, capped: false });

  /** A fresh browser profile: its own visitor id, as a different person or device. */
  async function freshPage(options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ acceptDownloads: true, ...options });
    return { context, page: await context.newPage() };
  }

  const open = (page: Page, path: string) => page.goto(`${hearth.url}${path}`);
  const navClick = async (page: Page, name: string, path: string) => {
    await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
    await page.waitForURL(`**${path}`);
  };

  async function registerForWebinar(page: Page, answers: { email: string; firstName: string; lastName: string; company: string; jobTitle: string }) {
    await open(page, '/demo/webinar/');
    await page.getByLabel(/work email/i).fill(answers.email);
    await page.getByLabel(/first name/i).fill(answers.firstName);
    await page.getByLabel(/last name/i).fill(answers.lastName);
    await page.getByLabel(/^company$/i).fill(answers.company);
    await page.getByLabel(/job title/i).fill(answers.jobTitle);
    await Promise.all([page.waitForURL('**/demo/thanks/'), page.getByRole('button', { name: /register for the webinar/i }).click()]);
  }

  async function requestDemo(
    page: Page,
    answers: { email: string; firstName: string; lastName: string; jobTitle: string; company: string; size: string; industry: string; country: string },
  ) {
    await page.getByLabel(/work email/i).fill(answers.email);
    await page.getByLabel(/first name/i).fill(answers.firstName);
    await page.getByLabel(/last name/i).fill(answers.lastName);
    await page.getByLabel(/job title/i).fill(answers.jobTitle);
    await page.getByLabel(/^company$/i).fill(answers.company);
    await page.getByLabel(/company size/i).selectOption(answers.size);
    await page.getByLabel(/industry/i).selectOption(answers.industry);
    await page.getByLabel(/country/i).selectOption(answers.country);
    await page.getByRole('checkbox').check();
    await Promise.all([page.waitForURL('**/demo/thanks/'), page.getByRole('button', { name: /request my demo/i }).click()]);
  }

  it('a student who downloads the white paper and signs up for the webinar is cold: 10 + 15 - 15 = 10', async () => {
    const { context, page } = await freshPage();
    const sent = recordBatches(context);
    await open(page, '/demo/resources/');
    await page.getByRole('link', { name: /download the white paper/i }).click();
    await expect.poll(() => sent.events('d').map((event) => new URL(event.h!).pathname)).toEqual(['/demo/assets/whitepaper-lead-scoring-2026.pdf']);
    await registerForWebinar(page, { email: 'lea.martin@etu.univ-lyon1.fr', firstName: 'Léa', lastName: 'Martin', company: 'Université Lyon 1', jobTitle: 'Étudiant' });
    const visitor = await visitorOf(page);

    await expectScoreCard('lea.martin@etu.univ-lyon1.fr', {
      visitorIds: [visitor!],
      score: 10,
      fit: 0,
      engagement: 25,
      negative: -15,
      temperature: 'cold',
      stage: 'MOFU',
      lifecycle: 'lead',
      reasons: [reason('webinar-signup', 'engagement', 15), reason('white-paper', 'engagement', 10), reason('student', 'negative', -15)],
    });
    await context.close();
  });

  it('a marketing manager who views product pages twice and signs up for the webinar is warm: 20 + 2 × 5 + 15 = 45', async () => {
    const { context, page } = await freshPage();
    await open(page, '/demo/product/');
    await navClick(page, 'Home', '/demo/');
    await navClick(page, 'Product', '/demo/product/');
    await registerForWebinar(page, { email: 'sam.taylor@northwind-freight.test', firstName: 'Sam', lastName: 'Taylor', company: 'Northwind Freight', jobTitle: 'Marketing Manager' });
    const visitor = await visitorOf(page);

    await expectScoreCard('sam.taylor@northwind-freight.test', {
      visitorIds: [visitor!],
      score: 45,
      fit: 20,
      engagement: 25,
      negative: 0,
      temperature: 'warm',
      stage: 'MOFU',
      lifecycle: 'lead',
      reasons: [reason('manager-director', 'fit', 20), reason('webinar-signup', 'engagement', 15), reason('product-page', 'engagement', 10, 2)],
    });
    await context.close();
  });

  it('a PDG of a 500-person software company in France who views pricing and requests a demo is hot: 30 + 25 + 20 + 15 + 20 = 110', async () => {
    const { context, page } = await freshPage({ locale: 'fr-FR' });
    await open(page, '/demo/');
    await navClick(page, 'Pricing', '/demo/pricing/');
    await Promise.all([page.waitForURL('**/demo/contact/?topic=quote'), page.getByRole('link', { name: /request a quote/i }).click()]);
    await requestDemo(page, {
      email: 'claire.dubois@logiciels-dubois.test',
      firstName: 'Claire',
      lastName: 'Dubois',
      jobTitle: 'PDG',
      company: 'Logiciels Dubois',
      size: '251-1000',
      industry: 'Software',
      country: 'FR',
    });
    const visitor = await visitorOf(page);

    await expectScoreCard('claire.dubois@logiciels-dubois.test', {
      visitorIds: [visitor!],
      score: 110,
      fit: 90,
      engagement: 20,
      negative: 0,
      temperature: 'hot',
      stage: 'BOFU',
      lifecycle: 'mql',
      reasons: [
        reason('c-level', 'fit', 30),
        reason('company-over-250', 'fit', 25),
        reason('pricing-page', 'engagement', 20),
        reason('target-industry', 'fit', 20),
        reason('covered-country', 'fit', 15),
      ],
    });
    const lead = await (await get(`/api/leads/${leadIdOf('claire.dubois@logiciels-dubois.test')}?site=demo`)).json();
    expect(lead.profile).toMatchObject({ job_title: 'PDG', company: 'Logiciels Dubois', company_size: '251-1000', industry: 'Software', country: 'FR' });
    await context.close();
  });

  it('one person on two devices: anonymous pricing visits on the laptop count once the same email is given there too', async () => {
    const email = 'yann.leroy@acier-europe.test';
    const laptop = await freshPage();
    await open(laptop.page, '/demo/pricing/');
    await open(laptop.page, '/demo/pricing/');
    const laptopVisitor = (await visitorOf(laptop.page))!;

    // The phone signs up for the webinar: a lead of one device, which knows nothing of the laptop yet.
    const phone = await freshPage({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await registerForWebinar(phone.page, { email, firstName: 'Yann', lastName: 'Leroy', company: 'Acier Europe', jobTitle: 'Directeur des opérations' });
    const phoneVisitor = (await visitorOf(phone.page))!;
    expect(phoneVisitor).not.toBe(laptopVisitor);
    await expectScoreCard(email, {
      visitorIds: [phoneVisitor],
      score: 35,
      fit: 20,
      engagement: 15,
      negative: 0,
      temperature: 'warm',
      stage: 'MOFU',
      lifecycle: 'lead',
      reasons: [reason('manager-director', 'fit', 20), reason('webinar-signup', 'engagement', 15)],
    });
    // Meanwhile the laptop is an anonymous visitor with two pricing visits.
    const anonymous = async () => ((await (await get(`/api/leads?site=demo&visitor=${laptopVisitor}`)).json()).leads as { kind: string; score: number }[]).map((lead) => [lead.kind, lead.score]);
    await expect.poll(anonymous, { timeout: 15_000, interval: 250 }).toEqual([['visitor', 40]]);

    // Back on the laptop, the demo request with the same email joins the two histories into one lead.
    await open(laptop.page, '/demo/contact/');
    await requestDemo(laptop.page, {
      email,
      firstName: 'Yann',
      lastName: 'Leroy',
      jobTitle: 'Directeur des opérations',
      company: 'Acier Europe',
      size: '1000+',
      industry: 'Manufacturing',
      country: 'BE',
    });
    // Director 20 + over 250 25 + Belgium 15 = 60 fit; 2 pricing visits 40 (laptop) + webinar 15 (phone) = 55.
    await expectScoreCard(email, {
      visitorIds: [laptopVisitor, phoneVisitor].sort(),
      score: 115,
      fit: 60,
      engagement: 55,
      negative: 0,
      temperature: 'hot',
      stage: 'BOFU',
      lifecycle: 'mql',
      reasons: [
        reason('pricing-page', 'engagement', 40, 2),
        reason('company-over-250', 'fit', 25),
        reason('manager-director', 'fit', 20),
        reason('covered-country', 'fit', 15),
        reason('webinar-signup', 'engagement', 15),
      ],
    });
    await laptop.context.close();
    await phone.context.close();
  });
});
