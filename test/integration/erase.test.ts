import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadIdOf } from '../../collector/api/lead-store.ts';
import { newApiToken } from '../../collector/auth/tokens.ts';
import { batchToRows } from '../../collector/ingest/rows.ts';
import { END_OF_TIME, erasureFilter } from '../../collector/ingest/erasures.ts';
import { createWalSink, REJECTED_FILE } from '../../collector/ingest/wal.ts';
import { batchOfRows } from '../../collector/ingest/wal-records.ts';
import type { WireBatch } from '../../collector/ingest/wire.ts';
import type { RunningServer } from '../../collector/server.ts';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { processDataDir } from '../support/data-dir.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

// Erasing a person (DELETE /api/leads/:id) and exporting them: what is theirs when a browser was shared, or when
// they corrected their email, and that nothing of theirs is left behind, in ClickHouse or in the write-ahead log.

// A machine of sales': it may export a person, not erase one.
const salesToken = newApiToken();

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    tokens: [{ name: 'crm-sync', role: 'sales', tokenHash: salesToken.tokenHash }],
    sites: [
      {
        id: 'acme',
        origins: [SITE_ORIGIN],
        pageGroups: { pricing: ['/pricing*'], product: ['/product*'] },
        // Nothing listens there: alerts stay pending, as they do while a destination is down.
        alerts: { destinations: [{ type: 'webhook', id: 'crm', url: 'http://127.0.0.1:9/hooks/hearth', secret: 'whsec_' + Buffer.from('a-test-signing-key-of-32-bytes!!').toString('base64') }] },
      },
    ],
  });
});
afterAll(() => server.close());

const minutesAgo = (minutes: number) => Date.now() - minutes * 60_000;
const post = async (visitor: string, events: unknown[], sid?: string) => expect((await postBatch(server, { s: 'acme', v: visitor, sid, e: events })).status).toBe(202);
const form = (minutes: number, fields: Record<string, string>, name = 'newsletter') =>
  wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: name, t: minutesAgo(minutes), p: Object.fromEntries(Object.entries(fields).map(([key, value]) => [`${key}  `, value])) });
const view = (minutes: number, path: string) => wireEvent({ u: `${SITE_ORIGIN}${path}`, t: minutesAgo(minutes) });
// Labelled JSON with no body, as HTTP clients and CRM middleware send every request: a DELETE takes no body.
const erase = async (id: string, token = TEST_TOKEN) => {
  const response = await fetch(`${server.url}/api/leads/${id}?site=acme`, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  return { status: response.status, body: (await response.json()) as any };
};
/**
 * An event `visitor` sent that ClickHouse refuses (half an emoji in its title), to write straight into the collector's
 * log, which sets it aside in rejected.ndjson: an identify with `email`, else a page view of the pricing page.
 */
const refusedEvent = (visitor: string, email?: string) => ({
  ...batchToRows({ s: 'acme', v: visitor, e: [wireEvent(email ? { n: 'i', em: email, t: minutesAgo(5) } : { u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(5) }) as WireBatch['e'][number]] }, Date.now())[0]!,
  title: 'Pricing \ud83d',
});
const walDir = () => join(processDataDir(), 'wal');
/** Every file of the collector's write-ahead log, as text. */
const walOnDisk = () => readdirSync(walDir()).map((file) => readFileSync(join(walDir(), file), 'latin1')).join('\n');
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const leadOf = async (visitor: string) => (await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body.leads[0];

async function rows(query: string, params: Record<string, unknown> = {}) {
  const result = await server.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<Record<string, any>>();
}
const count = async (query: string, params: Record<string, unknown>) => Number((await rows(`SELECT count() AS n FROM ${query}`, params))[0]!.n);

/**
 * Ada gives her email on her laptop and, in a visit of her own, on a shared PC; later Bob browses the shared PC, and
 * gives his email there in his visit, which is his from its start, and browses on. Ada keeps her visit of the PC.
 */
async function sharedComputer() {
  const [laptop, shared] = [newVisitor(), newVisitor()];
  const [ada, bob] = [`ada.${laptop}@alpha.test`, `bob.${shared}@beta.test`];
  await post(laptop, [view(60, '/pricing'), form(59, { email: ada, job_title: 'CEO', company: 'Alpha' }, 'demo-request')], newVisitor());
  await post(shared, [view(50, '/product/a'), form(49, { email: ada, job_title: 'CEO', company: 'Alpha' })], newVisitor());
  await drained(server);
  await post(shared, [view(30, '/careers'), form(29, { email: bob, job_title: 'Intern', company: 'Beta', phone: '+33 6 12 34 56 78' }), view(28, '/careers/apply')], newVisitor());
  await drained(server);
  const adaLead = await leadOf(laptop);
  const bobLead = (await getJson(server, `/api/leads?site=acme&visitor=${shared}`)).body.leads.find((lead: { email: string }) => lead.email === bob);
  expect(adaLead).toMatchObject({ email: ada, visitorIds: [laptop, shared].sort() });
  expect(bobLead).toMatchObject({ email: bob, visitorIds: [shared] });
  return { laptop, shared, ada, bob, adaId: adaLead.id as string, bobId: bobLead.id as string };
}

/**
 * A second collector behind the load balancer with its own write-ahead log, reaching ClickHouse only while `reachable()`;
 * `beforeInsert` runs once the drain has checked a batch against the erasures, as its insert into events is on its way;
 * `erasures` is the client its drain reads the erasures with.
 */
function otherCollector(
  reachable: () => boolean,
  { beforeInsert = async () => {}, erasures = server.client }: { beforeInsert?: () => Promise<void>; erasures?: Pick<ClickHouseClient, 'query' | 'command'> } = {},
) {
  const down = () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:8123'));
  return createWalSink({
    dir: mkdtempSync(join(tmpdir(), 'hearth-other-collector-')),
    client: {
      insert: (params) => (reachable() ? server.client.insert(params) : down()),
      exec: async (params) => {
        if (!reachable()) return down();
        if (/^INSERT INTO events\b/.test(params.query)) await beforeInsert();
        return server.client.exec(params);
      },
    },
    maxBytes: 1 << 30,
    flushMs: 10,
    retryCapMs: 50,
    log: { info() {}, warn() {}, error() {} },
    erasures: erasureFilter(erasures),
  });
}

/** A browser gives a mistyped email (asking for a demo: an alert), then the right one, in the same visit. */
async function correctedEmail() {
  const [visitor, visit] = [newVisitor(), newVisitor()];
  const [typo, fixed] = [`grace.${visitor}@hopper.tset`, `grace.${visitor}@hopper.test`];
  await post(visitor, [view(40, '/pricing'), form(39, { email: typo, job_title: 'CTO', company: 'Hopper' }, 'demo-request')], visit);
  await drained(server);
  const typoId = (await leadOf(visitor)).id as string;
  await post(visitor, [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: fixed, t: minutesAgo(20) })], visit);
  await drained(server);
  const fixedLead = await leadOf(visitor);
  expect(fixedLead).toMatchObject({ email: fixed, visitorIds: [visitor] });
  return { visitor, typo, fixed, typoId, fixedId: fixedLead.id as string };
}

describe('a lead is the visits that are theirs, as its score counts them', () => {
  it('leaves their email nowhere in ClickHouse, not even in the text of the deletions it keeps', async () => {
    const visitor = newVisitor();
    const email = `nadia.${visitor}@epsilon.test`;
    await post(visitor, [view(10, '/pricing'), form(9, { email, job_title: 'CFO' })]);
    await drained(server);
    expect((await erase((await leadOf(visitor)).id as string)).status).toBe(200);
    // ClickHouse keeps every mutation's command after it ran: it names their browser and lead ids, not their email.
    expect(await count(`system.mutations WHERE position(command, {email:String}) > 0`, { email })).toBe(0);
    expect(await count(`system.mutations WHERE position(command, {visitor:String}) > 0`, { visitor })).toBeGreaterThan(0);
    expect(await count(`events WHERE visitor_id = {visitor:String}`, { visitor })).toBe(0);
  });

  it('shows on a shared computer’s earlier user only their own visits, profile and events', async () => {
    const { laptop, shared, ada, bob, adaId } = await sharedComputer();
    const { status, body } = await getJson(server, `/api/leads/${adaId}?site=acme`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ email: ada, visitorIds: [laptop, shared].sort(), profile: { job_title: 'CEO', company: 'Alpha' } });
    expect(body.profile.phone).toBeUndefined();
    expect(body.recentEvents.map((event: { visitor_id: string; path: string }) => `${event.visitor_id === laptop ? 'laptop' : 'shared'} ${event.path}`)).toEqual([
      'shared /contact',
      'shared /product/a',
      'laptop /contact',
      'laptop /pricing',
    ]);
    expect(JSON.stringify(body)).not.toContain(bob);
  });

  it('shares a browser’s visits out without the emails automated browsers gave, as its score does', async () => {
    // Olga's visit; then a server flagged as a bot identifies someone else on her browser id; then her next visit.
    const pc = newVisitor();
    const [olga, paul] = [`olga.${pc}@omega.test`, `paul.${pc}@pi.test`];
    await post(pc, [form(90, { email: olga, job_title: 'CEO' })], newVisitor());
    expect((await postBatch(server, { s: 'acme', v: pc, b: true, e: [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: paul, t: minutesAgo(60) })] })).status).toBe(202);
    await post(pc, [view(30, '/pricing'), view(29, '/pricing/b')], newVisitor());
    await drained(server);
    const { body } = await getJson(server, `/api/leads/${leadIdOf(olga)}?site=acme`);
    expect(body.reasons.map((reason: { rule: string; count: number }) => `${reason.rule} ${reason.count}`)).toContain('pricing-page 2');
    expect(body.recentEvents.map((event: { path: string }) => event.path)).toEqual(['/pricing/b', '/pricing', '/contact']);
    const pauls = (await getJson(server, `/api/leads/${leadIdOf(paul)}/export?site=acme`)).body;
    expect(pauls.events.map((event: { path: string }) => event.path)).not.toContain('/pricing');
  });

  it('answers 404 for the lead of an email its browser replaced, as the list no longer has it', async () => {
    const { typoId, fixedId } = await correctedEmail();
    const response = await getJson(server, `/api/leads/${typoId}?site=acme`);
    expect(response).toMatchObject({ status: 404, body: { code: 'lead_not_found' } });
    expect((await getJson(server, `/api/leads?site=acme&limit=1000`)).body.leads.map((lead: { id: string }) => lead.id)).not.toContain(typoId);
    expect((await getJson(server, `/api/leads/${fixedId}?site=acme`)).status).toBe(200);
  });
});

describe('exporting a person', () => {
  it('holds their visits of a shared computer, never the next user’s, with their stored scores and alerts', async () => {
    const { laptop, shared, ada, bob, adaId } = await sharedComputer();
    const { status, body } = await getJson(server, `/api/leads/${adaId}/export?site=acme`);
    expect(status).toBe(200);
    expect(JSON.stringify(body)).not.toContain(bob);
    expect(body).toMatchObject({ email: ada, visitorIds: [laptop, shared].sort(), handedOver: [{ visitorId: shared }], profile: { company: 'Alpha' } });
    // Bob's visit of the shared PC is his from its start: the careers page he viewed before his form too.
    expect(body.events.map((event: { visitor_id: string; type: string; path: string }) => `${event.visitor_id === laptop ? 'laptop' : 'shared'} ${event.type} ${event.path}`)).toEqual([
      'shared form /contact',
      'shared pageview /product/a',
      'laptop form /contact',
      'laptop pageview /pricing',
    ]);
    // The stored scores: the lead's snapshots, with the profile and company they held.
    expect(body.storedScores.length).toBeGreaterThan(0);
    expect(body.storedScores.every((row: { lead_id: string }) => row.lead_id === adaId || row.lead_id === `v_${laptop}` || row.lead_id === `v_${shared}`)).toBe(true);
    expect(body.storedScores.find((row: { lead_id: string }) => row.lead_id === adaId)).toMatchObject({ email: ada, company: 'Alpha', profile: { job_title: 'CEO' } });
    // Times in ISO 8601 UTC, as everywhere else in the API, so that a spreadsheet or a script reads them as UTC.
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    expect(body.events.map((event: { ts: string }) => event.ts)).toEqual(body.events.map(() => expect.stringMatching(iso)));
    const adas = body.storedScores.find((row: { lead_id: string }) => row.lead_id === adaId);
    expect([adas.scored_at, adas.first_seen, adas.last_seen, ...adas.signals.map((signal: { at: string }) => signal.at)]).toEqual([...Array(3 + adas.signals.length)].map(() => expect.stringMatching(iso)));
    // Her demo request raised an alert, still waiting for its destination.
    await expect.poll(async () => (await getJson(server, `/api/leads/${adaId}/export?site=acme`)).body.alerts?.length, { timeout: 10_000 }).toBeGreaterThan(0);
    const alerts = (await getJson(server, `/api/leads/${adaId}/export?site=acme`)).body.alerts;
    expect(alerts[0]).toMatchObject({ lead_id: adaId, signal: 'demo_request', created_at: expect.stringMatching(iso), alert: { lead: { email: ada, company: 'Alpha', owner: null } } });
  });

  it('gives a shared computer’s anonymous history to the person of its first identified visit, not to the next user', async () => {
    const pc = newVisitor();
    const [kate, liam] = [`kate.${pc}@kappa.test`, `liam.${pc}@lambda.test`];
    // Browsed anonymously, and scored so (a stored score of the anonymous visitor), then Kate's visit, then Liam's.
    await post(pc, [view(90, '/pricing'), view(89, '/product/k')], newVisitor());
    await drained(server);
    await post(pc, [form(60, { email: kate, company: 'Kappa' })], newVisitor());
    await post(pc, [view(30, '/careers'), form(29, { email: liam, company: 'Lambda' })], newVisitor());
    await drained(server);
    const anonymous = `v_${pc}`;
    expect(await count(`lead_scores WHERE lead_id = {id:String}`, { id: anonymous })).toBeGreaterThan(0);
    const exported = async (email: string) => (await getJson(server, `/api/leads/${leadIdOf(email)}/export?site=acme`)).body;
    expect((await exported(kate)).leadIds).toContain(anonymous);
    const liams = await exported(liam);
    expect(liams.leadIds).not.toContain(anonymous);
    expect(liams.storedScores.map((row: { lead_id: string }) => row.lead_id)).not.toContain(anonymous);
    // Erasing Liam leaves Kate's anonymous history, and her lead, as they were.
    const kateBefore = await count(`lead_scores WHERE lead_id IN ({id:String}, {anonymous:String})`, { id: leadIdOf(kate), anonymous });
    expect((await erase(leadIdOf(liam))).status).toBe(200);
    expect(await count(`lead_scores WHERE lead_id IN ({id:String}, {anonymous:String})`, { id: leadIdOf(kate), anonymous })).toBe(kateBefore);
    expect((await exported(kate)).events.map((event: { path: string }) => event.path)).toEqual(['/contact', '/product/k', '/pricing']);
  });

  it('finds a person whose first events are still on their way to ClickHouse', async () => {
    const visitor = newVisitor();
    const email = `new.${visitor}@gamma.test`;
    // Asked right after the 202, while the events wait in the write-ahead log.
    await post(visitor, [view(2, '/pricing'), form(1, { email, company: 'Gamma' })]);
    const { status, body } = await getJson(server, `/api/leads/${leadIdOf(email)}/export?site=acme`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ email, visitorIds: [visitor], profile: { company: 'Gamma' } });
    expect(body.events.map((event: { type: string; path: string }) => `${event.type} ${event.path}`)).toEqual(['form /contact', 'pageview /pricing']);
  });

  it('lists the events of theirs ClickHouse refused, with its reason, as the erasure picks them, and no one else’s', async () => {
    const { laptop, shared, ada, adaId } = await sharedComputer();
    // Set aside in rejected.ndjson: Ada's identify on a tablet, a page view of her laptop, and one of the shared PC
    // made after the visits that are hers (Bob's), with a stranger's.
    const [tablet, stranger] = [newVisitor(), newVisitor()];
    const [hers, herLaptops, bobs] = [refusedEvent(tablet, ada), refusedEvent(laptop), { ...refusedEvent(shared), session_id: newVisitor() }];
    await server.sink.write([hers, herLaptops, bobs, refusedEvent(stranger)]);
    const { status, body } = await getJson(server, `/api/leads/${adaId}/export?site=acme`);
    expect(status).toBe(200);
    expect(body.rejectedEvents.map((event: { event_id: string }) => event.event_id).sort()).toEqual([hers.event_id, herLaptops.event_id].sort());
    expect(body.rejectedEvents.find((event: { event_id: string }) => event.event_id === hers.event_id)).toMatchObject({
      visitor_id: tablet,
      type: 'identify',
      email: ada,
      ts: expect.stringMatching(ISO),
      received_at: expect.stringMatching(ISO),
      rejectedAt: expect.stringMatching(ISO),
      reason: expect.stringMatching(/surrogate/),
    });
    // Apart from the stored ones: an event is in one list or the other.
    expect(body.events.map((event: { event_id: string }) => event.event_id)).not.toContain(hers.event_id);
    expect(JSON.stringify(body.rejectedEvents)).not.toContain(stranger);
  });

  it('holds the alerts and stored scores of the email they corrected', async () => {
    const { typo, typoId, fixedId } = await correctedEmail();
    await expect
      .poll(async () => (await getJson(server, `/api/leads/${fixedId}/export?site=acme`)).body.alerts?.map((alert: { lead_id: string }) => alert.lead_id), { timeout: 10_000 })
      .toContain(typoId);
    const { body } = await getJson(server, `/api/leads/${fixedId}/export?site=acme`);
    expect(body.storedScores.filter((row: { lead_id: string }) => row.lead_id === typoId).map((row: { email: string }) => row.email)).toContain(typo);
  });
});

describe('erasing a person', () => {
  it('erases from a shared computer their visits, and leaves the next user’s whole', async () => {
    const { laptop, shared, ada, bob, adaId, bobId } = await sharedComputer();
    // The visits the dashboards count (the rollup visit_days, a row per visit and day): each browser's, by event.
    const visitsOf = (table: string) =>
      rows(`SELECT DISTINCT visitor_id, session_id FROM ${table} WHERE visitor_id IN ({laptop:String}, {shared:String}) ORDER BY visitor_id, session_id`, { laptop, shared });
    expect(await visitsOf('visit_days')).toEqual(await visitsOf('events'));
    expect(await visitsOf('visit_days')).toHaveLength(3);
    const bobBefore = await getJson(server, `/api/leads/${bobId}?site=acme`);
    const bobScores = await count(`lead_scores WHERE lead_id = {id:String}`, { id: bobId });
    expect(bobScores).toBeGreaterThan(0);

    // Options sent in a body, as some API clients send them: refused, and nothing erased.
    const trial = await fetch(`${server.url}/api/leads/${adaId}?site=acme`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ dryRun: true }),
    });
    expect({ status: trial.status, body: await trial.json() }).toEqual({
      status: 400,
      body: {
        error: 'DELETE /api/leads/:id takes no body, and nothing was done: its options, if any, go in the query string',
        code: 'unexpected_body',
        keys: ['dryRun'],
        problems: [{ path: 'dryRun', message: 'unexpected: this request takes no body' }],
      },
    });
    expect((await getJson(server, `/api/leads/${adaId}?site=acme`)).status).toBe(200);

    expect(await erase(adaId)).toMatchObject({ status: 200, body: { erased: adaId } });
    // Sent again (a client that timed out), or exported after: said erased, not "no such lead".
    const again = await erase(adaId);
    expect(again).toEqual({
      status: 404,
      body: { error: `the person of "${adaId}" on site "acme" was erased at ${again.body.erasedAt}: nothing of theirs is kept`, code: 'already_erased', erasedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    });
    expect(await getJson(server, `/api/leads/${adaId}/export?site=acme`)).toMatchObject({ status: 404, body: { code: 'already_erased' } });

    // Nothing of Ada: her laptop, her visit of the shared computer, her identity rows and stored scores.
    expect(await count(`events WHERE email = {email:String} OR visitor_id = {laptop:String}`, { email: ada, laptop })).toBe(0);
    expect(await count(`identities WHERE email = {email:String} OR visitor_id = {laptop:String}`, { email: ada, laptop })).toBe(0);
    expect(await count(`lead_scores WHERE lead_id IN ({id:String}, {anonymous:String}) OR email = {email:String}`, { id: adaId, anonymous: `v_${laptop}`, email: ada })).toBe(0);
    const left = await rows(`SELECT type, email, path FROM events FINAL WHERE visitor_id = {shared:String} ORDER BY ts`, { shared });
    expect(left).toEqual([
      { type: 'pageview', email: '', path: '/careers' },
      { type: 'form', email: bob, path: '/contact' },
      { type: 'pageview', email: '', path: '/careers/apply' },
    ]);
    // The dashboards no longer count her laptop or her visit of the shared computer: Bob's visit alone is left.
    expect(await visitsOf('visit_days')).toEqual(await visitsOf('events'));
    expect(await visitsOf('visit_days')).toEqual([{ visitor_id: shared, session_id: expect.any(String) }]);
    // A CRM's sync reading her again learns she was erased, to erase her copy too (QA: "no such lead" told it nothing).
    for (const path of [`/api/leads/${adaId}`, `/api/leads/${adaId}/qualification`]) {
      expect(await getJson(server, `${path}?site=acme`), path).toMatchObject({ status: 404, body: { code: 'already_erased', erasedAt: again.body.erasedAt } });
    }
    expect((await getJson(server, `/api/leads/l_00000000000000000000?site=acme`)).body.code).toBe('lead_not_found');

    // Bob: his events, identity, stored scores and lead as they were. His score never counted Ada's product page, and
    // the rescoring of the shared computer after the erasure moves nothing but whose the computer is: his throughout
    // now, one stored score more to say so.
    expect(await count(`identities WHERE email = {email:String}`, { email: bob })).toBe(1);
    expect(bobBefore.body.reasons.map((reason: { rule: string }) => reason.rule)).not.toContain('product-page');
    await drained(server);
    const bobStored = await rows(`SELECT score, shared_visits FROM lead_scores WHERE lead_id = {id:String} ORDER BY scored_at`, { id: bobId });
    expect(bobStored).toHaveLength(bobScores + 1);
    expect(bobStored.at(-2)!.shared_visits).toEqual([{ visitor_id: shared, session_id: expect.any(String) }]);
    expect(bobStored.at(-1)).toEqual({ score: bobStored.at(-2)!.score, shared_visits: [] });
    const bobAfter = await getJson(server, `/api/leads/${bobId}?site=acme`);
    expect(bobAfter.status).toBe(200);
    expect(bobAfter.body.score).toBe(bobBefore.body.score);
    expect(bobAfter.body).toMatchObject({ email: bob, visitorIds: [shared], profile: { company: 'Beta', phone: '+33 6 12 34 56 78' } });
    expect(bobAfter.body.recentEvents.filter((event: { email: string }) => event.email === bob)).toEqual(bobBefore.body.recentEvents.filter((event: { email: string }) => event.email === bob));
    expect((await getJson(server, `/api/leads?site=acme&limit=1000`)).body.leads.map((lead: { id: string }) => lead.id)).toContain(bobId);
  });

  it('erases a person whose first events are still on their way to ClickHouse', async () => {
    const visitor = newVisitor();
    const email = `new.${visitor}@delta.test`;
    await post(visitor, [view(2, '/pricing'), form(1, { email, company: 'Delta' })]);
    const { status, body } = await erase(leadIdOf(email));
    expect(status).toBe(200);
    expect(body).toMatchObject({ erased: leadIdOf(email), visitorIds: [visitor] });
    await drained(server);
    expect(await count('events WHERE visitor_id = {visitor:String}', { visitor })).toBe(0);
    expect((await getJson(server, `/api/leads/${leadIdOf(email)}?site=acme`)).status).toBe(404);
  });

  it('answers an export or the lead page read while the erasure runs with the whole person, or 404 already_erased: never half of them', async () => {
    const visitor = newVisitor();
    const email = `half.${visitor}@umbrella.test`;
    await post(visitor, [...Array.from({ length: 50 }, (_, i) => view(60 - i, '/pricing')), form(5, { email, job_title: 'CFO', company: 'Umbrella' }, 'demo-request')]);
    await drained(server);
    const id = leadIdOf(email);
    const deletion = erase(id);
    let erased = false;
    void deletion.then(() => (erased = true));
    const seen: string[] = [];
    while (!erased) {
      const [exported, page] = await Promise.all([getJson(server, `/api/leads/${id}/export?site=acme`), getJson(server, `/api/leads/${id}?site=acme`)]);
      seen.push(exported.status === 200 ? `export: ${exported.body.events.length} events` : `export: ${exported.body.code}`);
      seen.push(page.status === 200 ? `page: ${page.body.events} events` : `page: ${page.body.code}`);
    }
    expect((await deletion).status).toBe(200);
    // An export of their scores, notes and alerts without their events, or a page with a score and no events, was read
    // between two of the erasure's deletions.
    expect(seen.filter((answer) => !/^(export|page): (51 events|already_erased)$/.test(answer))).toEqual([]);
  });

  it('answers 404 already_erased to an export that read the person while another collector erased them', async () => {
    const visitor = newVisitor();
    const email = `elsewhere.${visitor}@umbrella.test`;
    await post(visitor, [view(10, '/pricing'), form(5, { email }, 'demo-request')]);
    await drained(server);
    const id = leadIdOf(email);
    // Another collector's erasure, recorded first as every erasure is, its deletions still to run.
    const recorded = { site_id: 'acme', visitor_id: '', session_id: '', lead_id: id, until: toClickHouseTime(END_OF_TIME), erased_at: toClickHouseTime(Date.now()) };
    await server.client.insert({ table: 'erasures', values: [recorded], format: 'JSONEachRow' });
    expect(await getJson(server, `/api/leads/${id}/export?site=acme`)).toMatchObject({ status: 404, body: { code: 'already_erased' } });
  });

  it('erases the alerts, stored scores and history of the email they corrected', async () => {
    const { visitor, typo, typoId, fixedId } = await correctedEmail();
    await expect.poll(() => count(`alert_outbox WHERE lead_id = {id:String}`, { id: typoId }), { timeout: 10_000 }).toBeGreaterThan(0);

    expect((await erase(fixedId)).status).toBe(200);

    expect(await count(`alert_outbox WHERE lead_id IN ({typo:String}, {fixed:String}) OR position(alert, {email:String}) > 0`, { typo: typoId, fixed: fixedId, email: typo })).toBe(0);
    expect(await count(`lead_scores WHERE lead_id IN ({typo:String}, {fixed:String}, {anonymous:String})`, { typo: typoId, fixed: fixedId, anonymous: `v_${visitor}` })).toBe(0);
    expect(await count(`events WHERE visitor_id = {visitor:String} OR email = {email:String}`, { visitor, email: typo })).toBe(0);
    expect(await count(`identities WHERE visitor_id = {visitor:String}`, { visitor })).toBe(0);
    expect((await getJson(server, `/api/leads/${typoId}?site=acme`)).status).toBe(404);

    // The browser was theirs throughout, the typo being theirs too: its retry queue delivering later a visit recorded
    // before the erasure (an anonymous one, of its own) brings nothing back. It did, as a shared computer's visit.
    await post(visitor, [view(50, '/product/a'), view(49, '/pricing')], newVisitor());
    await drained(server);
    expect(await count('events WHERE visitor_id = {visitor:String}', { visitor })).toBe(0);
    expect((await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body.leads).toEqual([]);
    expect(await getJson(server, `/api/leads/v_${visitor}/export?site=acme`)).toMatchObject({ status: 404, body: { code: 'already_erased' } });
  });

  it('erases the form they sent under a colleague’s email and put right in the same visit, which left their laptop to the colleague', async () => {
    // Ann gave her email on her own computer. On her laptop, Anna types Ann's email by mistake, then puts it right.
    const [annPc, laptop, visit] = [newVisitor(), newVisitor(), newVisitor()];
    const [ann, anna] = [`ann.${annPc}@acme-co.test`, `anna.${annPc}@acme-co.test`];
    await post(annPc, [view(60, '/product/a'), form(59, { email: ann, first_name: 'Ann', job_title: 'Developer' })], newVisitor());
    const answers = { first_name: 'Anna', last_name: 'Secret', job_title: 'CEO', phone: '+33 6 22 22 22 22' };
    await post(laptop, [view(10, '/pricing'), form(9, { email: ann, ...answers }), form(8, { email: anna, ...answers })], visit);
    await drained(server);
    const annId = leadIdOf(ann);
    expect((await getJson(server, `/api/leads/${annId}?site=acme`)).body).toMatchObject({ visitorIds: [annPc], profile: { first_name: 'Ann' } });
    // Her export holds the form she sent under Ann's email: her answers.
    const exported = (await getJson(server, `/api/leads/${leadIdOf(anna)}/export?site=acme`)).body;
    expect(exported.events.filter((event: { type: string }) => event.type === 'form').map((event: { email: string }) => event.email).sort()).toEqual([ann, anna].sort());

    expect((await erase(leadIdOf(anna))).status).toBe(200);
    await drained(server);
    expect(await count('events WHERE visitor_id = {laptop:String}', { laptop })).toBe(0);
    expect(await count('identities WHERE visitor_id = {laptop:String}', { laptop })).toBe(0);
    expect(await count("events WHERE position(toString(props), 'Secret') > 0", {})).toBe(0);
    // Anna browses on: her laptop is no one's lead, and Ann keeps her own computer alone, her own answers.
    await post(laptop, [view(0, '/pricing'), view(0, '/pricing/enterprise')], newVisitor());
    await drained(server);
    expect((await getJson(server, `/api/leads?site=acme&visitor=${laptop}`)).body.leads.map((lead: { email: string }) => lead.email)).not.toContain(ann);
    const annAfter = (await getJson(server, `/api/leads/${annId}?site=acme`)).body;
    expect(annAfter).toMatchObject({ visitorIds: [annPc], profile: { first_name: 'Ann', job_title: 'Developer' } });
    expect(annAfter.profile).not.toHaveProperty('phone');
  });

  it('leaves no record of theirs in the write-ahead log, nor among the events ClickHouse refused', async () => {
    const { laptop, ada, adaId } = await sharedComputer();
    // An event of Ada's that ClickHouse refuses, and one of someone else's.
    const stranger = newVisitor();
    await server.sink.write([refusedEvent(laptop, ada), refusedEvent(stranger, `${stranger}@gamma.test`)]);
    await drained(server);
    expect(walOnDisk()).toContain(ada);

    expect((await erase(adaId)).status).toBe(200);

    expect(walOnDisk()).not.toContain(ada);
    expect(walOnDisk()).not.toContain(laptop);
    // Someone else's refused event is still there for a person to look at.
    expect(readFileSync(join(walDir(), REJECTED_FILE), 'utf8')).toContain(stranger);
    // The log goes on: a new event is accepted and stored.
    const later = newVisitor();
    await post(later, [view(1, '/pricing')]);
    await drained(server);
    expect(await count(`events WHERE visitor_id = {visitor:String}`, { visitor: later })).toBe(1);
  });

  it('keeps out what another collector’s log still held of theirs, and nothing else', async () => {
    const { laptop, shared, ada, adaId, bob } = await sharedComputer();
    const [tablet, stranger] = [newVisitor(), newVisitor()];
    // A second collector behind the load balancer, cut off from ClickHouse since before the erasure: its log holds
    // a visit of Ada's laptop, Ada's form on a tablet, Bob's later visit of the shared PC, and a stranger's visit.
    let reachable = false;
    const other = await otherCollector(() => reachable);
    const rowsOf = (visitor: string, events: unknown[]) => batchToRows({ s: 'acme', v: visitor, e: events as WireBatch['e'] }, Date.now());
    await other.write([
      ...rowsOf(laptop, [view(3, '/pricing')]),
      ...rowsOf(tablet, [form(2, { email: ada, job_title: 'CEO' })]),
      ...rowsOf(shared, [view(2, '/careers/intern')]),
      ...rowsOf(stranger, [view(2, '/product/a')]),
    ]);

    expect((await erase(adaId)).status).toBe(200);
    reachable = true;
    await other.drained();
    await other.close();

    expect(await count(`events WHERE visitor_id IN {visitors:Array(String)}`, { visitors: [laptop, tablet] })).toBe(0);
    expect(await count(`identities WHERE email = {ada:String}`, { ada })).toBe(0);
    expect(await count(`events WHERE visitor_id = {visitor:String} AND path = '/careers/intern'`, { visitor: shared })).toBe(1);
    expect(await count(`events WHERE visitor_id = {visitor:String}`, { visitor: stranger })).toBe(1);
    await drained(server);
    expect((await getJson(server, `/api/leads/${adaId}?site=acme`)).status).toBe(404);
    expect((await leadOf(shared)).email).toBe(bob);
  });

  it('takes back what another collector stored of theirs from an insert in flight as the erasure ran', async () => {
    // Ada is still browsing when she is erased: a second collector's drain has checked its batch against the erasures
    // recorded so far (none of hers), and its insert reaches ClickHouse only once the erasure has ended, both passes.
    const laptop = newVisitor();
    const ada = `ada.${laptop}@alpha.test`;
    await post(laptop, [form(30, { email: ada, job_title: 'CEO', company: 'Alpha' })]);
    await drained(server);
    const adaId = (await leadOf(laptop)).id as string;
    const [tablet, stranger] = [newVisitor(), newVisitor()];
    let erasure: Promise<{ status: number }> | undefined;
    let armed = false;
    const other = await otherCollector(() => true, {
      async beforeInsert() {
        if (armed) await (erasure ??= erase(adaId));
      },
    });
    const rowsOf = (visitor: string, events: unknown[]) => batchToRows({ s: 'acme', v: visitor, e: events as WireBatch['e'] }, Date.now());
    // The other collector has been draining for a while.
    await other.write(rowsOf(stranger, [view(2, '/')]));
    await other.drained();
    armed = true;
    await other.write([...rowsOf(laptop, [view(1, '/pricing')]), ...rowsOf(tablet, [form(1, { email: ada, phone: '+33 6 22 22 22 22' })]), ...rowsOf(stranger, [view(1, '/product/a')])]);
    await other.drained();
    await other.close();
    expect((await erasure)?.status).toBe(200);

    expect(await count(`events WHERE visitor_id IN {visitors:Array(String)}`, { visitors: [laptop, tablet] })).toBe(0);
    expect(await count(`identities WHERE email = {ada:String}`, { ada })).toBe(0);
    // Nor do the dashboards count her visits, which that insert's rollup rows named.
    expect(await count(`visit_days WHERE visitor_id IN {visitors:Array(String)}`, { visitors: [laptop, tablet] })).toBe(0);
    // The rest of that insert stays.
    expect(await count(`events WHERE visitor_id = {visitor:String}`, { visitor: stranger })).toBe(2);
    expect(await count(`visit_days WHERE visitor_id = {visitor:String}`, { visitor: stranger })).toBeGreaterThan(0);
    await drained(server);
    expect((await getJson(server, `/api/leads/${adaId}?site=acme`)).status).toBe(404);
    expect((await getJson(server, `/api/leads?site=acme&visitor=${tablet}`)).body.leads).toEqual([]);
  });

  it('reads the erasures once per insert while no one is erased, and deletes nothing', async () => {
    const seen = { reads: 0, deletions: 0, inserts: 0 };
    const other = await otherCollector(() => true, {
      beforeInsert: async () => void seen.inserts++,
      erasures: {
        query: (params) => (seen.reads++, server.client.query(params)),
        command: (params) => (seen.deletions++, server.client.command(params)),
      } as Pick<ClickHouseClient, 'query' | 'command'>,
    });
    for (let i = 0; i < 5; i++) {
      await other.write(batchToRows({ s: 'acme', v: newVisitor(), e: [view(1, '/pricing')] as WireBatch['e'] }, Date.now()));
      await other.drained();
    }
    await other.close();
    // The read after each insert is the next one's check; only the first insert is checked before it too.
    expect(seen).toEqual({ reads: 6, deletions: 0, inserts: 5 });
  });

  it('keeps out what an erased browser sends later, known before the insert, with no deletion to take it back', async () => {
    const laptop = newVisitor();
    await post(laptop, [form(30, { email: `ada.${laptop}@alpha.test`, job_title: 'CEO' })]);
    await drained(server);
    expect((await erase((await leadOf(laptop)).id as string)).status).toBe(200);
    // A collector that learns of the erasure before its first insert: the page view the laptop's retry queue sends
    // (recorded before the erasure) is dropped from it, and never stored. QA: the log said "deleted events of a person
    // erased while they were being inserted", and ClickHouse ran two deletions, for a row no insert had carried.
    const seen = { deletions: 0 };
    const other = await otherCollector(() => true, {
      erasures: { query: (params) => server.client.query(params), command: (params) => (seen.deletions++, server.client.command(params)) } as Pick<ClickHouseClient, 'query' | 'command'>,
    });
    await other.write(batchToRows({ s: 'acme', v: laptop, e: [view(10, '/pricing')] as WireBatch['e'] }, Date.now()));
    await other.drained();
    await other.close();
    expect(await count(`events WHERE visitor_id = {visitor:String}`, { visitor: laptop })).toBe(0);
    expect(seen.deletions).toBe(0);
  });

  it('keeps the next user of a shared computer whole when their form was still in another collector’s log', async () => {
    // Ada gave her email on her laptop and on a shared PC; then Bob took the PC over, but what he did there waits in
    // a second collector's log (ClickHouse cut off): when Ada is erased, the PC is still hers as far as the store knows.
    const [laptop, shared, adasVisit, bobsVisit] = [newVisitor(), newVisitor(), newVisitor(), newVisitor()];
    const [ada, bob] = [`ada.${laptop}@alpha.test`, `bob.${shared}@beta.test`];
    await post(laptop, [form(59, { email: ada, job_title: 'CEO', company: 'Alpha' })], newVisitor());
    await post(shared, [form(49, { email: ada, job_title: 'CEO', company: 'Alpha' })], adasVisit);
    await drained(server);
    const adaId = (await leadOf(laptop)).id as string;
    let reachable = false;
    const other = await otherCollector(() => reachable);
    const inVisit = (sid: string, event: object) => ({ ...event, sid });
    await other.write(
      batchToRows(
        {
          s: 'acme',
          v: shared,
          e: [
            inVisit(adasVisit, view(45, '/product/a')),
            inVisit(bobsVisit, view(40, '/product/b')),
            inVisit(bobsVisit, form(29, { email: bob, job_title: 'Intern', company: 'Beta' })),
            inVisit(bobsVisit, view(28, '/careers/apply')),
          ] as WireBatch['e'],
        },
        Date.now(),
      ),
    );

    expect((await erase(adaId)).status).toBe(200);
    reachable = true;
    await other.drained();
    await other.close();

    // Ada's page view in her visit is hers and stays out; Bob's visit is his from its start, the page he viewed before
    // his form included.
    expect((await rows(`SELECT path FROM events WHERE visitor_id = {visitor:String} ORDER BY ts`, { visitor: shared })).map((row) => row.path)).toEqual([
      '/product/b',
      '/contact',
      '/careers/apply',
    ]);
    expect(await count(`identities WHERE email = {bob:String}`, { bob })).toBe(1);
    await drained(server);
    expect(await leadOf(shared)).toMatchObject({ email: bob, visitorIds: [shared] });
    expect((await getJson(server, `/api/leads/${adaId}?site=acme`)).status).toBe(404);
  });

  it('keeps out what another collector’s log held of their visits of a shared computer, and keeps the other person’s', async () => {
    // Cara, then Dan, then Cara again on one browser, each in a visit of their own; a second collector still holds
    // a retried page view of each person's first visit when Dan is erased.
    const [pc, cara1, dan1, cara2] = [newVisitor(), newVisitor(), newVisitor(), newVisitor()];
    const [cara, dan] = [`cara.${pc}@gamma.test`, `dan.${pc}@delta.test`];
    await post(pc, [view(60, '/product/1'), form(59, { email: cara })], cara1);
    await post(pc, [form(40, { email: dan })], dan1);
    await post(pc, [form(20, { email: cara })], cara2);
    await drained(server);
    let reachable = false;
    const other = await otherCollector(() => reachable);
    await other.write(
      batchToRows(
        { s: 'acme', v: pc, e: [{ ...view(58, '/product/cara'), sid: cara1 }, { ...view(39, '/product/dan'), sid: dan1 }] as WireBatch['e'] },
        Date.now(),
      ),
    );
    expect((await erase(leadIdOf(dan))).status).toBe(200);
    reachable = true;
    await other.drained();
    await other.close();

    const paths = (await rows(`SELECT path FROM events FINAL WHERE visitor_id = {pc:String} ORDER BY ts`, { pc })).map((row) => row.path);
    expect(paths).toEqual(['/product/1', '/contact', '/product/cara', '/contact']);
    await drained(server);
    expect((await getJson(server, `/api/leads/${leadIdOf(cara)}?site=acme`)).body).toMatchObject({ email: cara, visitorIds: [pc] });
  });

  it('keeps out what their browser recorded before the erasure when they give their email again in the same visit', async () => {
    const [visitor, visit] = [newVisitor(), newVisitor()];
    const email = `kim.${visitor}@kappa.test`;
    await post(visitor, [view(10, '/pricing'), form(9, { email, company: 'Kappa' }, 'demo-request')], visit);
    await drained(server);
    expect((await erase(leadIdOf(email))).status).toBe(200);

    // Their retry queue sends a page view of that visit recorded before the erasure, with an identify made after it.
    await post(visitor, [view(8, '/pricing/plans'), wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: email })], visit);
    await drained(server);
    // The identify is new activity, kept; the page view was theirs, erased. It came back, their new email taken for
    // another person's taking the browser over.
    const types = (await rows('SELECT type FROM events FINAL WHERE visitor_id = {visitor:String} ORDER BY ts', { visitor })).map((row) => row.type);
    expect(types).toEqual(['identify']);
  });

  it('keeps the visit of someone erased before, back as new activity, on the shared computer of a person erased after', async () => {
    const [laptop, pc] = [newVisitor(), newVisitor()];
    const [bob, ada] = [`bob.${laptop}@beta.test`, `ada.${pc}@alpha.test`];
    await post(laptop, [view(20, '/pricing'), form(19, { email: bob, company: 'Beta' })], newVisitor());
    await drained(server);
    expect((await erase(leadIdOf(bob))).status).toBe(200);
    const backAt = Date.now();
    await post(pc, [view(15, '/product/a'), form(14, { email: ada, company: 'Alpha' })], newVisitor());
    await drained(server);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await erase(leadIdOf(ada))).status).toBe(200);

    // Bob asked for a demo on Ada's computer after his own erasure and before hers; it arrives after hers (a retry queue).
    const fields = { 'email  ': bob, 'company  ': 'Beta' };
    await post(pc, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: backAt + 50 }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: backAt + 100, p: fields })], newVisitor());
    await drained(server);
    // New activity of his, kept: an erased email was taken for the erased person's own, whenever it was erased.
    expect(await getJson(server, `/api/leads/${leadIdOf(bob)}?site=acme`)).toMatchObject({ status: 200, body: { email: bob, visitorIds: [pc] } });
    expect(await count('events WHERE visitor_id = {pc:String}', { pc })).toBe(2);
  });

  it('keeps out the visit in which they gave their email on a device the erasure did not know, its page views included', async () => {
    const [laptop, phone, visit] = [newVisitor(), newVisitor(), newVisitor()];
    const email = `lea.${laptop}@lambda.test`;
    await post(laptop, [view(30, '/pricing'), form(29, { email, company: 'Lambda' })], newVisitor());
    await drained(server);
    expect((await erase(leadIdOf(email))).status).toBe(200);

    // Their phone's retry queue: a visit recorded before the erasure, a page view then their email; then the rest of it.
    await post(phone, [view(20, '/pricing'), wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: email, t: minutesAgo(19) })], visit);
    await post(phone, [view(18, '/product/a')], visit);
    await drained(server);
    expect(await count('events WHERE visitor_id = {phone:String}', { phone })).toBe(0);
    // Nor kept in clear in the write-ahead log that took them: its segment goes once drained.
    await expect.poll(walOnDisk, { timeout: 5000 }).not.toContain(email);
    // Back after the erasure, new activity: a lead with none of what came before.
    await post(phone, [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: email })], newVisitor());
    await drained(server);
    const { body } = await getJson(server, `/api/leads/${leadIdOf(email)}?site=acme`);
    expect(body.recentEvents.map((event: { type: string }) => event.type)).toEqual(['identify']);
  });

  it('keeps out, before they are stored, what the browser of a person this collector erased sends next', async () => {
    const filter = erasureFilter(server.client);
    const visitor = newVisitor();
    const visit = () => batchOfRows(batchToRows({ s: 'acme', v: visitor, e: [view(5, '/pricing')] as WireBatch['e'] }, Date.now()));
    // An insert, and the read after it.
    expect((await filter.apply([visit()])).map((batch) => batch.rows)).toEqual([1]);
    expect(await filter.stored([])).toBe(0);
    const at = toClickHouseTime(Date.now());
    await server.client.insert({ table: 'erasures', values: [{ site_id: 'acme', visitor_id: visitor, session_id: '', lead_id: '', until: at, erased_at: at }], format: 'JSONEachRow' });
    filter.recorded();
    // Read anew: the read after the last insert came before the erasure, and the insert would have stored the visit,
    // for the read after it to take back (the scorer scoring it in between).
    expect((await filter.apply([visit()])).map((batch) => batch.rows)).toEqual([0]);
  });

  it('keeps out the events of a person erased by a collector whose clock runs behind the one that erased before', async () => {
    // Two collectors erase a person each; the second one's clock is a few seconds behind the first's, so its erasure
    // is recorded after the first with an earlier time. A third collector's drain read the first one in between.
    const filter = erasureFilter(server.client);
    const [first, second] = [newVisitor(), newVisitor()];
    const erasure = (visitor: string, at: number) => ({ site_id: 'acme', visitor_id: visitor, lead_id: '', until: toClickHouseTime(at), erased_at: toClickHouseTime(at) });
    const now = Date.now();
    // Received by the third collector before either erasure.
    const visit = (visitor: string) => batchOfRows(batchToRows({ s: 'acme', v: visitor, e: [view(5, '/pricing')] as WireBatch['e'] }, now - 10_000));
    await server.client.insert({ table: 'erasures', values: [erasure(first, now)], format: 'JSONEachRow' });
    expect((await filter.apply([visit(first)])).map((batch) => batch.rows)).toEqual([0]);
    await server.client.insert({ table: 'erasures', values: [erasure(second, now - 3000)], format: 'JSONEachRow' });
    expect((await filter.apply([visit(second)])).map((batch) => batch.rows)).toEqual([0]);
  });

  it('judges what was theirs by when a collector received it or when it was recorded, whichever is earlier', async () => {
    const laptop = newVisitor();
    const ada = `ada.${laptop}@alpha.test`;
    await post(laptop, [form(30, { email: ada, job_title: 'CEO' })]);
    await drained(server);
    const adaId = (await leadOf(laptop)).id as string;
    let reachable = false;
    const other = await otherCollector(() => reachable);
    // Her laptop's clock runs 4 minutes fast: a form it sent a moment before the erasure is dated after it.
    const fastClock = Date.now() + 4 * 60_000;
    await other.write(batchToRows({ s: 'acme', v: laptop, e: [{ ...form(0, { email: ada, phone: '+33 6 00 00 00 00' }), t: fastClock }] as WireBatch['e'] }, Date.now() - 1000));
    const erasedAt = Date.now();
    expect((await erase(adaId)).status).toBe(200);
    // After the erasure her browser sends what its retry queue kept from before it, with its own times: a form of
    // hers, which would bring her back, and a page view. They were hers, and are dropped.
    await other.write(
      batchToRows({ s: 'acme', v: laptop, e: [{ ...form(0, { email: ada, job_title: 'CEO' }), t: erasedAt - 3_600_000 }, { ...view(0, '/product'), t: erasedAt - 3_599_000 }] as WireBatch['e'] }, Date.now() + 1000),
    );
    // Then the laptop is used again: new activity, which is kept.
    await other.write(batchToRows({ s: 'acme', v: laptop, e: [{ ...view(0, '/pricing'), t: Date.now() + 1000 }] as WireBatch['e'] }, Date.now() + 1000));
    reachable = true;
    await other.drained();
    await other.close();

    expect(await rows(`SELECT type, path FROM events WHERE visitor_id = {laptop:String}`, { laptop })).toEqual([{ type: 'pageview', path: '/pricing' }]);
    expect(await count(`identities WHERE email = {ada:String}`, { ada })).toBe(0);
  });

  it('keeps out an event of theirs sent again by a browser whose clock is wrong, whose first copy the erasure took', async () => {
    const laptop = newVisitor();
    const ada = `ada.${laptop}@omega.test`;
    // Her laptop's clock is three days slow, so its events are dated at their arrival. Their first copies reached
    // ClickHouse through another collector: this one remembers none of their times.
    const slowClock = Date.now() - 3 * 24 * 3_600_000;
    const events = [{ ...form(0, { email: ada, job_title: 'CEO' }), t: slowClock }, { ...view(0, '/product'), t: slowClock + 1000 }] as WireBatch['e'];
    const other = await otherCollector(() => true);
    await other.write(batchToRows({ s: 'acme', v: laptop, e: events }, Date.now() - 60_000));
    await other.drained();
    await other.close();
    await drained(server);
    expect((await erase((await leadOf(laptop)).id as string)).status).toBe(200);
    // Her retry queue sends the page view again (its acknowledgement was lost): when it was recorded cannot be told
    // from its time, and the erasure took its first copy.
    await post(laptop, [events[1]]);
    await drained(server);
    expect(await count('events WHERE visitor_id = {laptop:String}', { laptop })).toBe(0);
    // A browser erased more than a day before: what it sends is new, even with its clock wrong (a retry queue keeps a day).
    const desktop = newVisitor();
    await server.client.insert({
      table: 'erasures',
      values: [{ site_id: 'acme', visitor_id: desktop, session_id: '', lead_id: '', until: toClickHouseTime(Date.UTC(2299, 11, 31, 23, 59, 59, 999)), erased_at: toClickHouseTime(Date.now() - 26 * 3_600_000) }],
      format: 'JSONEachRow',
    });
    await post(desktop, [{ ...view(0, '/pricing'), t: slowClock }]);
    await drained(server);
    expect(await rows('SELECT path FROM events WHERE visitor_id = {desktop:String}', { desktop })).toEqual([{ path: '/pricing' }]);
  });

  it('erases what they sent while the erasure ran, stored behind its first deletions', async () => {
    const visitor = newVisitor();
    const email = `mo.${visitor}@delta.test`;
    await post(visitor, [view(10, '/pricing'), form(9, { email, job_title: 'CTO' })]);
    await drained(server);
    const id = (await leadOf(visitor)).id as string;
    const client = server.client;
    const command = client.command.bind(client);
    let landed = false;
    client.command = async (params) => {
      if (landed || !/^ALTER TABLE events\b.*DELETE/.test(params.query)) return command(params);
      landed = true;
      // A form of theirs arrives as the events are deleted, and is stored just after.
      await post(visitor, [form(0, { email, phone: '+33 6 11 11 11 11' })]);
      const deleted = await command(params);
      await server.sink.drained();
      return deleted;
    };
    try {
      expect((await erase(id)).status).toBe(200);
    } finally {
      client.command = command;
    }
    await drained(server);
    expect(await count(`events WHERE visitor_id = {visitor:String}`, { visitor })).toBe(0);
    expect(await count(`lead_scores WHERE lead_id = {id:String} AND kind != 'gone'`, { id })).toBe(0);
    expect((await getJson(server, `/api/leads/${id}?site=acme`)).status).toBe(404);
  });

  it('leaves no stored score or alert behind when their browser is rescored during the erasure', async () => {
    const visitor = newVisitor();
    const email = `lin.${visitor}@gamma.test`;
    await post(visitor, [view(10, '/pricing'), form(9, { email, job_title: 'CEO', company: 'Gamma' })]);
    await drained(server);
    const id = (await leadOf(visitor)).id as string;
    // Lin is still on the site when the erasure starts: a form of hers arrives as her events are deleted, and the
    // rescoring it triggers writes what it computed (a demo request: an alert, a new score).
    const client = server.client;
    const [command, insert] = [client.command.bind(client), client.insert.bind(client)];
    let erased!: () => void;
    const erasure = new Promise<void>((resolve) => (erased = resolve));
    let writing!: () => void;
    const rescored = new Promise<void>((resolve) => (writing = resolve));
    let landed = false;
    client.command = async (params) => {
      if (!landed && /^ALTER TABLE events\b.*DELETE/.test(params.query)) {
        landed = true;
        await post(visitor, [form(1, { email }, 'demo-request')]);
        await Promise.race([rescored, new Promise((resolve) => setTimeout(resolve, 3000))]);
      }
      return command(params);
    };
    // Only Lin's writes are held: a round the scorer had started for others (another test's leads, under a loaded
    // machine) must finish, as the erasure waits for it to give way; holding it too deadlocked the test.
    const hers = (values: unknown) => Array.isArray(values) && values.some((row) => (row as { lead_id?: string }).lead_id === id);
    client.insert = (async (params: Parameters<typeof insert>[0]) => {
      if ((params.table === 'lead_scores' || params.table === 'alert_outbox') && hers(params.values)) {
        writing();
        await erasure;
      }
      return insert(params);
    }) as typeof insert;
    try {
      expect((await erase(id)).status).toBe(200);
    } finally {
      erased();
      client.command = command;
      client.insert = insert;
    }
    await drained(server);

    expect(await count(`lead_scores WHERE lead_id = {id:String} AND kind != 'gone'`, { id })).toBe(0);
    expect(await count(`alert_outbox WHERE lead_id = {id:String}`, { id })).toBe(0);
    expect((await getJson(server, `/api/leads/${id}?site=acme`)).status).toBe(404);
  });
});

describe('an anonymous visitor, by its browser id (`v_…`)', () => {
  /** A browser that browsed the pricing and a product page, an event of it ClickHouse refused, and a stranger's beside it. */
  async function anonymousVisitor() {
    const [browser, stranger] = [newVisitor(), newVisitor()];
    await post(browser, [view(20, '/pricing'), view(19, '/product/a')]);
    await post(stranger, [view(18, '/pricing')]);
    const refused = refusedEvent(browser);
    await server.sink.write([refused, refusedEvent(stranger)]);
    await drained(server);
    const id = `v_${browser}`;
    // As the leads list names it.
    expect(await leadOf(browser)).toMatchObject({ id, kind: 'visitor' });
    return { browser, stranger, id, refused };
  }

  it('is exported: its events, those ClickHouse refused, its stored scores; to any role, as a lead is', async () => {
    const { browser, stranger, id, refused } = await anonymousVisitor();
    const { status, body, headers } = await getJson(server, `/api/leads/${id}/export?site=acme`, salesToken.token);
    expect(status).toBe(200);
    expect(headers.get('content-disposition')).toBe(`attachment; filename="hearth-${id}.json"`);
    expect(body).toMatchObject({ kind: 'visitor', id, email: null, visitorIds: [browser], leadIds: [id], handedOver: [], formerEmails: [], profile: {}, qualificationHistory: [], alerts: [] });
    expect(body.events.map((event: { visitor_id: string; path: string }) => `${event.visitor_id === browser ? 'browser' : event.visitor_id} ${event.path}`)).toEqual(['browser /product/a', 'browser /pricing']);
    expect(body.rejectedEvents).toEqual([expect.objectContaining({ event_id: refused.event_id, visitor_id: browser, path: '/pricing', reason: expect.stringMatching(/surrogate/) })]);
    expect(body.storedScores.length).toBeGreaterThan(0);
    expect(body.storedScores.map((row: { lead_id: string }) => row.lead_id)).toEqual(body.storedScores.map(() => id));
    expect(JSON.stringify(body)).not.toContain(stranger);
  });

  it('is erased by an admin: its events, stored scores, the log’s records and refused events, and its events still on their way', async () => {
    const { browser, stranger, id } = await anonymousVisitor();
    expect(await count(`lead_scores WHERE lead_id = {id:String}`, { id })).toBeGreaterThan(0);
    // A second collector, cut off from ClickHouse, still holds a page view the browser sent before the erasure.
    let reachable = false;
    const other = await otherCollector(() => reachable);
    await other.write(batchToRows({ s: 'acme', v: browser, e: [view(10, '/careers')] as WireBatch['e'] }, Date.now()));
    expect(walOnDisk()).toContain(browser);

    // Admins only, as for a lead.
    expect(await erase(id, salesToken.token)).toMatchObject({ status: 403 });
    expect(await erase(id)).toEqual({ status: 200, body: { erased: id, visitorIds: [browser], handedOver: [], leadIds: [id] } });
    reachable = true;
    await other.drained();
    await other.close();

    expect(await count(`events WHERE visitor_id = {browser:String}`, { browser })).toBe(0);
    expect(await count(`lead_scores WHERE lead_id = {id:String}`, { id })).toBe(0);
    expect(await count(`erasures WHERE visitor_id = {browser:String}`, { browser })).toBeGreaterThan(0);
    expect(walOnDisk()).not.toContain(browser);
    // The stranger beside it keeps everything, their refused event included.
    expect(await count(`events WHERE visitor_id = {stranger:String}`, { stranger })).toBe(1);
    expect(readFileSync(join(walDir(), REJECTED_FILE), 'utf8')).toContain(stranger);
    await drained(server);
    expect((await getJson(server, `/api/leads?site=acme&visitor=${browser}`)).body.leads).toEqual([]);
    expect(await getJson(server, `/api/leads/${id}/export?site=acme`)).toMatchObject({ status: 404, body: { code: 'already_erased' } });
    expect(await erase(id)).toMatchObject({ status: 404, body: { code: 'already_erased', error: expect.stringMatching(new RegExp(`^the person of "${id}" on site "acme" was erased at `)) } });

    // The browser comes back: a new anonymous visitor, kept, whom no answer calls erased with "nothing of theirs kept".
    await post(browser, [view(0, '/product/b')], newVisitor());
    await drained(server);
    expect((await getJson(server, `/api/leads?site=acme&visitor=${browser}`)).body.leads).toMatchObject([{ id, kind: 'visitor', events: 1 }]);
    expect(await getJson(server, `/api/leads/${id}?site=acme`)).toMatchObject({ status: 200, body: { id, kind: 'visitor', events: 1, recentEvents: [expect.objectContaining({ path: '/product/b' })] } });
    expect(await getJson(server, `/api/leads/${id}/export?site=acme`)).toMatchObject({ status: 200, body: { events: [expect.objectContaining({ path: '/product/b' })] } });
  });

  it('is the identified lead’s once its browser gave an email: 409 naming the lead, and nothing erased', async () => {
    const browser = newVisitor();
    await post(browser, [view(20, '/pricing')]);
    await drained(server);
    const id = `v_${browser}`;
    expect((await getJson(server, `/api/leads/${id}/export?site=acme`)).status).toBe(200);
    // Then the form, still on its way when asked: the answer waits for it.
    const email = `zoe.${browser}@zeta.test`;
    await post(browser, [form(10, { email, company: 'Zeta' })]);
    const identified = { status: 409, body: { code: 'visitor_identified', leadIds: [leadIdOf(email)], error: expect.stringContaining(leadIdOf(email)) } };
    expect(await getJson(server, `/api/leads/${id}/export?site=acme`)).toMatchObject(identified);
    expect(await erase(id)).toMatchObject(identified);
    expect(await count(`events WHERE visitor_id = {browser:String}`, { browser })).toBe(2);
    // The lead's export holds the browser's anonymous history, and its erasure takes it.
    const leads = await getJson(server, `/api/leads/${leadIdOf(email)}/export?site=acme`);
    expect(leads.body).toMatchObject({ kind: 'lead', email, leadIds: [leadIdOf(email), id] });
    expect(leads.body.events.map((event: { path: string }) => event.path)).toEqual(['/contact', '/pricing']);
  });

  it('is found, exported and erased by its cookie’s value when a server framework rewrote the cookie', async () => {
    // The snippet sends the hearth_vid it finds, here quoted and URL-encoded; /collect stores it under an id derived from it.
    const cookie = `%22${newVisitor()}%22`;
    const posted = await postBatch(server, { s: 'acme', v: cookie, e: [view(20, '/pricing')] });
    const storedAs = /stored as (h-[\w-]{22}),/.exec(posted.body.ignored[0].message)![1]!;
    await drained(server);
    const id = `v_${encodeURIComponent(cookie)}`;
    const listed = await getJson(server, `/api/leads?site=acme&visitor=${encodeURIComponent(cookie)}`);
    expect(listed.body.leads).toEqual([expect.objectContaining({ id: `v_${storedAs}`, kind: 'visitor' })]);
    expect(await getJson(server, `/api/leads/${id}/export?site=acme`)).toMatchObject({ status: 200, body: { kind: 'visitor', visitorIds: [storedAs] } });
    expect(await erase(id)).toMatchObject({ status: 200, body: { erased: `v_${storedAs}`, visitorIds: [storedAs] } });
    expect(await count(`events WHERE visitor_id = {storedAs:String}`, { storedAs })).toBe(0);
  });

  it("is found, exported and erased by localStorage's hearth_vid too, whose first part the snippet sends", async () => {
    // What an admin copies from the browser's developer tools: visitor id, session id and last activity, joined by dots.
    const visitor = newVisitor();
    const stored = `${visitor}.${crypto.randomUUID()}.${Date.now()}`;
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [view(20, '/pricing')] })).status).toBe(202);
    await drained(server);
    const listed = await getJson(server, `/api/leads?site=acme&visitor=${stored}`);
    expect(listed.body.leads).toEqual([expect.objectContaining({ id: `v_${visitor}`, kind: 'visitor' })]);
    expect(await getJson(server, `/api/leads/v_${stored}/export?site=acme`)).toMatchObject({ status: 200, body: { kind: 'visitor', visitorIds: [visitor] } });
    expect(await getJson(server, `/api/leads/v_${stored}?site=acme`)).toMatchObject({ status: 200, body: { id: `v_${visitor}`, kind: 'visitor', visitorIds: [visitor], pageviews: 1 } });
    expect(await erase(`v_${stored}`)).toMatchObject({ status: 200, body: { erased: `v_${visitor}`, visitorIds: [visitor] } });
    expect(await count('events WHERE visitor_id = {visitor:String}', { visitor })).toBe(0);
    expect(await getJson(server, `/api/leads/v_${stored}?site=acme`)).toMatchObject({ status: 404, body: { code: 'already_erased' } });
  });

  it('answers 404 for a browser the site never saw, or an id of another shape', async () => {
    for (const id of [`v_${newVisitor()}`, 'v_x', 'v_../../etc']) {
      expect((await getJson(server, `/api/leads/${encodeURIComponent(id)}/export?site=acme`)).body).toMatchObject({ code: 'lead_not_found' });
      expect((await erase(encodeURIComponent(id))).body).toMatchObject({ code: 'lead_not_found' });
    }
  });
});
