import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendQualification, currentQualifications, findLead, leadEvents, leadIdOf, leadTimeline, TIMELINE_ROWS, type LeadIdentity } from '../../collector/api/lead-store.ts';
import { newApiToken } from '../../collector/auth/tokens.ts';
import type { RunningServer } from '../../collector/server.ts';
import { applyQualificationChange } from '../../scoring/qualification.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, storedEvents, TEST_TOKEN, wireEvent } from '../support/server.ts';

let server: RunningServer;
/** A second salesperson, beside the admin token. */
const kim = newApiToken();
beforeAll(async () => {
  server = await startTestServer({
    sites: [
      { id: 'acme', origins: [SITE_ORIGIN] },
      { id: 'globex', origins: ['https://globex.test'], qualification: { framework: 'champ', required: ['challenges', 'money'] } },
      // Automated browsers only, kept out of the other sites' lists.
      { id: 'bots', origins: [SITE_ORIGIN] },
      // A person and a robot that gave their email, kept out of the others' lists too.
      { id: 'mixed', origins: [SITE_ORIGIN] },
    ],
    tokens: [{ name: 'kim', role: 'sales', tokenHash: kim.tokenHash }],
  });
});
afterAll(() => server.close());

const minutesAgo = (minutes: number) => Date.now() - minutes * 60_000;

async function send(method: string, path: string, body?: unknown, token = TEST_TOKEN) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any, headers: response.headers };
}

/** Sends a browser's events as the snippet would, a hundred a batch, each batch accepted, and waits for them to be scored. */
async function sendAll(site: string, visitor: string, events: Record<string, unknown>[]) {
  for (let start = 0; start < events.length; start += 100) expect((await postBatch(server, { s: site, v: visitor, e: events.slice(start, start + 100) })).status).toBe(202);
  await drained(server);
}

/** The lead page's events from one read of the lead's rows are those ClickHouse's window query lists, for each limit. */
async function expectListedAsClickHouse(lead: LeadIdentity, limits: number[]) {
  for (const limit of limits) {
    expect((await leadTimeline(server.client, 'acme', lead, limit)).events, `limit ${limit}`).toEqual(await leadEvents(server.client, 'acme', lead, limit));
  }
}

/** A visitor who browses anonymously on two devices, then fills the demo form and later updates a field. */
async function makeLead(site = 'acme', origin = SITE_ORIGIN, email = `ada.${newVisitor()}@lovelace.test`) {
  const laptop = newVisitor();
  const phone = newVisitor();
  const post = (v: string, events: unknown[]) => postBatch(server, { s: site, v, e: events }, { origin });
  await post(laptop, [wireEvent({ u: `${origin}/pricing`, t: minutesAgo(50) }), wireEvent({ u: `${origin}/product`, t: minutesAgo(49) })]);
  await post(laptop, [wireEvent({ n: 'f', u: `${origin}/contact`, k: 'demo-request', t: minutesAgo(40), p: { 'email  email': email, 'job_title  ': 'Head of Ops', 'company  ': 'Lovelace' } })]);
  await post(phone, [wireEvent({ n: 'i', u: `${origin}/`, em: email, t: minutesAgo(10), p: { job_title: 'COO', country: 'FR' } })]);
  await drained(server);
  const { body } = await getJson(server, `/api/leads?site=${site}&visitor=${laptop}`);
  return { id: body.leads[0].id as string, email, laptop, phone };
}

describe('one lead through the API', () => {
  it('shows the latest 100 events of a lead who has more, and says older ones are left out', async () => {
    const lead = await makeLead();
    // 97 page views more: 101 events in all, the oldest (the first pricing view, 50 minutes ago) left out.
    const views = Array.from({ length: 97 }, (_, i) => wireEvent({ u: `${SITE_ORIGIN}/docs/${i}`, t: minutesAgo(9) + i * 1000 }));
    await postBatch(server, { s: 'acme', v: lead.laptop, e: views.slice(0, 50) });
    await postBatch(server, { s: 'acme', v: lead.laptop, e: views.slice(50) });
    await drained(server);
    const { body } = await getJson(server, `/api/leads/${lead.id}?site=acme`);
    expect(body.recentEvents).toHaveLength(100);
    expect(body.olderEvents).toBe(true);
    expect(body.recentEvents.at(-1)).toMatchObject({ type: 'pageview', path: '/product' });
  });

  it('shows the events of the browsers that are the lead\'s now, when its latest stored score names others', async () => {
    const lead = await makeLead();
    const other = await makeLead();
    // A stored score that counted another browser, as one written before a browser changed hands would.
    await server.client.command({
      query: `INSERT INTO lead_scores SELECT * REPLACE ([{browser:String}] AS visitor_ids, scored_at + INTERVAL 1 SECOND AS scored_at)
        FROM lead_scores WHERE site_id = 'acme' AND lead_id = {id:String} ORDER BY scored_at DESC LIMIT 1`,
      query_params: { id: lead.id, browser: other.laptop },
    });
    const { body } = await getJson(server, `/api/leads/${lead.id}?site=acme`);
    expect(body.visitorIds).toEqual([lead.laptop, lead.phone].sort());
    expect([...new Set(body.recentEvents.map((event: { visitor_id: string }) => event.visitor_id))].sort()).toEqual([lead.laptop, lead.phone].sort());
  });

  it('shows the profile merged from forms and identify calls, every device, and recent events', async () => {
    const lead = await makeLead();
    const { status, body } = await getJson(server, `/api/leads/${lead.id}?site=acme`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: lead.id, kind: 'lead', email: lead.email, visitorIds: [lead.laptop, lead.phone].sort() });
    // When it was first and last seen, as the list says.
    const listed = (await getJson(server, `/api/leads?site=acme&visitor=${lead.laptop}`)).body.leads[0];
    expect([body.firstSeen, body.lastSeen]).toEqual([listed.firstSeen, listed.lastSeen]);
    expect(body.lastSeen).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(body.profile).toEqual({ job_title: 'COO', company: 'Lovelace', country: 'FR' });
    expect(body.recentEvents.map((e: { type: string }) => e.type)).toEqual(['identify', 'form', 'pageview', 'pageview']);
    expect(body.olderEvents).toBe(false);
    expect(body.qualification).toMatchObject({ framework: 'bant', prospect: false, missing: ['budget', 'authority', 'need', 'timing'] });
    // Its times in ISO 8601 UTC, as the score history's.
    expect(body.recentEvents.map((e: { ts: string; received_at: string }) => [e.ts, e.received_at]).flat()).toEqual(Array(8).fill(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)));
  });

  it('lists a page view with its engaged time in all and the deepest scroll reached, not the pieces the snippet sent them in, and a piece with no view as it is', async () => {
    const laptop = newVisitor();
    const email = `grace.${newVisitor()}@hopper.test`;
    const at = (minutes: number) => ({ sid: 'visit-1', t: minutesAgo(minutes) });
    // Each piece with the deepest scroll reached on its page so far, as the snippet sends them.
    const piece = (page: string, ms: number, minutes: number, sd: number, sid = 'visit-1') => wireEvent({ n: 'e', u: `${SITE_ORIGIN}${page}`, ms, sd, sid, t: minutesAgo(minutes) });
    await postBatch(server, { s: 'acme', v: laptop, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, ...at(30) }), piece('/pricing', 15_000, 29.7, 40), piece('/pricing', 15_000, 29.5, 85)] });
    await postBatch(server, { s: 'acme', v: laptop, e: [piece('/pricing', 12_000, 29.2, 85), wireEvent({ u: `${SITE_ORIGIN}/contact`, ...at(29.2) }), piece('/contact', 4_000, 29, 100)] });
    // The same page again in the visit: its own view, with its own time and depth.
    await postBatch(server, { s: 'acme', v: laptop, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, ...at(28) }), piece('/pricing', 9_000, 27.8, 20)] });
    // Another visit whose view was never received (a blocked request): its piece is listed as it is, but a piece of
    // under a second (a tab shown and left at once), which says nothing, is not listed.
    await postBatch(server, { s: 'acme', v: laptop, e: [piece('/docs', 7_000, 20, 60, 'visit-2'), piece('/blog', 400, 19.5, 10, 'visit-2'), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', sid: 'visit-2', t: minutesAgo(19), p: { 'email  email': email } })] });
    await drained(server);
    const listed = (await getJson(server, `/api/leads?site=acme&visitor=${laptop}`)).body.leads[0];
    const id = listed.id;
    const { body } = await getJson(server, `/api/leads/${id}?site=acme`);
    // Its counts, as the list gives them: every event stored (the pieces included), and the page views.
    expect([body.events, body.pageviews]).toEqual([11, 3]);
    expect([listed.events, listed.pageviews]).toEqual([body.events, body.pageviews]);
    expect(body.recentEvents.map((event: { type: string; path: string; engaged_ms: number; scroll_depth: number }) => [event.type, event.path, event.engaged_ms, event.scroll_depth])).toEqual([
      ['form', '/contact', 0, 0],
      ['engagement', '/docs', 7_000, 60],
      ['pageview', '/pricing', 9_000, 20],
      ['pageview', '/contact', 4_000, 100],
      ['pageview', '/pricing', 42_000, 85],
    ]);
  });

  it("lists and counts a lead's events from one read of its rows as ClickHouse's own queries do, pieces of one millisecond included", async () => {
    const [laptop, phone] = [newVisitor(), newVisitor()];
    const email = `ties.${laptop}@hopper.test`;
    const t0 = minutesAgo(30);
    const [low, high, mixedA, mixedB] = ['00000000-0000-4000-8000-000000000001', 'ffffffff-ffff-4fff-bfff-ffffffffffff', '00000000-0000-4000-bfff-ffffffffffff', 'ffffffff-ffff-4fff-8000-000000000001'];
    const at = (ms: number, fields: Record<string, unknown>) => wireEvent({ sid: 'visit-1', t: t0 + ms, ...fields });
    const view = (page: string, ms: number, id?: string) => at(ms, { u: `${SITE_ORIGIN}${page}`, ...(id && { i: id }) });
    const piece = (page: string, ms: number, engaged: number, depth: number, id?: string) => at(ms, { n: 'e', u: `${SITE_ORIGIN}${page}`, ms: engaged, sd: depth, ...(id && { i: id }) });
    await postBatch(server, { s: 'acme', v: laptop, e: [
      // Two views of a page in one millisecond, and a piece of that millisecond: one of them has it, by event id.
      view('/pricing', 0, high), view('/pricing', 0, low), piece('/pricing', 0, 5_000, 30), piece('/pricing', 1_000, 3_000, 70),
      view('/plans', 500, mixedA), view('/plans', 500, mixedB), piece('/plans', 500, 2_500, 40, '00000000-0000-4000-8000-000000000002'), piece('/plans', 500, 1_200, 55, 'ffffffff-ffff-4fff-bfff-fffffffffffe'),
      // A piece before any view of its page, then the view: the piece is listed, the view has none.
      piece('/faq', 1_500, 2_000, 10), view('/faq', 1_600),
      // A view and its piece in one millisecond, and pieces of no view, of a second and more, and one under a second.
      view('/contact', 2_000), piece('/contact', 2_000, 2_000, 100), piece('/docs', 3_000, 1_500, 20), piece('/blog', 3_000, 999, 5), piece('/legal', 3_100, 1_000, 5),
      at(4_000, { n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', p: { email } }),
    ] });
    await postBatch(server, { s: 'acme', v: phone, e: [
      wireEvent({ n: 'i', sid: 'visit-9', u: `${SITE_ORIGIN}/`, em: email, t: t0 + 5_000 }),
      wireEvent({ sid: 'visit-9', u: `${SITE_ORIGIN}/pricing`, t: t0 + 5_000 }),
      wireEvent({ n: 'e', sid: 'visit-9', u: `${SITE_ORIGIN}/pricing`, ms: 8_000, sd: 90, t: t0 + 6_000 }),
    ] });
    await drained(server);
    const lead = await findLead(server.client, 'acme', leadIdOf(email));
    expect(lead?.visitorIds).toEqual([laptop, phone].sort());
    await expectListedAsClickHouse(lead!, [101, 4]);
    const { body } = await getJson(server, `/api/leads/${lead!.id}?site=acme`);
    expect([body.events, body.pageviews]).toEqual([19, 7]);
    const listed = (await getJson(server, `/api/leads?site=acme&visitor=${laptop}`)).body.leads[0];
    expect([listed.events, listed.pageviews]).toEqual([body.events, body.pageviews]);
    expect(body.recentEvents.map((event: { type: string; path: string; engaged_ms: number }) => [event.type, event.path, event.engaged_ms]).filter(([type]: string[]) => type !== 'pageview')).toEqual([
      ['identify', '/', 0],
      ['form', '/contact', 0],
      ['engagement', '/legal', 1_000],
      ['engagement', '/docs', 1_500],
      ['engagement', '/faq', 2_000],
    ]);
    // Each millisecond's pieces went to one view of it: the page's engaged time in all is its pieces'.
    const engagedOn = (path: string) => body.recentEvents.filter((event: { type: string; path: string }) => event.type === 'pageview' && event.path === path).map((event: { engaged_ms: number }) => event.engaged_ms).sort((a: number, b: number) => a - b);
    expect([engagedOn('/pricing'), engagedOn('/plans')]).toEqual([[0, 8_000, 8_000], [0, 3_700]]);
  });

  it('lists the latest 100 events of a lead with more rows than one read takes, its pieces added to their views, and counts them all', async () => {
    for (const lateOldPiece of [false, true]) {
      const visitor = newVisitor();
      const email = `many.${visitor}@hopper.test`;
      const t0 = minutesAgo(60);
      // A view and a piece a second, more rows than leadTimeline reads at once.
      const pairs = Math.ceil(TIMELINE_ROWS / 2) + 10;
      const events = Array.from({ length: pairs }, (_, i) => [
        wireEvent({ sid: 'long-visit', u: `${SITE_ORIGIN}/docs/${i}`, t: t0 + i * 2_000 }),
        wireEvent({ n: 'e', sid: 'long-visit', u: `${SITE_ORIGIN}/docs/${i}`, ms: 1_000 + i, sd: 50, t: t0 + i * 2_000 + 1_000 }),
      ]).flat();
      // A tab of the first page, left open, sends a piece at the end: its view is among the rows not read at first.
      if (lateOldPiece) events.push(wireEvent({ n: 'e', sid: 'long-visit', u: `${SITE_ORIGIN}/docs/0`, ms: 5_000, sd: 90, t: t0 + pairs * 2_000 - 500 }));
      events.push(wireEvent({ n: 'f', sid: 'long-visit', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: t0 + pairs * 2_000, p: { email } }));
      await sendAll('acme', visitor, events);
      await expectListedAsClickHouse((await findLead(server.client, 'acme', leadIdOf(email)))!, [101, 5]);
      const { body } = await getJson(server, `/api/leads/${leadIdOf(email)}?site=acme`);
      expect([body.events, body.pageviews, body.olderEvents]).toEqual([events.length, pairs, true]);
      expect(body.recentEvents).toHaveLength(100);
      // The late piece is the first page's engaged time, not an event of its own.
      expect(body.recentEvents.slice(0, 3).map((event: { type: string; path: string; engaged_ms: number }) => [event.type, event.path, event.engaged_ms])).toEqual([
        ['form', '/contact', 0],
        ['pageview', `/docs/${pairs - 1}`, 1_000 + pairs - 1],
        ['pageview', `/docs/${pairs - 2}`, 1_000 + pairs - 2],
      ]);
    }
  });

  it('lists a lead whose latest rows, more than one read takes, are the pieces of one long read as ClickHouse does', async () => {
    const visitor = newVisitor();
    const email = `long.${visitor}@hopper.test`;
    const t0 = minutesAgo(200);
    const visit = { sid: 'one-visit' };
    const [low, high] = ['00000000-0000-4000-8000-000000000001', 'ffffffff-ffff-4fff-bfff-ffffffffffff'];
    const events = [
      wireEvent({ n: 'f', ...visit, u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: t0 - 1_000, p: { email } }),
      // A view and a piece of one millisecond, where one read ends: the piece, after the view by event id, is left out.
      wireEvent({ i: low, ...visit, u: `${SITE_ORIGIN}/pricing`, t: t0 }),
      wireEvent({ i: high, n: 'e', ...visit, u: `${SITE_ORIGIN}/pricing`, ms: 5_000, sd: 30, t: t0 }),
      // Then a page read for two hours: its view and pieces of under a second each, the latest rows, all but one of a read.
      wireEvent({ ...visit, u: `${SITE_ORIGIN}/guide`, t: t0 + 1_000 }),
      ...Array.from({ length: TIMELINE_ROWS - 2 }, (_, i) => wireEvent({ n: 'e', ...visit, u: `${SITE_ORIGIN}/guide`, ms: 500, sd: 60, t: t0 + 2_000 + i * 1_000 })),
    ];
    await sendAll('acme', visitor, events);
    await expectListedAsClickHouse((await findLead(server.client, 'acme', leadIdOf(email)))!, [101, 2]);
    const { body } = await getJson(server, `/api/leads/${leadIdOf(email)}?site=acme`);
    expect([body.events, body.pageviews, body.olderEvents]).toEqual([events.length, 2, false]);
    expect(body.recentEvents.map((event: { type: string; path: string; engaged_ms: number }) => [event.type, event.path, event.engaged_ms])).toEqual([
      ['pageview', '/guide', (TIMELINE_ROWS - 2) * 500],
      ['pageview', '/pricing', 5_000],
      ['form', '/contact', 0],
    ]);
  });

  it('shows, and exports, the answers a later "-" or "N/A" did not take back, as the score counts them', async () => {
    const lead = await makeLead();
    const later = { n: 'i', u: `${SITE_ORIGIN}/`, em: lead.email, t: minutesAgo(5), p: { job_title: '-', company: 'N/A', country: ' néant ' } };
    expect((await postBatch(server, { s: 'acme', v: lead.phone, e: [wireEvent(later)] })).status).toBe(202);
    await drained(server);
    const { body } = await getJson(server, `/api/leads/${lead.id}?site=acme`);
    expect(body.profile).toEqual({ job_title: 'COO', company: 'Lovelace', country: 'FR' });
    expect(body.reasons.map((reason: { rule: string }) => reason.rule)).toContain('c-level');
    const exported = await getJson(server, `/api/leads/${lead.id}/export?site=acme`);
    expect(exported.body.profile).toEqual({ job_title: 'COO', company: 'Lovelace', country: 'FR' });
  });

  it('shows and exports the job level as the title of a lead who gave none, as the score counts it, scored or not', async () => {
    for (const [site, bot] of [['acme', false], ['bots', true]] as const) {
      const email = `level.${newVisitor()}@lovelace.test`;
      const visitor = newVisitor();
      const form = wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo', t: minutesAgo(5), p: { email, job_level: 'C-Level', job_function: 'Marketing' } });
      expect((await postBatch(server, { s: site, v: visitor, ...(bot && { b: true }), e: [form] })).status).toBe(202);
      await drained(server);
      const { body } = await getJson(server, `/api/leads/${leadIdOf(email)}?site=${site}`);
      const profile = { job_function: 'Marketing', job_level: 'C-Level', job_title: 'C-Level' };
      expect([body.score === null, body.profile], site).toEqual([bot, profile]);
      expect((await getJson(server, `/api/leads/${leadIdOf(email)}/export?site=${site}`)).body.profile, site).toEqual(profile);
    }
  });

  it('shows and exports the answer the score counts when two answers to a question share their time', async () => {
    // A form and an identify call in the same millisecond (a site that identifies on submit), or one batch of a
    // browser whose clock is off, which the collector stores at its arrival time: the same time for every event.
    const ids = ['00000000-0000-4000-8000-000000000001', 'ffffffff-ffff-4fff-bfff-ffffffffffff'];
    for (const [formId, identifyId] of [ids, [...ids].reverse()]) {
      const email = `tie.${newVisitor()}@lovelace.test`;
      const visitor = newVisitor();
      const t = minutesAgo(5);
      const events = [
        wireEvent({ i: formId, n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo', t, p: { email, job_title: 'Stagiaire' } }),
        wireEvent({ i: identifyId, n: 'i', u: `${SITE_ORIGIN}/contact`, em: email, t, p: { job_title: 'CEO' } }),
      ];
      expect((await postBatch(server, { s: 'acme', v: visitor, e: events })).status).toBe(202);
      await drained(server);
      const id = (await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body.leads[0].id;
      const { body } = await getJson(server, `/api/leads/${id}?site=acme`);
      const counted = body.reasons.some((reason: { rule: string }) => reason.rule === 'c-level') ? 'CEO' : 'Stagiaire';
      expect(body.profile.job_title, `form ${formId}`).toBe(counted);
      expect((await getJson(server, `/api/leads/${id}/export?site=acme`)).body.profile.job_title, `form ${formId}`).toBe(counted);
    }
  });

  it("gives two people who send forms in one visit (a stand's computer) their own answers, on the page and in the export", async () => {
    const visitor = newVisitor();
    const [lea, kai] = [`lea.${visitor}@booth.test`, `kai.${visitor}@visitor.test`];
    const events = [
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'contact', t: minutesAgo(20), p: { email: lea, job_title: 'CEO', company: 'Booth' } }),
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'contact', t: minutesAgo(10), p: { email: kai, first_name: 'Kai' } }),
    ];
    expect((await postBatch(server, { s: 'acme', v: visitor, sid: `s-${visitor}`, e: events })).status).toBe(202);
    await drained(server);
    const page = (await getJson(server, `/api/leads/${leadIdOf(kai)}?site=acme`)).body;
    const exported = (await getJson(server, `/api/leads/${leadIdOf(kai)}/export?site=acme`)).body;
    for (const profile of [page.profile, exported.profile]) {
      expect(profile).toMatchObject({ first_name: 'Kai' });
      expect(profile).not.toHaveProperty('job_title');
      expect(profile).not.toHaveProperty('company');
    }
  });

  it('shows a lead seen only through an automated browser, unscored, with the profile its forms give', async () => {
    // The rules leave bots out: no stored score holds its email, so the lead is found by its id's hash alone.
    const email = `bot.${newVisitor()}@lovelace.test`;
    const visitor = newVisitor();
    const form = wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo', t: minutesAgo(5), p: { email, job_title: 'CEO', company: 'Robots' } });
    const view = wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(10) });
    expect((await postBatch(server, { s: 'bots', v: visitor, b: true, e: [view, form] })).status).toBe(202);
    await drained(server);
    const { status, body } = await getJson(server, `/api/leads/${leadIdOf(email)}?site=bots`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: leadIdOf(email), email, visitorIds: [visitor], lifecycle: 'lead', owner: null, score: null, profile: { company: 'Robots', job_title: 'CEO' } });
    expect(body.recentEvents.map((event: { type: string; is_bot: number }) => [event.type, event.is_bot])).toEqual([['form', 1], ['pageview', 1]]);
    // Every key a scored lead has, none left out: the score's null or empty; its counts and first and last seen from
    // its events, as the list with bots=include gives them.
    const listed = (await getJson(server, `/api/leads?site=bots&bots=include`)).body.leads.find((lead: { id: string }) => lead.id === leadIdOf(email));
    expect(Object.keys(body)).toEqual(expect.arrayContaining(Object.keys(listed)));
    expect(body).toMatchObject({ fit: null, engagement: null, sourcePoints: null, negative: null, temperature: null, stage: null, reasons: [], signals: [], firstTouch: null });
    expect(body).toMatchObject({ events: listed.events, pageviews: listed.pageviews, firstSeen: listed.firstSeen, lastSeen: listed.lastSeen });
    expect([body.events, body.pageviews, body.firstSeen, body.lastSeen]).toEqual([2, 1, new Date(view.t as number).toISOString(), new Date(form.t as number).toISOString()]);
    // Where it stands, as the list with bots=include says it, once sales disqualify it.
    expect((await send('POST', `/api/leads/${leadIdOf(email)}/qualification?site=bots`, { disqualified: true, reason: 'a test robot', owner: 'sam@vendor.test' })).status).toBe(200);
    expect((await getJson(server, `/api/leads/${leadIdOf(email)}?site=bots`)).body).toMatchObject({ lifecycle: 'disqualified', owner: 'sam@vendor.test', score: null });
    expect((await getJson(server, `/api/leads?site=bots&bots=include`)).body.leads.find((lead: { id: string }) => lead.id === leadIdOf(email))).toMatchObject({ lifecycle: 'disqualified', owner: 'sam@vendor.test' });
  });

  it("leaves an automated browser that gave a scored lead's email out of its page, as its score and the list do", async () => {
    const [robot, laptop] = [newVisitor(), newVisitor()];
    const email = `mixed.${laptop}@lovelace.test`;
    // A test robot (a monitoring script, a QA tool) fills the demo form with a real person's email; the person then
    // browses and identifies on their own laptop.
    await postBatch(server, { s: 'mixed', v: robot, b: true, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(20) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(19), p: { email } })] });
    await postBatch(server, { s: 'mixed', v: laptop, e: [wireEvent({ u: `${SITE_ORIGIN}/product`, t: minutesAgo(10) }), wireEvent({ n: 'i', u: `${SITE_ORIGIN}/product`, em: email, t: minutesAgo(9) })] });
    await drained(server);
    const { body } = await getJson(server, `/api/leads/${leadIdOf(email)}?site=mixed`);
    const listed = (await getJson(server, `/api/leads?site=mixed&visitor=${laptop}`)).body.leads[0];
    expect(listed.id).toBe(leadIdOf(email));
    expect([body.visitorIds, body.events, body.pageviews]).toEqual([[laptop], listed.events, listed.pageviews]);
    expect([body.events, body.pageviews]).toEqual([2, 1]);
    expect(body.recentEvents.map((event: { type: string; is_bot: number }) => [event.type, event.is_bot])).toEqual([['identify', 0], ['pageview', 0]]);
  });

  it('shows an anonymous visitor by the id the list gives it: its score as listed, the answers of its forms, its events, no qualification', async () => {
    const visitor = newVisitor();
    await sendAll('acme', visitor, [
      wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(30) }),
      wireEvent({ n: 'e', u: `${SITE_ORIGIN}/pricing`, ms: 20_000, t: minutesAgo(29) }),
      // A form that asks no email: the visitor stays anonymous, its answers are its profile.
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/survey`, k: 'survey', t: minutesAgo(28), p: { 'job_title  ': 'CTO', 'company_size  ': '500' } }),
    ]);
    const listed = (await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body.leads[0];
    expect(listed).toMatchObject({ id: `v_${visitor}`, kind: 'visitor' });
    const { status, body } = await getJson(server, `/api/leads/${listed.id}?site=acme`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: `v_${visitor}`, email: '', kind: 'visitor', visitorIds: [visitor], lifecycle: 'visitor', owner: null, qualification: null, events: 3, pageviews: 1 });
    expect(body.profile).toEqual({ job_title: 'CTO', company_size: '500' });
    const scored = ['score', 'fit', 'engagement', 'sourcePoints', 'negative', 'temperature', 'stage', 'reasons', 'signals', 'firstTouch', 'firstSeen', 'lastSeen', 'events', 'pageviews'];
    expect(Object.fromEntries(scored.map((key) => [key, body[key]]))).toEqual(Object.fromEntries(scored.map((key) => [key, listed[key]])));
    expect(body.reasons.map((reason: { rule: string }) => reason.rule)).toContain('c-level');
    // The engagement piece is added to its page view, as on a lead's page.
    expect(body.recentEvents.map((event: { type: string; engaged_ms: number }) => [event.type, event.engaged_ms])).toEqual([['form', 0], ['pageview', 20_000]]);
    expect(body.scoreHistory).toEqual([expect.objectContaining({ score: listed.score, temperature: listed.temperature })]);
    // An anonymous visitor is no one's to qualify.
    for (const method of ['GET', 'POST']) {
      const refused = await send(method, `/api/leads/${listed.id}/qualification?site=acme`, method === 'POST' ? { owner: 'sam' } : undefined);
      expect([method, refused.status, refused.body.code, refused.body.error]).toEqual([method, 404, 'lead_not_found', `"v_${visitor}" is an anonymous visitor's id: only an identified lead (an l_ id) has a qualification`]);
    }
  });

  it("names the lead an anonymous visitor became once its browser gave an email, as a lead that is no more does", async () => {
    const visitor = newVisitor();
    const email = `became.${visitor}@lovelace.test`;
    await sendAll('acme', visitor, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(30) })]);
    expect((await getJson(server, `/api/leads/v_${visitor}?site=acme`)).status).toBe(200);
    await sendAll('acme', visitor, [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/pricing`, em: email, t: minutesAgo(20) })]);
    const { status, body } = await getJson(server, `/api/leads/v_${visitor}?site=acme`);
    expect([status, body.code, body.replacedBy]).toEqual([404, 'lead_not_found', [{ id: leadIdOf(email), email }]]);
    expect(body.error).toBe(`the browser of visitor "v_${visitor}" on site "acme" gave an email since: its visits belong to ${leadIdOf(email)} (${email}) now`);
    expect((await getJson(server, `/api/leads/${leadIdOf(email)}?site=acme`)).body).toMatchObject({ kind: 'lead', visitorIds: [visitor], pageviews: 1 });
  });

  it('answers 404 for an unknown lead or anonymous visitor', async () => {
    expect((await getJson(server, '/api/leads/l_00000000000000000000?site=acme')).status).toBe(404);
    const unseen = `v_${newVisitor()}`;
    expect((await getJson(server, `/api/leads/${unseen}?site=acme`)).body).toEqual({ error: `no anonymous visitor "${unseen}" on site "acme"`, code: 'lead_not_found' });
    // A path the router refuses before any route (too long a part, a broken escape) is told in the same JSON shape.
    for (const path of [`/api/leads/${'x'.repeat(150)}?site=acme`, '/api/leads/%E0%A4%A?site=acme']) {
      const refused = await getJson(server, path);
      expect([path, refused.status, Object.keys(refused.body).sort(), refused.body.code]).toEqual([path, 400, ['code', 'error', 'problems'], 'bad_url']);
      expect(refused.body.problems).toEqual([{ path: '(root)', message: refused.body.error }]);
    }
  });

  it("refuses a change made from a qualification another salesperson changed since, in a field it sets, naming what they changed", async () => {
    const { id } = await makeLead();
    const path = `/api/leads/${id}/qualification?site=acme`;
    const loaded = (await getJson(server, path)).body;
    expect(loaded.changedAt).toBeNull();
    // The admin saves a note and takes the lead; kim, on a page loaded before, writes the same note and takes it too.
    const first = await send('POST', path, { basedOn: loaded.changedAt, owner: 'admin-token', notes: { budget: 'CFO approved 40k for Q1' } });
    expect(first.status).toBe(200);
    const refused = await send('POST', path, { basedOn: loaded.changedAt, owner: 'kim', notes: { budget: 'Budget unknown' } }, kim.token);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      code: 'qualification_conflict',
      error: `not saved: admin-token changed owner, notes.budget since the qualification this change was made from; send it again with basedOn "${first.body.changedAt}" to replace it`,
      conflicts: [
        { field: 'owner', changedBy: 'admin-token', changedAt: first.body.changedAt },
        { field: 'notes.budget', changedBy: 'admin-token', changedAt: first.body.changedAt },
      ],
      current: { owner: 'admin-token', notes: { budget: 'CFO approved 40k for Q1' } },
    });
    expect((await getJson(server, path)).body).toMatchObject({ owner: 'admin-token', notes: { budget: 'CFO approved 40k for Q1' }, history: [{}] });
    // A field the other did not touch merges as ever.
    expect((await send('POST', path, { basedOn: loaded.changedAt, boxes: { need: true } }, kim.token)).status).toBe(200);
    // Sent again from what it was refused against, the change replaces theirs (kim's own box since is no conflict).
    const replaced = await send('POST', path, { basedOn: refused.body.current.changedAt, owner: 'kim', notes: { budget: 'Budget unknown' } }, kim.token);
    expect(replaced).toMatchObject({ status: 200, body: { owner: 'kim', notes: { budget: 'Budget unknown' }, boxes: { need: true } } });
    // A stale change that makes what is there already (the same note, typed twice) is no conflict: nothing to save.
    const same = await send('POST', path, { basedOn: loaded.changedAt, notes: { budget: 'Budget unknown' } }, kim.token);
    expect(same.status).toBe(200);
    // A basedOn that is no version of this lead's checklist (a clock ahead, another lead's) is a 400 naming it.
    const future = await send('POST', path, { basedOn: '2099-01-01T00:00:00.000Z', notes: { budget: 'x' } }, kim.token);
    expect(future).toMatchObject({ status: 400, body: { code: 'invalid_qualification', problems: [{ path: 'basedOn', message: expect.stringContaining("not the changedAt of a version of this lead's checklist (its latest is") }] } });
    // Without basedOn (an integration), last change wins, as before; a basedOn that is no time is a 400 naming it.
    expect((await send('POST', path, { owner: 'sam@vendor.test' })).status).toBe(200);
    expect((await send('POST', path, { basedOn: 'yesterday', owner: 'kim' }, kim.token)).body).toMatchObject({ code: 'invalid_qualification', problems: [{ path: 'basedOn' }] });
  });

  it('qualifies a lead into a prospect with BANT once every box is ticked and an owner assigned, keeping the history', async () => {
    const { id } = await makeLead();
    const first = await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { budget: true, need: true }, notes: { budget: '40k approved for Q3' } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ prospect: false, missing: ['authority', 'timing'] });
    await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { authority: true, timing: true } });
    const owned = await send('POST', `/api/leads/${id}/qualification?site=acme`, { owner: 'sam@vendor.test' });
    expect(owned.body).toMatchObject({ prospect: true, missing: [], owner: 'sam@vendor.test', notes: { budget: '40k approved for Q3' } });
    // A change and a change of nothing answer alike, as GET does: who changed it last, when, and the history.
    const again = await send('POST', `/api/leads/${id}/qualification?site=acme`, { owner: 'sam@vendor.test' });
    expect(owned.body).toEqual({ ...again.body });
    expect(owned.body).toEqual((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body);
    expect(owned.body).toMatchObject({ changedBy: 'admin-token', history: [{}, {}, { owner: 'sam@vendor.test' }] });
    // An unassigned lead reads "owner": null in the lists, and in the checklist's answer and its history as well;
    // written back, null unassigns it.
    const unassigned = await send('POST', `/api/leads/${id}/qualification?site=acme`, { owner: null });
    expect(unassigned.body).toMatchObject({ owner: null, prospect: false });
    expect(unassigned.body.history.map((line: { owner: unknown }) => line.owner)).toEqual([null, null, 'sam@vendor.test', null]);
    expect((await getJson(server, `/api/leads/${id}?site=acme`)).body).toMatchObject({ owner: null, qualification: { owner: null } });
    const exported = (await getJson(server, `/api/leads/${id}/export?site=acme`)).body;
    expect(exported.qualificationHistory.map((line: { owner: unknown }) => line.owner)).toEqual([null, null, 'sam@vendor.test', null]);
    await send('POST', `/api/leads/${id}/qualification?site=acme`, { owner: 'sam@vendor.test' });

    // Disqualified without saying why: refused, and nothing changes.
    const why = await send('POST', `/api/leads/${id}/qualification?site=acme`, { disqualified: true });
    expect(why).toMatchObject({ status: 400, body: { error: 'a disqualified lead needs a reason: send "reason" with "disqualified": true, e.g. "no budget this year"' } });
    const fallBack = await send('POST', `/api/leads/${id}/qualification?site=acme`, { disqualified: true, reason: 'budget frozen' });
    expect(fallBack.body).toMatchObject({ prospect: false, disqualified: true, reason: 'budget frozen' });

    const { body } = await getJson(server, `/api/leads/${id}/qualification?site=acme`);
    expect(body.history).toHaveLength(6);
    expect(body.history.map((h: { boxes: Record<string, boolean> }) => Object.keys(h.boxes).filter((box) => h.boxes[box]).length)).toEqual([2, 4, 4, 4, 4, 4]);
    // The lead page shows the same history, which it reads with the lead.
    const { body: lead } = await getJson(server, `/api/leads/${id}?site=acme`);
    expect(lead.qualification).toMatchObject({ disqualified: true, reason: 'budget frozen', history: body.history });
  });

  it('names the lead that holds its visits when a mistyped email was put right in the same batch, never scored alone', async () => {
    const browser = newVisitor();
    const [typo, fixed] = [`ada.${browser}@acme-typo.co`, `ada.${browser}@acme-typo.com`];
    const form = (email: string, minutes: number) => wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', sid: `visit-${browser}`, t: minutesAgo(minutes), p: { 'email  email': email } });
    await postBatch(server, { s: 'acme', v: browser, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, sid: `visit-${browser}`, ss: 1, t: minutesAgo(3) }), form(typo, 2), form(fixed, 1)] });
    await drained(server);
    const page = await getJson(server, `/api/leads/${leadIdOf(typo)}?site=acme`);
    expect([page.status, page.body.code, page.body.replacedBy]).toEqual([404, 'lead_not_found', [{ id: leadIdOf(fixed), email: fixed }]]);
    // Its qualification's routes say the same (a CRM's sync posting to the old id), and change nothing.
    const checklist = await getJson(server, `/api/leads/${leadIdOf(typo)}/qualification?site=acme`);
    const posted = await send('POST', `/api/leads/${leadIdOf(typo)}/qualification?site=acme`, { owner: 'zed' });
    for (const answer of [checklist, posted]) expect([answer.status, answer.body.code, answer.body.replacedBy]).toEqual([404, 'lead_not_found', [{ id: leadIdOf(fixed), email: fixed }]]);
    expect((await getJson(server, `/api/leads/${leadIdOf(fixed)}/qualification?site=acme`)).body).toMatchObject({ owner: null, history: [] });
    // A colleague who gives her email in a visit of her own on the same computer holds that visit alone: not named.
    const colleague = `kim.${browser}@acme-typo.com`;
    await postBatch(server, { s: 'acme', v: browser, e: [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', sid: `other-${browser}`, ss: 1, t: minutesAgo(1), p: { email: colleague } })] });
    await drained(server);
    expect((await getJson(server, `/api/leads/${leadIdOf(colleague)}?site=acme`)).status).toBe(200);
    expect((await getJson(server, `/api/leads/${leadIdOf(typo)}?site=acme`)).body.replacedBy).toEqual([{ id: leadIdOf(fixed), email: fixed }]);
    // A lead id no browser ever gave is a plain 404.
    const unknown = await getJson(server, `/api/leads/${leadIdOf(`nobody.${browser}@acme-typo.com`)}?site=acme`);
    expect([unknown.status, unknown.body.code, unknown.body.replacedBy]).toEqual([404, 'lead_not_found', undefined]);
  });

  it('lists, and counts as the list does, the form a lead sent under a mistyped email it put right in the same visit', async () => {
    const browser = newVisitor();
    const [typo, fixed] = [`aan.${browser}@example-corp.test`, `ana.${browser}@example-corp.test`];
    const visit = { sid: `visit-${browser}` };
    await postBatch(server, { s: 'acme', v: browser, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, ...visit, ss: 1, t: minutesAgo(3) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', ...visit, t: minutesAgo(2), p: { email: typo, job_title: 'CEO' } })] });
    await postBatch(server, { s: 'acme', v: browser, e: [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/contact`, em: fixed, ...visit, t: minutesAgo(1) })] });
    await drained(server);
    const { body } = await getJson(server, `/api/leads/${leadIdOf(fixed)}?site=acme`);
    const listed = (await getJson(server, `/api/leads?site=acme&visitor=${browser}`)).body.leads[0];
    expect(body.signals.map((signal: { signal: string }) => signal.signal)).toContain('demo_request');
    expect(body.recentEvents.map((event: { type: string }) => event.type)).toEqual(['identify', 'form', 'pageview']);
    expect([body.events, body.pageviews]).toEqual([listed.events, listed.pageviews]);
    expect([body.events, body.pageviews]).toEqual([3, 1]);
    // Its answers stay the mistyped email's, as its score reads them; the page says nothing of the emails put right.
    expect(body.profile).not.toHaveProperty('job_title');
    expect(body).not.toHaveProperty('putRight');
  });

  it('carries a qualification over to the lead of an email put right in the visit that gave the mistyped one', async () => {
    const browser = newVisitor();
    const [typo, fixed] = [`bob.${browser}@corp-elevn.test`, `bob.${browser}@corp-eleven.test`];
    const form = (email: string, minutes: number) => wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', sid: `visit-${browser}`, t: minutesAgo(minutes), p: { 'email  email': email, 'job_title  ': 'CEO' } });
    await postBatch(server, { s: 'acme', v: browser, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, sid: `visit-${browser}`, ss: 1, t: minutesAgo(20) }), form(typo, 19)] });
    await drained(server);
    const mistyped = leadIdOf(typo);
    // Sales take the demo request before the person sees the typo.
    await send('POST', `/api/leads/${mistyped}/qualification?site=acme`, { boxes: { budget: true, authority: true, need: true, timing: true } });
    const taken = await send('POST', `/api/leads/${mistyped}/qualification?site=acme`, { owner: 'zed' });
    expect(taken.body).toMatchObject({ prospect: true, owner: 'zed' });

    await postBatch(server, { s: 'acme', v: browser, e: [form(fixed, 18)] });
    await drained(server);
    const moved = await getJson(server, `/api/leads/${mistyped}?site=acme`);
    expect(moved.body.replacedBy).toEqual([{ id: leadIdOf(fixed), email: fixed }]);
    // The person's lead now: a prospect of zed's, with the history as sales wrote it.
    const now = (await getJson(server, `/api/leads/${leadIdOf(fixed)}/qualification?site=acme`)).body;
    expect(now).toMatchObject({ prospect: true, owner: 'zed', history: taken.body.history });
    const listed = (await getJson(server, '/api/leads?site=acme&lifecycle=prospect&owner=zed&limit=100')).body.leads.map((lead: { email: string }) => lead.email);
    expect(listed).toEqual([fixed]);
    // Once: a later rescoring (a full pass) copies nothing again.
    await server.scorer.rescoreAll('acme');
    expect((await getJson(server, `/api/leads/${leadIdOf(fixed)}/qualification?site=acme`)).body.history).toHaveLength(2);
  });

  it('keeps every one of concurrent changes, in a fixed order', async () => {
    const { id } = await makeLead();
    const boxes = ['budget', 'authority', 'need', 'timing'];
    const responses = await Promise.all(boxes.map((box) => send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { [box]: true } })));
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    const { body } = await getJson(server, `/api/leads/${id}/qualification?site=acme`);
    expect(body).toMatchObject({ missing: [], boxes: { budget: true, authority: true, need: true, timing: true } });
    // Each change builds on the one before, and no two share a time, so the history reads the same every time.
    expect(body.history.map((h: { boxes: Record<string, boolean> }) => Object.values(h.boxes).filter(Boolean).length)).toEqual([1, 2, 3, 4]);
    const times = body.history.map((h: { changedAt: string }) => Date.parse(h.changedAt));
    expect(times.every((time: number, i: number) => i === 0 || time > times[i - 1])).toBe(true);
  });

  it('reads a framework switched away and back under an earlier release as it was then: the boxes it dropped stay dropped', async () => {
    const { id } = await makeLead();
    const all = { budget: true, authority: true, need: true, timing: true };
    const base = { owner: 'sam', disqualified: false, reason: '' };
    const at = Date.now() - 60_000;
    // As a release before 82f1b6f wrote them: the switch to MEDDICC dropped BANT's boxes and notes.
    await appendQualification(server.client, 'acme', id, { state: { ...base, framework: 'bant', boxes: all, notes: { need: 'N1' } }, change: { owner: 'sam', boxes: all, notes: { need: 'N1' } } }, 'sam', at);
    await appendQualification(server.client, 'acme', id, { state: { ...base, framework: 'meddicc', boxes: {}, notes: {} }, change: { framework: 'meddicc' } }, 'sam', at + 1);
    await appendQualification(server.client, 'acme', id, { state: { ...base, framework: 'bant', boxes: {}, notes: {} }, change: { framework: 'bant' } }, 'sam', at + 2);
    expect((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body).toMatchObject({ framework: 'bant', boxes: {}, notes: {}, prospect: false });

    // A switch since keeps them out of sight (a checklist kept under MEDDICC, as a release that let sales pick the
    // framework wrote it): the site's BANT reads them again, MEDDICC's kept aside in turn.
    await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: all, notes: { need: 'N2' } });
    await appendQualification(server.client, 'acme', id, { state: { ...base, framework: 'meddicc', boxes: { ...all, metrics: true }, notes: { need: 'N2' } }, change: { framework: 'meddicc', boxes: { metrics: true } } }, 'sam', Date.now() + 5);
    expect((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body).toMatchObject({ framework: 'bant', boxes: all, notes: { need: 'N2' }, keptAside: { boxes: { metrics: true } }, prospect: true });
    // A change that leaves it as the site's framework reads it (the owner it has) is no change: no line.
    const lines = (await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body.history.length;
    expect((await send('POST', `/api/leads/${id}/qualification?site=acme`, { owner: 'sam' })).body.history).toHaveLength(lines);
    // The next change is made under the site's framework, and its line says so.
    const next = await send('POST', `/api/leads/${id}/qualification?site=acme`, { notes: { budget: '40k' } });
    expect(next.body).toMatchObject({ framework: 'bant', boxes: all, prospect: true });
    expect(next.body.history.at(-1)).toMatchObject({ framework: 'bant', notes: { need: 'N2', budget: '40k' } });
  });

  it("refuses a checklist of another framework than the site's, which would let a shorter list make a prospect", async () => {
    const { id } = await makeLead('globex', 'https://globex.test');
    // globex makes prospects under CHAMP once challenges and money are ticked: BANT's four boxes are not that.
    const bant = await send('POST', `/api/leads/${id}/qualification?site=globex`, { framework: 'bant', boxes: { budget: true, authority: true, need: true, timing: true }, owner: 'sam' });
    // With the boxes that are not the site's framework's: the change may name no other.
    const notChamp = 'not a CHAMP box; its boxes are challenges, authority, money, prioritization';
    expect(bant).toMatchObject({
      status: 400,
      body: {
        code: 'invalid_qualification',
        problems: [
          { path: 'framework', message: 'expected "champ": this site qualifies leads under CHAMP (its qualification.framework in the config), got "bant"' },
          { path: 'boxes.budget', message: notChamp },
          { path: 'boxes.need', message: notChamp },
          { path: 'boxes.timing', message: notChamp },
        ],
      },
    });
    // Its own, written as the pages write it, told as a number: what was sent is named.
    expect((await send('POST', `/api/leads/${id}/qualification?site=globex`, { framework: 5 })).body.problems[0].message).toMatch(/, got 5$/);
    // Boxes of the site's framework under another framework's name: the framework alone is wrong.
    const meddicc = await send('POST', `/api/leads/${id}/qualification?site=globex`, { framework: 'meddicc', boxes: { challenges: true } });
    expect(meddicc).toMatchObject({ status: 400, body: { problems: [{ path: 'framework' }] } });
    const after = (await getJson(server, `/api/leads/${id}/qualification?site=globex`)).body;
    expect(after).toMatchObject({ framework: 'champ', prospect: false, missing: ['challenges', 'money'], history: [] });
    // Its own framework named (as the config writes it, or the pages), or none: the site's.
    expect((await send('POST', `/api/leads/${id}/qualification?site=globex`, { framework: 'CHAMP', boxes: { challenges: true } })).status).toBe(200);
    expect((await send('POST', `/api/leads/${id}/qualification?site=globex`, { boxes: { money: true }, owner: 'sam' })).body).toMatchObject({ framework: 'champ', prospect: true });
  });

  it('keeps both changes two collectors make at once, each built on the same state', async () => {
    const { id } = await makeLead();
    await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { budget: true } });
    const seen = (await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body;
    // This collector ticks authority; meanwhile another one, which read the same state, assigns an owner.
    const mine = await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { authority: true } });
    const theirs = { owner: 'kim@vendor.test' };
    expect(mine.status).toBe(200);
    await appendQualification(server.client, 'acme', id, { state: applyQualificationChange({ ...seen, owner: seen.owner ?? '' }, theirs), change: theirs }, 'kim', Date.now() + 5);
    const { body } = await getJson(server, `/api/leads/${id}/qualification?site=acme`);
    expect(body).toMatchObject({ boxes: { budget: true, authority: true }, owner: 'kim@vendor.test', missing: ['need', 'timing'] });
    expect(body.history.map((h: { owner: string | null; boxes: Record<string, boolean> }) => [h.owner, Object.keys(h.boxes).sort()])).toEqual([
      [null, ['budget']],
      [null, ['authority', 'budget']],
      ['kim@vendor.test', ['authority', 'budget']],
    ]);
    // The scorer and the lists read the same folded state.
    expect((await currentQualifications(server.client, 'acme')).get(id)).toMatchObject({ owner: 'kim@vendor.test', boxes: { budget: true, authority: true } });
  });

  it('refuses a note on what is not a box, which the next change would drop, and makes no prospect of an owner of blanks', async () => {
    const { id } = await makeLead();
    const stray = await send('POST', `/api/leads/${id}/qualification?site=acme`, { notes: { general: 'called twice, keen', budget: '40k for Q3' } });
    expect(stray).toMatchObject({ status: 400, body: { code: 'invalid_qualification', error: 'notes on what is not a BANT box: general; its boxes are budget, authority, need, timing' } });
    expect(stray.body.problems).toEqual([{ path: 'notes.general', message: 'not a BANT box; its boxes are budget, authority, need, timing' }]);
    // A box of no framework, with none named: the lead's own framework's boxes, the path of the value at fault.
    const money = await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { money: true } });
    expect(money).toMatchObject({ status: 400, body: { code: 'invalid_qualification', problems: [{ path: 'boxes.money', message: 'not a BANT box; its boxes are budget, authority, need, timing' }] } });
    // A name that would read as a path of its own is quoted, with the framework named or not.
    for (const framework of [undefined, 'bant']) {
      const dotted = await send('POST', `/api/leads/${id}/qualification?site=acme`, { framework, boxes: { 'budget.amount': true }, notes: { 'economic buyer': 'CFO' } });
      expect(dotted.body.problems.map((problem: { path: string }) => problem.path), String(framework)).toEqual(['boxes["budget.amount"]', 'notes["economic buyer"]']);
    }
    const noted = await send('POST', `/api/leads/${id}/qualification?site=acme`, { notes: { budget: '40k for Q3' } });
    expect(noted.status).toBe(200);
    const blank = await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { budget: true, authority: true, need: true, timing: true }, owner: '   ' });
    expect(blank.body).toMatchObject({ missing: [], owner: null, prospect: false, notes: { budget: '40k for Q3' } });
    const { body } = await getJson(server, `/api/leads/${id}/qualification?site=acme`);
    expect(body).toMatchObject({ prospect: false, owner: null, notes: { budget: '40k for Q3' } });
    expect(body.history).toHaveLength(2);
  });

  it('follows the site\'s framework and required boxes (CHAMP: challenges and money here)', async () => {
    const { id } = await makeLead('globex', 'https://globex.test');
    const response = await send('POST', `/api/leads/${id}/qualification?site=globex`, { boxes: { challenges: true, money: true }, owner: 'kim' });
    expect(response.body).toMatchObject({ framework: 'champ', prospect: true, missing: [] });
  });

  it("names boxes that do not belong to the site's framework", async () => {
    const { id } = await makeLead();
    const wrong = await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { champion: true } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('not BANT boxes: champion; its boxes are budget, authority, need, timing');
    const named = await send('POST', `/api/leads/${id}/qualification?site=acme`, { framework: 'bant', boxes: { champion: true, budget: true } });
    expect(named).toMatchObject({ status: 400, body: { problems: [{ path: 'boxes.champion', message: 'not a BANT box; its boxes are budget, authority, need, timing' }] } });
    const bad = await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { budget: 'yes' }, owner: 42 });
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p: { path: string }) => p.path)).toEqual(['boxes.budget', 'owner']);
    // A form post is told what this route takes (not the snippet's text/plain).
    const form = await fetch(`${server.url}/api/leads/${id}/qualification?site=acme`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'budget=true',
    });
    expect(form.status).toBe(415);
    const poisoned = await fetch(`${server.url}/api/leads/${id}/qualification?site=acme`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: '{"notes":{"__proto__":"x"}}',
    });
    expect(poisoned.status).toBe(400);
    const notJson = 'the body is not valid JSON, or holds a "__proto__" or "constructor.prototype" key';
    expect(await poisoned.json()).toEqual({ error: notJson, code: 'invalid_json', problems: [{ path: '(root)', message: notJson }] });
    // No body at all with a JSON content-type: Hearth's code, not the framework's.
    const empty = await fetch(`${server.url}/api/leads/${id}/qualification?site=acme`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' } });
    const noBody = 'the body is empty: send a JSON object (`{}` for none)';
    expect([empty.status, await empty.json()]).toEqual([400, { error: noBody, code: 'invalid_json', problems: [{ path: '(root)', message: noBody }] }]);
    // A reason for a lead that is not disqualified would be stored as if it were, and shown nowhere.
    const stray = await fetch(`${server.url}/api/leads/${id}/qualification?site=acme`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: '{"reason":"not disqualified but reason"}',
    });
    const reason = 'a reason says why a lead is disqualified: send "disqualified": true with it';
    expect([stray.status, await stray.json()]).toEqual([400, { error: reason, code: 'invalid_qualification', problems: [{ path: 'reason', message: reason }] }]);
    expect(await form.json()).toEqual({ error: 'send the body as JSON (content-type: application/json)', code: 'unsupported_media_type' });
    // JSON sent as text/plain (the snippet's type, which /collect alone takes) is told the same.
    const plain = await fetch(`${server.url}/api/leads/${id}/qualification?site=acme`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'text/plain' },
      body: '{"boxes":{"need":true}}',
    });
    expect([plain.status, await plain.json()]).toEqual([415, { error: 'send the body as JSON (content-type: application/json)', code: 'unsupported_media_type' }]);
    // A change of nothing answers the qualification as it stands, and adds no line to its history.
    expect((await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { budget: true, need: true } })).status).toBe(200);
    const before = (await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body.history.length;
    const nothing = await send('POST', `/api/leads/${id}/qualification?site=acme`, {});
    expect(nothing.status).toBe(200);
    expect((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body.history).toHaveLength(before);
    // Nor does a change that leaves it as it stands: Save pressed again, a box ticked that was, an unticked one
    // unticked, the framework it follows named.
    for (const same of [{ framework: 'bant', boxes: { budget: true, need: true } }, { boxes: { budget: true } }, { boxes: { timing: false } }, { framework: 'bant' }]) {
      const again = await send('POST', `/api/leads/${id}/qualification?site=acme`, same);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ framework: 'bant', boxes: { budget: true, need: true } });
    }
    expect((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body.history).toHaveLength(before);
    // A body of null is no change: refused, as an array or a number is.
    const nullBody = await fetch(`${server.url}/api/leads/${id}/qualification?site=acme`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: 'null',
    });
    expect(nullBody.status).toBe(400);
    expect(await nullBody.json()).toMatchObject({ code: 'invalid_qualification', problems: [{ path: '(root)' }] });
  });

  it('says who changed a qualification last and when, null for a lead never qualified, on both routes that give it', async () => {
    const { id } = await makeLead();
    const never = { changedBy: null, changedAt: null, history: [] };
    expect((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body).toMatchObject(never);
    expect((await getJson(server, `/api/leads/${id}?site=acme`)).body.qualification).toMatchObject(never);
    // A change of nothing is no change: still never qualified.
    expect((await send('POST', `/api/leads/${id}/qualification?site=acme`, {})).body).toMatchObject(never);
    const changed = await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { budget: true } });
    const last = changed.body.history.at(-1);
    expect(changed.body).toMatchObject({ changedBy: 'admin-token', changedAt: last.changedAt });
    expect(Date.parse(last.changedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body).toMatchObject({ changedBy: 'admin-token', changedAt: last.changedAt });
    expect((await getJson(server, `/api/leads/${id}?site=acme`)).body.qualification).toMatchObject({ changedBy: 'admin-token', changedAt: last.changedAt });
  });

  it('names every problem of a change in one answer, whatever the framework it names, and saves nothing', async () => {
    const { id } = await makeLead();
    const notBant = 'not a BANT box; its boxes are budget, authority, need, timing';
    const paths = (body: { problems: { path: string }[] }) => body.problems.map((problem) => problem.path);
    const refusals: [unknown, string[]][] = [
      // A box and a note of no BANT box, with the framework named or not.
      [{ boxes: { money: true }, notes: { champion: 'x' } }, ['boxes.money', 'notes.champion']],
      [{ framework: 'bant', boxes: { money: true }, notes: { champion: 'x' } }, ['boxes.money', 'notes.champion']],
      [{ framework: 'BANT', boxes: { money: true }, notes: { champion: 'x' } }, ['boxes.money', 'notes.champion']],
      // A note too long beside a box of no BANT box.
      [{ boxes: { money: true }, notes: { budget: 'x'.repeat(2001) } }, ['notes.budget', 'boxes.money']],
      [{ framework: 'bant', boxes: { money: true }, notes: { budget: 'x'.repeat(2001) } }, ['notes.budget', 'boxes.money']],
      // A value of the wrong kind, a key of none, another framework: the boxes are still read.
      [{ boxes: { money: true }, owner: 42 }, ['owner', 'boxes.money']],
      [{ boxes: { money: true }, disqualify: true }, ['disqualify', 'boxes.money']],
      [{ framework: 'champ', boxes: { money: true, budget: true } }, ['framework', 'boxes.money']],
      // A reason for a lead that is not disqualified, beside the rest.
      [{ boxes: { money: true, budget: true }, notes: { champion: 'x' }, reason: 'no budget' }, ['boxes.money', 'notes.champion', 'reason']],
      [{ notes: { budget: 'x'.repeat(2001) }, reason: 'no budget' }, ['notes.budget', 'reason']],
      // Disqualified without a reason, beside a box of no BANT box.
      [{ disqualified: true, boxes: { money: true } }, ['boxes.money', 'reason']],
    ];
    for (const [body, expected] of refusals) {
      const refused = await send('POST', `/api/leads/${id}/qualification?site=acme`, body);
      expect({ body, status: refused.status, code: refused.body.code, paths: paths(refused.body) }).toEqual({ body, status: 400, code: 'invalid_qualification', paths: expected });
    }
    const both = await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { money: true }, notes: { champion: 'x' } });
    expect(both.body).toEqual({
      error: 'not BANT boxes: money; notes on what is not a BANT box: champion; its boxes are budget, authority, need, timing',
      code: 'invalid_qualification',
      problems: [
        { path: 'boxes.money', message: notBant },
        { path: 'notes.champion', message: notBant },
      ],
    });
    // Nothing was saved, not even the boxes and owner each of them got right.
    expect((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body).toMatchObject({ boxes: {}, notes: {}, owner: null, disqualified: false, history: [] });
  });

  it('exports everything about a person, then erases it all, anonymous history included', async () => {
    const lead = await makeLead();
    await send('POST', `/api/leads/${lead.id}/qualification?site=acme`, { boxes: { budget: true } });

    const exported = await getJson(server, `/api/leads/${lead.id}/export?site=acme`);
    expect(exported.headers.get('content-disposition')).toContain(`hearth-${lead.id}.json`);
    expect(exported.body).toMatchObject({ email: lead.email, profile: { job_title: 'COO' } });
    expect(exported.body.events).toHaveLength(4);
    expect(exported.body.qualificationHistory).toHaveLength(1);

    const erased = await send('DELETE', `/api/leads/${lead.id}?site=acme`);
    expect(erased).toMatchObject({ status: 200, body: { erased: lead.id } });
    expect(await storedEvents(server, lead.laptop)).toEqual([]);
    expect(await storedEvents(server, lead.phone)).toEqual([]);
    expect((await getJson(server, `/api/leads/${lead.id}?site=acme`)).status).toBe(404);
    expect((await getJson(server, `/api/leads?site=acme&visitor=${lead.laptop}`)).body.leads).toEqual([]);
  });
});

describe('scores through the API', () => {
  it('scores the article\'s hot lead: a CEO of a 500-person software company in France who viewed pricing', async () => {
    const visitor = newVisitor();
    const email = `ceo.${visitor}@initech.test`;
    await postBatch(server, {
      s: 'acme',
      v: visitor,
      e: [
        wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(30) }),
        wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(20), p: { 'email  email': email, 'fonction  ': 'PDG', 'effectif  ': '500', 'secteur  ': 'Software', 'pays  ': 'France' } }),
      ],
    });
    await drained(server);
    const list = await getJson(server, `/api/leads?site=acme&temperature=hot&visitor=${visitor}`);
    expect(list.body.leads).toHaveLength(1);
    const [lead] = list.body.leads;
    expect(lead).toMatchObject({ email, temperature: 'hot', stage: 'BOFU' });
    expect(lead.score).toBe(30 + 25 + 20 + 15 + 20);
    expect(lead.reasons.map((reason: { rule: string }) => reason.rule).sort()).toEqual(['c-level', 'company-over-250', 'covered-country', 'pricing-page', 'target-industry']);

    const detail = await getJson(server, `/api/leads/${lead.id}?site=acme`);
    expect(detail.body).toMatchObject({ score: lead.score, temperature: 'hot', fit: 90 });
    // The pricing view is half an hour old: decay (half-life 30 days) has taken a hair off its 20 points.
    expect(detail.body.engagement).toBeCloseTo(20, 1);
    expect(detail.body.engagement).toBeLessThan(20);
    expect((await getJson(server, `/api/leads?site=acme&temperature=cold&visitor=${visitor}`)).body.leads).toEqual([]);
    // In any case, as stage and lifecycle are taken.
    expect((await getJson(server, `/api/leads?site=acme&temperature=HOT&kind=Lead&visitor=${visitor}`)).body.leads.map((listed: { id: string }) => listed.id)).toEqual([lead.id]);
  });
});

describe('lifecycle in the leads list', () => {
  it('moves an MQL to prospect once qualified and owned, and to disqualified when it falls back', async () => {
    const { id, laptop } = await makeLead();
    const lifecycleOf = async () => (await getJson(server, `/api/leads?site=acme&visitor=${laptop}`)).body.leads[0].lifecycle;
    // A COO in France who viewed pricing and product: 30 + 15 + 20 + 5 = 70, hot, so marketing-qualified.
    expect(await lifecycleOf()).toBe('mql');
    await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { budget: true, authority: true, need: true, timing: true }, owner: 'sam' });
    expect(await lifecycleOf()).toBe('prospect');
    const owned = await getJson(server, `/api/leads?site=acme&lifecycle=prospect&owner=sam`);
    expect(owned.body.leads.map((lead: { id: string }) => lead.id)).toContain(id);
    expect(owned.body.leads.every((lead: { owner: string }) => lead.owner === 'sam')).toBe(true);
    // An owner as people type it, as alert routes match it.
    expect((await getJson(server, `/api/leads?site=acme&lifecycle=prospect&owner=%20Sam`)).body.leads.map((lead: { id: string }) => lead.id)).toContain(id);
    await send('POST', `/api/leads/${id}/qualification?site=acme`, { disqualified: true, reason: 'no budget this year' });
    expect(await lifecycleOf()).toBe('disqualified');
  });

  it('filters the stored list by lifecycle, owner, kind and temperature as the live one does', async () => {
    const [prospect, dropped, owned] = [await makeLead(), await makeLead(), await makeLead()];
    const cold = newVisitor();
    await postBatch(server, { s: 'acme', v: cold, e: [wireEvent({ u: `${SITE_ORIGIN}/careers`, t: minutesAgo(5) })] });
    await send('POST', `/api/leads/${prospect.id}/qualification?site=acme`, { boxes: { budget: true, authority: true, need: true, timing: true }, owner: 'sam' });
    await send('POST', `/api/leads/${dropped.id}/qualification?site=acme`, { disqualified: true, reason: 'student project', owner: 'kim' });
    await send('POST', `/api/leads/${owned.id}/qualification?site=acme`, { boxes: { budget: true }, owner: 'sam' });
    await drained(server);
    // bots=include scores from raw events and filters in TypeScript (lifecycleOf); the stored list filters in SQL.
    const listed = async (query: string) => {
      const { body } = await getJson(server, `/api/leads?site=acme&limit=1000${query}`);
      return { total: body.total, ids: body.leads.map((lead: { id: string; lifecycle: string; owner: string | null }) => `${lead.id} ${lead.lifecycle} ${lead.owner}`) };
    };
    const queries = ['', '&lifecycle=mql&temperature=cold', '&lifecycle=visitor&kind=lead', '&lifecycle=lead&temperature=warm', '&kind=visitor&temperature=cold', '&sort=recent'];
    for (const lifecycle of ['', 'visitor', 'lead', 'mql', 'prospect', 'disqualified']) {
      for (const owner of [undefined, '', 'sam']) queries.push(`${lifecycle && `&lifecycle=${lifecycle}`}${owner === undefined ? '' : `&owner=${owner}`}`);
    }
    for (const query of queries) expect(await listed(query), query).toEqual(await listed(`${query}&bots=include`));
    const mine = await listed('&owner=sam');
    expect(mine.ids).toEqual(expect.arrayContaining([`${prospect.id} prospect sam`, `${owned.id} mql sam`]));
    expect(mine.ids.every((entry: string) => entry.endsWith(' sam'))).toBe(true);
    expect((await listed('&lifecycle=disqualified&owner=kim')).ids).toEqual([`${dropped.id} disqualified kim`]);
    expect((await listed('&lifecycle=visitor')).ids).toContain(`v_${cold} visitor null`);
    // Unassigned: the leads sales have not taken, not the anonymous visitors, whom no one can take.
    const unassigned = await listed('&owner=');
    expect(unassigned.ids.length).toBeGreaterThan(0);
    expect(unassigned.ids.every((entry: string) => entry.startsWith('l_') && entry.endsWith(' null'))).toBe(true);
    expect(unassigned.ids).not.toContain(`v_${cold} visitor null`);
    for (const query of ['&owner=&kind=visitor', '&owner=&lifecycle=visitor']) expect(await listed(query), query).toEqual({ total: 0, ids: [] });
  });
});

describe('accounts', () => {
  /** One person of a company fills the demo form after viewing pricing. */
  async function person(email: string, title: string, company = '', pricing = true) {
    const visitor = newVisitor();
    const events = [
      ...(pricing ? [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(30) })] : []),
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(20), p: { 'email  email': email, 'job_title  ': title, 'company  ': company, 'company_size  ': '500' } }),
    ];
    expect((await postBatch(server, { s: 'globex', v: visitor, e: events }, { origin: 'https://globex.test' })).status).toBe(202);
  }
  const accounts = async () => {
    await drained(server);
    return (await getJson(server, '/api/accounts?site=globex')).body.accounts as { id: string; name: string; score: number; temperature: string; leads: number; personas: string[] }[];
  };

  it('groups leads by work email domain, or by declared company on free mail, and needs more than one keen person to be hot', async () => {
    await person('intern@initech-acc.test', 'Stagiaire marketing');
    await person('ceo@hooli-acc.test', 'CEO');
    await person('ops@hooli-acc.test', 'Head of Operations');
    await person('jane.doe@gmail.com', 'CTO', 'Vandelay Accounts');
    await person('john.roe@gmail.com', 'Developer', 'Vandelay Accounts', false);
    const byId = new Map((await accounts()).map((account) => [account.id, account]));

    const hooli = byId.get('hooli-acc.test')!;
    expect(hooli).toMatchObject({ leads: 2, temperature: 'hot', personas: ['c_level', 'vp_director'] });
    const intern = byId.get('initech-acc.test')!;
    expect(intern).toMatchObject({ leads: 1, temperature: 'cold' });
    expect(byId.get('company:vandelay accounts')).toMatchObject({ name: 'Vandelay Accounts', leads: 2 });
    expect(byId.has('gmail.com')).toBe(false);
  });

  it('pages through the accounts with limit and offset, each once', async () => {
    await accounts();
    const all = (await getJson(server, '/api/accounts?site=globex&limit=1000')).body;
    const pages = [];
    for (let offset = 0; offset < all.total; offset += 2) {
      const { body } = await getJson(server, `/api/accounts?site=globex&limit=2&offset=${offset}`);
      expect(body).toMatchObject({ total: all.total, offset });
      pages.push(...body.accounts);
    }
    expect(pages.map((account: { id: string }) => account.id)).toEqual(all.accounts.map((account: { id: string }) => account.id));
    expect(all.total).toBeGreaterThan(2);
    // A bad value is named with what is expected, in words.
    expect((await getJson(server, '/api/accounts?site=globex&temperature=tepid&offset=99999999999999999999')).body.problems).toEqual([
      { path: 'temperature', message: 'expected one of cold, warm, hot (got "tepid")' },
      { path: 'offset', message: 'expected a whole number from 0 to 9007199254740991 (got "99999999999999999999")' },
    ]);
  });

  it('cools an account when sales disqualify the keen lead that made it hot, on every list of accounts', async () => {
    await person('ceo@vandelay-dq.test', 'CEO');
    await person('analyst@vandelay-dq.test', 'Head of Research');
    const hot = (await accounts()).find((account) => account.id === 'vandelay-dq.test')! as Awaited<ReturnType<typeof accounts>>[number] & { topLeads: { id: string; email: string }[] };
    expect(hot).toMatchObject({ leads: 2, temperature: 'hot' });
    const analyst = hot.topLeads.find((lead) => lead.email === 'analyst@vandelay-dq.test')!.id;
    const dropped = await send('POST', `/api/leads/${analyst}/qualification?site=globex`, { disqualified: true, reason: 'works for a competitor' });
    expect(dropped.status).toBe(200);
    const cooled = (await accounts()).find((account) => account.id === 'vandelay-dq.test')! as typeof hot;
    expect(cooled).toMatchObject({ leads: 2, personas: ['c_level'], topLeads: [expect.objectContaining({ email: 'ceo@vandelay-dq.test' })] });
    expect(cooled.temperature).not.toBe('hot');
    expect(cooled.score).toBeLessThan(hot.score);
    // The accounts page reads the same.
    const { body: page } = await getJson(server, '/api/dashboard/accounts?site=globex');
    expect(page.accounts.find((account: { id: string }) => account.id === 'vandelay-dq.test')).toEqual(cooled);
  });

  it('keeps a single lead, however keen, from making its account hot', async () => {
    await person('solo-ceo@solo-acc.test', 'PDG');
    const solo = (await accounts()).find((account) => account.id === 'solo-acc.test')!;
    expect(solo.leads).toBe(1);
    expect(solo.temperature).not.toBe('hot');
  });
});

// Faults a review of the leads API as sales use it found: each test failed before its fix.

async function count(table: string, leadId: string) {
  const result = await server.client.query({ query: `SELECT count() AS n FROM ${table} WHERE lead_id = {id:String}`, query_params: { id: leadId }, format: 'JSONEachRow' });
  return Number((await result.json<{ n: string }>())[0]!.n);
}

describe('erasing a lead that sales are qualifying', () => {
  it('leaves no qualification behind: a change that found the lead before the erasure does not land after it', async () => {
    const { id } = await makeLead();
    expect((await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { budget: true } })).status).toBe(200);
    // Sam saves a note as the erasure starts: the change finds the lead (its identity rows are not deleted yet), and
    // its insert is slow, as ClickHouse under load (or another collector's) can be.
    const client = server.client;
    const [command, insert] = [client.command.bind(client), client.insert.bind(client)];
    let erased!: () => void;
    const erasure = new Promise<void>((resolve) => (erased = resolve));
    let appending!: () => void;
    const appendStarted = new Promise<void>((resolve) => (appending = resolve));
    let change: Promise<{ status: number; body: any }> | undefined;
    client.command = async (params) => {
      if (!change && /^ALTER TABLE events\b.*DELETE/.test(params.query)) {
        change = send('POST', `/api/leads/${id}/qualification?site=acme`, { notes: { budget: 'Kim’s own budget: 40k, call her on 06 12 34 56 78' } });
        await Promise.race([appendStarted, new Promise((resolve) => setTimeout(resolve, 1500))]);
      }
      return command(params);
    };
    client.insert = (async (params: Parameters<typeof insert>[0]) => {
      if (params.table === 'lead_qualifications') {
        appending();
        await erasure;
      }
      return insert(params);
    }) as typeof insert;
    try {
      expect((await send('DELETE', `/api/leads/${id}?site=acme`)).status).toBe(200);
    } finally {
      erased();
      client.command = command;
      client.insert = insert;
    }
    // Nothing of the change is stored, and it is answered as made on a person erased meanwhile.
    const answer = await change;
    expect(await count('lead_qualifications', id)).toBe(0);
    expect(answer).toMatchObject({ status: 404, body: { code: 'already_erased' } });
    expect((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).status).toBe(404);
  });
});

describe('one lead’s routes', () => {
  it('refuse a parameter they do not take, naming it, and erase nothing on a DELETE that has one', async () => {
    const { id } = await makeLead();
    for (const [method, path, name] of [
      ['GET', `/api/leads/${id}?site=acme&zz=1`, 'zz'],
      ['GET', `/api/leads/${id}/export?site=acme&format=csv`, 'format'],
      ['GET', `/api/leads/${id}/qualification?site=acme&framework=bant`, 'framework'],
      ['POST', `/api/leads/${id}/qualification?site=acme&owner=kim`, 'owner'],
      ['DELETE', `/api/leads/${id}?site=acme&dryRun=1`, 'dryRun'],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: 'Bearer test-admin-token', ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(method === 'POST' ? { body: JSON.stringify({ boxes: { need: true } }) } : {}),
      });
      const body = (await response.json()) as { code: string; problems: unknown };
      expect({ path, status: response.status, code: body.code }).toEqual({ path, status: 400, code: 'invalid_query' });
      expect(body.problems).toEqual([{ path: name, message: 'unknown key' }]);
    }
    // Nothing was erased or qualified.
    expect((await getJson(server, `/api/leads/${id}?site=acme`)).status).toBe(200);
    expect((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).body.history).toEqual([]);
  });
});

describe('the leads and accounts lists', () => {
  it('refuse a parameter they do not take, naming it, instead of answering as if it were not there', async () => {
    await makeLead();
    // A misspelt filter, and the dashboards' own filters: each listed every lead, as though filtered.
    for (const [path, name] of [
      ['/api/leads?site=acme&tempreature=hot', 'tempreature'],
      ['/api/leads?site=acme&lifecycle=prospect&owners=kim', 'owners'],
      ['/api/leads?site=acme&minScore=60', 'minScore'],
      ['/api/accounts?site=acme&page=2', 'page'],
      ['/api/leads?site=acme&=x', '[""]'],
    ] as const) {
      const { status, body } = await getJson(server, path);
      expect({ path, status, code: body.code }).toEqual({ path, status: 400, code: 'invalid_query' });
      expect(body.problems).toEqual([{ path: name, message: 'unknown key' }]);
    }
    expect((await getJson(server, '/api/leads?site=acme&owner=sam&sort=recent&limit=5&offset=0&kind=lead&bots=exclude')).status).toBe(200);
    // An empty visitor is no visitor: it listed every lead, computed from raw events.
    const empty = await getJson(server, '/api/leads?site=acme&visitor=');
    expect({ status: empty.status, problems: empty.body.problems }).toEqual({ status: 400, problems: [{ path: 'visitor', message: "expected a visitor id (the browser's hearth_vid), not an empty value (got \"\")" }] });
  });

  it('page with a cursor that neither repeats nor skips a lead when another moves between two pages', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await makeLead());
    const list = async (query: string) => (await getJson(server, `/api/leads?site=acme&kind=lead&${query}`)).body;
    const ids = (body: { leads: { id: string }[] }) => body.leads.map((lead) => lead.id);
    async function pages(query: string, from: string | null = null) {
      const listed: string[] = [];
      for (let next = from, first = true; first || next; first = false) {
        const body = await list(`${query}&limit=3${next ? `&after=${next}` : ''}`);
        listed.push(...ids(body));
        next = body.next;
      }
      return listed;
    }
    for (const query of ['sort=recent', 'sort=score', 'sort=recent&bots=include', 'sort=score&bots=include']) {
      expect(await pages(query), query).toEqual(ids(await list(`${query}&limit=1000`)));
    }

    // A CRM syncing by recency reads a page; a lead further down comes back; the sync reads on.
    const before = ids(await list('sort=recent&limit=1000'));
    const first = await list('sort=recent&limit=3');
    const moved = made.find((lead) => before.indexOf(lead.id) >= 3)!;
    await postBatch(server, { s: 'acme', v: moved.laptop, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing` })] }, { origin: SITE_ORIGIN });
    await drained(server);
    const listed = [...ids(first), ...(await pages('sort=recent', first.next))];
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual(before.filter((id) => id !== moved.id));

    for (const [query, path, message] of [
      ['after=nonsense', 'after', 'expected the "next" of a page of this list, as it was given (got "nonsense")'],
      // A score no lead can have, which ClickHouse's 32 bits would wrap to a small one.
      ['sort=score&after=score.2147483648.l_x', 'after', 'expected the "next" of a page of this list, as it was given (got "score.2147483648.l_x")'],
      [`sort=score&after=${first.next}`, 'after', 'a cursor of the list sorted by recent: give sort=recent with it'],
      [`sort=recent&offset=3&after=${first.next}`, 'offset', 'give offset or after, not both'],
    ]) {
      const refused = await getJson(server, `/api/leads?site=acme&${query}`);
      expect({ query, status: refused.status, problems: refused.body.problems }).toEqual({ query, status: 400, problems: [{ path, message }] });
    }
  });

  it('syncs a CRM: every lead once by id while leads move, then only what changed since, qualifications included', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await makeLead());
    type Page = { leads: { id: string; visitorIds: string[] }[]; next: string | null; asOf: string; erased?: { id: string; erasedAt: string }[] };
    const list = async (query: string) => (await getJson(server, `/api/leads?site=acme&kind=lead&${query}`)).body as Page;
    const ids = (leads: { id: string }[]) => leads.map((lead) => lead.id);
    const all = (await list('sort=id&limit=1000')).leads;
    const everyLead = ids(all);
    expect(everyLead).toEqual([...everyLead].sort());

    // A full sync, 2 leads a page: while it pages, a lead it has not reached yet and one it has listed both come back
    // (a sort by score or recency would move them across its cursor: one skipped, one listed twice).
    const first = await list('sort=id&limit=2');
    const [listedAlready, notYet] = [first.leads[0]!, all.at(-1)!];
    for (const lead of [listedAlready, notYet]) await postBatch(server, { s: 'acme', v: lead.visitorIds[0]!, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing` })] }, { origin: SITE_ORIGIN });
    await drained(server);
    const synced = ids(first.leads);
    for (let next = first.next; next; ) {
      const page = await list(`sort=id&limit=2&after=${next}`);
      synced.push(...ids(page.leads));
      next = page.next;
    }
    expect(synced).toEqual(everyLead);
    expect(first.next).toMatch(/^id\.\.l_[0-9a-f]{20}$/);

    // The next sync asks for what changed since the last one's asOf (a few minutes before it, so as to miss nothing):
    // the two that came back, a lead sales qualified, none of the others.
    expect(Date.parse(first.asOf)).toBeLessThan(Date.now());
    const since = new Date(Date.now() + 60_000).toISOString();
    expect((await list(`sort=id&changedSince=${since}`)).leads).toEqual([]);
    const mark = new Date().toISOString();
    const [qualified, active] = made.filter((lead) => lead.id !== listedAlready.id && lead.id !== notYet.id);
    expect((await send('POST', `/api/leads/${qualified!.id}/qualification?site=acme`, { owner: 'sam' })).status).toBe(200);
    await postBatch(server, { s: 'acme', v: active!.laptop, e: [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'webinar', p: { 'email  email': active!.email } })] }, { origin: SITE_ORIGIN });
    await drained(server);
    expect(ids((await list(`sort=id&changedSince=${mark}`)).leads)).toEqual([qualified!.id, active!.id].sort());
    expect(await list(`sort=id&changedSince=${mark}`)).toMatchObject({ erased: [] });

    // A person erased since is in no list: the sync learns of it from `erased`, on every page, to erase its copy too.
    const gone = made.find((lead) => ![qualified!.id, active!.id, listedAlready.id, notYet.id].includes(lead.id))!;
    expect((await send('DELETE', `/api/leads/${gone.id}?site=acme`)).status).toBe(200);
    for (const query of [`sort=id&changedSince=${mark}`, `sort=id&changedSince=${mark}&limit=1`]) {
      const page = await list(query);
      expect(ids(page.leads)).not.toContain(gone.id);
      expect(ids(page.erased!).sort(), query).toEqual([gone.id, `v_${gone.laptop}`, `v_${gone.phone}`].sort());
      expect(page.erased!.every((erasure) => Date.parse(erasure.erasedAt) >= Date.parse(mark))).toBe(true);
    }
    expect((await list(`sort=id&changedSince=${new Date().toISOString()}`)).erased).toEqual([]);
    expect((await list('sort=id')).erased).toBeUndefined();

    for (const [query, message] of [
      ['changedSince=yesterday', 'expected a time with its zone, as `asOf` gives it (2026-12-06T17:45:00.000Z) (got "yesterday")'],
      ['changedSince=2026-12-06T17:45:00&sort=id', 'expected a time with its zone, as `asOf` gives it (2026-12-06T17:45:00.000Z) (got "2026-12-06T17:45:00")'],
      [`changedSince=${mark}&bots=include`, 'reads the stored scores: not with bots=include'],
    ]) {
      const refused = await getJson(server, `/api/leads?site=acme&${query}`);
      expect({ query, status: refused.status, problems: refused.body.problems }).toEqual({ query, status: 400, problems: [{ path: 'changedSince', message }] });
    }
  });

  it('compresses a large page for a client that accepts it, and sends it as it is to one that does not', async () => {
    for (let i = 0; i < 12; i++) await makeLead();
    const read = async (acceptEncoding: string) => {
      const response = await fetch(`${server.url}/api/leads?site=acme&limit=1000`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, 'accept-encoding': acceptEncoding } });
      return { status: response.status, encoding: response.headers.get('content-encoding'), vary: response.headers.get('vary'), body: (await response.json()) as { leads: unknown[] } };
    };
    const [plain, brotli, gzip] = [await read('identity'), await read('gzip, deflate, br'), await read('gzip')];
    expect(plain).toMatchObject({ status: 200, encoding: null });
    expect(JSON.stringify(plain.body).length).toBeGreaterThan(8 * 1024);
    expect(brotli).toMatchObject({ status: 200, encoding: 'br', vary: expect.stringMatching(/accept-encoding/i) });
    expect(gzip).toMatchObject({ status: 200, encoding: 'gzip' });
    // The same list, once fetch has decoded it (asOf aside: each answer's own time).
    const same = ({ body }: { body: Record<string, unknown> }) => ({ ...body, asOf: undefined });
    expect(same(brotli)).toEqual(same(plain));
    expect(same(gzip)).toEqual(same(plain));
    // A small answer is not worth compressing.
    const small = await fetch(`${server.url}/api/leads?site=acme&limit=1`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, 'accept-encoding': 'br' } });
    expect(small.headers.get('content-encoding')).toBeNull();
  });

  it('sort by the fit or the engagement part of the score, best first, and page through either with its cursor', async () => {
    // An engaged lead (pricing, product, a demo request: makeLead), and a CEO of a large company who only gave an email.
    const engaged = await makeLead();
    const ceo = newVisitor();
    await postBatch(server, { s: 'acme', v: ceo, e: [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: `ceo.${ceo}@bigcorp.test`, t: minutesAgo(5), p: { job_title: 'CEO', company_size: '5000' } })] }, { origin: SITE_ORIGIN });
    await drained(server);
    type Listed = { id: string; visitorIds: string[]; score: number; fit: number; engagement: number };
    const list = async (query: string) => (await getJson(server, `/api/leads?site=acme&kind=lead&${query}`)).body as { leads: Listed[]; next: string | null };
    const boss = (await list(`visitor=${ceo}`)).leads[0]!;
    const keen = (await list(`visitor=${engaged.laptop}`)).leads[0]!;
    // The CEO fits better and scores lower: each sort puts the other first.
    expect([boss.fit > keen.fit, boss.engagement < keen.engagement, boss.score < keen.score]).toEqual([true, true, true]);
    for (const [query, part] of [['sort=fit', 'fit'], ['sort=engagement', 'engagement'], ['sort=fit&bots=include', 'fit'], ['sort=engagement&bots=include', 'engagement']] as const) {
      const all = (await list(`${query}&limit=1000`)).leads;
      const ids = all.map((lead) => lead.id);
      // Best first, the lead id breaking ties.
      const ordered = [...all].sort((a, b) => Math.round(b[part] * 100) - Math.round(a[part] * 100) || (a.id < b.id ? -1 : 1));
      expect(ids, query).toEqual(ordered.map((lead) => lead.id));
      expect(ids.indexOf(boss.id) < ids.indexOf(keen.id), query).toBe(part === 'fit');
      const paged: string[] = [];
      for (let next: string | null = null, first = true; first || next; first = false) {
        const body = await list(`${query}&limit=3${next ? `&after=${next}` : ''}`);
        paged.push(...body.leads.map((lead) => lead.id));
        next = body.next;
      }
      expect(paged, query).toEqual(ids);
    }
    const { next } = await list('sort=fit&limit=1');
    expect(next).toMatch(/^fit\.-?\d+\.l_[0-9a-f]{20}$/);
    const refused = await getJson(server, `/api/leads?site=acme&sort=engagement&after=${next}`);
    expect({ status: refused.status, problems: refused.body.problems }).toEqual({ status: 400, problems: [{ path: 'after', message: 'a cursor of the list sorted by fit: give sort=fit with it' }] });
  });

  it('take limit and offset written in digits only, as the dashboards do (an empty one was 0, 0x10 was 16)', async () => {
    for (const [path, name] of [
      ['/api/leads?site=acme&limit=0x10', 'limit'],
      ['/api/leads?site=acme&offset=', 'offset'],
      ['/api/leads?site=acme&offset=1e3', 'offset'],
      ['/api/accounts?site=acme&limit=%2010', 'limit'],
      ['/api/accounts?site=acme&offset=-1', 'offset'],
    ] as const) {
      const { status, body } = await getJson(server, path);
      expect({ path, status, problems: body.problems }).toEqual({ path, status: 400, problems: [expect.objectContaining({ path: name })] });
    }
  });
});

describe('exporting a person', () => {
  it('gives the profile their own forms make, also when someone else has taken over their only browser since', async () => {
    const shared = newVisitor();
    const [ada, bob] = [`ada.${shared}@alpha.test`, `bob.${shared}@beta.test`];
    const form = (minutes: number, fields: Record<string, string>) =>
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(minutes), p: Object.fromEntries(Object.entries(fields).map(([key, value]) => [`${key}  `, value])) });
    await postBatch(server, { s: 'acme', v: shared, sid: newVisitor(), e: [form(30, { email: ada, job_title: 'CEO', company: 'Alpha' })] });
    await drained(server);
    const adaId = (await getJson(server, `/api/leads?site=acme&visitor=${shared}`)).body.leads[0].id as string;
    await postBatch(server, { s: 'acme', v: shared, sid: newVisitor(), e: [form(20, { email: bob, job_title: 'Intern', phone: '+33 6 12 34 56 78' })] });
    await drained(server);

    const { status, body } = await getJson(server, `/api/leads/${adaId}/export?site=acme`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ email: ada, visitorIds: [shared], sharedVisits: { [shared]: [expect.any(String)] }, handedOver: [{ visitorId: shared }] });
    expect(body.events.map((event: { type: string }) => event.type)).toEqual(['form']);
    expect(body.profile).toEqual({ job_title: 'CEO', company: 'Alpha' });
  });
});
