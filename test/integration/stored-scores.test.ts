import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { defaultRules, scoreLeads } from '../../scoring/index.ts';
import { accountColleagues, leadSnapshots, writeSnapshots } from '../../scoring/snapshots.ts';
import { freeMailOf } from '../../scoring/accounts.ts';
import { encodedInsertOf } from '../../collector/store/client.ts';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { parseConfig } from '../../collector/config/load.ts';
import { batchToRows, MAX_FUTURE_MS } from '../../collector/ingest/rows.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import type { WireBatch } from '../../collector/ingest/wire.ts';
import { createScorer } from '../../collector/scorer.ts';
import { leadActivity } from '../../collector/api/leads.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ sites: [{ id: 'acme', origins: [SITE_ORIGIN], pageGroups: { pricing: ['/pricing*'], product: ['/product*'] } }] });
});
afterAll(() => server.close());

const minutesAgo = (minutes: number) => Date.now() - minutes * 60_000;
/** A batch of a visitor, in a visit (session) of its own when `sid` is given, as the snippet sends them. */
const post = (visitor: string, events: unknown[], sid?: string) => postBatch(server, { s: 'acme', v: visitor, sid, e: events });
const listed = async (query = '') => (await getJson(server, `/api/leads?site=acme&limit=1000${query}`)).body.leads as any[];

async function storedRows(query: string, params: Record<string, unknown>) {
  const result = await server.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<Record<string, unknown>>();
}

describe('stored scores', () => {
  it('lists a visitor as soon as its batch is stored, and the lead it becomes once it gives an email, with its anonymous history', async () => {
    const visitor = newVisitor();
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(30) })]);
    await drained(server);
    expect((await listed()).find((lead) => lead.id === `v_${visitor}`)).toMatchObject({ kind: 'visitor', score: 20, temperature: 'cold', stage: 'BOFU' });

    const email = `grace.${visitor}@hopper.test`;
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(5), p: { 'email  email': email, 'job_title  ': 'CEO' } })]);
    await drained(server);
    const leads = await listed();
    expect(leads.find((lead) => lead.id === `v_${visitor}`)).toBeUndefined();
    const lead = leads.find((candidate) => candidate.email === email);
    // Warm, and an MQL all the same: she asked for a demo.
    expect(lead).toMatchObject({ kind: 'lead', score: 50, temperature: 'warm', lifecycle: 'mql', events: 2, pageviews: 1, visitorIds: [visitor] });
    expect(lead.reasons.map((reason: { rule: string }) => reason.rule)).toEqual(['c-level', 'pricing-page']);
    expect(lead.signals).toEqual([{ signal: 'demo_request', at: expect.any(String), detail: 'form demo-request' }]);

    // The anonymous visitor's stored score ends with a "gone" row; the lead's page shows its score over time.
    const visitorRows = await storedRows(`SELECT kind FROM lead_scores WHERE lead_id = {id:String} ORDER BY scored_at`, { id: `v_${visitor}` });
    expect(visitorRows.map((row) => row.kind)).toEqual(['visitor', 'gone']);
    const { body } = await getJson(server, `/api/leads/${lead.id}?site=acme`);
    expect(body.scoreHistory.map((point: { score: number }) => point.score)).toEqual([50]);
    expect(body.signals[0]).toMatchObject({ signal: 'demo_request' });
  });

  it('ends the stored lead of an email corrected in the visit that gave it, which the right one carries on', async () => {
    const visitor = newVisitor();
    const [visit, typo, fixed] = [newVisitor(), `grace.${visitor}@hopper.tset`, `grace.${visitor}@hopper.test`];
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(90) })], newVisitor());
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/product/x`, t: minutesAgo(12) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(11), p: { 'email  email': typo } })], visit);
    await drained(server);
    const before = (await listed()).find((lead) => lead.email === typo);
    expect(before).toMatchObject({ kind: 'lead', score: 25, visitorIds: [visitor] });
    await post(visitor, [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/contact`, em: fixed, t: minutesAgo(10) })], visit);
    await drained(server);
    const leads = await listed();
    expect(leads.find((lead) => lead.email === typo)).toBeUndefined();
    // The right email has the whole browser: the visit of both forms, and the anonymous visit before it.
    expect(leads.find((lead) => lead.email === fixed)).toMatchObject({ kind: 'lead', score: 25, visitorIds: [visitor], events: 4 });
    expect((await storedRows(`SELECT kind FROM lead_scores WHERE lead_id = {id:String} ORDER BY scored_at`, { id: before.id })).map((row) => row.kind)).toEqual(['lead', 'gone']);
  });

  it('keeps two colleagues whose emails are a letter apart as two people, each with their own visits', async () => {
    const visitor = newVisitor();
    const [anne, anna] = [`anne.${visitor}@acme.test`, `anna.${visitor}@acme.test`];
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(300) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(299), p: { 'email  email': anne, 'job_title  ': 'CEO' } })], newVisitor());
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/product/x`, t: minutesAgo(60) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(59), p: { 'email  email': anna } })], newVisitor());
    await drained(server);
    const leads = await listed();
    expect(leads.find((lead) => lead.email === anne)).toMatchObject({ score: 50, visitorIds: [visitor], events: 2 });
    expect(leads.find((lead) => lead.email === anna)).toMatchObject({ score: 5, visitorIds: [visitor], events: 2 });
  });

  it('keeps a prospect whole when someone else gives an email on their browser in a later visit', async () => {
    const [laptop, phone] = [newVisitor(), newVisitor()];
    const [ada, bob] = [`ada.${laptop}@first.test`, `bob.${laptop}@second.test`];
    const adasVisit = newVisitor();
    await post(laptop, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(300) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(299), p: { 'email  email': ada, 'job_title  ': 'CEO' } })], adasVisit);
    await post(phone, [wireEvent({ u: `${SITE_ORIGIN}/product/x`, t: minutesAgo(200) }), wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: ada, t: minutesAgo(199) })], newVisitor());
    await drained(server);
    const before = (await listed()).find((lead) => lead.email === ada);
    expect(before).toMatchObject({ visitorIds: [laptop, phone].sort(), score: 55 });
    const qualified = await fetch(`${server.url}/api/leads/${before.id}/qualification?site=acme`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ boxes: { budget: true, authority: true, need: true, timing: true }, owner: 'sam' }),
    });
    expect(qualified.status).toBe(200);
    // A colleague uses the laptop later: views pricing, then gives his own email in that visit.
    await post(laptop, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(30) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(29), p: { 'email  email': bob } })], newVisitor());
    await drained(server);
    const leads = await listed();
    expect(leads.find((lead) => lead.email === ada)).toMatchObject({ id: before.id, lifecycle: 'prospect', owner: 'sam', score: 55, visitorIds: [laptop, phone].sort() });
    expect(leads.find((lead) => lead.email === bob)).toMatchObject({ lifecycle: 'lead', score: 20, visitorIds: [laptop], events: 2 });
    expect((await listed('&lifecycle=prospect&owner=sam')).map((lead) => lead.id)).toContain(before.id);
    const page = await getJson(server, `/api/leads/${before.id}?site=acme`);
    expect(page.body).toMatchObject({ lifecycle: 'prospect', score: 55, profile: { job_title: 'CEO' } });
    expect(page.body.recentEvents.map((event: { path: string }) => event.path)).toEqual(['/', '/product/x', '/contact', '/pricing']);
    // Her score never moved; her latest stored score names her visit of the laptop, the one the dashboards credit her with.
    const rows = await storedRows(`SELECT kind, score, shared_visits FROM lead_scores WHERE lead_id = {id:String} ORDER BY scored_at`, { id: before.id });
    expect(rows).toEqual([
      { kind: 'lead', score: 55, shared_visits: [] },
      { kind: 'lead', score: 55, shared_visits: [{ visitor_id: laptop, session_id: adasVisit }] },
    ]);
  });

  it('gives a browser whose events come without visits (a server’s) to its latest email, and ends the lead of the one before', async () => {
    const visitor = newVisitor();
    const [first, second] = [`old.${visitor}@first.test`, `new.${visitor}@second.test`];
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(30), p: { 'email  email': first } })]);
    await drained(server);
    const before = (await listed()).find((lead) => lead.email === first);
    expect(before).toMatchObject({ kind: 'lead', visitorIds: [visitor] });
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(20), p: { 'email  email': second } })]);
    await drained(server);
    const leads = await listed();
    expect(leads.find((lead) => lead.email === first)).toBeUndefined();
    expect(leads.find((lead) => lead.email === second)).toMatchObject({ kind: 'lead', visitorIds: [visitor] });
    const rows = await storedRows(`SELECT kind FROM lead_scores WHERE lead_id = {id:String} ORDER BY scored_at`, { id: before.id });
    expect(rows.map((row) => row.kind)).toEqual(['lead', 'gone']);
  });

  it('keeps the lead of an email a shared browser left while its other browser still belongs to it', async () => {
    const [laptop, phone] = [newVisitor(), newVisitor()];
    const [ada, bob] = [`ada.${laptop}@first.test`, `bob.${laptop}@second.test`];
    await post(laptop, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(40) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(39), p: { 'email  email': ada } })]);
    await post(phone, [wireEvent({ u: `${SITE_ORIGIN}/product/x`, t: minutesAgo(35) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(34), p: { 'email  email': ada } })]);
    await drained(server);
    const before = (await listed()).find((lead) => lead.email === ada);
    expect(before).toMatchObject({ visitorIds: [laptop, phone].sort(), score: 25 });
    // Someone else fills a form on the laptop: it now belongs to bob, and ada keeps her phone and its history.
    await post(laptop, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(20), p: { 'email  email': bob } })]);
    await drained(server);
    const leads = await listed();
    expect(leads.find((lead) => lead.email === ada)).toMatchObject({ id: before.id, visitorIds: [phone], score: 5 });
    expect(leads.find((lead) => lead.email === bob)).toMatchObject({ visitorIds: [laptop], score: 20 });
    const rows = await storedRows(`SELECT kind, score FROM lead_scores WHERE lead_id = {id:String} ORDER BY scored_at`, { id: before.id });
    expect(rows).toEqual([{ kind: 'lead', score: 25 }, { kind: 'lead', score: 5 }]);
  });

  it('counts events stamped a little ahead of the collector’s clock in the rescoring their batch triggers', async () => {
    const visitor = newVisitor();
    const email = `carl.${visitor}@skew.test`;
    // The browser's clock runs a minute fast; the collector keeps times up to 5 minutes ahead.
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: Date.now() + 60_000, p: { 'email  email': email, 'job_title  ': 'CEO' } })]);
    await drained(server);
    const lead = (await listed()).find((candidate) => candidate.email === email);
    expect(lead).toMatchObject({ kind: 'lead', score: 30 });
    expect(lead.signals).toEqual([{ signal: 'demo_request', at: expect.any(String), detail: 'form demo-request' }]);
    // The hourly pass counts it alike, so the score does not flip back.
    await server.scorer.rescoreAll('acme');
    expect((await listed()).find((candidate) => candidate.email === email)).toMatchObject({ score: 30 });
  });

  it('stores a first touch that arrives after the lead’s later events (a beacon the snippet retried)', async () => {
    const visitor = newVisitor();
    const email = `dora.${visitor}@late.test`;
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/about`, t: minutesAgo(10) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(9), p: { 'email  email': email } })]);
    await drained(server);
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/?utm_source=linkedin&utm_medium=social`, r: 'https://www.linkedin.com/feed/', t: minutesAgo(20) })]);
    await drained(server);
    const lead = (await listed()).find((candidate) => candidate.email === email);
    const [stored] = await storedRows(`SELECT utm_source, utm_medium, referrer_host FROM lead_scores WHERE lead_id = {id:String} ORDER BY scored_at DESC LIMIT 1`, { id: lead.id });
    expect(stored).toEqual({ utm_source: 'linkedin', utm_medium: 'social', referrer_host: 'www.linkedin.com' });
    expect(Date.parse(lead.firstSeen)).toBeLessThan(minutesAgo(15));
  });

  it('keeps an answer that a later one made only of white space would have blanked', async () => {
    const visitor = newVisitor();
    const email = `eve.${visitor}@blank.test`;
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(10), p: { 'email  email': email, 'job_title  ': 'CEO' } })]);
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(5), p: { 'job_title  ': '\t\u00a0\n' } })]);
    await drained(server);
    expect((await listed()).find((lead) => lead.email === email)).toMatchObject({ score: 30, fit: 30 });
  });

  it('finds the colleagues of a declared company however its name is cased or spaced (for an alert’s account)', async () => {
    const [first, second] = [newVisitor(), newVisitor()];
    await post(first, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(10), p: { 'email  email': `${first}@gmail.com`, 'organization  ': 'Électricité de France' } })]);
    await post(second, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(9), p: { 'email  email': `${second}@yahoo.fr`, 'organization  ': 'ÉLECTRICITÉ  de france' } })]);
    await drained(server);
    const leads = await listed();
    const [mine, theirs] = [`${first}@gmail.com`, `${second}@yahoo.fr`].map((email) => leads.find((lead) => lead.email === email));
    const asMember = (lead: { id: string; email: string }) => ({ lead_id: lead.id, email: lead.email, profile: { company: 'électricité de france' } });
    const colleagues = await accountColleagues(server.client, 'acme', [asMember(mine)], freeMailOf(defaultRules()));
    expect(colleagues.get(mine.id)!.map((lead) => lead.lead_id)).toEqual([theirs.id]);
    // Asked for both at once (a round's alerts), each has the other, never itself.
    const both = await accountColleagues(server.client, 'acme', [asMember(mine), asMember(theirs)], freeMailOf(defaultRules()));
    expect([both.get(mine.id)!.map((lead) => lead.lead_id), both.get(theirs.id)!.map((lead) => lead.lead_id)]).toEqual([[theirs.id], [mine.id]]);
  });

  it('writes a snapshot only when something visible changed, so the history is the score over time', async () => {
    const visitor = newVisitor();
    const email = `alan.${visitor}@turing.test`;
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(60), p: { 'email  email': email } })]);
    await drained(server);
    const id = (await listed()).find((lead) => lead.email === email).id;
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/product/a`, t: minutesAgo(50) })]);
    await drained(server);
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(40) })]);
    await drained(server);
    const history = (await getJson(server, `/api/leads/${id}?site=acme`)).body.scoreHistory;
    expect(history.map((point: { score: number }) => point.score)).toEqual([0, 5, 25]);
    // Rescoring everything again (as each start and the hourly pass do) adds nothing when nothing changed.
    await server.scorer.rescoreAll('acme');
    expect((await getJson(server, `/api/leads/${id}?site=acme`)).body.scoreHistory).toHaveLength(3);
    // A snapshot that only records other rules (an upgrade, or a rules change that moved nothing for this lead) is no
    // point of its own on the chart.
    const [latest] = await leadSnapshots(server.client, 'acme', id);
    await writeSnapshots(encodedInsertOf(server.client), [{ ...latest!, rules_hash: 'other rules', scored_at: toClickHouseTime(Date.now() + 1000) }]);
    expect((await getJson(server, `/api/leads/${id}?site=acme`)).body.scoreHistory.map((point: { score: number }) => point.score)).toEqual([0, 5, 25]);
    // Rules that move the score are a point of their own, which says the rules changed there (and the lead did nothing).
    await writeSnapshots(encodedInsertOf(server.client), [{ ...latest!, score: 40, rules_hash: 'newer rules', scored_at: toClickHouseTime(Date.now() + 2000) }]);
    const changed = (await getJson(server, `/api/leads/${id}?site=acme`)).body.scoreHistory;
    expect(changed.map((point: { score: number; rulesChanged: boolean }) => [point.score, point.rulesChanged])).toEqual([
      [0, false],
      [5, false],
      [25, false],
      [40, true],
    ]);
  });

  it('filters and sorts the stored list like the live one', async () => {
    const hot = newVisitor();
    const email = `hedy.${hot}@lamarr.test`;
    await post(hot, [
      wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(20) }),
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo', t: minutesAgo(19), p: { 'email  email': email, 'job_title  ': 'PDG', 'company_size  ': '500', 'country  ': 'France' } }),
    ]);
    await drained(server);
    const hotLeads = await listed('&temperature=hot');
    expect(hotLeads.map((lead) => lead.email)).toContain(email);
    expect(hotLeads.every((lead) => lead.temperature === 'hot')).toBe(true);
    const mqls = await listed('&lifecycle=mql');
    expect(mqls.map((lead) => lead.email)).toContain(email);
    const all = await listed();
    expect(all.map((lead) => lead.score)).toEqual([...all.map((lead) => lead.score)].sort((a, b) => b - a));
  });

  it('erases a person’s stored scores and identities with their events', async () => {
    const visitor = newVisitor();
    const email = `erase.${visitor}@example.test`;
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(9) })]);
    await drained(server);
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo', t: minutesAgo(8), p: { 'email  email': email } })]);
    await drained(server);
    const id = (await listed()).find((lead) => lead.email === email).id;
    const response = await fetch(`${server.url}/api/leads/${id}?site=acme`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(response.status).toBe(200);
    await drained(server);
    const left = await storedRows(
      `SELECT 'lead_scores' AS t, count() AS n FROM lead_scores WHERE lead_id IN ({id:String}, {anonymous:String}) OR email = {email:String}
       UNION ALL SELECT 'identities', count() FROM identities WHERE email = {email:String} OR visitor_id = {visitor:String}`,
      { id, anonymous: `v_${visitor}`, email, visitor },
    );
    expect(left.map((row) => Number(row.n))).toEqual([0, 0]);
    expect((await listed()).find((lead) => lead.id === id || lead.id === `v_${visitor}`)).toBeUndefined();
  });
});

// Before the block below, which starts and closes a second server on this process's data directory: after that, the
// first server's scorer no longer settles (drained), which this test waits for. One process holds a directory in
// production; the tests share theirs.
describe('the activity of many leads (hearth score --json lists every lead of a site)', () => {
  it('counts 6,000 leads at once, more than one statement of ClickHouse can name', async () => {
    const visitor = newVisitor();
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(3) }), wireEvent({ n: 't', k: 'toggle', u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(2) })]);
    await drained(server);
    // Their ids alone are ~400 KB of SQL: past the 256 KiB ClickHouse parses in one statement.
    const others = Array.from({ length: 6000 }, (_, i) => ({ id: `v_${visitor}-${String(i).padStart(6, '0')}`, visitorIds: [`${visitor}-${String(i).padStart(6, '0')}`] }));
    const activity = await leadActivity(server.client, 'acme', [...others.slice(0, 3000), { id: `v_${visitor}`, visitorIds: [visitor] }, ...others.slice(3000)], false);
    expect(activity.size).toBe(6001);
    expect(activity.get(`v_${visitor}`)).toEqual({ events: 2, pageviews: 1 });
    expect(activity.get(others[5999]!.id)).toEqual({ events: 0, pageviews: 0 });
  });
});

describe('a full rescoring in slices', () => {
  const pageGroups = { pricing: ['/pricing*'], product: ['/product*'] };
  let sliced: RunningServer;
  beforeAll(async () => {
    process.env.HEARTH_RESCORE_SLICE_LEADS = '2';
    try {
      sliced = await startTestServer({ sites: [{ id: 'acme', origins: [SITE_ORIGIN], pageGroups }] });
    } finally {
      delete process.env.HEARTH_RESCORE_SLICE_LEADS;
    }
  });
  afterAll(() => sliced.close());

  it('stores every lead once, as scoring the whole site at once does, and adds nothing when run again', async () => {
    const send = (visitor: string, events: unknown[]) => postBatch(sliced, { s: 'acme', v: visitor, e: events });
    const [laptop, phone, ...anonymous] = Array.from({ length: 7 }, () => newVisitor());
    const email = `ada.${laptop}@lovelace.test`;
    await send(laptop!, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(30) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo', t: minutesAgo(29), p: { 'email  email': email, 'job_title  ': 'CEO' } })]);
    await send(phone!, [wireEvent({ u: `${SITE_ORIGIN}/product/a`, t: minutesAgo(20) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(19), p: { 'email  email': email } })]);
    for (const [i, visitor] of anonymous.entries()) await send(visitor, [wireEvent({ u: `${SITE_ORIGIN}/${i % 2 ? 'pricing' : 'product/b'}`, t: minutesAgo(10 + i) })]);
    await drained(sliced);
    // From nothing stored: the full pass alone writes every lead, in slices of about 2 (the data directory is this
    // test process's, so earlier tests' leads are there too).
    await sliced.client.command({ query: 'TRUNCATE TABLE lead_scores' });
    await sliced.scorer.rescoreAll('acme');
    // Counting, as the collector does, the events stamped a little ahead of its clock.
    const live = await scoreLeads(sliced.client, defaultRules(pageGroups), { site: 'acme', pageGroups, until: new Date(Date.now() + MAX_FUTURE_MS) });
    const stored = (await getJson(sliced, '/api/leads?site=acme&limit=1000')).body.leads as { id: string; score: number }[];
    expect(stored.map((lead) => [lead.id, lead.score]).sort()).toEqual(live.map((lead) => [lead.lead_id, lead.score]).sort());
    const ours = live.filter((lead) => lead.visitor_ids.some((visitor) => [laptop, phone, ...anonymous].includes(visitor)));
    expect(ours.map((lead) => lead.visitor_ids)).toEqual(expect.arrayContaining([[laptop, phone].sort(), ...anonymous.map((visitor) => [visitor])]));
    expect(ours).toHaveLength(6);
    const rows = async () => Number((await (await sliced.client.query({ query: 'SELECT count() AS n FROM lead_scores', format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);
    const before = await rows();
    expect(before).toBe(live.length);
    await sliced.scorer.rescoreAll('acme');
    expect(await rows()).toBe(before);
  });

  it('gives way to an erasure between two slices, and finishes the pass after it', async () => {
    for (let i = 0; i < 12; i++) await postBatch(sliced, { s: 'acme', v: newVisitor(), e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(5) })] });
    await drained(sliced);
    const rows = async () => Number((await (await sliced.client.query({ query: 'SELECT count() AS n FROM lead_scores', format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);
    await sliced.client.command({ query: 'TRUNCATE TABLE lead_scores' });
    const pass = sliced.scorer.rescoreAll('acme');
    // The pass has written its first slices (2 leads each) when an erasure asks for the store.
    await vi.waitFor(async () => expect(await rows()).toBeGreaterThan(0), { interval: 5, timeout: 10_000 });
    const seenByErasure = await sliced.scorer.holding(rows);
    await pass;
    const total = await rows();
    expect(seenByErasure).toBeLessThan(total - 2);
    expect(total).toBe((await scoreLeads(sliced.client, defaultRules(pageGroups), { site: 'acme', pageGroups, until: new Date(Date.now() + MAX_FUTURE_MS) })).length);
  });
});


describe('waiting for the scorer', () => {
  it('rescores at once the leads an erasure or an export waits for, without waiting out the gap between rounds', async () => {
    const config = parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: [{ id: 'waiting', origins: [SITE_ORIGIN] }] }, 'test config');
    const scorer = createScorer({ config, client: server.client, log: { warn() {} }, drained: async () => {}, dashboardUrl: () => '', roundGapMs: 60_000 });
    try {
      await scorer.settled();
      const visitor = newVisitor();
      const rows = batchToRows({ s: 'waiting', v: visitor, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(5) }) as WireBatch['e'][number]] }, Date.now());
      await insertEvents(server.client, rows);
      scorer.noteStored([{ site_id: 'waiting', visitor_id: visitor, is_bot: 0 }]);

      const startedAt = Date.now();
      await scorer.rescored();
      expect(Date.now() - startedAt).toBeLessThan(5000);
      const stored = await storedRows(`SELECT kind, score FROM lead_scores WHERE site_id = 'waiting' AND lead_id = {id:String}`, { id: `v_${visitor}` });
      expect(stored).toEqual([{ kind: 'visitor', score: 20 }]);
    } finally {
      await scorer.close();
    }
  });
});

describe('a site whose rules ClickHouse cannot run', () => {
  it("is left unscored, said in the log, and does not hold up the other sites' rescoring", async () => {
    const badRules = { fit: [{ id: 'industry-word', field: 'industry', pattern: '^\\pL{1,500}$', points: 10 }] };
    const config = parseConfig(
      { server: { host: '127.0.0.1', port: 0 }, sites: [{ id: 'unrunnable', origins: [SITE_ORIGIN], rules: badRules }, { id: 'runnable', origins: [SITE_ORIGIN] }] },
      'test config',
    );
    const warnings: string[] = [];
    // As a collector's whose ClickHouse server was down as it started: batches are noted before the store is ready.
    let storeReady = () => {};
    const ready = new Promise<void>((resolve) => (storeReady = resolve));
    const scorer = createScorer({ config, client: server.client, log: { warn: (_, message) => warnings.push(message) }, drained: async () => {}, dashboardUrl: () => '', ready });
    try {
      const [bad, good] = [newVisitor(), newVisitor()];
      // ClickHouse compiles a pattern when a lead has an answer to test: the unrunnable site's lead gives one.
      const industry = wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'contact', t: minutesAgo(4), p: { email: `ind.${bad}@acme.example`, industry: 'Software' } });
      for (const [site, visitor] of [['unrunnable', bad], ['runnable', good]] as const) {
        const events = [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(5) }), ...(site === 'unrunnable' ? [industry] : [])] as WireBatch['e'];
        await insertEvents(server.client, batchToRows({ s: site, v: visitor, e: events }, Date.now()));
        scorer.noteStored([{ site_id: site, visitor_id: visitor, is_bot: 0 }]);
        // The unrunnable site's batch alone is noted before the store is ready: nothing of it is waited for after.
        if (site === 'unrunnable') {
          storeReady();
          await scorer.settled();
        }
      }
      await scorer.settled();
      expect(await storedRows(`SELECT site_id, lead_id, score FROM lead_scores WHERE site_id IN ('unrunnable', 'runnable') ORDER BY site_id`, {})).toEqual([
        { site_id: 'runnable', lead_id: `v_${good}`, score: 20 },
      ]);
      expect(warnings.filter((warning) => warning.includes('unrunnable'))).toEqual([
        expect.stringMatching(/^site "unrunnable" is not scored: sites\[0\]\.rules\.fit\[0\]\.pattern: ClickHouse cannot run this regular expression \(RE2: pattern too large/),
      ]);
    } finally {
      await scorer.close();
    }
  });
});

describe('closing the scorer', () => {
  it('rescores what the last batches touched at once, without waiting out the gap between rounds', async () => {
    const config = parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: [{ id: 'closing', origins: [SITE_ORIGIN] }] }, 'test config');
    // Rounds at most once a minute, as under heavy load; the first one (the full pass at start) has just run.
    const scorer = createScorer({ config, client: server.client, log: { warn() {} }, drained: async () => {}, dashboardUrl: () => '', roundGapMs: 60_000 });
    await scorer.settled();
    const visitor = newVisitor();
    const rows = batchToRows({ s: 'closing', v: visitor, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(5) }) as WireBatch['e'][number]] }, Date.now());
    await insertEvents(server.client, rows);
    scorer.noteStored([{ site_id: 'closing', visitor_id: visitor, is_bot: 0 }]);

    const startedAt = Date.now();
    await scorer.close();
    expect(Date.now() - startedAt).toBeLessThan(5000);
    const stored = await storedRows(`SELECT kind, score FROM lead_scores WHERE site_id = 'closing' AND lead_id = {id:String}`, { id: `v_${visitor}` });
    expect(stored).toEqual([{ kind: 'visitor', score: 20 }]);
  });

  it('stops while ClickHouse is down and the rescoring waits to be retried', async () => {
    const config = parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: [{ id: 'closing', origins: [SITE_ORIGIN] }] }, 'test config');
    let queries = 0;
    const down = {
      query: async () => {
        queries++;
        throw new Error('connect ECONNREFUSED 127.0.0.1:8123');
      },
    } as unknown as ClickHouseClient;
    const scorer = createScorer({ config, client: down, log: { warn() {} }, drained: async () => {}, dashboardUrl: () => '' });
    await vi.waitFor(() => expect(queries).toBeGreaterThan(0));
    const startedAt = Date.now();
    await scorer.close();
    // It gives the last rescoring its few seconds (5 s), then leaves it to the next start.
    expect(Date.now() - startedAt).toBeLessThan(8000);
  });
});
