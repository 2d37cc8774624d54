import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiToken } from '../../collector/auth/tokens.ts';
import { batchToRows } from '../../collector/ingest/rows.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import { describeUserAgent } from '../../collector/ingest/user-agent.ts';
import type { WireBatch } from '../../collector/ingest/wire.ts';
import type { RunningServer } from '../../collector/server.ts';
import { SOURCE } from '../../collector/api/dashboard-queries.ts';
import { sourceName } from '../../scoring/labels.ts';
import { startHttpReceiver, waitFor, type HttpReceiver } from '../support/alerts.ts';
import { BROWSER_USER_AGENT, getJson, newVisitor, SITE_ORIGIN, startTestServer, TEST_TOKEN } from '../support/server.ts';

const marketingToken = newApiToken();
const salesToken = newApiToken();

let server: RunningServer;
/** Where globex's alerts go, as sales would receive them. */
let receiver: HttpReceiver;
/** When the seed began: every score the tests read was computed between then and now. */
let seededFrom: number;
beforeAll(async () => {
  receiver = await startHttpReceiver();
  server = await startTestServer({
    sites: [
      {
        id: 'acme',
        origins: [SITE_ORIGIN],
        pageGroups: { resources: ['/resources*'], product: ['/product*'], webinar: ['/webinar*'], pricing: ['/pricing*'], contact: ['/contact*'] },
      },
      { id: 'initech', origins: ['https://initech.test'] },
      {
        id: 'globex',
        origins: ['https://globex.test'],
        alerts: { destinations: [{ type: 'webhook', id: 'crm', url: `${receiver.url}/hooks/hearth`, secret: 'a-test-signing-key-of-32-bytes!!' }] },
      },
      { id: 'hooli', origins: ['https://hooli.test'], pageGroups: { pricing: ['/pricing*'], careers: ['/careers*'] } },
      // Its pricing pages are its "tarifs" group, as its signals say; its "pricing" group is an old page.
      { id: 'umbra', origins: ['https://umbra.test'], pageGroups: { tarifs: ['/tarifs*'], pricing: ['/pricing-2019*'] }, rules: { signals: { pricingPageGroup: 'tarifs' } } },
      { id: 'wayne', origins: ['https://wayne.test'], pageGroups: { pricing: ['/pricing*'] } },
      { id: 'paging', origins: ['https://paging.test'] },
      { id: 'stark', origins: ['https://stark.test'] },
      { id: 'umbrella', origins: ['https://umbrella.test'] },
    ],
    tokens: [
      { name: 'marketing-bi', role: 'marketing', tokenHash: marketingToken.tokenHash },
      { name: 'crm-sync', role: 'sales', tokenHash: salesToken.tokenHash },
    ],
  });
  seededFrom = Date.now();
  await seed();
  await seedGlobex();
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

const DAY_MS = 86_400_000;
const todayStart = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
/** Noon (UTC) `daysAgo` days ago, plus some minutes: always in the past, on a known day. */
const at = (daysAgo: number, minutes = 0) => todayStart - daysAgo * DAY_MS + 12 * 3_600_000 + minutes * 60_000;
const dayOf = (daysAgo: number) => new Date(todayStart - daysAgo * DAY_MS).toISOString().slice(0, 10);
/** The week the tests look at (6 days ago to today); the week before is the previous period. */
const WEEK = `site=acme&from=${dayOf(6)}&to=${dayOf(0)}`;

const page = (path: string, t: number, query = '', referrer = '') => ({ n: 'v', u: `${SITE_ORIGIN}${path}${query}`, r: referrer, t });
const landing = (path: string, t: number, query = '', referrer = '') => ({ ...page(path, t, query, referrer), ss: 1 });
const form = (path: string, name: string, t: number, fields: Record<string, string>) => ({ n: 'f', u: `${SITE_ORIGIN}${path}`, k: name, t, p: fields });

/**
 * Stores a browser's events with their own timestamps (the collector would replace times older than a day by the
 * arrival time), and tells the scorer, as the write-ahead log does after each batch it stores.
 */
async function store(visitor: string, events: Record<string, unknown>[], site = 'acme', sid = newVisitor(), userAgent = BROWSER_USER_AGENT) {
  const batch = { s: site, v: visitor, sid, e: events.map((event) => ({ i: randomUUID(), ...event })) } as WireBatch;
  const rows = batchToRows(batch, Math.max(...events.map((event) => event.t as number)) + 1000, { userAgent: describeUserAgent(userAgent) });
  await insertEvents(server.client, rows);
  server.scorer.noteStored(rows);
}

const emails = {
  ceo: `ceo.${newVisitor()}@initech.test`,
  manager: `ops.${newVisitor()}@globex-freight.test`,
  student: `student.${newVisitor()}@gmail.com`,
  analyst: `analyst.${newVisitor()}@umbrella.test`,
  lastWeek: `reader.${newVisitor()}@hooli.test`,
};

/**
 * This week: a CEO from LinkedIn who studies pricing (hot), a manager from LinkedIn who signs up for a webinar
 * (warm), a student and an analyst from Display (cold), and three anonymous visitors. Last week: a newsletter
 * reader who glanced at pricing, and one of the anonymous visitors.
 */
async function seed() {
  await store(newVisitor(), [
    landing('/', at(1), '?utm_source=linkedin&utm_medium=paid-social', 'https://www.linkedin.com/'),
    page('/pricing', at(1, 1)),
    { n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(1, 2), ms: 60_000 },
    page('/pricing', at(1, 3)),
    // Pieces of at most a minute, as the snippet sends them (every 15 s), each after the time it tells.
    { n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(1, 4), ms: 60_000 },
    { n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(1, 5), ms: 60_000 },
    form('/contact', 'demo-request', at(1, 6), { 'email  email': emails.ceo, 'job_title  ': 'CEO', 'company  ': 'Initech', 'company_size  ': '500', 'industry  ': 'Software', 'country  ': 'France' }),
  ]);
  await store(newVisitor(), [
    landing('/product', at(2), '?utm_source=linkedin&utm_medium=paid-social', 'https://www.linkedin.com/'),
    page('/webinar', at(2, 1)),
    form('/webinar', 'webinar-signup', at(2, 2), { 'email  email': emails.manager, 'job_title  ': 'Head of Operations', 'company  ': 'Globex Freight', 'country  ': 'Germany' }),
  ]);
  await store(newVisitor(), [
    landing('/resources', at(3), '?utm_source=display&utm_medium=banner', 'https://ads.example-network.com/'),
    { n: 'd', u: `${SITE_ORIGIN}/resources`, t: at(3, 1), h: `${SITE_ORIGIN}/assets/whitepaper-lead-scoring.pdf`, x: 'Download' },
    form('/resources', 'whitepaper', at(3, 2), { 'email  email': emails.student, 'job_title  ': 'Student' }),
  ]);
  await store(newVisitor(), [
    landing('/', at(3, 30), '?utm_source=display&utm_medium=banner', 'https://ads.example-network.com/'),
    form('/', 'newsletter', at(3, 31), { 'email  email': emails.analyst, 'job_title  ': 'Data Analyst', 'company  ': '=HYPERLINK("http://evil.test","Umbrella")' }),
  ]);
  await store(newVisitor(), [landing('/', at(4), '', 'https://www.google.com/')]);
  await store(newVisitor(), [landing('/product', at(5))]);
  const returning = newVisitor();
  await store(returning, [landing('/', at(10), '', 'https://www.google.com/')]);
  await store(returning, [landing('/', at(2, 30))]);
  await store(newVisitor(), [
    landing('/', at(10, 5), '?utm_source=newsletter&utm_medium=email'),
    page('/pricing', at(10, 6)),
    { n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(10, 7), ms: 30_000 },
    form('/', 'newsletter', at(10, 8), { 'email  email': emails.lastWeek }),
  ]);
  await server.scorer.settled();
}

const jons = newVisitor();
const people = {
  typo: `jon.${jons}@tpyo.test`,
  corrected: `jon.${jons}@typo.test`,
  ada: `ada.${newVisitor()}@analytical-engines.test`,
  head: `head.${newVisitor()}@globex-freight.test`,
};
/**
 * `minutes` (under 10) ago, but today: just after midnight (UTC), the same order spread over the minutes since it,
 * so that a run at 00:02 still draws these events on today's column.
 */
const minutesAgo = (minutes: number) => {
  const now = Date.now();
  return Math.max(now - minutes * 60_000, todayStart + ((now - todayStart) * (10 - minutes)) / 10);
};

/**
 * Site globex, this week: a visitor who corrects the email it typed and comes back the next day, Ada who types her name in a "Name" field,
 * studies pricing and asks for a demo minutes ago, and a head of operations whose answers are worth exactly 60
 * points (manager 20, 500 employees 25, France 15): warm, since hot is above 60.
 */
async function seedGlobex() {
  const jon = newVisitor();
  // The email put right in the same visit, after the scorer has seen the typo; back the next day.
  const visit = newVisitor();
  await store(jon, [landing('/', at(2)), form('/', 'newsletter', at(2, 1), { 'email  email': people.typo })], 'globex', visit);
  await server.scorer.settled();
  await store(jon, [form('/', 'newsletter', at(2, 3), { 'email  email': people.corrected })], 'globex', visit);
  await store(jon, [landing('/', at(1))], 'globex');
  await store(newVisitor(), [
    landing('/pricing', minutesAgo(6)),
    { n: 'e', u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(5), ms: 45_000 },
    form('/contact', 'demo-request', minutesAgo(4), { 'name  ': 'Ada Lovelace', 'email  email': people.ada, 'company  ': 'Analytical Engines' }),
  ], 'globex');
  await store(newVisitor(), [
    landing('/', at(3)),
    form('/', 'newsletter', at(3, 1), { 'email  email': people.head, 'job_title  ': 'Head of Operations', 'company  ': 'Fret Générale', 'company_size  ': '500', 'country  ': 'France' }),
  ], 'globex');
  await server.scorer.settled();
}

const api = async (path: string, token: string | null = TEST_TOKEN) => getJson(server, path, token);
const leadId = async (email: string, site = 'acme') => ((await api(`/api/dashboard/leads?site=${site}&q=${encodeURIComponent(email)}`)).body.leads[0].id as string);

async function qualify(id: string, change: unknown) {
  const response = await fetch(`${server.url}/api/leads/${id}/qualification?site=acme`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(change),
  });
  expect(response.status).toBe(200);
}

describe('marketing dashboard API', () => {
  it('cuts a period at today: the days to come hold nothing, and the comparison is with as many past days', async () => {
    const week = await api(`/api/dashboard/summary?${WEEK}`);
    const pastToday = await api(`/api/dashboard/summary?site=acme&from=${dayOf(6)}&to=${dayOf(-24)}`);
    expect(pastToday.body.period).toEqual({ from: dayOf(6), to: dayOf(0), previousFrom: dayOf(13), previousTo: dayOf(7) });
    expect(pastToday.body.kpis).toEqual(week.body.kpis);
    const future = await api(`/api/dashboard/summary?site=acme&from=${dayOf(-1)}&to=${dayOf(-5)}`);
    expect(future.status).toBe(400);
    expect(future.body.problems).toEqual([{ path: 'from', message: `the period starts after today (${dayOf(0)}): nothing has happened in it yet (got "${dayOf(-1)}")` }]);
  });

  it('computes a view once for the people who open it at the same moment, each given the whole answer', async () => {
    // Statements the panels run, counted as the store is asked.
    let statements = 0;
    const query = server.client.query.bind(server.client);
    // Each held 100 ms, as on a real history: the five people's calls all arrive while the first ones are computed
    // (on a small test history a computation could end before the same call from the fifth person came in).
    server.client.query = (async (params: Parameters<typeof query>[0]) => {
      statements++;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return query(params);
    }) as typeof query;
    try {
      const panels = ['summary', 'timeseries', 'funnel', 'sources', 'content', 'pricing', 'score-distribution', 'devices'].map((panel) => `/api/dashboard/${panel}?${WEEK}`);
      const alone = await Promise.all(panels.map((path) => api(path)));
      const once = statements;
      statements = 0;
      const fivePeople = await Promise.all(Array.from({ length: 5 }, () => Promise.all(panels.map((path) => api(path)))));
      // As many as for one person (the collector's own background work may add one or two): five times as many before.
      expect(statements).toBeLessThan(2 * once);
      for (const person of fivePeople) expect(person.map(({ status, body }) => [status, body])).toEqual(alone.map(({ status, body }) => [status, body]));
      // Computed again when asked again: nothing is kept once answered.
      statements = 0;
      await api(panels[0]!);
      expect(statements).toBeGreaterThan(0);
    } finally {
      server.client.query = query;
    }
  });

  it('counts the week\'s visitors and leads against the week before', async () => {
    const { status, body } = await api(`/api/dashboard/summary?${WEEK}`);
    expect(status).toBe(200);
    expect(body.period).toEqual({ from: dayOf(6), to: dayOf(0), previousFrom: dayOf(13), previousTo: dayOf(7) });
    expect(body.kpis).toEqual({
      visitors: { current: 7, previous: 2 },
      identifiedLeads: { current: 4, previous: 1 },
      newLeads: { current: 4, previous: 1 },
      warm: { current: 1, previous: 0 },
      hot: { current: 1, previous: 0 },
      mqls: { current: 1, previous: 0 },
      prospects: { current: 0, previous: 0 },
    });
  });

  it('draws visitors and leads by temperature day by day, empty days included', async () => {
    const { body } = await api(`/api/dashboard/timeseries?${WEEK}`);
    expect(body.days).toEqual([6, 5, 4, 3, 2, 1, 0].map(dayOf));
    expect(body.visitors).toEqual([0, 1, 1, 2, 2, 1, 0]);
    expect(body.leads).toEqual({ cold: [0, 0, 0, 2, 0, 0, 0], warm: [0, 0, 0, 0, 1, 0, 0], hot: [0, 0, 0, 0, 0, 1, 0] });
    expect(body.totals).toEqual({ visitors: 7, leads: { cold: 2, warm: 1, hot: 1 } });
  });

  it('shows how far leads went down the funnel, with the conversion from each step to the next', async () => {
    const { body } = await api(`/api/dashboard/funnel?${WEEK}`);
    expect(body.leads).toBe(4);
    expect(body.steps).toEqual([
      { step: 'TOFU', leads: 3, conversion: null },
      { step: 'MOFU', leads: 2, conversion: 2 / 3 },
      { step: 'BOFU', leads: 1, conversion: 0.5 },
      { step: 'MQL', leads: 1, conversion: 1 },
      { step: 'prospect', leads: 0, conversion: 0 },
    ]);
  });

  it('shows that LinkedIn brings better leads than Display', async () => {
    const { body } = await api(`/api/dashboard/sources?${WEEK}`);
    const bySource = Object.fromEntries(body.sources.map((row: { source: string }) => [row.source, row]));
    expect(bySource.linkedin).toMatchObject({ visitors: 2, leads: 2, hotLeads: 1, hotShare: 0.5 });
    expect(bySource.display).toMatchObject({ visitors: 2, leads: 2, hotLeads: 0, hotShare: 0 });
    expect(bySource.linkedin.averageScore).toBeGreaterThan(60);
    expect(bySource.display.averageScore).toBeLessThan(0);
    expect(bySource['google.com']).toMatchObject({ visitors: 1, leads: 0 });
    expect(bySource['(direct)']).toMatchObject({ visitors: 2, leads: 0 });
  });

  it('ranks pages, downloads and webinars by the leads they reached', async () => {
    const { body } = await api(`/api/dashboard/content?${WEEK}`);
    expect(body.pages[0]).toEqual({ item: '/', visitors: 4, leads: 2, hotLeads: 1 });
    expect(body.pages.find((row: { item: string }) => row.item === '/pricing')).toEqual({ item: '/pricing', visitors: 1, leads: 1, hotLeads: 1 });
    expect(body.downloads).toEqual([{ item: '/assets/whitepaper-lead-scoring.pdf', visitors: 1, leads: 1, hotLeads: 0 }]);
    expect(body.webinars).toEqual([{ item: 'webinar-signup', visitors: 1, leads: 1, hotLeads: 0 }]);
  });

  it('measures pricing-page engagement and names the leads who spent longest there', async () => {
    const { body } = await api(`/api/dashboard/pricing?${WEEK}`);
    expect(body.patterns).toEqual(['/pricing*']);
    expect(body).toMatchObject({
      views: { current: 2, previous: 1 },
      visitors: { current: 1, previous: 1 },
      leads: { current: 1, previous: 1 },
      averageEngagedSeconds: { current: 90, previous: 30 },
      visitorShare: { current: 1 / 7, previous: 1 / 2 },
    });
    expect(body.dailyViews).toEqual([0, 0, 0, 0, 0, 2, 0]);
    expect(body.topLeads).toEqual([expect.objectContaining({ email: emails.ceo, company: 'Initech', views: 2, engagedSeconds: 180, temperature: 'hot' })]);
    // Its leads open as a list: the ones it counts, in the period.
    const viewers = await api(`/api/dashboard/leads?${WEEK}&pricing=1`);
    expect(viewers.body.total).toBe(body.leads.current);
    expect(viewers.body.leads.map((lead: { email: string }) => lead.email)).toEqual([emails.ceo]);
    const noPeriod = await api('/api/dashboard/leads?site=acme&pricing=1');
    expect(noPeriod.status).toBe(400);
    expect(noPeriod.body.problems).toEqual([{ path: 'pricing', message: 'pricing needs a period: give from, to or both (to is today when left out, from 29 days before to)' }]);
  });

  it('tells a lead\'s long pricing visit in minutes, as the lead page shows its buying signals', async () => {
    // The CEO's one visit: 60 s, then 120 s engaged on pricing.
    const { body } = await api(`/api/leads/${await leadId(emails.ceo)}?site=acme`);
    expect(body.signals).toContainEqual(expect.objectContaining({ signal: 'pricing_dwell', detail: '3 min engaged on pricing in one visit' }));
  });

  it('answers a period with no pricing views with zeros', async () => {
    const { status, body } = await api('/api/dashboard/pricing?site=acme&from=2020-01-01&to=2020-01-03');
    expect(status).toBe(200);
    expect(body).toMatchObject({ views: { current: 0, previous: 0 }, visitors: { current: 0, previous: 0 }, dailyViews: [0, 0, 0], topLeads: [] });
  });

  it('spreads the leads\' scores over buckets of 10 points, against the warm and hot thresholds', async () => {
    const { body } = await api(`/api/dashboard/score-distribution?${WEEK}`);
    const { body: list } = await api(`/api/dashboard/leads?${WEEK}`);
    expect(body.thresholds).toEqual({ warm: 30, hot: 60 });
    expect(body.buckets.reduce((sum: number, bucket: { leads: number }) => sum + bucket.leads, 0)).toBe(4);
    for (const lead of list.leads) {
      const bucket = body.buckets.find((candidate: { from: number }) => candidate.from === Math.floor(lead.score / 10) * 10);
      expect(bucket.leads).toBeGreaterThan(0);
    }
    expect(body.buckets.map((bucket: { from: number }) => bucket.from)).toEqual(
      Array.from({ length: body.buckets.length }, (_, i) => body.buckets[0].from + 10 * i),
    );
  });
});

describe('a computer two people shared (site initech)', () => {
  it('counts it as one visitor a day, and each person as a lead of their own', async () => {
    const pc = newVisitor();
    const [alice, bob] = [`alice.${pc}@initech.test`, `bob.${pc}@initech.test`];
    await store(pc, [landing('/pricing', at(1)), form('/contact', 'newsletter', at(1, 1), { 'email  email': alice })], 'initech');
    await store(pc, [landing('/product', at(1, 90)), form('/contact', 'newsletter', at(1, 91), { 'email  email': bob })], 'initech');
    await server.scorer.settled();
    const { body } = await api(`/api/dashboard/timeseries?site=initech&from=${dayOf(6)}&to=${dayOf(0)}`);
    expect(body.visitors).toEqual([0, 0, 0, 0, 0, 1, 0]);
    expect(body.leads.cold).toEqual([0, 0, 0, 0, 0, 2, 0]);
    expect(body.totals).toEqual({ visitors: 1, leads: { cold: 2, warm: 0, hot: 0 } });
  });
});

describe('a computer two people shared, visit by visit (site hooli)', () => {
  const pc = newVisitor();
  const [anna, ben] = [`anna.${pc}@hooli.test`, `ben.${pc}@hooli.test`];
  const HOOLI = (from: number, to: number) => `site=hooli&from=${dayOf(from)}&to=${dayOf(to)}`;
  const emailsOf = async (query: string) => (await api(`/api/dashboard/leads?${query}`)).body.leads.map((lead: { email: string }) => lead.email);

  // Three days ago Anna, a CEO, studies pricing and leaves her email (hot); yesterday Ben, on the same computer, fills
  // a form in his own visit and reads the careers page (cold). Each visit is its person's, as their scores count them.
  beforeAll(async () => {
    await store(pc, [
      landing('/pricing', at(3)),
      { n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(3, 1), ms: 60_000 },
      { n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(3, 2), ms: 60_000 },
      { n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(3, 3), ms: 30_000 },
      form('/contact', 'newsletter', at(3, 4), { 'email  email': anna, 'job_title  ': 'CEO', 'company_size  ': '500' }),
    ], 'hooli');
    await store(pc, [landing('/careers', at(1)), form('/contact', 'newsletter', at(1, 2), { 'email  email': ben })], 'hooli');
    await server.scorer.settled();
  });

  it('credits each page to the person whose visit read it', async () => {
    const { body } = await api(`/api/dashboard/content?${HOOLI(6, 0)}`);
    expect(body.pages).toEqual([
      { item: '/careers', visitors: 1, leads: 1, hotLeads: 0 },
      { item: '/pricing', visitors: 1, leads: 1, hotLeads: 1 },
    ]);
    expect(await emailsOf(`${HOOLI(6, 0)}&content=page:/pricing`)).toEqual([anna]);
    expect(await emailsOf(`${HOOLI(6, 0)}&content=page:/careers`)).toEqual([ben]);
  });

  it('counts and names only the person who studied pricing', async () => {
    const { body } = await api(`/api/dashboard/pricing?${HOOLI(6, 0)}`);
    expect(body).toMatchObject({ views: { current: 1, previous: 0 }, visitors: { current: 1, previous: 0 }, leads: { current: 1, previous: 0 } });
    expect(body.topLeads).toEqual([expect.objectContaining({ email: anna, views: 1, engagedSeconds: 150, temperature: 'hot' })]);
    expect(await emailsOf(`${HOOLI(6, 0)}&pricing=1`)).toEqual([anna]);
  });

  it('lists, and counts in the key figures, only the person seen in the period', async () => {
    expect(await emailsOf(HOOLI(3, 3))).toEqual([anna]);
    expect(await emailsOf(HOOLI(1, 1))).toEqual([ben]);
    expect(await emailsOf(HOOLI(6, 0))).toEqual([anna, ben]);
    // Ben's two days, against the two before them, which hold Anna's visit.
    const { body } = await api(`/api/dashboard/summary?${HOOLI(2, 1)}`);
    expect(body.kpis).toMatchObject({
      visitors: { current: 1, previous: 1 },
      identifiedLeads: { current: 1, previous: 1 },
      hot: { current: 0, previous: 1 },
      mqls: { current: 0, previous: 1 },
    });
    const { body: funnel } = await api(`/api/dashboard/funnel?${HOOLI(2, 1)}`);
    expect(funnel.leads).toBe(1);
    expect(funnel.steps.find((step: { step: string }) => step.step === 'MQL').leads).toBe(0);
  });

  it('counts the computer once, under its device, for each person whose own visit of the period was on it', async () => {
    const devicesOf = async (query: string) => (await api(`/api/dashboard/devices?${query}`)).body.devices.map(({ device, visitors, leads, hotLeads }: Record<string, unknown>) => ({ device, visitors, leads, hotLeads }));
    expect(await devicesOf(HOOLI(6, 0))).toEqual([{ device: 'desktop', visitors: 1, leads: 2, hotLeads: 1 }]);
    // Ben's day alone, then Anna's.
    expect(await devicesOf(HOOLI(1, 1))).toEqual([{ device: 'desktop', visitors: 1, leads: 1, hotLeads: 0 }]);
    expect(await devicesOf(HOOLI(3, 3))).toEqual([{ device: 'desktop', visitors: 1, leads: 1, hotLeads: 1 }]);
  });

  it('draws each person on the day of their own visit, the computer as one visitor each day', async () => {
    const { body } = await api(`/api/dashboard/timeseries?${HOOLI(6, 0)}`);
    expect(body.visitors).toEqual([0, 0, 0, 1, 0, 1, 0]);
    expect(body.leads).toEqual({ cold: [0, 0, 0, 0, 0, 1, 0], warm: [0, 0, 0, 0, 0, 0, 0], hot: [0, 0, 0, 1, 0, 0, 0] });
    expect(body.totals).toEqual({ visitors: 1, leads: { cold: 1, warm: 0, hot: 1 } });
  });
});

describe('devices (site stark)', () => {
  const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
  const IPAD = 'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
  const STARK = `site=stark&from=${dayOf(6)}&to=${dayOf(0)}`;

  it('counts visitors and leads by kind of device, a lead seen on a phone and a computer under both, and names their browsers and systems', async () => {
    const [ceo, student] = [`pepper.${newVisitor()}@stark.test`, `intern.${newVisitor()}@gmail.com`];
    // The CEO asks for a demo on her phone (hot), then reads pricing on her computer; a student on a computer (cold);
    // an anonymous tablet; a phone seen only before the period.
    const answers = { 'email  email': ceo, 'job_title  ': 'CEO', 'company_size  ': '500', 'industry  ': 'Software', 'country  ': 'France' };
    await store(newVisitor(), [landing('/pricing', at(2)), form('/contact', 'demo-request', at(2, 1), answers)], 'stark', newVisitor(), IPHONE);
    await store(newVisitor(), [landing('/pricing', at(1)), form('/pricing', 'newsletter', at(1, 1), { 'email  email': ceo })], 'stark');
    await store(newVisitor(), [landing('/', at(1, 30)), form('/', 'newsletter', at(1, 31), { 'email  email': student, 'job_title  ': 'Student' })], 'stark');
    await store(newVisitor(), [landing('/', at(3))], 'stark', newVisitor(), IPAD);
    await store(newVisitor(), [landing('/', at(20))], 'stark', newVisitor(), IPHONE);
    await server.scorer.settled();
    const scoreOf = async (email: string) => (await api(`/api/dashboard/leads?site=stark&temperature=cold,warm,hot&q=${encodeURIComponent(email)}`)).body.leads[0] as { score: number; temperature: string };
    const [hot, cold] = [await scoreOf(ceo), await scoreOf(student)];
    expect([hot.temperature, cold.temperature]).toEqual(['hot', 'cold']);
    const { status, body } = await api(`/api/dashboard/devices?${STARK}`);
    expect(status).toBe(200);
    expect(body.devices).toEqual([
      { device: 'desktop', visitors: 2, leads: 2, averageScore: Math.round(((hot.score + cold.score) / 2) * 10) / 10, hotLeads: 1, hotShare: 0.5 },
      { device: 'mobile', visitors: 1, leads: 1, averageScore: hot.score, hotLeads: 1, hotShare: 1 },
      { device: 'tablet', visitors: 1, leads: 0, averageScore: 0, hotLeads: 0, hotShare: 0 },
    ]);
    expect(body.browsers).toEqual([
      { name: 'Chrome', visitors: 2 },
      { name: 'Safari', visitors: 2 },
    ]);
    expect(body.systems).toEqual([
      { name: 'iOS', visitors: 2 },
      { name: 'macOS', visitors: 2 },
    ]);
    // A period with no visit: no device.
    expect((await api(`/api/dashboard/devices?site=stark&from=${dayOf(60)}&to=${dayOf(50)}`)).body.devices).toEqual([]);
    expect((await api('/api/dashboard/devices?site=stark&from=2026-02-30')).status).toBe(400);
  });
});

describe('a shared computer and a phone of one of its people (site umbrella)', () => {
  it("counts the computer's device for the person whose visit it was that day, and the other person under the phone only", async () => {
    const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
    const pc = newVisitor();
    const [alice, bob] = [`alice.${pc}@umbrella.test`, `bob.${pc}@umbrella.test`];
    // Three days ago Alice on the shared computer; yesterday Bob on it, and Alice on her phone.
    await store(pc, [landing('/pricing', at(3)), form('/contact', 'newsletter', at(3, 1), { 'email  email': alice })], 'umbrella');
    await store(pc, [landing('/careers', at(1)), form('/contact', 'newsletter', at(1, 1), { 'email  email': bob })], 'umbrella');
    await store(newVisitor(), [landing('/product', at(1, 30)), form('/contact', 'newsletter', at(1, 31), { 'email  email': alice })], 'umbrella', newVisitor(), IPHONE);
    await server.scorer.settled();
    const { body } = await api(`/api/dashboard/devices?site=umbrella&from=${dayOf(1)}&to=${dayOf(1)}`);
    expect(body.devices.map(({ device, visitors, leads }: Record<string, unknown>) => ({ device, visitors, leads }))).toEqual([
      { device: 'desktop', visitors: 1, leads: 1 },
      { device: 'mobile', visitors: 1, leads: 1 },
    ]);
  });
});

describe('engaged time per pricing view (site wayne)', () => {
  it('is given to the millisecond, so that its change is worked out from the averages, not from their rounding', async () => {
    // Ten days ago: three views, 55 s in all; eleven days ago, one of 27 s. 18.333 s against 27 s is down 32.1%
    // (from 18.3 s, the page said 32.2%).
    const views = [10, 20, 25].map((seconds, n) => ({ n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(10, n * 2 + 1), ms: seconds * 1000 }));
    await store(newVisitor(), [landing('/pricing', at(10)), page('/pricing', at(10, 2)), page('/pricing', at(10, 4)), ...views], 'wayne');
    await store(newVisitor(), [landing('/pricing', at(11)), { n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(11, 1), ms: 27_000 }], 'wayne');
    const { body } = await api(`/api/dashboard/pricing?site=wayne&from=${dayOf(10)}&to=${dayOf(10)}`);
    expect(body.views).toEqual({ current: 3, previous: 1 });
    expect(body.averageEngagedSeconds).toEqual({ current: 18.333, previous: 27 });
  });
});

describe('engaged time a script claims (site wayne)', () => {
  it('counts at most a minute a piece, and no more than the visit lasted: 98 pieces of a day each in a 2 ms visit are a minute', async () => {
    const spammer = `dwell.${newVisitor()}@dwellco.test`;
    const pieces = Array.from({ length: 98 }, () => ({ n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(2, 0) + 2, ms: 86_400_000 }));
    await store(newVisitor(), [landing('/pricing', at(2)), ...pieces, form('/contact', 'newsletter', at(2, 0) + 2, { 'email  email': spammer })], 'wayne');
    // A real visit beside it: three minutes on pricing, in pieces sent as the time passed.
    const reader = `reader.${newVisitor()}@wayne.test`;
    const reading = [1, 2, 3].map((minute) => ({ n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(2, minute), ms: 60_000 }));
    await store(newVisitor(), [landing('/pricing', at(2)), ...reading, form('/contact', 'newsletter', at(2, 4), { 'email  email': reader })], 'wayne');
    await server.scorer.settled();
    const { body } = await api(`/api/dashboard/pricing?site=wayne&from=${dayOf(6)}&to=${dayOf(0)}`);
    // The script's minute is its visit's 2 ms and a minute.
    expect(body.averageEngagedSeconds.current).toBe((60.002 + 180) / 2);
    expect(body.topLeads.map((lead: { email: string; engagedSeconds: number }) => [lead.email, lead.engagedSeconds])).toEqual([[reader, 180], [spammer, 60]]);
    // No long-dwell buying signal for the script; the reader has one.
    const signals = async (email: string) => (await api(`/api/leads/${await leadId(email, 'wayne')}?site=wayne`)).body.signals.map((signal: { signal: string }) => signal.signal);
    expect(await signals(spammer)).not.toContain('pricing_dwell');
    expect(await signals(reader)).toContain('pricing_dwell');
  });
});

describe('a site whose pricing pages are a group of its own (site umbra)', () => {
  it('counts in the pricing panel and its list the pages the pricing signals read', async () => {
    const [dan, eve] = [`dan.${newVisitor()}@umbra.test`, `eve.${newVisitor()}@umbra.test`];
    await store(newVisitor(), [landing('/tarifs', at(2)), { n: 'e', u: `${SITE_ORIGIN}/tarifs`, t: at(2, 1), ms: 40_000 }, form('/contact', 'newsletter', at(2, 2), { 'email  email': dan })], 'umbra');
    await store(newVisitor(), [landing('/pricing-2019', at(2)), form('/contact', 'newsletter', at(2, 2), { 'email  email': eve })], 'umbra');
    await server.scorer.settled();
    const UMBRA = `site=umbra&from=${dayOf(6)}&to=${dayOf(0)}`;
    const { body } = await api(`/api/dashboard/pricing?${UMBRA}`);
    expect(body).toMatchObject({ patterns: ['/tarifs*'], views: { current: 1 }, leads: { current: 1 }, averageEngagedSeconds: { current: 40 } });
    // The period before had no pricing views: no average (the page shows "–"), not 0 s.
    expect(body.averageEngagedSeconds.previous).toBeNull();
    expect(body.topLeads).toEqual([expect.objectContaining({ email: dan, views: 1, engagedSeconds: 40 })]);
    expect((await api(`/api/dashboard/leads?${UMBRA}&pricing=1`)).body.leads.map((lead: { email: string }) => lead.email)).toEqual([dan]);
  });
});

describe('leads as people typed them (site globex)', () => {
  const GLOBEX_WEEK = `site=globex&from=${dayOf(6)}&to=${dayOf(0)}`;

  it('counts an email corrected on the same browser as one new lead, as the key figures and the list do', async () => {
    const { body: list } = await api(`/api/dashboard/leads?${GLOBEX_WEEK}`);
    expect(list.leads.map((lead: { email: string }) => lead.email).sort()).toEqual([people.ada, people.head, people.corrected].sort());
    const { body } = await api(`/api/dashboard/summary?${GLOBEX_WEEK}`);
    expect(body.kpis.identifiedLeads).toEqual({ current: 3, previous: 0 });
    expect(body.kpis.newLeads).toEqual({ current: 3, previous: 0 });
  });

  it('lists the new leads, as many as the key figures count: not a lead who gave their email before the period', async () => {
    const emailsOf = async (query: string) => (await api(`/api/dashboard/leads?${query}`)).body.leads.map((lead: { email: string }) => lead.email).sort();
    expect(await emailsOf(`${GLOBEX_WEEK}&new=1`)).toEqual([people.ada, people.head, people.corrected].sort());
    // Yesterday and today: Jon came back, but gave his email (and put it right) the day before; Ada is new.
    const twoDays = `site=globex&from=${dayOf(1)}&to=${dayOf(0)}`;
    const { body } = await api(`/api/dashboard/summary?${twoDays}`);
    expect(body.kpis).toMatchObject({ identifiedLeads: { current: 2 }, newLeads: { current: 1 } });
    expect(await emailsOf(twoDays)).toEqual([people.ada, people.corrected].sort());
    expect(await emailsOf(`${twoDays}&new=1`)).toEqual([people.ada]);
    expect((await api(`/api/dashboard/leads?${twoDays}&new=1`)).body.total).toBe(1);
    const noPeriod = await api('/api/dashboard/leads?site=globex&new=1');
    expect(noPeriod.status).toBe(400);
    expect(noPeriod.body.problems).toEqual([{ path: 'new', message: 'new needs a period: give from, to or both (to is today when left out, from 29 days before to)' }]);
  });

  it('counts a visitor and a lead seen on two days once in the period\'s totals, which the days do not add up to', async () => {
    const { body } = await api(`/api/dashboard/timeseries?${GLOBEX_WEEK}`);
    expect(body.visitors).toEqual([0, 0, 0, 1, 1, 1, 1]);
    expect(body.leads.cold).toEqual([0, 0, 0, 0, 1, 1, 1]);
    expect(body.totals).toEqual({ visitors: 3, leads: { cold: 2, warm: 1, hot: 0 } });
    const { body: summary } = await api(`/api/dashboard/summary?${GLOBEX_WEEK}`);
    expect(summary.kpis.visitors.current).toBe(body.totals.visitors);
  });

  it('finds "Générale" however its accents were typed: composed, a letter and a combining accent, or none', async () => {
    const emailsFound = async (text: string) => (await api(`/api/dashboard/leads?${GLOBEX_WEEK}&q=${encodeURIComponent(text)}`)).body.leads.map((lead: { email: string }) => lead.email);
    expect(await emailsFound('générale'.normalize('NFC'))).toEqual([people.head]);
    expect(await emailsFound('générale'.normalize('NFD'))).toEqual([people.head]);
    // As people search, without the accents, or in capitals with them.
    expect(await emailsFound('Fret Generale')).toEqual([people.head]);
    expect(await emailsFound('FRET GÉNÉRALE')).toEqual([people.head]);
  });

  it('shows and finds the name typed in a "Name" field: list, search, CSV, pricing top leads and alert', async () => {
    const { body: found } = await api(`/api/dashboard/leads?${GLOBEX_WEEK}&q=lovelace`);
    expect(found.leads).toEqual([expect.objectContaining({ email: people.ada, name: 'Ada Lovelace', company: 'Analytical Engines' })]);
    const csv = await fetch(`${server.url}/api/leads.csv?${GLOBEX_WEEK}&q=Ada%20Love`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`,${people.ada},Ada Lovelace,Analytical Engines,`);
    const { body: pricing } = await api(`/api/dashboard/pricing?${GLOBEX_WEEK}`);
    expect(pricing.topLeads).toEqual([expect.objectContaining({ email: people.ada, name: 'Ada Lovelace' })]);
    const alert = await waitFor(
      () => receiver.requests.map((request) => JSON.parse(request.body)).find((body) => body.data.lead.email === people.ada),
      10_000,
      'the demo-request alert',
    );
    expect(alert.data).toMatchObject({ signal: 'demo_request', lead: { name: 'Ada Lovelace', company: 'Analytical Engines' } });
  });

  it('splits each score bucket by its leads\' own temperatures: 60 points is warm, since hot is above 60', async () => {
    const { body: list } = await api(`/api/dashboard/leads?${GLOBEX_WEEK}&q=${encodeURIComponent(people.head)}`);
    expect(list.leads).toEqual([expect.objectContaining({ score: 60, temperature: 'warm' })]);
    const { body } = await api(`/api/dashboard/score-distribution?${GLOBEX_WEEK}`);
    expect(body.thresholds).toEqual({ warm: 30, hot: 60 });
    expect(body.buckets.find((bucket: { from: number }) => bucket.from === 60)).toEqual({ from: 60, leads: 1, cold: 0, warm: 1, hot: 0 });
    const all = (temperature: 'cold' | 'warm' | 'hot') => body.buckets.reduce((sum: number, bucket: Record<string, number>) => sum + (bucket[temperature] ?? 0), 0);
    expect([all('cold'), all('warm'), all('hot')]).toEqual([2, 1, 0]);
  });
});

describe('accounts', () => {
  it('groups leads by company and scores the company from its best leads', async () => {
    const { body } = await api('/api/dashboard/accounts?site=acme');
    // A hot CEO alone makes the account warm, not hot: one keen person is not a buying company.
    expect(body.accounts[0]).toMatchObject({ id: 'initech.test', name: 'Initech', temperature: 'warm', leads: 1, personas: ['c_level'] });
    expect(body.accounts[0].topLeads).toEqual([expect.objectContaining({ email: emails.ceo, temperature: 'hot' })]);
    // A student on free mail who named no company belongs to no account.
    expect(body.accounts.map((account: { id: string }) => account.id)).not.toContain('gmail.com');
    expect((await api('/api/dashboard/accounts?site=acme&temperature=hot')).body.total).toBe(0);
    expect((await api('/api/dashboard/accounts?site=acme&temperature=warm')).body.total).toBe(1);
  });

  it('lists exactly an account\'s leads, as many as the accounts list counts, and names a bad account in a 400', async () => {
    // Site globex, three weeks ago: two people on free mail who typed their company two ways, one account
    // ("Acmé SAS" = "ACME, Inc."), and someone at another company whose name holds theirs.
    const acme = { bruce: `bruce.${newVisitor()}@gmail.com`, diana: `diana.${newVisitor()}@gmail.com` };
    const insurer = `clark.${newVisitor()}@acme-insurance.test`;
    const signUp = (email: string, company: string) => store(newVisitor(), [landing('/', at(20)), form('/', 'newsletter', at(20, 1), { 'email  email': email, 'company  ': company })], 'globex');
    await signUp(acme.bruce, 'Acmé SAS');
    await signUp(acme.diana, 'ACME, Inc.');
    await signUp(insurer, 'Acme Insurance');
    // A company named in another script: the accounts list names it so, and its leads are listed by that name.
    const yandex = [`ivan.${newVisitor()}@mail.ru`, `olga.${newVisitor()}@gmail.com`];
    await signUp(yandex[0]!, 'Яндекс');
    await signUp(yandex[1]!, 'ЯНДЕКС');
    await server.scorer.settled();

    const { body } = await api('/api/dashboard/accounts?site=globex');
    const account = body.accounts.find((candidate: { id: string }) => candidate.id === 'company:acme');
    expect(account).toMatchObject({ leads: 2 });
    // A page at a time, as the page turns them: an account each here, in the list's order, and past the end none.
    expect(body.total).toBeGreaterThanOrEqual(2);
    const pages = await Promise.all(Array.from({ length: body.total + 1 }, (_, offset) => api(`/api/dashboard/accounts?site=globex&limit=1&offset=${offset}`)));
    expect(pages.map((page) => [page.body.offset, page.body.total, ...page.body.accounts.map((one: { id: string }) => one.id)])).toEqual([
      ...body.accounts.map((one: { id: string }, offset: number) => [offset, body.total, one.id]),
      [body.total, body.total],
    ]);
    expect((await api('/api/dashboard/accounts?site=globex&offset=-1')).body.problems.map((problem: { path: string }) => problem.path)).toEqual(['offset']);
    const emailsOf = async (search: string) => {
      const { status, body: list } = await api(`/api/dashboard/leads?site=globex&${search}`);
      expect(status, search).toBe(200);
      return list.leads.map((lead: { email: string }) => lead.email).sort();
    };
    expect(await emailsOf('account=company:acme')).toEqual([acme.bruce, acme.diana].sort());
    expect(await emailsOf('account=acme-insurance.test')).toEqual([insurer]);
    expect(body.accounts.find((candidate: { id: string }) => candidate.id === 'company:яндекс')).toMatchObject({ leads: 2 });
    expect(await emailsOf(`account=${encodeURIComponent('company:яндекс')}`)).toEqual([...yandex].sort());
    // The search the accounts page linked to finds another number of leads than the account counts.
    expect((await emailsOf(`q=${encodeURIComponent(account.name)}`)).length).not.toBe(account.leads);
    const csv = await fetch(`${server.url}/api/leads.csv?site=globex&account=company:acme`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect((await csv.text()).trimEnd().split('\r\n')).toHaveLength(1 + account.leads);

    const problems = async (account: string) => {
      const response = await api(`/api/dashboard/leads?site=globex&account=${encodeURIComponent(account)}`);
      expect(response.status, account).toBe(400);
      return response.body.problems;
    };
    const expected = 'expected an account as the accounts list names it: an email domain (acme.example) or company:NAME (company:acme)';
    expect(await problems('')).toEqual([{ path: 'account', message: `${expected} (got "")` }]);
    expect((await problems('company:')).map((problem: { path: string }) => problem.path)).toEqual(['account']);
    expect((await problems('jo@acme.example')).map((problem: { path: string }) => problem.path)).toEqual(['account']);
  });

  it('exports the accounts as CSV, every one of the temperature asked, as the page lists them', async () => {
    const csv = async (search: string) => {
      const response = await fetch(`${server.url}/api/accounts.csv?${search}`, { headers: { authorization: `Bearer ${marketingToken.token}` } });
      expect([response.status, response.headers.get('content-type')]).toEqual([200, 'text/csv; charset=utf-8']);
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="hearth-accounts-acme-\d{4}-\d{2}-\d{2}\.csv"$/);
      return (await response.text()).trimEnd().split('\r\n');
    };
    const { body } = await api('/api/dashboard/accounts?site=acme');
    const lines = await csv('site=acme');
    expect(lines[0]).toBe('id,name,score,temperature,leads,roles,roles_counted,best_leads');
    expect(lines).toHaveLength(body.total + 1);
    // Its roles as the page names them, and those its score counts (its warm and hot leads').
    expect(lines[1]).toBe(`initech.test,Initech,${body.accounts[0].score},warm,1,C-level,C-level,${emails.ceo} ${body.accounts[0].topLeads[0].score}`);
    expect(await csv('site=acme&temperature=hot')).toEqual([lines[0]]);
    // The temperature in any case, as every list of leads and accounts takes it.
    expect(await csv('site=acme&temperature=WARM')).toEqual(await csv('site=acme&temperature=warm'));
    expect((await api('/api/dashboard/accounts?site=acme&temperature=Warm')).body).toEqual((await api('/api/dashboard/accounts?site=acme&temperature=warm')).body);
    expect((await fetch(`${server.url}/api/accounts.csv?site=acme&limit=5`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status).toBe(400);
  });
});

describe('source names', () => {
  // The lead page names its first touch and each visit's arrival in the browser (labels.ts sourceName); the lists,
  // filters and exports in SQL (SOURCE): one name, so what the lead page shows finds the lead in the list.
  it('are the same in the lead page as in the lists, filters and exports', async () => {
    const touches: [string, string][] = [['LinkedIn', ''], ['', 'www.Google.com'], ['', 'news.ycombinator.com'], ['', ''], ['Newsletter_Mai', 'www.acme.test'], ['Salon-Été', ''], ['', 'WWW.example.org']];
    const result = await server.client.query({
      query: `SELECT ${SOURCE} AS source FROM (SELECT {utm:Array(String)}[n] AS utm_source, {hosts:Array(String)}[n] AS referrer_host, n FROM (SELECT arrayJoin(range(1, length({utm:Array(String)}) + 1)) AS n)) ORDER BY n`,
      query_params: { utm: touches.map((touch) => touch[0]), hosts: touches.map((touch) => touch[1]) },
      format: 'JSONEachRow',
    });
    const inSql = (await result.json<{ source: string }>()).map((row) => row.source);
    expect(touches.map(([utm, host]) => sourceName(utm, host))).toEqual(inSql);
    expect(inSql).toEqual(['linkedin', 'google.com', 'news.ycombinator.com', '(direct)', 'newsletter_mai', 'salon-été', 'example.org']);
  });
});

describe('lead lists and CSV export', () => {
  it('lists the hottest leads first with their top reasons, and filters by what the panels show', async () => {
    const { body } = await api(`/api/dashboard/leads?${WEEK}`);
    expect(body.total).toBe(4);
    expect(body.leads.map((lead: { email: string }) => lead.email)).toEqual([emails.ceo, emails.manager, emails.analyst, emails.student]);
    expect(body.leads[0]).toMatchObject({ name: '', company: 'Initech', jobTitle: 'CEO', country: 'FR', temperature: 'hot', stage: 'BOFU', lifecycle: 'mql', source: 'linkedin', owner: null });
    // Two pricing views yesterday at noon: 2 × 20 points, decayed by their age (half-life 30 days), stored and listed
    // to the hundredth. Their age depends on the time of day the test runs (12 to 36 hours), so the points are
    // computed from it, as of any moment since the seed began: the scorer ran in between.
    const listed = (asOf: number) => Math.round([at(1, 1), at(1, 3)].reduce((sum, t) => sum + 20 * 0.5 ** ((asOf - t) / DAY_MS / 30), 0) * 100) / 100;
    expect(body.leads[0].topReasons[0].rule).toBe('pricing-page');
    expect([listed(seededFrom), listed(Date.now())]).toContain(body.leads[0].topReasons[0].points);

    const emailsOf = async (query: string) => (await api(`/api/dashboard/leads?${WEEK}&${query}`)).body.leads.map((lead: { email: string }) => lead.email);
    expect(await emailsOf('temperature=hot')).toEqual([emails.ceo]);
    expect(await emailsOf('temperature=warm,hot')).toEqual([emails.ceo, emails.manager]);
    expect(await emailsOf('source=display')).toEqual([emails.analyst, emails.student]);
    expect(await emailsOf('funnel=MOFU')).toEqual([emails.ceo, emails.manager]);
    expect(await emailsOf('content=webinar:webinar-signup')).toEqual([emails.manager]);
    expect(await emailsOf('content=download:/assets/whitepaper-lead-scoring.pdf')).toEqual([emails.student]);
    expect(await emailsOf('maxScore=-1')).toEqual([emails.student]);
    expect(await emailsOf('sort=recent&limit=2')).toEqual([emails.ceo, emails.manager]);
    // Without a period: every lead, last week's reader too.
    expect((await api('/api/dashboard/leads?site=acme')).body.total).toBe(5);
  });

  it('pages and filters scores with any whole number, never one wrapped to 32 bits', async () => {
    const totalOf = async (query: string) => (await api(`/api/dashboard/leads?site=acme&${query}`)).body.total;
    // 2^32 + 1, 2^32 - 1000, 3e9 and -3e9: 32-bit parameters read them as 1, -1000, -1.29e9 and 1.29e9.
    expect((await api('/api/dashboard/leads?site=acme&offset=4294967297&limit=1')).body).toEqual({ site: 'acme', total: 5, position: 4294967298, next: null, previous: null, leads: [] });
    expect(await totalOf('minScore=4294966296')).toBe(0);
    expect(await totalOf('minScore=3000000000')).toBe(0);
    expect(await totalOf('maxScore=-3000000000')).toBe(0);
    expect(await totalOf('minScore=-3000000000&maxScore=3000000000')).toBe(5);
  });

  it('follows sales: a qualified lead with an owner becomes a prospect in the KPIs, the funnel and the lists', async () => {
    const id = await leadId(emails.ceo);
    await qualify(id, { boxes: { budget: true, authority: true, need: true, timing: true }, owner: 'sam' });
    expect((await api(`/api/dashboard/summary?${WEEK}`)).body.kpis).toMatchObject({ mqls: { current: 0 }, prospects: { current: 1 }, hot: { current: 1 } });
    expect((await api(`/api/dashboard/funnel?${WEEK}`)).body.steps.at(-1)).toEqual({ step: 'prospect', leads: 1, conversion: 1 });
    const prospects = (await api(`/api/dashboard/leads?${WEEK}&lifecycle=prospect`)).body.leads;
    expect(prospects).toEqual([expect.objectContaining({ email: emails.ceo, lifecycle: 'prospect', owner: 'sam' })]);
    expect((await api(`/api/dashboard/leads?${WEEK}&owner=sam`)).body.total).toBe(1);
    // As alerts route owners: an owner typed "Sam" is sam's lead in "my leads" too.
    expect((await api(`/api/dashboard/leads?${WEEK}&owner=SAM`)).body.total).toBe(1);
    expect((await api(`/api/dashboard/leads?${WEEK}&owner=`)).body.total).toBe(3);
    // A source as people type it.
    const ids = async (source: string) => (await api(`/api/dashboard/leads?${WEEK}&source=${source}`)).body.leads.map((lead: { id: string }) => lead.id);
    expect((await ids('linkedin')).length).toBeGreaterThan(0);
    expect(await ids('LinkedIn')).toEqual(await ids('linkedin'));
  });

  it('drills down to a source as long as a campaign tag can be, as the sources panel links it', async () => {
    const source = `partner-${'x'.repeat(400)}`;
    const email = `gus.${newVisitor()}@umbrella.test`;
    await store(newVisitor(), [landing('/newsletter', at(1), `?utm_source=${source}&utm_medium=partner`), form('/newsletter', 'newsletter', at(1, 1), { 'email  email': email })], 'umbra');
    await server.scorer.settled();
    const UMBRA = `site=umbra&from=${dayOf(6)}&to=${dayOf(0)}`;
    expect((await api(`/api/dashboard/sources?${UMBRA}`)).body.sources).toContainEqual(expect.objectContaining({ source, leads: 1 }));
    const drilled = await api(`/api/dashboard/leads?${UMBRA}&source=${source}`);
    expect(drilled.status).toBe(200);
    expect(drilled.body.leads.map((lead: { email: string }) => lead.email)).toEqual([email]);
    // A tag longer than a stored address is cut as the address is (QA: a 2,105-character source was kept whole, and
    // its drill-down refused it).
    const longer = `partner-${'é'.repeat(2100)}`;
    const kept = longer.slice(0, 2048);
    const other = `ivy.${newVisitor()}@umbrella.test`;
    await store(newVisitor(), [landing('/newsletter', at(1), `?utm_source=${encodeURIComponent(longer)}`), form('/newsletter', 'newsletter', at(1, 1), { 'email  email': other })], 'umbra');
    await server.scorer.settled();
    expect((await api(`/api/dashboard/sources?${UMBRA}`)).body.sources).toContainEqual(expect.objectContaining({ source: kept, leads: 1 }));
    const drilledLonger = await api(`/api/dashboard/leads?${UMBRA}&source=${encodeURIComponent(kept)}`);
    expect(drilledLonger.status).toBe(200);
    expect(drilledLonger.body.leads.map((lead: { email: string }) => lead.email)).toEqual([other]);
  });

  it('exports a list as CSV with the same filters, one row per lead, formulas defused', async () => {
    const response = await fetch(`${server.url}/api/leads.csv?${WEEK}&source=display`, { headers: { authorization: `Bearer ${marketingToken.token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="hearth-leads-acme-\d{4}-\d{2}-\d{2}\.csv"$/);
    const bytes = Buffer.from(await response.arrayBuffer());
    // A UTF-8 byte-order mark first, so that Excel reads the accents of "Générale" rather than the legacy code page's.
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString('utf8').trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,email,name,company,job_title,country,score,fit,engagement,source_points,negative,temperature,stage,lifecycle,owner,source,top_reasons,first_seen,last_seen');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(`,${emails.analyst},,"'=HYPERLINK(""http://evil.test"",""Umbrella"")",Data Analyst,`);
    expect(lines[2]).toMatch(new RegExp(`^l_[0-9a-f]{20},${emails.student.replaceAll('.', '\\.')},,,Student,,-?\\d+,`));
    // A cold student: the minus points that make her cold are among her top reasons, named as the lists name them, in
    // one cell however the reader splits (Excel splits on semicolons in French and German locales).
    expect(lines[2]).toMatch(/,cold,TOFU,lead,,display,"Student -15; Free email address -10; White paper \+\d+\.\d\d?",/);
  });

  it('streams a CSV a piece at a time, and names in the file a list cut at the export limit', async () => {
    const whole = await fetch(`${server.url}/api/leads.csv?${WEEK}&source=display`, { headers: { authorization: `Bearer ${marketingToken.token}` } });
    // Sent as it is made, not held whole first (a 100,000-lead file held the event loop 1.8 s): no length ahead.
    expect([whole.headers.get('content-length'), whole.headers.get('transfer-encoding'), whole.headers.get('x-total-count')]).toEqual([null, 'chunked', '2']);
    await whole.arrayBuffer();
    const cut = await fetch(`${server.url}/api/leads.csv?${WEEK}&source=display&limit=1`, { headers: { authorization: `Bearer ${marketingToken.token}` } });
    expect(cut.headers.get('content-disposition')).toMatch(/^attachment; filename="hearth-leads-acme-\d{4}-\d{2}-\d{2}-first-1-of-2\.csv"$/);
    expect((await cut.text()).trimEnd().split('\r\n')).toHaveLength(2);
  });

  it('gives each listed lead the parts its score adds up from, and the reasons that weigh most either way', async () => {
    const { body } = await api(`/api/dashboard/leads?${WEEK}`);
    for (const lead of body.leads) expect(Math.abs(lead.fit + lead.engagement + lead.sourcePoints + lead.negative - lead.score), lead.email).toBeLessThan(0.5 + 1e-9);
    const student = body.leads.find((lead: { email: string }) => lead.email === emails.student);
    expect(student.negative).toBe(-25);
    expect(student.topReasons.map((reason: { rule: string; points: number }) => `${reason.rule} ${reason.points}`)).toEqual(['student -15', 'free-mail -10', expect.stringMatching(/^white-paper \d+\.\d\d?$/)]);
    // The API's list and lead name the parts alike (QA: its `source` was the points, the dashboards' the channel).
    const listed = (await api('/api/leads?site=acme&kind=lead&limit=1000')).body.leads.find((lead: { email: string }) => lead.email === emails.student);
    const one = (await api(`/api/leads/${listed.id}?site=acme`)).body;
    for (const shown of [listed, one]) expect(shown).toMatchObject({ fit: student.fit, engagement: student.engagement, sourcePoints: student.sourcePoints, negative: student.negative });
  });
});

describe('pages of a lead list turned while leads arrive (site paging)', () => {
  const people = [1, 2, 3, 4, 5].map((n) => `person${n}.${newVisitor()}@paging.test`);
  const arrive = (email: string, minutes: number) => store(newVisitor(), [form('/contact', 'newsletter', at(0, minutes - 24 * 60), { email })], 'paging');
  const pageOf = async (query: string) => {
    const { body } = await api(`/api/dashboard/leads?site=paging&sort=recent&limit=2&${query}`);
    return { emails: body.leads.map((lead: { email: string }) => lead.email), position: body.position, total: body.total, next: body.next, previous: body.previous };
  };
  beforeAll(async () => {
    // Seen one a minute, the fifth last: the most recent first, person 5 to person 1.
    for (const [n, email] of people.entries()) await arrive(email, n);
    await server.scorer.settled();
  });

  it('neither repeats nor skips a lead when one arrives between two turns, forwards and back', async () => {
    const first = await pageOf('');
    expect(first).toMatchObject({ emails: [people[4], people[3]], position: 1, total: 5, previous: null });
    // A new lead tops the list before the next page is asked for: an offset of 2 would show person 4 again.
    const newcomer = `newcomer.${newVisitor()}@paging.test`;
    await arrive(newcomer, 10);
    await server.scorer.settled();
    const second = await pageOf(`after=${first.next}`);
    expect(second).toMatchObject({ emails: [people[2], people[1]], position: 4, total: 6 });
    const third = await pageOf(`after=${second.next}`);
    expect(third).toMatchObject({ emails: [people[0]], position: 6, next: null });
    // Back from the second page: the two leads before it, the newcomer's arrival counted in the position.
    expect(await pageOf(`before=${second.previous}`)).toMatchObject({ emails: [people[4], people[3]], position: 2 });
    expect(await pageOf(`before=${(await pageOf(`before=${second.previous}`)).previous}`)).toMatchObject({ emails: [newcomer], position: 1, previous: null });
  });

  it('refuses a page edge it did not give, or given with an offset or with the other edge', async () => {
    const problemsOf = async (query: string) => (await api(`/api/dashboard/leads?site=paging&${query}`)).body.problems;
    const { next } = await pageOf('');
    expect(await problemsOf('after=12.abc.l_x')).toEqual([expect.objectContaining({ path: 'after', message: 'expected the "next" or "previous" of a page of this list, as it was given (got "12.abc.l_x")' })]);
    expect(await problemsOf(`after=${next}&offset=2`)).toEqual([expect.objectContaining({ path: 'offset', message: 'give offset or a page edge (after, before), not both' })]);
    expect(await problemsOf(`after=${next}&before=${next}`)).toEqual([expect.objectContaining({ path: 'before', message: 'give after or before, not both' })]);
  });

  it('sorts by the fit or the engagement part of the score, best first, and turns pages of either both ways', async () => {
    type Listed = { id: string; email: string; score: number; fit: number; engagement: number; lastSeen: string };
    const listOf = async (query: string) => (await api(`/api/dashboard/leads?site=acme&${query}`)).body as { leads: Listed[]; next: string | null; previous: string | null; position: number };
    const scored = (await listOf('sort=score')).leads;
    expect(scored.map((lead) => lead.email).slice(-2)).toEqual([emails.analyst, emails.student]);
    for (const sort of ['fit', 'engagement'] as const) {
      const { leads } = await listOf(`sort=${sort}`);
      // The part first, then the score, then the most recently seen, then the id.
      const keys = (lead: Listed) => [Math.round(lead[sort] * 100), lead.score, Date.parse(lead.lastSeen)];
      const before = (a: Listed, b: Listed) => {
        const [x, y] = [keys(a), keys(b)];
        const at = x.findIndex((key, n) => key !== y[n]);
        return at >= 0 ? x[at]! > y[at]! : a.id < b.id;
      };
      expect(leads.map((lead) => lead.email), sort).toEqual([...leads].sort((a, b) => (before(a, b) ? -1 : 1)).map((lead) => lead.email));
      expect(new Set(leads.map((lead) => lead.email))).toEqual(new Set(scored.map((lead) => lead.email)));
      // By fit the CEO (90 points), the manager (20), then the three of no fit by score; by engagement the student's
      // white paper (9 points) puts her before the analyst, who read nothing, where her minus points put her last by score.
      const { ceo, manager, lastWeek, analyst, student } = emails;
      expect(leads.map((lead) => lead.email), sort).toEqual(sort === 'fit' ? [ceo, manager, lastWeek, analyst, student] : [ceo, manager, lastWeek, student, analyst]);
      // Pages of two, forwards to the end and back to the start, by their edges.
      const forwards: string[] = [];
      let page = await listOf(`sort=${sort}&limit=2`);
      for (;;) {
        forwards.push(...page.leads.map((lead) => lead.email));
        if (!page.next) break;
        page = await listOf(`sort=${sort}&limit=2&after=${page.next}`);
      }
      expect(forwards, sort).toEqual(leads.map((lead) => lead.email));
      const backwards: string[] = [];
      for (;;) {
        backwards.unshift(...page.leads.map((lead) => lead.email));
        if (!page.previous) break;
        page = await listOf(`sort=${sort}&limit=2&before=${page.previous}`);
      }
      expect([backwards, page.position], sort).toEqual([leads.map((lead) => lead.email), 1]);
    }
    // An edge of a list sorted by score carries no part; one sorted by fit carries its fit: each is refused by the others.
    const byScore = (await listOf('sort=score&limit=1')).next!;
    const byFit = (await listOf('sort=fit&limit=1')).next!;
    expect(byFit).toMatch(/^-?\d+\.\d+\.fit\d+\.l_[0-9a-f]{20}$/);
    for (const [query, path, sort] of [[`sort=fit&after=${byScore}`, 'after', 'fit'], [`sort=recent&before=${byFit}`, 'before', 'recent'], [`sort=engagement&after=${byFit}`, 'after', 'engagement']]) {
      expect((await api(`/api/dashboard/leads?site=acme&${query}`)).body.problems, query).toEqual([
        expect.objectContaining({ path, message: `the "next" or "previous" of a list sorted otherwise than by ${sort}: give it with the sort of its list` }),
      ]);
    }
    // No edge of any list (that of /api/leads, a part's points not whole): one problem, what it is not.
    for (const edge of ['fit.3000.l_x', '1.2.fit12.5.l_x', '1.2.3.l_x']) {
      expect((await api(`/api/dashboard/leads?site=acme&sort=fit&after=${edge}`)).body.problems, edge).toEqual([
        expect.objectContaining({ path: 'after', message: `expected the "next" or "previous" of a page of this list, as it was given (got "${edge}")` }),
      ]);
    }
  });
});

describe('the sites', () => {
  it('says where each site\'s alerts go, by destination id and type, never by URL or secret, to every role', async () => {
    const { status, body } = await getJson(server, '/api/dashboard/sites', marketingToken.token);
    expect(status).toBe(200);
    expect(body.sites.map(({ id, alertDestinations }: { id: string; alertDestinations: unknown }) => ({ id, alertDestinations }))).toEqual([
      { id: 'acme', alertDestinations: [] },
      { id: 'initech', alertDestinations: [] },
      { id: 'globex', alertDestinations: [{ id: 'crm', type: 'webhook' }] },
      { id: 'hooli', alertDestinations: [] },
      { id: 'umbra', alertDestinations: [] },
      { id: 'wayne', alertDestinations: [] },
      { id: 'paging', alertDestinations: [] },
      { id: 'stark', alertDestinations: [] },
      { id: 'umbrella', alertDestinations: [] },
    ]);
    const text = JSON.stringify(body);
    expect([text.includes(receiver.url), text.includes('a-test-signing-key')]).toEqual([false, false]);
  });
});

describe('who may ask, and bad questions', () => {
  it('answers every role, and nobody without credentials', async () => {
    for (const path of [`/api/dashboard/summary?${WEEK}`, `/api/dashboard/leads?${WEEK}`, `/api/leads.csv?${WEEK}`]) {
      const anonymous = await fetch(`${server.url}${path}`);
      expect(anonymous.status).toBe(401);
      for (const token of [TEST_TOKEN, marketingToken.token, salesToken.token]) {
        expect((await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      }
    }
  });

  it('names the bad parameter in a 400', async () => {
    const problems = async (query: string) => {
      const response = await api(`/api/dashboard/summary?${query}`);
      expect(response.status).toBe(400);
      return response.body.problems.map((problem: { path: string; message: string }) => `${problem.path}: ${problem.message}`);
    };
    expect(await problems('site=acme&from=2026-13-01')).toEqual(['from: not a calendar day (got "2026-13-01")']);
    expect(await problems('site=acme&from=yesterday')).toEqual(['from: expected a day as YYYY-MM-DD (got "yesterday")']);
    expect(await problems('site=acme&from=2026-03-10&to=2026-03-01')).toEqual(['from: the period starts after it ends (to is 2026-03-01) (got "2026-03-10")']);
    expect(await problems('site=acme&from=2024-01-01&to=2026-01-01')).toEqual(['from: a view covers at most 366 days (got "2024-01-01")']);
    expect(await problems('site=nope')).toEqual(['site: unknown site; configured sites: acme, initech, globex, hooli, umbra, wayne, paging, stark, umbrella (got "nope")']);
    expect(await problems('site=acme&form=2026-01-01')).toEqual(['form: unknown key']);
    const listProblems = async (query: string) => (await api(`/api/dashboard/leads?site=acme&${query}`)).body.problems.map((problem: { path: string }) => problem.path);
    expect(await listProblems('temperature=hot,lukewarm')).toEqual(['temperature[1]']);
    // An empty one, as a script with an unset variable sends it, is refused as elsewhere, not read as every lead.
    expect(await listProblems('temperature=')).toEqual(['temperature']);
    expect(await listProblems('temperature=,')).toEqual(['temperature']);
    expect((await fetch(`${server.url}/api/leads.csv?site=acme&temperature=`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status).toBe(400);
    expect(await listProblems('content=page:/pricing')).toEqual(['content']);
    expect(await listProblems(`from=${dayOf(6)}&content=pricing`)).toEqual(['content']);
  });

  it('keeps a period, and the one before it, within the years 1970 to 2200 rather than failing in the store', async () => {
    const outside = 'expected a day from 1970-01-01 to 2200-12-31';
    for (const route of ['summary', 'timeseries', 'funnel', 'sources', 'content', 'pricing', 'score-distribution', 'leads']) {
      const response = await api(`/api/dashboard/${route}?site=acme&to=9999-12-31`);
      expect(response.status, route).toBe(400);
      expect(response.body.problems, route).toEqual([{ path: 'to', message: `${outside} (got "9999-12-31")` }]);
    }
    const problems = async (path: string) => (await api(path)).body.problems;
    expect(await problems('/api/dashboard/leads?site=acme&from=9999-01-01&to=9999-12-31')).toEqual([
      { path: 'from', message: `${outside} (got "9999-01-01")` },
      { path: 'to', message: `${outside} (got "9999-12-31")` },
    ]);
    expect((await problems('/api/dashboard/summary?site=acme&from=0000-01-01&to=0000-01-02')).map((problem: { path: string }) => problem.path)).toEqual(['from', 'to']);
    expect(await problems('/api/leads.csv?site=acme&from=1970-01-01&to=1970-01-07')).toEqual([
      { path: 'from', message: 'the period before this one, which it is compared with, would start on 1969-12-25: periods run from 1970-01-01 to 2200-12-31 (got "1970-01-01")' },
    ]);
    // Without from, the 30 days up to to: the problem is named after the parameter given.
    expect(await problems('/api/dashboard/summary?site=acme&to=1970-01-10')).toEqual([
      { path: 'to', message: 'the period before this one, which it is compared with, would start on 1969-11-12: periods run from 1970-01-01 to 2200-12-31 (got "1970-01-10")' },
    ]);
    // The edges themselves are fine (a period up to the last day ends today), but a period that starts after today
    // has nothing in it yet.
    for (const path of ['/api/dashboard/summary?site=acme&from=1970-01-08&to=1970-01-14', '/api/dashboard/leads?site=acme&to=2200-12-31']) {
      expect((await api(path)).status, path).toBe(200);
    }
    expect((await problems('/api/dashboard/pricing?site=acme&from=2200-12-01&to=2200-12-31')).map((problem: { path: string }) => problem.path)).toEqual(['from']);
  });

  it('names a number left empty or not written in digits rather than reading it as 0 or in hexadecimal', async () => {
    const problems = async (path: string) => {
      const response = await api(path);
      expect(response.status, path).toBe(400);
      return response.body.problems;
    };
    // `?minScore=` is no filter: read as 0, it listed only the leads at 0 points or more (the student's -25 hidden).
    expect(await problems('/api/dashboard/leads?site=acme&minScore=')).toEqual([{ path: 'minScore', message: 'expected a whole number (got "")' }]);
    expect(await problems('/api/leads.csv?site=acme&maxScore=%20')).toEqual([{ path: 'maxScore', message: 'expected a whole number (got " ")' }]);
    expect((await problems('/api/dashboard/leads?site=acme&limit=0x10&offset=1e3')).map((problem: { path: string }) => problem.path)).toEqual(['limit', 'offset']);
    expect((await problems('/api/dashboard/content?site=acme&limit=%2B5')).map((problem: { path: string }) => problem.path)).toEqual(['limit']);
    expect((await problems('/api/dashboard/score-distribution?site=acme&bucket=2.5')).map((problem: { path: string }) => problem.path)).toEqual(['bucket']);
    expect((await problems('/api/dashboard/accounts?site=acme&limit=')).map((problem: { path: string }) => problem.path)).toEqual(['limit']);
    // A number past JavaScript's safe integers is one problem: over the limit's 1,000, not also an unsafe integer.
    expect(await problems('/api/dashboard/leads?site=acme&limit=99999999999999999999')).toEqual([{ path: 'limit', message: 'expected a whole number at most 1000 (got "99999999999999999999")' }]);
    expect(await problems('/api/dashboard/leads?site=acme&minScore=-99999999999999999999')).toEqual([
      { path: 'minScore', message: 'expected a whole number from -9007199254740991 to 9007199254740991 (got "-99999999999999999999")' },
    ]);
    // Digits, with a minus sign for a score, are read as ever.
    expect((await api('/api/dashboard/leads?site=acme&minScore=-100&maxScore=-1&limit=5&offset=0')).body.leads).toEqual([expect.objectContaining({ email: emails.student })]);
  });

  it('says a parameter is given twice rather than that it is not a number', async () => {
    const response = await api('/api/dashboard/leads?site=acme&limit=1&limit=2');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid query', code: 'invalid_query', problems: [{ path: 'limit', message: 'given 2 times: give it once (got "1", "2")' }] });
  });
});
