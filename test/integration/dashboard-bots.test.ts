import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchToRows } from '../../collector/ingest/rows.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import { describeUserAgent } from '../../collector/ingest/user-agent.ts';
import type { WireBatch } from '../../collector/ingest/wire.ts';
import type { RunningServer } from '../../collector/server.ts';
import { BROWSER_USER_AGENT, getJson, newVisitor, SITE_ORIGIN, startTestServer } from '../support/server.ts';

/**
 * Bots in the marketing figures: left out as scoring leaves them out, and counted where the site's rules count them
 * (`countBots`, for a site whose server sends events with curl or Node, which the collector flags as bots). Both
 * sites get the same history: a server-side sender, flagged by its User-Agent, whose CEO views pricing for 30 s and
 * asks for a demo, and one person in a browser who reads the home page.
 */
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    sites: [
      { id: 'acme', origins: [SITE_ORIGIN], pageGroups: { pricing: ['/pricing*'] } },
      { id: 'globex', origins: ['https://globex.test'], pageGroups: { pricing: ['/pricing*'] }, rules: { countBots: true } },
    ],
  });
  for (const site of ['acme', 'globex']) await seed(site);
  await server.scorer.settled();
});
afterAll(async () => server?.close());

const DAY_MS = 86_400_000;
const todayStart = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
/** Noon (UTC) `daysAgo` days ago, plus some seconds. */
const at = (daysAgo: number, seconds = 0) => todayStart - daysAgo * DAY_MS + 12 * 3_600_000 + seconds * 1000;
const dayOf = (daysAgo: number) => new Date(todayStart - daysAgo * DAY_MS).toISOString().slice(0, 10);
const CURL = 'curl/8.5.0';

/** Stores a browser's events with their own times, as the write-ahead log does, and tells the scorer. */
async function store(site: string, visitor: string, events: Record<string, unknown>[], userAgent: string) {
  const batch = { s: site, v: visitor, sid: newVisitor(), e: events.map((event) => ({ i: randomUUID(), ...event })) } as WireBatch;
  const rows = batchToRows(batch, Math.max(...events.map((event) => event.t as number)) + 1000, { userAgent: describeUserAgent(userAgent) });
  await insertEvents(server.client, rows);
  server.scorer.noteStored(rows);
}

const ceo = (site: string) => `ceo.${site}@initech.test`;

async function seed(site: string) {
  await store(
    site,
    newVisitor(),
    [
      { n: 'v', u: `${SITE_ORIGIN}/pricing`, t: at(3), ss: 1 },
      { n: 'e', u: `${SITE_ORIGIN}/pricing`, t: at(3, 40), ms: 30_000 },
      { n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: at(3, 60), p: { 'email  email': ceo(site), 'job_title  ': 'CEO' } },
    ],
    CURL,
  );
  await store(site, newVisitor(), [{ n: 'v', u: `${SITE_ORIGIN}/`, t: at(2), ss: 1 }], BROWSER_USER_AGENT);
}

const api = async (path: string) => {
  const { status, body } = await getJson(server, path);
  expect(status, path).toBe(200);
  return body;
};
const week = (site: string) => `site=${site}&from=${dayOf(6)}&to=${dayOf(0)}`;

describe('bots in the marketing figures', () => {
  it('leaves the flagged sender out of every figure of a site whose rules leave bots out', async () => {
    expect((await api(`/api/dashboard/summary?${week('acme')}`)).kpis).toMatchObject({ visitors: { current: 1 }, identifiedLeads: { current: 0 }, newLeads: { current: 0 } });
    expect((await api(`/api/dashboard/leads?site=acme`)).total).toBe(0);
    expect(await api(`/api/dashboard/pricing?${week('acme')}`)).toMatchObject({ views: { current: 0 }, visitors: { current: 0 }, leads: { current: 0 } });
    expect((await api(`/api/dashboard/content?${week('acme')}`)).pages).toEqual([{ item: '/', visitors: 1, leads: 0, hotLeads: 0 }]);
  });

  it('counts the flagged sender in the period\'s figures and lists of a site whose rules count bots, as its score does', async () => {
    // Scored: the lead is in the list of all leads.
    const all = await api('/api/dashboard/leads?site=globex');
    expect(all.leads).toEqual([expect.objectContaining({ email: ceo('globex'), jobTitle: 'CEO' })]);
    // And seen this week, in the key figures, the panels, the list of the week and its export.
    expect((await api(`/api/dashboard/summary?${week('globex')}`)).kpis).toMatchObject({ visitors: { current: 2 }, identifiedLeads: { current: 1 }, newLeads: { current: 1 } });
    expect((await api(`/api/dashboard/timeseries?${week('globex')}`)).visitors).toEqual([0, 0, 0, 1, 1, 0, 0]);
    expect((await api(`/api/dashboard/funnel?${week('globex')}`)).leads).toBe(1);
    expect((await api(`/api/dashboard/leads?${week('globex')}`)).leads).toEqual([expect.objectContaining({ email: ceo('globex') })]);
    expect(await api(`/api/dashboard/pricing?${week('globex')}`)).toMatchObject({
      views: { current: 1 },
      visitors: { current: 1 },
      leads: { current: 1 },
      averageEngagedSeconds: { current: 30 },
      topLeads: [expect.objectContaining({ email: ceo('globex'), views: 1, engagedSeconds: 30 })],
    });
    expect((await api(`/api/dashboard/content?${week('globex')}`)).pages).toContainEqual({ item: '/pricing', visitors: 1, leads: 1, hotLeads: 0 });
    expect((await api(`/api/dashboard/leads?${week('globex')}&content=page:/pricing`)).total).toBe(1);
    expect((await api(`/api/dashboard/sources?${week('globex')}`)).sources).toEqual([expect.objectContaining({ source: '(direct)', visitors: 2, leads: 1 })]);
    const csv = await fetch(`${server.url}/api/leads.csv?${week('globex')}`, { headers: { authorization: 'Bearer test-admin-token' } });
    expect((await csv.text()).trimEnd().split('\r\n')).toHaveLength(2);
  });
});
