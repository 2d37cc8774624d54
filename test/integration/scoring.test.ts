import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchToRows, type EventRow as StoredRow } from '../../collector/ingest/rows.ts';
import { parseBatch } from '../../collector/ingest/wire.ts';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import { createStoreClient, encodedInsertOf } from '../../collector/store/client.ts';
import { migrate } from '../../collector/store/migrate.ts';
import { compileScoring, ownerOf, ownerSql, type GivenEmail, type LeadScore } from '../../scoring/compile.ts';
import { amountOf, amountSql, companyKey, companyKeySql, companySizeOf, countryCodeOf, countryCodeSql, numberOfSizeTextSql, saysNothing, saysNothingSql, seniorityOf, senioritySql, sizeTextSql } from '../../scoring/normalize.ts';
import { defaultRules, rulesSchema, type RulesInput } from '../../scoring/rules.ts';
import { SqlParams } from '../../scoring/sql.ts';
import { scoreLeads } from '../../scoring/store.ts';
import { currentSnapshots, toSnapshot, writeSnapshots } from '../../scoring/snapshots.ts';
import { processDataDir } from '../support/data-dir.ts';
import { JOB_TITLES } from '../support/job-titles.ts';

const NOW = new Date('2026-03-02T12:00:00.000Z');
const DAY = 86_400_000;
const PAGE_GROUPS = {
  product: ['/product*'],
  pricing: ['/pricing*'],
  resources: ['/resources*'],
  webinar: ['/webinar*'],
  careers: ['/careers*'],
};
const RULES = defaultRules(PAGE_GROUPS);

let client: ClickHouseClient;
beforeAll(async () => {
  client = createStoreClient({ dataDir: processDataDir() });
  await migrate(client);
});
afterAll(() => client.close());

let siteCounter = 0;
/** Each test writes to a site of its own, so histories never mix. */
const newSite = () => `scoring-${process.pid}-${++siteCounter}`;

type Ago = { days?: number; minutes?: number };
const at = ({ days = 0, minutes = 0 }: Ago) => toClickHouseTime(NOW.getTime() - days * DAY - minutes * 60_000);

/** The columns of an `events` row that scoring reads; the table's defaults fill the others. */
type EventRow = Pick<
  StoredRow,
  | 'site_id' | 'visitor_id' | 'session_id' | 'event_id' | 'ts' | 'received_at' | 'type' | 'name' | 'url' | 'path' | 'email'
  | 'props' | 'engaged_ms' | 'link_url' | 'session_start' | 'is_bot' | 'referrer_host' | 'utm_source' | 'utm_medium'
>;

function event(site: string, visitor: string, type: string, when: Ago, fields: Partial<EventRow> = {}): EventRow {
  const path = fields.path ?? '/';
  return {
    site_id: site,
    visitor_id: visitor,
    session_id: `${visitor}-s`,
    event_id: randomUUID(),
    ts: at(when),
    received_at: at(when),
    type,
    name: '',
    url: `https://www.acme.test${path}`,
    path,
    email: '',
    props: {},
    engaged_ms: 0,
    link_url: '',
    session_start: 0,
    is_bot: 0,
    referrer_host: '',
    utm_source: '',
    utm_medium: '',
    ...fields,
  };
}

const view = (site: string, visitor: string, path: string, when: Ago = { minutes: 5 }, fields: Partial<EventRow> = {}) =>
  event(site, visitor, 'pageview', when, { path, ...fields });
const form = (site: string, visitor: string, name: string, email: string, props: Record<string, string>, when: Ago = { minutes: 4 }) =>
  event(site, visitor, 'form', when, { name, email, props, path: '/contact/' });
const download = (site: string, visitor: string, url: string, when: Ago = { minutes: 3 }) =>
  event(site, visitor, 'download', when, { link_url: url, path: '/resources/' });

/** Through the collector's one way in, so the identity map is filled as in production (missing columns take their defaults). */
async function insert(rows: EventRow[]) {
  await insertEvents(client, rows as unknown as StoredRow[]);
}

async function score(site: string, rules = RULES, visitors?: string[]): Promise<LeadScore[]> {
  return scoreLeads(client, rules, { site, visitors, pageGroups: PAGE_GROUPS, now: NOW });
}

const byEmail = (leads: LeadScore[], email: string) => {
  const lead = leads.find((l) => l.email === email);
  if (!lead) throw new Error(`no lead for ${email} in ${JSON.stringify(leads.map((l) => l.lead_id))}`);
  return lead;
};
const reason = (lead: LeadScore, rule: string) => lead.reasons.find((r) => r.rule === rule);

describe('the article’s golden cases with the default grid', () => {
  it('a student who downloads a white paper is cold', async () => {
    const site = newSite();
    await insert([
      view(site, 'student-1', '/resources/'),
      download(site, 'student-1', 'https://www.acme.test/assets/whitepaper-lead-scoring-2026.pdf'),
      form(site, 'student-1', 'whitepaper', 'lea@etu.univ-lyon.fr', { job_title: 'Étudiante en master marketing', company: 'Université Lyon 2' }),
    ]);
    const lead = byEmail(await score(site), 'lea@etu.univ-lyon.fr');
    expect(lead).toMatchObject({ kind: 'lead', seniority: 'student', temperature: 'cold', stage: 'TOFU', score: -5, fit: 0, engagement: 10, negative: -15 });
    expect(lead.reasons.map((r) => r.rule)).toEqual(['white-paper', 'student']);
  });

  it('a manager who joins a webinar and reads product pages is warm', async () => {
    const site = newSite();
    await insert([
      view(site, 'manager-1', '/product/', { minutes: 30 }),
      view(site, 'manager-1', '/product/integrations', { minutes: 20 }),
      view(site, 'manager-1', '/webinar/'),
      form(site, 'manager-1', 'webinar-signup', 'marc@retail.example', { job_title: 'Marketing Manager', company_size: '51-250', industry: 'Retail', country: 'Germany' }),
    ]);
    const lead = byEmail(await score(site), 'marc@retail.example');
    expect(lead).toMatchObject({ seniority: 'manager', country: 'DE', company_size_min: 51, temperature: 'warm', stage: 'MOFU', score: 45, fit: 20, engagement: 25 });
    expect(reason(lead, 'product-page')).toEqual({ rule: 'product-page', kind: 'engagement', count: 2, points: 10, capped: false });
  });

  it('the CEO of a 500-person software company who viewed pricing is hot', async () => {
    const site = newSite();
    await insert([
      view(site, 'ceo-1', '/pricing/'),
      form(site, 'ceo-1', 'demo-request', 'ada@globex.example', { job_title: 'CEO', company_size: '500', industry: 'Software', country: 'United States' }),
    ]);
    const lead = byEmail(await score(site), 'ada@globex.example');
    expect(lead).toMatchObject({ seniority: 'c_level', company_size_min: 500, country: 'US', temperature: 'hot', stage: 'BOFU', score: 95, fit: 75, engagement: 20 });
    expect(lead.reasons.map((r) => [r.rule, r.points])).toEqual([
      ['c-level', 30],
      ['company-over-250', 25],
      ['pricing-page', 20],
      ['target-industry', 20],
    ]);
  });

  it('a lead who asks for a demo is at the bottom of the funnel, though the site groups no demo or contact page', async () => {
    const site = newSite();
    await insert([
      view(site, 'asks-1', '/'),
      form(site, 'asks-1', 'Request a Demo', 'rita@initech.example', {}),
      form(site, 'signs-up-1', 'webinar-signup', 'sam@initech.example', {}),
      form(site, 'asked-long-ago', 'Request a Demo', 'old-demo@initech.example', {}, { days: 91 }),
    ]);
    const leads = await score(site);
    expect(byEmail(leads, 'rita@initech.example')).toMatchObject({ stage: 'BOFU', score: 0 });
    expect(byEmail(leads, 'sam@initech.example').stage).toBe('MOFU');
    // Outside the window, as pages are.
    expect(byEmail(leads, 'old-demo@initech.example').stage).toBe('');
  });

  it('reads French and English answers alike', async () => {
    const site = newSite();
    await insert([
      form(site, 'fr-1', 'contact', 'claire@logiciel.example', { job_title: 'Directrice Générale', company_size: 'Plus de 1 000 salariés', industry: 'Édition de logiciels', country: 'France' }),
      form(site, 'en-1', 'contact', 'john@software.example', { job_title: 'Chief Executive Officer', company_size: '1,000+', industry: 'software', country: 'FR' }),
      form(site, 'fr-2', 'contact', 'paul@conseil.example', { job_title: 'Responsable marketing', company_size: '250 salariés', industry: 'Conseil', country: 'Belgique' }),
    ]);
    const leads = await score(site);
    for (const email of ['claire@logiciel.example', 'john@software.example']) {
      expect(byEmail(leads, email)).toMatchObject({ seniority: 'c_level', country: 'FR', fit: 90, score: 90, temperature: 'hot' });
    }
    // 250 employees is a large company, as the brackets forms offer start there: 20 + 25 + 15 is warm, hot being above 60.
    expect(byEmail(leads, 'paul@conseil.example')).toMatchObject({ seniority: 'manager', company_size_min: 250, country: 'BE', fit: 60, temperature: 'warm' });
  });

  it('gives the size points to the brackets forms offer from 250, and the industry points to software and IT however worded', async () => {
    const site = newSite();
    const sizes = ['250-4999', '250+', '250 à 4999 salariés', '5000+', '251-1000'];
    const smaller = ['50-249', '10 à 49 salariés', 'moins de 250'];
    const industries = ['Computer Software', 'Software Development', 'Information Technology and Services', 'IT services', 'Software & Services', 'Logiciel / SaaS', 'Informatique, télécoms', 'Édition de logiciels'];
    const others = ['Retail', 'Conseil', 'Biotechnology', 'Hospitality', 'Transport et logistique'];
    const answers: Record<string, string>[] = [...[...sizes, ...smaller].map((company_size) => ({ company_size })), ...[...industries, ...others].map((industry) => ({ industry }))];
    await insert(answers.map((props, n) => form(site, `v-${n}`, 'contact', `lead${n}@answers.example`, props)));
    const leads = await score(site);
    const rulesOf = (n: number) => byEmail(leads, `lead${n}@answers.example`).reasons.map((reason) => reason.rule);
    const given = answers.map((props, n) => [Object.values(props)[0], rulesOf(n)]);
    expect(given).toEqual([
      ...sizes.map((size) => [size, ['company-over-250']]),
      ...smaller.map((size) => [size, []]),
      ...industries.map((industry) => [industry, ['target-industry']]),
      ...others.map((industry) => [industry, []]),
    ]);
  });
});

describe('recency, caps and negatives', () => {
  it('halves engagement points every half-life and forgets what is older than the window', async () => {
    const site = newSite();
    await insert([
      form(site, 'decay-1', 'contact', 'fresh@acme.example', {}),
      view(site, 'decay-1', '/pricing/', { minutes: 1 }),
      form(site, 'decay-2', 'contact', 'month@acme.example', {}),
      view(site, 'decay-2', '/pricing/', { days: 30 }),
      form(site, 'decay-3', 'contact', 'two-months@acme.example', {}),
      view(site, 'decay-3', '/pricing/', { days: 60 }),
      form(site, 'decay-4', 'contact', 'old@acme.example', {}),
      view(site, 'decay-4', '/pricing/', { days: 91 }),
    ]);
    const leads = await score(site);
    expect(byEmail(leads, 'fresh@acme.example').engagement).toBe(20);
    expect(byEmail(leads, 'month@acme.example').engagement).toBe(10);
    expect(byEmail(leads, 'two-months@acme.example').engagement).toBe(5);
    expect(byEmail(leads, 'old@acme.example')).toMatchObject({ engagement: 0, reasons: [], stage: '' });

    const fastFading = rulesSchema.parse({ engagement: [{ id: 'pricing', event: 'pageview', pageGroup: 'pricing', points: 20, halfLifeDays: 15 }] });
    expect(byEmail(await score(site, fastFading), 'month@acme.example').engagement).toBe(5);
  });

  it('gives an event dated a little ahead (a clock running fast) its rule’s points, no more', async () => {
    const site = newSite();
    const ahead = toClickHouseTime(NOW.getTime() + 4 * 60_000);
    await insert([form(site, 'ahead-1', 'contact', 'ahead@acme.example', {}), { ...view(site, 'ahead-1', '/pricing/'), ts: ahead }]);
    // The collector counts events up to 5 minutes past its clock; a rule that fades fast (a 15-minute half-life) would
    // give 4 minutes of a negative age a fifth more.
    const rules = rulesSchema.parse({ engagement: [{ id: 'pricing', event: 'pageview', pageGroup: 'pricing', points: 20, halfLifeDays: 15 / 1440 }] });
    const leads = await scoreLeads(client, rules, { site, pageGroups: PAGE_GROUPS, now: NOW, until: new Date(NOW.getTime() + 5 * 60_000) });
    expect(reason(byEmail(leads, 'ahead@acme.example'), 'pricing')).toMatchObject({ count: 1, points: 20 });
  });

  it('counts at most the cap, the most recent occurrences first, and says the cap was hit', async () => {
    const site = newSite();
    await insert([
      form(site, 'collector-1', 'contact', 'collector@acme.example', {}),
      ...[0, 1, 2, 3, 4, 5, 6].map((days) => view(site, 'collector-1', `/product/page-${days}`, { days, minutes: 1 })),
    ]);
    const lead = byEmail(await score(site), 'collector@acme.example');
    const expected = [0, 1, 2, 3].reduce((sum, days) => sum + 5 * 0.5 ** ((days * DAY + 60_000) / DAY / 30), 0);
    expect(reason(lead, 'product-page')).toEqual({ rule: 'product-page', kind: 'engagement', count: 7, points: Math.round(expected * 100) / 100, capped: true });
  });

  it('counts a form sent twice or a file downloaded twice in one visit once, and again in another visit', async () => {
    const site = newSite();
    const visit = (session_id: string) => ({ session_id });
    const paper = 'https://x.test/whitepaper.pdf';
    await insert([
      // A double click on the webinar form, and the white paper opened twice: one sign-up, one download.
      { ...form(site, 'twice-1', 'webinar-signup', 'twice@acme.example', {}, { days: 3, minutes: 2 }), ...visit('a') },
      { ...form(site, 'twice-1', 'webinar-signup', 'twice@acme.example', {}, { days: 3, minutes: 1 }), ...visit('a') },
      { ...download(site, 'twice-1', paper, { days: 3, minutes: 1 }), ...visit('a') },
      { ...download(site, 'twice-1', paper, { days: 3 }), ...visit('a') },
      // A second white paper in the same visit is another download.
      { ...download(site, 'twice-1', 'https://x.test/livre-blanc.pdf', { days: 3 }), ...visit('a') },
      // Back another day: the same white paper counts again.
      { ...download(site, 'twice-1', paper, { days: 1 }), ...visit('b') },
    ]);
    const lead = byEmail(await score(site), 'twice@acme.example');
    expect(reason(lead, 'webinar-signup')).toMatchObject({ count: 1, capped: false });
    expect(reason(lead, 'webinar-signup')!.points).toBeCloseTo(15 * 0.5 ** ((3 * DAY + 60_000) / DAY / 30), 2);
    // Capped at 2: the two most recent of the three downloads (the visit of day 3 counts two, as old as its latest).
    expect(reason(lead, 'white-paper')).toMatchObject({ count: 3, capped: true });
    expect(reason(lead, 'white-paper')!.points).toBeCloseTo(10 * 0.5 ** (1 / 30) + 10 * 0.5 ** (3 / 30), 2);
    expect(await score(site, RULES, ['twice-1'])).toEqual(await score(site));

    // Two gated white papers behind one link (javascript:void(0)), told apart by their names: two downloads.
    const gated = (name: string) => event(site, 'gated-1', 'download', { days: 2 }, { session_id: 'g', name, link_url: 'javascript:void(0)' });
    await insert([form(site, 'gated-1', 'contact', 'gated@acme.example', {}, { days: 2 }), gated('White paper: AI in sales'), gated('White paper: Security')]);
    expect(reason(byEmail(await score(site), 'gated@acme.example'), 'white-paper')).toMatchObject({ count: 2 });
  });

  it('rounds a score ending in .5 up, as the accounts and the article read "> 60": 60.5 is 61, hot', async () => {
    const site = newSite();
    await insert([form(site, 'half-1', 'contact', 'half@acme.example', { job_title: 'CEO' })]);
    const rules = { ...RULES, fit: RULES.fit.map((rule) => (rule.id === 'c-level' ? { ...rule, points: 60.5 } : rule)) };
    expect(byEmail(await score(site, rules), 'half@acme.example')).toMatchObject({ fit: 60.5, score: 61, temperature: 'hot' });
    const lower = { ...RULES, fit: RULES.fit.map((rule) => (rule.id === 'c-level' ? { ...rule, points: 29.5 } : rule)) };
    expect(byEmail(await score(site, lower), 'half@acme.example')).toMatchObject({ score: 30, temperature: 'warm' });
    // The parts as they are shown, to two decimals, make the score: 29.496 shows as 29.5, and is 30 as the list says.
    const shown = { ...RULES, fit: RULES.fit.map((rule) => (rule.id === 'c-level' ? { ...rule, points: 29.496 } : rule)) };
    expect(byEmail(await score(site, shown), 'half@acme.example')).toMatchObject({ fit: 29.5, score: 30, temperature: 'warm' });
  });

  it('makes each part, and the score, of its reasons as they are shown: two 14.75s are 29.5, warm', async () => {
    const site = newSite();
    // 20 points halved every 30 days, 13.1874 days on: 14.747 each, shown as 14.75; their exact sum, 29.494, was
    // shown as 29.49 and made 29, cold, under two reasons a reader adds up to 29.5, which is 30, warm.
    const when = { minutes: 13.1874 * 24 * 60 };
    await insert([view(site, 'sum-1', '/aaa', when), view(site, 'sum-1', '/bbb', when), form(site, 'sum-1', 'contact', 'sum@acme.example', {})]);
    const rules = rulesSchema.parse({
      fit: [],
      negative: [],
      source: [],
      engagement: [
        { id: 'page-a', event: 'pageview', paths: ['/aaa'], points: 20 },
        { id: 'page-b', event: 'pageview', paths: ['/bbb'], points: 20 },
      ],
    });
    const lead = byEmail(await score(site, rules), 'sum@acme.example');
    expect(lead.reasons.map((r) => r.points)).toEqual([14.75, 14.75]);
    expect(lead).toMatchObject({ engagement: 29.5, score: 30, temperature: 'warm' });
  });

  it('takes points away for a free-mail address, careers pages and an unsubscribe', async () => {
    const site = newSite();
    await insert([
      view(site, 'job-1', '/careers/'),
      view(site, 'job-1', '/careers/sales-rep'),
      view(site, 'job-1', '/pricing/'),
      form(site, 'job-1', 'contact', 'someone@gmail.com', { job_title: 'Sales Director' }),
      event(site, 'job-1', 'track', { minutes: 1 }, { name: 'unsubscribe' }),
    ]);
    const lead = byEmail(await score(site), 'someone@gmail.com');
    expect(lead).toMatchObject({ fit: 20, engagement: 20, negative: -45, score: -5, temperature: 'cold' });
    expect(reason(lead, 'careers-page')).toMatchObject({ count: 2, points: -15, capped: true });
    expect(reason(lead, 'free-mail')).toMatchObject({ kind: 'negative', count: 1, points: -10 });
    expect(reason(lead, 'unsubscribed')).toMatchObject({ points: -20 });
  });

  it('takes points away for the mailboxes form spam comes from and the world\'s large providers, as the accounts do (QA: a CEO at yopmail.com lost none)', async () => {
    const site = newSite();
    const domains = ['yopmail.com', 'mailinator.com', 'mail.ru', 'qq.com', 'guerrillamail.com', 'naver.com'];
    await insert(domains.map((domain, n) => form(site, `spam-${n}`, 'demo-request', `ceo@${domain}`, { job_title: 'CEO' })));
    const leads = await score(site);
    for (const domain of domains) expect(reason(byEmail(leads, `ceo@${domain}`), 'free-mail'), domain).toMatchObject({ kind: 'negative', points: -10 });
  });

  it('keeps an unsubscribe at full points however old, past the window too: a lasting state, not a fading signal', async () => {
    const site = newSite();
    await insert([
      form(site, 'optout-1', 'contact', 'optout@acme.example', { job_title: 'Sales Director' }, { days: 200 }),
      event(site, 'optout-1', 'track', { days: 120 }, { name: 'unsubscribe' }),
      event(site, 'optout-1', 'track', { days: 119 }, { name: 'unsubscribe' }),
    ]);
    const lead = byEmail(await score(site), 'optout@acme.example');
    expect(reason(lead, 'unsubscribed')).toEqual({ rule: 'unsubscribed', kind: 'negative', count: 2, points: -20, capped: true });
    expect(lead).toMatchObject({ fit: 20, negative: -20, score: 0 });
    // The same rule without `lasting` fades, and is gone past the window.
    const fading = { ...RULES, negative: RULES.negative.map((rule) => (rule.id === 'unsubscribed' ? { ...rule, lasting: undefined } : rule)) };
    expect(reason(byEmail(await score(site, fading), 'optout@acme.example'), 'unsubscribed')).toBeUndefined();
  });

  it('gives a first-touch source its points, and counts a dwell rule only for engaged visits', async () => {
    const site = newSite();
    const rules = rulesSchema.parse({
      engagement: [{ id: 'pricing-dwell', event: 'pageview', pageGroup: 'pricing', minEngagedSeconds: 60, points: 15 }],
      source: [
        { id: 'linkedin', utmSources: ['LinkedIn'], referrerHosts: ['linkedin.com'], points: 10 },
        { id: 'display', utmMediums: ['display'], points: -5 },
        // As a browser gives a referrer's host: an international name in its ASCII form, and written with a leading dot.
        { id: 'bookshop', referrerHosts: ['Bücher.de', '.partner.example'], points: 7 },
      ],
    });
    await insert([
      view(site, 'src-1', '/', { days: 3 }, { session_id: 'a', session_start: 1, referrer_host: 'www.linkedin.com' }),
      view(site, 'src-1', '/pricing/', { days: 1 }, { session_id: 'b', session_start: 1, utm_source: 'newsletter', utm_medium: 'display' }),
      event(site, 'src-1', 'engagement', { days: 1 }, { session_id: 'b', path: '/pricing/', engaged_ms: 40_000 }),
      event(site, 'src-1', 'engagement', { days: 1 }, { session_id: 'b', path: '/pricing/', engaged_ms: 30_000 }),
      view(site, 'src-1', '/pricing/', { minutes: 10 }, { session_id: 'c', session_start: 1 }),
      event(site, 'src-1', 'engagement', { minutes: 9 }, { session_id: 'c', path: '/pricing/', engaged_ms: 5_000 }),
    ]);
    await insert([
      view(site, 'src-2', '/', { days: 2 }, { session_id: 'd', session_start: 1, referrer_host: 'www.xn--bcher-kva.de' }),
      view(site, 'src-3', '/', { days: 2 }, { session_id: 'e', session_start: 1, referrer_host: 'partner.example' }),
    ]);
    const [lead, ...others] = (await score(site, rules)).sort((a, b) => a.lead_id.localeCompare(b.lead_id));
    expect(others.map((other) => [other.lead_id, other.source])).toEqual([['v_src-2', 7], ['v_src-3', 7]]);
    expect(lead).toMatchObject({ lead_id: 'v_src-1', kind: 'visitor', source: 10, first_touch: { utm_source: '', utm_medium: '', referrer_host: 'www.linkedin.com' } });
    expect(reason(lead!, 'pricing-dwell')).toMatchObject({ count: 1, capped: false });
    expect(reason(lead!, 'pricing-dwell')!.points).toBeCloseTo(15 * 0.5 ** (1 / 30), 2);
  });
});

describe('accents', () => {
  it('matches page groups and assets written with accents against the addresses browsers send escaped', async () => {
    const site = newSite();
    const sent = (u: string, fields: Record<string, unknown>) => ({ i: randomUUID(), t: NOW.getTime() - 60_000, u, ...fields });
    const parsed = parseBatch({
      s: site,
      v: 'thomas-1',
      e: [
        sent('https://www.acme.test/carri%C3%A8res/stage', { n: 'v', ss: 1 }),
        sent('https://www.acme.test/telechargements', { n: 'd', h: 'https://www.acme.test/telechargements/Dossier%20s%C3%A9curit%C3%A9.pdf' }),
      ],
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    await insertEvents(client, batchToRows(parsed.batch, NOW.getTime()));
    const [lead] = await scoreLeads(client, RULES, { site, pageGroups: { ...PAGE_GROUPS, careers: ['/carrières*'] }, now: NOW });
    expect(reason(lead!, 'careers-page')).toMatchObject({ count: 1 });
    expect(lead!.signals.map((signal) => [signal.signal, signal.detail])).toEqual([['docs_download', 'downloaded /telechargements/Dossier sécurité.pdf']]);
  });

  it("finds a French careers page written with its accent by the grid's own patterns, on a site with no careers group", async () => {
    const site = newSite();
    const parsed = parseBatch({ s: site, v: 'julie-1', e: [{ i: randomUUID(), t: NOW.getTime() - 60_000, u: 'https://www.acme.test/carri%C3%A8res/dev', n: 'v', ss: 1 }] });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    await insertEvents(client, batchToRows(parsed.batch, NOW.getTime()));
    const [lead] = await scoreLeads(client, defaultRules({}), { site, pageGroups: {}, now: NOW });
    expect(reason(lead!, 'careers-page')).toMatchObject({ count: 1, points: -15 });
  });

  it('folds every letter\'s case of a utm_source, as a rule\'s own value is folded: Salon-Été is salon-été', async () => {
    const site = newSite();
    const rules = rulesSchema.parse({ source: [{ id: 'salon', utmSources: ['Salon-Été'], points: 10 }] });
    await insert([
      view(site, 'salon-1', '/', { days: 1 }, { session_id: 'a', session_start: 1, utm_source: 'Salon-Été' }),
      view(site, 'salon-2', '/', { days: 1 }, { session_id: 'b', session_start: 1, utm_source: 'SALON-ÉTÉ' }),
    ]);
    const leads = await score(site, rules);
    for (const id of ['v_salon-1', 'v_salon-2']) expect(leads.find((lead) => lead.lead_id === id)).toMatchObject({ source: 10, first_touch: { utm_source: 'salon-été' } });
  });
});

describe('an empty rule set', () => {
  it('scores every visitor 0, cold, with no reasons, and still merges answers and first touch', async () => {
    const site = newSite();
    await insert([
      view(site, 'empty-1', '/pricing/', { days: 2 }, { utm_source: 'LinkedIn' }),
      form(site, 'empty-1', 'contact', 'ana@acme.test', { job_title: 'CEO', company: ' Acme ' }),
    ]);
    const [lead] = await score(site, rulesSchema.parse({}));
    expect(lead).toMatchObject({ kind: 'lead', score: 0, temperature: 'cold', stage: '', reasons: [], signals: [] });
    expect(lead).toMatchObject({ profile: { company: 'Acme', job_title: 'CEO' }, seniority: 'c_level', first_touch: { utm_source: 'linkedin' } });
  });
});

describe('identity stitching', () => {
  it('scores one lead from every device that gave its email, anonymous history included', async () => {
    const site = newSite();
    await insert([
      view(site, 'laptop-1', '/pricing/', { days: 2 }),
      view(site, 'laptop-1', '/product/', { days: 2 }),
      form(site, 'laptop-1', 'contact', 'Ana@Acme.example ', { job_title: 'Manager', company: 'Acme' }, { days: 1 }),
      view(site, 'phone-1', '/product/mobile', { minutes: 30 }),
      event(site, 'phone-1', 'identify', { minutes: 20 }, { email: 'ana@acme.example', props: { job_title: 'CEO', company: '' } }),
      view(site, 'stranger-1', '/pricing/'),
    ]);
    const leads = await score(site);
    const lead = byEmail(leads, 'ana@acme.example');
    expect(lead.visitor_ids).toEqual(['laptop-1', 'phone-1']);
    expect(lead.profile).toEqual({ job_title: 'CEO', company: 'Acme' });
    expect(lead).toMatchObject({ seniority: 'c_level', fit: 30 });
    expect(reason(lead, 'product-page')).toMatchObject({ count: 2 });
    expect(reason(lead, 'pricing-page')).toMatchObject({ count: 1 });
    expect(leads.find((l) => l.lead_id === 'v_stranger-1')).toMatchObject({ kind: 'visitor', email: '', engagement: 20, temperature: 'cold' });
    expect(leads).toHaveLength(2);
  });

  it('shares a browser’s visits out between the people who gave an email on it, each visit whole', async () => {
    const site = newSite();
    const dwell = rulesSchema.parse({ engagement: [{ id: 'pricing-dwell', event: 'pageview', pageGroup: 'pricing', minEngagedSeconds: 60, points: 15 }] });
    const rules = { ...RULES, engagement: [...RULES.engagement, ...dwell.engagement] };
    const visit = (session_id: string) => ({ session_id });
    await insert([
      // Anonymous visits before the first form, then Ada's visit with her form: all hers.
      view(site, 'pc-1', '/product/', { days: 6 }, visit('a0')),
      view(site, 'pc-1', '/pricing/', { days: 5, minutes: 10 }, visit('a1')),
      event(site, 'pc-1', 'engagement', { days: 5, minutes: 9 }, { ...visit('a1'), path: '/pricing/', engaged_ms: 90_000 }),
      { ...form(site, 'pc-1', 'contact', 'ada@alpha.example', { job_title: 'CEO' }, { days: 5 }), ...visit('a1') },
      view(site, 'pc-1', '/product/', { days: 4 }, visit('a2')),
      // Bob's visit: the pricing page he read before his form is his, and so is his engaged time there.
      view(site, 'pc-1', '/pricing/', { days: 2, minutes: 10 }, visit('b1')),
      event(site, 'pc-1', 'engagement', { days: 2, minutes: 9 }, { ...visit('b1'), path: '/pricing/', engaged_ms: 70_000 }),
      { ...form(site, 'pc-1', 'contact', 'bob@beta.example', { job_title: 'Stagiaire' }, { days: 2 }), ...visit('b1') },
      // A later visit without a form: the latest email's before it.
      view(site, 'pc-1', '/product/', { days: 1 }, visit('b2')),
    ]);
    const leads = await score(site, rules);
    const [ada, bob] = [byEmail(leads, 'ada@alpha.example'), byEmail(leads, 'bob@beta.example')];
    expect(leads).toHaveLength(2);
    expect(ada).toMatchObject({ visitor_ids: ['pc-1'], seniority: 'c_level', profile: { job_title: 'CEO' } });
    expect(reason(ada, 'product-page')).toMatchObject({ count: 2 });
    expect(reason(ada, 'pricing-page')).toMatchObject({ count: 1 });
    expect(reason(ada, 'pricing-dwell')).toMatchObject({ count: 1 });
    expect(bob).toMatchObject({ visitor_ids: ['pc-1'], profile: { job_title: 'Stagiaire' } });
    expect(reason(bob, 'product-page')).toMatchObject({ count: 1 });
    expect(reason(bob, 'pricing-page')).toMatchObject({ count: 1 });
    expect(reason(bob, 'pricing-dwell')).toMatchObject({ count: 1 });
    // Scoring the visitor alone (a batch of it) gives both leads the same rows.
    expect(await score(site, rules, ['pc-1'])).toEqual(leads);
  });

  it('names each person\'s visits of a shared browser, which the dashboards credit by, and none of a browser one person used', async () => {
    const site = newSite();
    const visit = (session_id: string) => ({ session_id });
    await insert([
      // Ada reads pricing on the shared computer, then fills a form on her own laptop too.
      view(site, 'pc-2', '/pricing/', { days: 5, minutes: 1 }, visit('a1')),
      { ...form(site, 'pc-2', 'contact', 'ada@alpha.example', {}, { days: 5 }), ...visit('a1') },
      view(site, 'pc-2', '/product/', { days: 4 }, visit('a2')),
      form(site, 'laptop-2', 'contact', 'ada@alpha.example', {}, { days: 3 }),
      // Bob fills a form in his own visit on the same computer, and comes back.
      { ...form(site, 'pc-2', 'contact', 'bob@beta.example', {}, { days: 2 }), ...visit('b1') },
      view(site, 'pc-2', '/careers/', { days: 1 }, visit('b2')),
      // Cat and an anonymous visitor each have a browser of their own.
      form(site, 'cat-2', 'contact', 'cat@gamma.example', {}, { days: 1 }),
      view(site, 'anon-2', '/pricing/'),
    ]);
    const leads = await score(site);
    expect(byEmail(leads, 'ada@alpha.example')).toMatchObject({
      visitor_ids: ['laptop-2', 'pc-2'],
      shared_visits: [{ visitor_id: 'pc-2', session_id: 'a1' }, { visitor_id: 'pc-2', session_id: 'a2' }],
    });
    expect(byEmail(leads, 'bob@beta.example')).toMatchObject({
      visitor_ids: ['pc-2'],
      shared_visits: [{ visitor_id: 'pc-2', session_id: 'b1' }, { visitor_id: 'pc-2', session_id: 'b2' }],
    });
    expect(byEmail(leads, 'cat@gamma.example').shared_visits).toEqual([]);
    expect(leads.find((lead) => lead.lead_id === 'v_anon-2')!.shared_visits).toEqual([]);
    // A batch of the shared computer rescores both people alike, Ada with her laptop.
    expect(await score(site, RULES, ['pc-2'])).toEqual(leads.filter((lead) => lead.visitor_ids.includes('pc-2')));
  });

  it("gives two people who send forms in one visit (a stand's computer) their own answers, never the other's", async () => {
    const site = newSite();
    // Lea, a CEO, fills the form; ten minutes later Kai gives his email alone, in the same visit: the visit is Kai's.
    await insert([
      view(site, 'stand-1', '/product/', { minutes: 25 }),
      form(site, 'stand-1', 'contact', 'lea@booth.example', { job_title: 'CEO', company_size: '500', industry: 'Software', country: 'France' }, { minutes: 20 }),
      form(site, 'stand-1', 'contact', 'kai@visitor.example', { first_name: 'Kai' }, { minutes: 10 }),
    ]);
    const kai = byEmail(await score(site), 'kai@visitor.example');
    expect(kai).toMatchObject({ profile: { first_name: 'Kai' }, seniority: '', country: '', company_size_min: null, fit: 0 });
    expect(kai.reasons.filter((r) => r.kind === 'fit')).toEqual([]);
    // A form without an email in the visit is the visit's: an answer given after the email, on the next page.
    await insert([form(site, 'stand-1', 'survey', '', { job_title: 'Head of Sales' }, { minutes: 5 })]);
    expect(byEmail(await score(site), 'kai@visitor.example')).toMatchObject({ profile: { first_name: 'Kai', job_title: 'Head of Sales' }, seniority: 'vp_director' });
  });

  it('finds the owner of a visit alike in SQL and in TypeScript', async () => {
    const random = mulberry32(7);
    const cases: { given: GivenEmail[]; session: string; at: number }[] = [];
    for (let n = 0; n < 300; n++) {
      const given = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => ({
        at: NOW.getTime() - Math.floor(random() * 6) * DAY,
        eventId: `00000000-0000-4000-8000-00000000000${i}`,
        email: ['a@x.test', 'b@x.test', 'c@x.test'][Math.floor(random() * 3)]!,
        sessionId: ['', 's1', 's2', 's3'][Math.floor(random() * 4)]!,
      })).sort((a, b) => a.at - b.at || (a.eventId < b.eventId ? -1 : 1));
      cases.push({ given, session: ['', 's1', 's2', 's3', 's4'][Math.floor(random() * 5)]!, at: NOW.getTime() - Math.floor(random() * 7) * DAY });
    }
    const p = new SqlParams();
    const column = (name: string, pick: (g: GivenEmail) => string) => p.bind(name, cases.map((c) => c.given.map(pick)), 'Array(Array(String))');
    const [at, ids, emails, visits] = [column('at', (g) => toClickHouseTime(g.at)), column('ids', (g) => g.eventId), column('emails', (g) => g.email), column('visits', (g) => g.sessionId)];
    // Each case's identity rows as the tuples identitiesSql makes, zipped from one array per column.
    const given = `arrayMap((a, i, e, v) -> arrayZip(arrayMap(x -> toDateTime64(x, 3, 'UTC'), a), arrayMap(x -> toUUID(x), i), e, v), ${at}, ${ids}, ${emails}, ${visits})`;
    const sessions = p.bind('sessions', cases.map((c) => c.session), 'Array(String)');
    const times = p.bind('times', cases.map((c) => toClickHouseTime(c.at)), "Array(DateTime64(3, 'UTC'))");
    const query = `SELECT arrayMap((rows, s, t) -> ${ownerSql('rows', 's', 't')}, ${given}, ${sessions}, ${times}) AS owners`;
    const result = await client.query({ query, query_params: p.values, format: 'JSONEachRow' });
    const [{ owners } = { owners: [] }] = await result.json<{ owners: string[] }>();
    expect(owners).toEqual(cases.map((c) => ownerOf(c.given, c.session, c.at)));
    expect(new Set(owners).size).toBe(3);
  });

  it('leaves out automated browsers unless the rules count them', async () => {
    const site = newSite();
    await insert([view(site, 'bot-1', '/pricing/', { minutes: 5 }, { is_bot: 1 })]);
    expect(await score(site)).toEqual([]);
    expect(await score(site, { ...RULES, countBots: true })).toHaveLength(1);
  });
});

describe('settings for one scoring', () => {
  it('apply to its queries and to nothing after them (background rescoring runs at nice 19)', async () => {
    const site = newSite();
    await insert([view(site, 'first-1', '/pricing/'), view(site, 'second-1', '/product/')]);
    const scoring = { site, pageGroups: PAGE_GROUPS, now: NOW };
    // A limit the two leads break shows the settings reached the scoring query itself.
    await expect(scoreLeads(client, RULES, scoring, { max_result_rows: 1 })).rejects.toThrow(/limit for result exceeded, max rows/i);
    await scoreLeads(client, RULES, { ...scoring, visitors: ['first-1'] }, { os_thread_priority: 19 });
    const result = await client.query({ query: "SELECT getSetting('os_thread_priority') AS nice, getSetting('max_result_rows') AS max_rows", format: 'JSONEachRow' });
    const [settings] = await result.json<{ nice: number | string; max_rows: number | string }>();
    expect([Number(settings!.nice), Number(settings!.max_rows)]).toEqual([0, 0]);
    expect(await scoreLeads(client, RULES, scoring)).toHaveLength(2);
  });
});

describe('incremental scoring', () => {
  it('gives the leads of a set of visitors the same rows as scoring the whole site (random histories)', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = mulberry32(seed);
      const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
      const site = newSite();
      const visitors = Array.from({ length: 14 }, (_, i) => `v${seed}-${i}`);
      const emails = ['a@acme.example', 'b@gmail.com', 'c@globex.example', 'd@etu.univ.fr'];
      const titles = ['CEO', 'PDG', 'Directeur commercial', 'Head of Sales', 'Chef de projet', 'Stagiaire', 'Développeur', ''];
      const rows: EventRow[] = [];
      for (const visitor of visitors) {
        for (let n = Math.floor(random() * 12); n > 0; n--) {
          const when = { days: Math.floor(random() * 120), minutes: Math.floor(random() * 1440) };
          const kind = random();
          if (kind < 0.5) rows.push(view(site, visitor, pick(['/', '/pricing/', '/product/a', '/careers/', '/webinar/', '/resources/']), when));
          else if (kind < 0.65) rows.push(event(site, visitor, 'download', when, { link_url: pick(['https://x.test/whitepaper.pdf', 'https://x.test/livre-blanc.pdf', 'https://x.test/deck.pdf']) }));
          else if (kind < 0.8) {
            const props = { job_title: pick(titles), company_size: pick(['11-50', '500', 'plus de 250', '']), country: pick(['France', 'Germany', 'UK', '']) };
            rows.push(form(site, visitor, pick(['webinar-signup', 'contact', 'whitepaper']), random() < 0.7 ? pick(emails) : '', props, when));
          } else if (kind < 0.9) rows.push(event(site, visitor, 'identify', when, { email: pick(emails), props: { industry: pick(['Software', 'Retail']) } }));
          else rows.push(event(site, visitor, 'track', when, { name: pick(['unsubscribe', 'pricing-toggle']) }));
          // A visit a day, and now and then an event sent without one (a server's): a browser that gave several
          // emails has its visits shared out between them.
          rows.at(-1)!.session_id = random() < 0.1 ? '' : `${visitor}-${rows.at(-1)!.ts.slice(0, 10)}`;
        }
      }
      await insert(rows);
      const full = await score(site);
      expect(full.filter((lead) => lead.kind === 'lead' && lead.visitor_ids.length > 1).length, `seed ${seed}: leads on several browsers`).toBeGreaterThan(0);
      // The comparisons below are of whole rows: they cover the visits of shared browsers each lead is given too.
      expect(full.filter((lead) => lead.shared_visits.length > 0).length, `seed ${seed}: leads on shared browsers`).toBeGreaterThan(1);
      for (let trial = 0; trial < 4; trial++) {
        const subset = visitors.filter(() => random() < 0.3);
        const incremental = await score(site, RULES, subset);
        // The leads of the emails the visitors gave, and those of the visitors that gave none.
        const gave = new Set(rows.filter((row) => subset.includes(row.visitor_id) && row.email !== '').map((row) => row.email));
        const expected = full.filter((lead) => (lead.kind === 'lead' ? gave.has(lead.email) : subset.includes(lead.visitor_ids[0]!)));
        expect(incremental, `seed ${seed}, visitors ${subset.join(',')}`).toEqual(expected);
      }
      const identified = await scoreLeads(client, RULES, { site, pageGroups: PAGE_GROUPS, now: NOW, identifiedOnly: true });
      expect(identified.length, `seed ${seed}: some leads gave an email`).toBeGreaterThan(0);
      expect(identified, `seed ${seed}, identified only`).toEqual(full.filter((lead) => lead.kind === 'lead'));
      // A full rescoring in slices: every lead in exactly one, with the same row, and the stored scores of a slice
      // are those of the same leads.
      await writeSnapshots(encodedInsertOf(client), full.map((lead) => toSnapshot(site, lead, toClickHouseTime(NOW.getTime()), true, 'test')));
      const slices = await Promise.all([0, 1, 2].map((index) => scoreLeads(client, RULES, { site, pageGroups: PAGE_GROUPS, now: NOW, slice: { index, count: 3 } })));
      expect(slices.filter((slice) => slice.length > 0).length, `seed ${seed}: leads spread over slices`).toBeGreaterThan(1);
      const bySlices = slices.flat().sort((a, b) => b.score - a.score || (a.lead_id < b.lead_id ? -1 : 1));
      expect(bySlices, `seed ${seed}, slices`).toEqual(full);
      for (const [index, slice] of slices.entries()) {
        const stored = await currentSnapshots(client, site, { slice: { index, count: 3 } });
        expect(stored.map((row) => row.lead_id).sort(), `seed ${seed}, stored slice ${index}`).toEqual(slice.map((lead) => lead.lead_id).sort());
      }
    }
  });
});

describe('a large rule set', () => {
  it('makes a query ClickHouse takes, past its default limit of 50,000 syntax-tree nodes (a backtest of 1,000 rules failed)', async () => {
    const rules = rulesSchema.parse({ engagement: Array.from({ length: 1000 }, (_, i) => ({ id: `page-${i}`, event: 'pageview', paths: [`/page-${i}*`], points: 1 })) });
    const compiled = compileScoring(rules, { site: newSite() });
    // Parsed and checked as a run of it is, without the 16 s of planning a thousand rules.
    const ast = await client.query({ query: `EXPLAIN AST ${compiled.query}`, query_params: compiled.query_params, clickhouse_settings: compiled.clickhouse_settings });
    expect(await ast.text()).toContain('SelectWithUnionQuery');
  });
});

describe('normalisation in SQL', () => {
  it('agrees with the TypeScript normalisers on every case', async () => {
    const inputs = [
      'CEO', 'PDG', 'Directrice Générale', 'Vice-Président', 'Head of Sales', 'Chef de projet', 'Stagiaire', 'Assistant to the CEO', 'Product Owner',
      'Développeur', '', '500', '251-500', '1 000+', '1\u202f000\u00a0+', '11–50', 'plus de 250', '250 salariés', 'moins de 10', "jusqu'à 10", '10k+',
      '1,000-5,000', '2.5k', '1,5k employees', 'France', 'Allemagne', 'États-Unis', 'UK', 'fr', 'DEU', 'Côte d’Ivoire', 'Viet Nam', 'La Réunion', 'Narnia',
      'P.D.G.', 'V.P. Marketing', 'C.E.O.', 'Directe\u0301ur ge\u0301ne\u0301ral', 'Co\u0302te d’Ivoire',
      'Team of 5, 251-500', 'about 10 people, 1000+', 'team of 3: at least 50', '2 sites, more than 250', '3 offices; 11 to 50',
      '+ de 250', '+de 1 000 salariés', '- de 10', 'België', 'Lëtzebuerg', 'Svizzera', 'Österreich',
      'ETI', 'Entreprise de taille intermédiaire (ETI)', 'Grande entreprise', 'Grand groupe', 'Large enterprise', 'PME', 'TPE', 'PME (50-249)', 'Enterprise',
      '≤ 500', '<=500', '≥ 250', '=> 250', '5-10k', '1 - 5k employees', '10 to 50k', '1-2.5k', '500-1k', '3k-5k', 'Swiss', 'RDC', 'U.A.E.',
      'France (FR)', 'Paris, France', 'Lyon, France (69)', 'Korea, Republic of', 'Paris, Texas', 'Paris,', '(FR)',
      'France, Paris', 'Paris - France', 'Paris – France', 'Lyon / France', 'Genève (Suisse)', 'USA (Georgia)', 'La France', "l'Allemagne", 'Saint-Denis, La Réunion',
      'Guinée-Bissau', 'Saint Martin (French part)', 'Paris - Texas', 'a (b) c (FR) ; d', 'X | Belgique - ', 'Paris — France', 'GENÈVE (SUISSE)',
    ];
    const p = new SqlParams();
    inputs.push('Acmé SAS', 'ACME, Inc.', 'Acme Co., Ltd.', 'acme  gmbh', 'Société Générale S.A.', 'Inc.', 'Costco', 'SA', 'Electricite-de-France S.A.', 'Acme S.p.A.', 'Acme B.V.', 'ACME S.A.R.L.', 'Acme G.m.b.H.');
    inputs.push(...JOB_TITLES.map(([title]) => title));
    // Answers that say nothing, and short or foreign ones that say something: the merge tells them apart in SQL.
    inputs.push('-', ' . ', '?', 'N/A', 'n.c.', 'NÉANT', 'Ne\u0301ant', 'aucune', 'Non communiqué', 'XXX', '\u00a0–\u00a0', '👍', '\n-\n', 'No', 'Nana', '日本電気', 'Москва', 'x-ray');
    // Company names of other scripts and of Latin letters beyond Latin-1 (QA: Cyrillic ones were "cloud", Czech ones split).
    inputs.push('Česká spořitelna', 'Doğuş Holding', 'Țiriac Holdings', 'Łódź Sp.', 'Яндекс Cloud', 'Газпром Cloud', '株式会社トヨタ', 'トヨタ（株）', 'Ørsted A/S', 'Þór ehf');
    // Vietnamese, ß and letterlike symbols, and the legal forms of more countries (QA: each made another account).
    inputs.push('Việt Soft', 'Straße GmbH', 'Acme™', 'Kappa Pte. Ltd.', 'Acme Pvt Ltd', 'Merck KGaA', 'Polska Sp. z o.o.', 'Česko s.r.o.', 'Grupo S.A. de C.V.', 'Equinor ASA');
    inputs.push('-5', '−5 %', 'growth: -5%', '2,9', '12.75%', '1,500,000', '1.500.000', '€25k', '1.5M', '$1M - $5M', '3 millions', '2 Md€', '5 - -1', 'covid-19', '12 months');
    const query = `SELECT x, ${senioritySql('x', p)} AS seniority, ${numberOfSizeTextSql(sizeTextSql('x', p), p)} AS size_min, ${amountSql('x', p)} AS amount, ${countryCodeSql('x', p)} AS country, ${companyKeySql('x', p)} AS company,
        CAST(${saysNothingSql('x', p)}, 'Bool') AS says_nothing
      FROM (SELECT arrayJoin(${p.bind('inputs', inputs, 'Array(String)')}) AS x)`;
    const result = await client.query({ query, query_params: p.values, format: 'JSONEachRow' });
    const rows = await result.json<{ x: string; seniority: string; size_min: number | null; amount: number | null; country: string; company: string; says_nothing: boolean }>();
    expect(rows).toEqual(
      inputs.map((x) => ({
        x, seniority: seniorityOf(x) ?? '', size_min: companySizeOf(x)?.min ?? null, amount: amountOf(x), country: countryCodeOf(x) ?? '', company: companyKey(x), says_nothing: saysNothing(x),
      })),
    );
    expect(rows.filter((row) => row.says_nothing).length).toBe(14);
    expect(['Acmé SAS', 'ACME, Inc.', 'Acme Co., Ltd.', 'acme  gmbh', 'Costco'].map(companyKey)).toEqual(['acme', 'acme', 'acme', 'acme', 'costco']);
    expect(['Česká spořitelna', 'Ceska Sporitelna', 'Doğuş Holding', 'Țiriac Holdings', 'Яндекс Cloud', 'Газпром Cloud', '株式会社トヨタ', 'トヨタ（株）'].map(companyKey)).toEqual([
      'ceska sporitelna', 'ceska sporitelna', 'dogus holding', 'tiriac holdings', 'яндекс cloud', 'газпром cloud', '株式会社トヨタ', 'トヨタ 株',
    ]);
    // A legal form written with dots is one too.
    expect(['Acme S.p.A.', 'Acme B.V.', 'ACME S.A.R.L.', 'Acme G.m.b.H.', 'Electricite-de-France S.A.', 'Électricité de France SAS'].map(companyKey)).toEqual([
      'acme', 'acme', 'acme', 'acme', 'electricite de france', 'electricite de france',
    ]);
    expect(['Việt Soft', 'Straße GmbH', 'Strasse AG', 'Acme™', 'Kappa Pte. Ltd.', 'Acme Pvt Ltd', 'Merck KGaA', 'Polska Sp. z o.o.', 'Česko s.r.o.', 'Grupo S.A. de C.V.', 'Equinor ASA'].map(companyKey)).toEqual([
      'viet soft', 'strasse', 'strasse', 'acme', 'kappa', 'acme', 'merck', 'polska', 'cesko', 'grupo', 'equinor',
    ]);
  });
});

describe('range rules on a field of the site’s own', () => {
  it('read the number answered with its sign, decimals and magnitude', async () => {
    const site = newSite();
    const rules = rulesSchema.parse({
      fit: [
        { id: 'growing', field: 'growth_pct', range: { min: 3 }, points: 2 },
        { id: 'rating-band', field: 'rating', range: { min: 2.5, max: 3.5 }, points: 5 },
        { id: 'revenue-1m', field: 'revenue_band', range: { min: 1_000_000 }, points: 4 },
      ],
      negative: [{ id: 'shrinking', field: 'growth_pct', range: { max: -1 }, points: -3 }],
    });
    await insert([
      form(site, 'erin-1', 'newsletter', 'erin@echo.test', { rating: '2.9', revenue_band: '$1M - $5M', growth_pct: '-5' }),
      form(site, 'finn-1', 'newsletter', 'finn@echo.test', { rating: '3,6', revenue_band: '€250k', growth_pct: '+12 %' }),
    ]);
    const leads = await score(site, rules);
    const rulesOf = (email: string) => byEmail(leads, email).reasons.map((r) => r.rule).sort();
    expect(rulesOf('erin@echo.test')).toEqual(['rating-band', 'revenue-1m', 'shrinking']);
    expect(rulesOf('finn@echo.test')).toEqual(['growing']);
  });
});

describe('rules that name what the site lacks', () => {
  it('are refused with the path of the rule', () => {
    const rules: RulesInput = { engagement: [{ id: 'demo', event: 'pageview', pageGroup: 'demo', points: 5 }] };
    expect(() => compileScoring(rulesSchema.parse(rules), { site: 'x', pageGroups: PAGE_GROUPS })).toThrow('engagement[0].pageGroup: the site has no page group "demo"');
  });

  it('refuses a lasting rule that decays, counts engaged visits or tests a field', () => {
    const problems = (negative: unknown[]) => {
      const parsed = rulesSchema.safeParse({ negative });
      return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    };
    expect(problems([{ id: 'optout', event: 'track', names: ['unsubscribe'], points: -20, lasting: true, halfLifeDays: 10 }])).toEqual([
      'negative.0.halfLifeDays: a lasting rule does not decay: give lasting or halfLifeDays, not both',
    ]);
    expect(problems([{ id: 'jobs', event: 'pageview', pageGroup: 'careers', minEngagedSeconds: 30, points: -5, lasting: true }])).toEqual([
      'negative.0.lasting: a lasting rule counts events, not engaged page visits (minEngagedSeconds)',
    ]);
    expect(problems([{ id: 'gmail', field: 'email_domain', values: ['gmail.com'], points: -5, lasting: true }])).toEqual(['negative.0.lasting: lasting applies to an event rule, not a field rule']);
  });
});

/** A small seeded PRNG, so a failing random history can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('buying signals', () => {
  const signalsOf = (lead: LeadScore) => Object.fromEntries(lead.signals.map((signal) => [signal.signal, signal.detail]));

  it('finds a demo request in a French form named with its accent, "Demande de démo"', async () => {
    const site = newSite();
    await insert([form(site, 'french-1', 'Demande de démo', 'kenji.sato@tokyo-seiki.example', { job_title: 'Comptable' })]);
    expect(signalsOf(byEmail(await score(site), 'kenji.sato@tokyo-seiki.example'))).toEqual({ demo_request: 'form Demande de démo' });
  });

  it('finds a demo request, long pricing dwell, returns to pricing, a technical download and many visits, each with its last time', async () => {
    const site = newSite();
    const visit = (n: number, days: number, rows: EventRow[]) => rows.map((row) => ({ ...row, session_id: `buyer-s${n}`, ts: at({ days, minutes: 30 }) }));
    await insert([
      ...visit(1, 6, [view(site, 'buyer-1', '/pricing/')]),
      // 150 s engaged, in pieces sent after the time they tell.
      ...visit(2, 3, [view(site, 'buyer-1', '/pricing/')]),
      ...[60_000, 60_000, 30_000].map((engaged_ms, n) => event(site, 'buyer-1', 'engagement', { days: 3, minutes: 29 - n }, { session_id: 'buyer-s2', path: '/pricing/', engaged_ms })),
      ...visit(3, 1, [view(site, 'buyer-1', '/pricing/'), download(site, 'buyer-1', 'https://cdn.acme.test/files/security-whitepaper-technical.pdf')]),
      ...visit(4, 0, [form(site, 'buyer-1', 'demo-request', 'buyer@globex.example', { job_title: 'CTO' })]),
      // A second person who only read the blog once shows no signal.
      view(site, 'reader-1', '/blog/'),
      form(site, 'reader-1', 'newsletter', 'reader@globex.example', {}),
    ]);
    const leads = await score(site);
    const buyer = byEmail(leads, 'buyer@globex.example');
    expect(signalsOf(buyer)).toEqual({
      demo_request: 'form demo-request',
      pricing_dwell: '2 min 30 s engaged on pricing in one visit',
      pricing_returns: '3 visits to pricing in 7 days',
      // The file by its path, as the content panel and the timeline name it, not by its whole address.
      docs_download: 'downloaded /files/security-whitepaper-technical.pdf',
    });
    const when = (signal: string) => buyer.signals.find((s) => s.signal === signal)!.at;
    expect(when('demo_request')).toBe(at({ days: 0, minutes: 30 }));
    expect(when('pricing_dwell')).toBe(at({ days: 3, minutes: 30 }));
    expect(when('pricing_returns')).toBe(at({ days: 1, minutes: 30 }));
    expect(byEmail(leads, 'reader@globex.example').signals).toEqual([]);
  });

  it('says a period of one day as one day', async () => {
    const site = newSite();
    await insert([
      ...[5, 4, 3].map((hours, n) => ({ ...view(site, 'daily-1', '/pricing/'), session_id: `daily-s${n}`, ts: at({ minutes: hours * 60 }) })),
      { ...form(site, 'daily-1', 'newsletter', 'daily@globex.example', {}), session_id: 'daily-s2', ts: at({ minutes: 170 }) },
    ]);
    const rules = rulesSchema.parse({ signals: { pricingReturnsDays: 1, weakDays: 1, weakVisits: 3 } });
    expect(signalsOf(byEmail(await score(site, rules), 'daily@globex.example'))).toEqual({
      pricing_returns: '3 visits to pricing in 1 day',
      weak_accumulation: '3 visits in 1 day',
    });
  });

  it('counts as a return to pricing a visit to a pricing tab left open, which sends engaged time and no page view', async () => {
    const site = newSite();
    // The tab, opened once, then come back to twice, each after more than 30 minutes away: new visits, of engaged time only.
    await insert([
      { ...view(site, 'tab-1', '/pricing/'), session_id: 'tab-s1', ts: at({ days: 2, minutes: 30 }) },
      event(site, 'tab-1', 'engagement', { days: 1, minutes: 30 }, { session_id: 'tab-s2', path: '/pricing/', engaged_ms: 20_000 }),
      event(site, 'tab-1', 'engagement', { days: 0, minutes: 40 }, { session_id: 'tab-s3', path: '/pricing/', engaged_ms: 20_000 }),
      { ...form(site, 'tab-1', 'newsletter', 'tab@globex.example', {}), session_id: 'tab-s3', ts: at({ days: 0, minutes: 30 }) },
    ]);
    const lead = byEmail(await score(site), 'tab@globex.example');
    expect(signalsOf(lead)).toEqual({ pricing_returns: '3 visits to pricing in 7 days' });
    expect(lead.signals[0]!.at).toBe(at({ days: 0, minutes: 40 }));
  });

  it('takes a download for technical documentation by a whole word of its name or path, not by letters inside another word', async () => {
    const site = newSite();
    const downloaded = (n: number, link: string) => [download(site, `files-${n}`, link), form(site, `files-${n}`, 'newsletter', `files${n}@globex.example`, {})];
    const links = [
      'https://cdn.acme.test/files/API-reference.pdf',
      'https://cdn.acme.test/files/SecurityWhitepaper.pdf',
      'https://cdn.acme.test/files/APIReference2026.pdf',
      'https://cdn.acme.test/fichiers/fiche_technique.pdf',
      'https://cdn.acme.test/files/Sécurité des données.pdf',
      'https://www.acme.test/docs/getting-started.pdf',
      // A doc word written in camelCase: "DataSheet" is a datasheet.
      'https://cdn.acme.test/files/Product-DataSheet.pdf',
      // Words that only join into one: a folder and a file (addresses are stored as people read them, spaces and all),
      // a letter and a word.
      'https://cdn.acme.test/data/sheet-music.pdf',
      'https://cdn.acme.test/files/Menu A-Pi.pdf',
      // "api" inside "capital" and "rapid", "spec" inside "special" and "prospectus", "technical" inside nothing.
      'https://cdn.acme.test/files/capital-markets-guide.pdf',
      'https://cdn.acme.test/files/rapid-roi.pdf',
      'https://cdn.acme.test/files/special-offer.pdf',
      'https://cdn.acme.test/files/Prospectus2026.pdf',
    ];
    await insert(links.flatMap((link, n) => downloaded(n, link)));
    const leads = await score(site);
    const docs = links.map((_, n) => signalsOf(byEmail(leads, `files${n}@globex.example`)).docs_download ?? null);
    expect(docs).toEqual([
      'downloaded /files/API-reference.pdf',
      'downloaded /files/SecurityWhitepaper.pdf',
      'downloaded /files/APIReference2026.pdf',
      'downloaded /fichiers/fiche_technique.pdf',
      'downloaded /files/Sécurité des données.pdf',
      'downloaded /docs/getting-started.pdf',
      'downloaded /files/Product-DataSheet.pdf',
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it('says how long the pricing visit lasted as people read it: "45 s", "12 min 34 s", "1 h 5 min"', async () => {
    const site = newSite();
    const rules = rulesSchema.parse({ signals: { pricingDwellSeconds: 30 } });
    const dwell = (visitor: string, engagedMs: number) => [
      view(site, visitor, '/pricing/', { minutes: 90 }),
      event(site, visitor, 'engagement', { minutes: 10 }, { path: '/pricing/', engaged_ms: engagedMs }),
      form(site, visitor, 'newsletter', `${visitor}@acme.example`, {}),
    ];
    // 3,930 s is 1 h 5 min 30 s: past an hour, the seconds are left out. 120 s is whole minutes.
    // 140.76 s is 2 min 21 s, rounded as the pricing panel rounds it (it read 2 min 20 s beside the panel's 2 min 21 s).
    await insert([...dwell('brief', 45_400), ...dwell('reader', 754_000), ...dwell('studious', 3_930_000), ...dwell('even', 120_000), ...dwell('rounded', 140_760)]);
    const leads = await score(site, rules);
    const detail = (visitor: string) => signalsOf(byEmail(leads, `${visitor}@acme.example`)).pricing_dwell;
    expect(['brief', 'reader', 'studious', 'even', 'rounded'].map(detail)).toEqual([
      '45 s engaged on pricing in one visit',
      '12 min 34 s engaged on pricing in one visit',
      '1 h 5 min engaged on pricing in one visit',
      '2 min engaged on pricing in one visit',
      '2 min 21 s engaged on pricing in one visit',
    ]);
  });

  it("bounds the pricing time a browser claims by the time between the visit's first and last pricing events, as the pricing panel does", async () => {
    const site = newSite();
    const start = NOW.getTime() - 10 * 60_000;
    const after = (seconds: number) => toClickHouseTime(start + seconds * 1000);
    // Three minutes of pieces sent within three seconds of the pricing view, then another page and a form: the visit
    // lasted 100 s, but its pricing page was left by 3 s (63 s at most, under the 120 s of the signal).
    await insert([
      { ...view(site, 'claims-1', '/pricing/', {}), ts: after(0) },
      ...[1, 2, 3].map((s) => event(site, 'claims-1', 'engagement', {}, { path: '/pricing/', engaged_ms: 60_000, ts: after(s) })),
      { ...view(site, 'claims-1', '/about/', {}), ts: after(60) },
      { ...form(site, 'claims-1', 'newsletter', 'claims@acme.example', {}), ts: after(100) },
    ]);
    expect(signalsOf(byEmail(await score(site), 'claims@acme.example')).pricing_dwell).toBeUndefined();
  });

  it('dates a demo request by its visit, so the form sent again in the same visit is no new request, and one in another visit is', async () => {
    const site = newSite();
    const inVisit = (session: string, rows: EventRow[]) => rows.map((row) => ({ ...row, session_id: session }));
    const request = (minutes: number) => form(site, 'asks-1', 'demo-request', 'asks@acme.example', {}, { minutes });
    await insert(inVisit('asks-s1', [view(site, 'asks-1', '/pricing/', { minutes: 50 }), request(48)]));
    const first = byEmail(await score(site), 'asks@acme.example').signals.find((s) => s.signal === 'demo_request');
    await insert(inVisit('asks-s1', [request(47)]));
    const again = byEmail(await score(site), 'asks@acme.example').signals.find((s) => s.signal === 'demo_request');
    expect(first).toMatchObject({ at: at({ minutes: 50 }), detail: 'form demo-request' });
    expect(again).toEqual(first);
    await insert(inVisit('asks-s2', [request(5)]));
    expect(byEmail(await score(site), 'asks@acme.example').signals.find((s) => s.signal === 'demo_request')).toMatchObject({ at: at({ minutes: 5 }) });
  });

  it('dates the pricing signals by their visit, so more pricing views in the same visit are not a new occurrence', async () => {
    const site = newSite();
    const visit = (rows: EventRow[]) => rows.map((row) => ({ ...row, session_id: 'keen-s1' }));
    const before = visit([
      view(site, 'keen-1', '/pricing/', { minutes: 40 }),
      event(site, 'keen-1', 'engagement', {}, { path: '/pricing/', engaged_ms: 150_000, ts: at({ minutes: 38 }) }),
      form(site, 'keen-1', 'newsletter', 'keen@acme.example', {}, { minutes: 35 }),
    ]);
    await insert(before);
    const first = byEmail(await score(site), 'keen@acme.example').signals.find((s) => s.signal === 'pricing_dwell');
    await insert(visit([view(site, 'keen-1', '/pricing/', { minutes: 20 }), view(site, 'keen-1', '/pricing/', { minutes: 10 })]));
    const later = byEmail(await score(site), 'keen@acme.example').signals.find((s) => s.signal === 'pricing_dwell');
    expect(first).toMatchObject({ at: at({ minutes: 40 }) });
    expect(later).toEqual(first);
  });

  it('counts weak signals piling up: five visits in 30 days, or one visit of eight pages', async () => {
    const site = newSite();
    const rows: EventRow[] = [];
    for (let n = 0; n < 5; n++) rows.push({ ...view(site, 'regular-1', '/blog/', { days: n * 5 }), session_id: `regular-s${n}` });
    rows.push(form(site, 'regular-1', 'newsletter', 'regular@acme.example', {}, { days: 40 }));
    for (let n = 0; n < 8; n++) rows.push(view(site, 'deep-1', `/docs/page-${n}`, { minutes: 10 + n }));
    rows.push(form(site, 'deep-1', 'newsletter', 'deep@acme.example', {}, { minutes: 1 }));
    for (let n = 0; n < 4; n++) rows.push({ ...view(site, 'casual-1', '/blog/', { days: n * 5 }), session_id: `casual-s${n}` });
    rows.push({ ...form(site, 'casual-1', 'newsletter', 'casual@acme.example', {}, { days: 0 }), session_id: 'casual-s0' });
    for (let n = 0; n < 5; n++) rows.push({ ...view(site, 'both-1', '/blog/', { days: n * 5 }), session_id: `both-s${n}` });
    for (let n = 0; n < 7; n++) rows.push({ ...view(site, 'both-1', `/docs/page-${n}`, { minutes: 10 + n }), session_id: 'both-s0' });
    rows.push({ ...form(site, 'both-1', 'newsletter', 'both@acme.example', {}, { minutes: 1 }), session_id: 'both-s0' });
    await insert(rows);
    const leads = await score(site);
    expect(signalsOf(byEmail(leads, 'regular@acme.example'))).toEqual({ weak_accumulation: '5 visits in 30 days' });
    expect(signalsOf(byEmail(leads, 'deep@acme.example'))).toEqual({ weak_accumulation: '8 pages in one visit' });
    expect(signalsOf(byEmail(leads, 'both@acme.example'))).toEqual({ weak_accumulation: '5 visits in 30 days, up to 8 pages in one' });
    expect(byEmail(leads, 'casual@acme.example').signals).toEqual([]);
  });

  it('gives a signal of one visit the figure of the visit it is dated by: the latest that shows it', async () => {
    const site = newSite();
    const visit = (visitor: string, session: string, rows: EventRow[]) => rows.map((row) => ({ ...row, session_id: `${visitor}-${session}` }));
    await insert([
      // A long pricing read 20 days ago, then a shorter one, still past the 2 min mark, yesterday.
      ...visit('dweller', 'old', [view(site, 'dweller', '/pricing/', { days: 20, minutes: 10 }), event(site, 'dweller', 'engagement', {}, { path: '/pricing/', engaged_ms: 474_000, ts: at({ days: 20, minutes: 1 }) })]),
      ...visit('dweller', 'new', [view(site, 'dweller', '/pricing/', { days: 1, minutes: 5 }), event(site, 'dweller', 'engagement', {}, { path: '/pricing/', engaged_ms: 150_000, ts: at({ days: 1, minutes: 2 }) })]),
      ...visit('dweller', 'new', [form(site, 'dweller', 'newsletter', 'dweller@acme.example', {}, { days: 1, minutes: 1 })]),
      // Nine pages in one visit 10 days ago, then two short visits: reading a lot holds as of the deep visit.
      ...visit('reader', 'deep', [...Array.from({ length: 9 }, (_, n) => view(site, 'reader', `/docs/page-${n}`, { days: 10, minutes: -n }))]),
      ...visit('reader', 'a', [view(site, 'reader', '/blog/', { days: 3 })]),
      ...visit('reader', 'b', [view(site, 'reader', '/blog/', { days: 1 }), form(site, 'reader', 'newsletter', 'reader@acme.example', {}, { days: 1 })]),
    ]);
    const leads = await score(site);
    const signal = (email: string, name: string) => byEmail(leads, email).signals.find((s) => s.signal === name);
    expect(signal('dweller@acme.example', 'pricing_dwell')).toMatchObject({ at: at({ days: 1, minutes: 5 }), detail: '2 min 30 s engaged on pricing in one visit' });
    expect(signal('reader@acme.example', 'weak_accumulation')).toMatchObject({ at: at({ days: 10, minutes: -8 }), detail: '9 pages in one visit' });
  });
});

// Edge cases of scoring's results a review found wrong (each failed before its fix), and the thresholds' edges.
describe('answers that say nothing', () => {
  it('never replace a real answer given before, and leave a field answered only so not given', async () => {
    const site = newSite();
    await insert([
      // A CEO who answered properly, then typed placeholders in later forms and an identify call.
      form(site, 'ceo-1', 'whitepaper', 'ceo@acme.example', { job_title: 'CEO', company: 'Acme', country: 'France' }, { days: 3 }),
      form(site, 'ceo-1', 'newsletter', 'ceo@acme.example', { job_title: '-', company: 'N/A', country: 'néant' }, { days: 1 }),
      event(site, 'ceo-1', 'identify', { minutes: 10 }, { email: 'ceo@acme.example', props: { job_title: 'xxx', company: ' . ' } }),
      // Someone who never said anything but placeholders.
      form(site, 'dash-1', 'contact', 'dash@acme.example', { job_title: 'n/a', company: '-', company_size: '?', country: 'Aucun' }),
      // A later real answer still replaces an earlier one.
      form(site, 'grad-1', 'contact', 'grad@acme.example', { job_title: 'Stagiaire' }, { days: 200 }),
      form(site, 'grad-1', 'contact', 'grad@acme.example', { job_title: 'Directrice commerciale' }, { days: 2 }),
    ]);
    const leads = await score(site);
    const ceo = byEmail(leads, 'ceo@acme.example');
    expect(ceo).toMatchObject({ profile: { job_title: 'CEO', company: 'Acme', country: 'France' }, seniority: 'c_level', country: 'FR', fit: 45 });
    expect(ceo.reasons.map((r) => r.rule)).toEqual(['c-level', 'covered-country']);
    const dash = byEmail(leads, 'dash@acme.example');
    expect(dash).toMatchObject({ profile: {}, seniority: '', country: '', company_size_min: null, fit: 0, score: 0, reasons: [] });
    expect(byEmail(leads, 'grad@acme.example')).toMatchObject({ profile: { job_title: 'Directrice commerciale' }, seniority: 'vp_director', fit: 20 });
  });
});

describe('a job level, role or function', () => {
  it('stands for the title of a lead who never gave one, and never replaces the title one gave', async () => {
    const site = newSite();
    await insert([
      // A CEO's demo request, then a newsletter form that asks only the department.
      form(site, 'ceo-2', 'demo', 'ceo@globex.example', { job_title: 'CEO', company: 'Globex' }, { days: 3 }),
      form(site, 'ceo-2', 'newsletter', 'ceo@globex.example', { job_function: 'Marketing' }, { days: 1 }),
      // A form that asks the job level and a role, never the title.
      form(site, 'lvl-1', 'webinar', 'lvl@globex.example', { job_role: 'Decision maker', job_level: 'C-Level', job_function: 'Finance' }),
      form(site, 'fn-1', 'webinar', 'fn@globex.example', { job_function: 'Sales' }),
    ]);
    const leads = await score(site);
    expect(byEmail(leads, 'ceo@globex.example')).toMatchObject({ profile: { job_title: 'CEO', job_function: 'Marketing' }, seniority: 'c_level', fit: 30 });
    expect(byEmail(leads, 'lvl@globex.example')).toMatchObject({
      profile: { job_title: 'C-Level', job_level: 'C-Level', job_role: 'Decision maker', job_function: 'Finance' },
      seniority: 'c_level',
      fit: 30,
    });
    expect(byEmail(leads, 'fn@globex.example')).toMatchObject({ profile: { job_title: 'Sales', job_function: 'Sales' }, seniority: 'individual' });
  });
});

describe('the grid’s seniority points on titles that mention a PA, an EA, an assistant or the CEO', () => {
  it('gives a managing director or head of public affairs their points, and the assistants and chiefs of staff theirs', async () => {
    const site = newSite();
    const titles: Record<string, string> = {
      'md@pa.example': 'Managing Director, PA Consulting',
      'head@pa.example': 'Head of PA',
      'ea@arch.example': 'EA Manager',
      'cos@acme.example': 'Chief of Staff to the CEO',
      'avp@bank.example': 'Assistant Vice President',
      'pa@acme.example': 'PA to the CEO',
    };
    await insert(Object.entries(titles).map(([email, job_title], i) => form(site, `title-${i}`, 'contact', email, { job_title })));
    const leads = await score(site);
    const fits = Object.fromEntries(Object.entries(titles).map(([email, title]) => [title, [byEmail(leads, email).seniority, byEmail(leads, email).fit]]));
    expect(fits).toEqual({
      'Managing Director, PA Consulting': ['c_level', 30],
      'Head of PA': ['vp_director', 20],
      'EA Manager': ['manager', 20],
      'Chief of Staff to the CEO': ['vp_director', 20],
      'Assistant Vice President': ['vp_director', 20],
      'PA to the CEO': ['individual', 0],
    });
  });
});

describe('the grid on French shorthand and the covered countries’ own names', () => {
  it('reads "+ de 250" as more than 250, België, Luxemburg and Svizzera as covered countries, skynet.be as free mail', async () => {
    const site = newSite();
    await insert([
      form(site, 'be-1', 'contact', 'jan@bouw.example', { company_size: '+ de 250', country: 'België' }),
      form(site, 'lu-1', 'contact', 'anna@bank.example', { company_size: '+de 1 000 salariés', country: 'Luxemburg' }),
      form(site, 'ch-1', 'contact', 'luca@banca.example', { company_size: '250', country: 'Svizzera' }),
      // A Belgian provider's personal address is free mail, as gmail.com is.
      form(site, 'be-2', 'contact', 'piet@skynet.be', { country: 'Belgien' }),
    ]);
    const leads = await score(site);
    expect(byEmail(leads, 'jan@bouw.example')).toMatchObject({ company_size_min: 251, country: 'BE', fit: 40 });
    expect(byEmail(leads, 'anna@bank.example')).toMatchObject({ company_size_min: 1001, country: 'LU', fit: 40 });
    expect(byEmail(leads, 'luca@banca.example')).toMatchObject({ company_size_min: 250, country: 'CH', fit: 40 });
    expect(byEmail(leads, 'piet@skynet.be')).toMatchObject({ country: 'BE', fit: 15, negative: -10, score: 5 });
    expect(byEmail(leads, 'piet@skynet.be').reasons.map((reason) => reason.rule)).toEqual(['covered-country', 'free-mail']);
  });
});

describe('page patterns and trailing slashes', () => {
  it('finds "/pricing/" by the pattern "/pricing", and "/product" by "/product/", as the same pages', async () => {
    const site = newSite();
    const pageGroups = { pricing: ['/pricing'], product: ['/product/'] };
    await insert([
      view(site, 'slash-1', '/pricing/', { minutes: 30 }),
      event(site, 'slash-1', 'engagement', { minutes: 27 }, { path: '/pricing/', engaged_ms: 150_000 }),
      view(site, 'slash-1', '/product', { minutes: 20 }),
      form(site, 'slash-1', 'contact', 'slash@acme.example', {}),
    ]);
    const lead = byEmail(await scoreLeads(client, defaultRules(pageGroups), { site, pageGroups, now: NOW }), 'slash@acme.example');
    expect(lead).toMatchObject({ score: 25, stage: 'BOFU' });
    expect(lead.reasons.map((reason) => [reason.rule, reason.count])).toEqual([['pricing-page', 1], ['product-page', 1]]);
    expect(lead.signals.map((signal) => signal.signal)).toEqual(['pricing_dwell']);
  });
});

describe('temperature at the thresholds', () => {
  it('is cold below 30, warm from 30 to 60 both included, hot above 60', async () => {
    const site = newSite();
    const rules = rulesSchema.parse({
      fit: [29, 30, 60, 61].map((points) => ({ id: `tier-${points}`, field: 'tier', values: [String(points)], points })),
      engagement: [],
      negative: [],
    });
    await insert([29, 30, 60, 61].map((points) => form(site, `tier-${points}`, 'contact', `t${points}@acme.example`, { tier: String(points) })));
    const leads = await score(site, rules);
    expect(leads.map((lead) => [lead.score, lead.temperature])).toEqual([[61, 'hot'], [60, 'warm'], [30, 'warm'], [29, 'cold']]);
  });
});
