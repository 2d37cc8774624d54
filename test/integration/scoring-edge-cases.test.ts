import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow as StoredRow } from '../../collector/ingest/rows.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import { createStoreClient } from '../../collector/store/client.ts';
import { migrate } from '../../collector/store/migrate.ts';
import type { LeadScore } from '../../scoring/compile.ts';
import { defaultRules, rulesSchema } from '../../scoring/rules.ts';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { scoreLeads } from '../../scoring/store.ts';
import { processDataDir } from '../support/data-dir.ts';

// Edge cases of scoring's results a review found wrong (each failed before its fix), and the thresholds' edges.

const NOW = new Date('2026-03-02T12:00:00.000Z');
const DAY = 86_400_000;
const PAGE_GROUPS = { product: ['/product*'], pricing: ['/pricing*'], resources: ['/resources*'], webinar: ['/webinar*'], careers: ['/careers*'] };
const RULES = defaultRules(PAGE_GROUPS);

let client: ClickHouseClient;
beforeAll(async () => {
  client = createStoreClient({ dataDir: processDataDir() });
  await migrate(client);
});
afterAll(() => client.close());

let siteCounter = 0;
const newSite = () => `edge-${process.pid}-${++siteCounter}`;
type Ago = { days?: number; minutes?: number };
const at = ({ days = 0, minutes = 0 }: Ago) => toClickHouseTime(NOW.getTime() - days * DAY - minutes * 60_000);

function event(site: string, visitor: string, type: string, when: Ago, fields: Partial<StoredRow> = {}): StoredRow {
  const path = fields.path ?? '/';
  return {
    site_id: site, visitor_id: visitor, session_id: `${visitor}-s`, event_id: randomUUID(), ts: at(when), received_at: at(when), type, name: '',
    url: `https://www.acme.test${path}`, path, email: '', props: {}, engaged_ms: 0, link_url: '', session_start: 0, is_bot: 0,
    referrer_host: '', utm_source: '', utm_medium: '', ...fields,
  } as unknown as StoredRow;
}
const view = (site: string, visitor: string, path: string, when: Ago = { minutes: 5 }, fields: Partial<StoredRow> = {}) => event(site, visitor, 'pageview', when, { path, ...fields });
const form = (site: string, visitor: string, name: string, email: string, props: Record<string, string>, when: Ago = { minutes: 4 }) =>
  event(site, visitor, 'form', when, { name, email, props, path: '/contact/' });
const insert = (rows: StoredRow[]) => insertEvents(client, rows);
const score = (site: string, rules = RULES) => scoreLeads(client, rules, { site, pageGroups: PAGE_GROUPS, now: NOW });
const byEmail = (leads: LeadScore[], email: string) => leads.find((l) => l.email === email)!;

describe('a field rule whose values fold to nothing', () => {
  it('takes points only from leads who gave such an answer, not from every lead and visitor who gave none', async () => {
    const site = newSite();
    // "-" and "." are what people type in a required field they will not fill: worth a few points less.
    const rules = rulesSchema.parse({ negative: [{ id: 'fake-company', field: 'company', values: ['-', '.', 'n/a'], points: -5 }] });
    await insert([
      form(site, 'dash-1', 'contact', 'dash@acme.example', { company: '-' }),
      form(site, 'real-1', 'contact', 'real@acme.example', { company: 'Acme' }),
      form(site, 'none-1', 'contact', 'none@acme.example', { job_title: 'CEO' }),
      view(site, 'anon-1', '/pricing/'),
    ]);
    const leads = await score(site, rules);
    expect(byEmail(leads, 'dash@acme.example')).toMatchObject({ negative: -5, reasons: [{ rule: 'fake-company', count: 1 }] });
    for (const email of ['real@acme.example', 'none@acme.example']) expect(byEmail(leads, email)).toMatchObject({ negative: 0, reasons: [] });
    expect(leads.find((lead) => lead.lead_id === 'v_anon-1')).toMatchObject({ negative: 0, reasons: [] });
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
    expect(byEmail(leads, 'luca@banca.example')).toMatchObject({ company_size_min: 250, country: 'CH', fit: 15 });
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
