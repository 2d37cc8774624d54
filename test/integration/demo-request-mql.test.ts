import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtestSite } from '../../collector/backtest.ts';
import { rulesOf } from '../../collector/api/scores.ts';
import { parseConfig } from '../../collector/config/load.ts';
import { batchToRows } from '../../collector/ingest/rows.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import { describeUserAgent } from '../../collector/ingest/user-agent.ts';
import type { WireBatch } from '../../collector/ingest/wire.ts';
import type { RunningServer } from '../../collector/server.ts';
import { BROWSER_USER_AGENT, drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

/**
 * A hand-raiser: someone who asks for a demo is an MQL whatever their score (the article's strongest buying signal,
 * and HubSpot's and Marketo's rule), while the window holds the request and until sales decide. The article's grid
 * gives a demo request no points, so a neutral profile who sends one stays cold: an MQL all the same, everywhere
 * marketing and sales look (the lead API and its filters, the lead page, the dashboards' key figures, funnel, lists
 * and CSV, and the backtest).
 */
const SITES = [{ id: 'acme', origins: [SITE_ORIGIN], pageGroups: { pricing: ['/pricing*'], product: ['/product*'] } }];

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ sites: SITES });
  await seed();
});
afterAll(() => server?.close());

const minutesAgo = (minutes: number) => Date.now() - minutes * 60_000;
const DAY_MS = 86_400_000;

const people = {
  /** Names herself and her company, nothing the grid gives points for, and asks for a demo: 0 points, cold. */
  handRaiser: `ada.${newVisitor()}@analytical-engines.test`,
  /** The same neutral answers in the newsletter form: 0 points, cold, a lead. */
  reader: `bob.${newVisitor()}@builder.test`,
  /** A CEO of 500 in France who views pricing, and signs up to the newsletter: 30 + 25 + 15 + 20 = 90, hot. */
  ceo: `carl.${newVisitor()}@initech.test`,
  /** Asked for a demo a hundred days ago, past the 90-day window: no longer a signal, so a lead. */
  former: `olga.${newVisitor()}@oldco.test`,
};

const form = (name: string, email: string, fields: Record<string, string> = {}, t = minutesAgo(10)) =>
  wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: name, t, p: { 'email  email': email, ...fields } });

async function seed() {
  const neutral = { 'first_name  ': 'Ada', 'last_name  ': 'Lovelace', 'company  ': 'Analytical Engines' };
  const batches = [
    { v: newVisitor(), e: [form('demo-request', people.handRaiser, neutral)] },
    { v: newVisitor(), e: [form('newsletter', people.reader, { ...neutral, 'first_name  ': 'Bob' })] },
    {
      v: newVisitor(),
      e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(12) }), form('newsletter', people.ceo, { 'job_title  ': 'CEO', 'company_size  ': '500', 'country  ': 'France' })],
    },
  ];
  for (const batch of batches) expect((await postBatch(server, { s: 'acme', ...batch })).status).toBe(202);
  // The collector keeps no time older than a day: the old request is stored as it would have been then.
  const old = { s: 'acme', v: newVisitor(), sid: newVisitor(), e: [form('demo-request', people.former, {}, Date.now() - 100 * DAY_MS)] } as WireBatch;
  const rows = batchToRows(old, Date.now() - 100 * DAY_MS + 1000, { userAgent: describeUserAgent(BROWSER_USER_AGENT) });
  await insertEvents(server.client, rows);
  server.scorer.noteStored(rows);
  await drained(server);
}

const emailsOf = (leads: { email: string }[]) => leads.map((lead) => lead.email).sort();
const sorted = (...emails: string[]) => [...emails].sort();
const listed = async (query: string) => (await getJson(server, `/api/leads?site=acme&kind=lead${query}`)).body.leads as { id: string; email: string; lifecycle: string; temperature: string }[];
const dashboard = async (path: string) => (await getJson(server, `/api/dashboard/${path}`)).body;

describe('a lead who asks for a demo is an MQL whatever the score', () => {
  it('lists her as a cold MQL, from the stored scores and from raw events alike', async () => {
    for (const live of ['', '&bots=include']) {
      const leads = await listed(live);
      expect(leads.find((lead) => lead.email === people.handRaiser), live).toMatchObject({ score: 0, temperature: 'cold', lifecycle: 'mql' });
      expect(leads.find((lead) => lead.email === people.reader), live).toMatchObject({ score: 0, temperature: 'cold', lifecycle: 'lead' });
      expect(emailsOf(await listed(`&lifecycle=mql${live}`)), live).toEqual(sorted(people.handRaiser, people.ceo));
      // As the README and the dashboards write it, too.
      expect(emailsOf(await listed(`&lifecycle=MQL${live}`)), live).toEqual(sorted(people.handRaiser, people.ceo));
      expect(emailsOf(await listed(`&lifecycle=mql&temperature=cold${live}`)), live).toEqual([people.handRaiser]);
      expect(emailsOf(await listed(`&lifecycle=lead${live}`)), live).toEqual(sorted(people.reader, people.former));
    }
  });

  it('shows her lead page as an MQL, cold, with the demo request that makes her one', async () => {
    const id = (await listed('')).find((lead) => lead.email === people.handRaiser)!.id;
    const { body } = await getJson(server, `/api/leads/${id}?site=acme`);
    expect(body).toMatchObject({ score: 0, temperature: 'cold', lifecycle: 'mql' });
    expect(body.signals).toEqual([expect.objectContaining({ signal: 'demo_request' })]);
  });

  it('counts her among the dashboards\' MQLs, in the funnel\'s MQL step, and lists and exports her as one', async () => {
    const { kpis } = await dashboard('summary?site=acme');
    expect(kpis).toMatchObject({ identifiedLeads: { current: 3 }, hot: { current: 1 }, mqls: { current: 2 }, prospects: { current: 0 } });
    const { steps } = await dashboard('funnel?site=acme');
    expect(steps.find((step: { step: string }) => step.step === 'MQL')).toMatchObject({ leads: 2 });
    expect(emailsOf((await dashboard('leads?site=acme&lifecycle=mql')).leads)).toEqual(sorted(people.handRaiser, people.ceo));
    expect(emailsOf((await dashboard('leads?site=acme&funnel=MQL')).leads)).toEqual(sorted(people.handRaiser, people.ceo));
    expect(emailsOf((await dashboard('leads?site=acme&funnel=mql&lifecycle=MQL')).leads)).toEqual(sorted(people.handRaiser, people.ceo));
    expect(emailsOf((await dashboard('leads?site=acme&lifecycle=lead')).leads)).toEqual(sorted(people.reader, people.former));
    const csv = await fetch(`${server.url}/api/leads.csv?site=acme&q=${encodeURIComponent(people.handRaiser)}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    const [header, row] = (await csv.text()).trimEnd().split('\r\n');
    const cells = Object.fromEntries(header!.split(',').map((name, i) => [name, row!.split(',')[i]]));
    expect(cells).toMatchObject({ email: people.handRaiser, score: '0', temperature: 'cold', lifecycle: 'mql' });
  });

  it('counts her as an MQL under both rule sets in a backtest, hot or not', async () => {
    // A candidate no one is hot under: the CEO stops being an MQL, the hand-raiser stays one.
    const [site] = parseConfig({ sites: SITES }, 'test config').sites;
    const run = await backtestSite(server.client, site!, { rules: { ...rulesOf(site!), thresholds: { warm: 30, hot: 1000 } }, pageGroups: site!.pageGroups }, { rulesFile: 'no-one-hot.json' });
    expect(run.report.temperatures.hot).toEqual({ current: 1, candidate: 0 });
    expect(run.report.mql).toMatchObject({ current: 2, candidate: 1, entering: 0, leaving: 1, newlyMql: [] });
    expect(run.report.mql.noLongerMql.map((lead) => lead.email)).toEqual([people.ceo]);
  });

  it('leaves her to sales once they decide: disqualified, she is no MQL', async () => {
    const id = (await listed('')).find((lead) => lead.email === people.handRaiser)!.id;
    const response = await fetch(`${server.url}/api/leads/${id}/qualification?site=acme`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ disqualified: true, reason: 'a student project' }),
    });
    expect(response.status).toBe(200);
    expect(emailsOf(await listed('&lifecycle=mql'))).toEqual([people.ceo]);
    expect(emailsOf(await listed('&lifecycle=disqualified'))).toEqual([people.handRaiser]);
    expect((await dashboard('summary?site=acme')).kpis.mqls.current).toBe(1);
  });
});
