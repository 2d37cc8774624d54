import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retimedEvents } from '../../collector/ingest/retimed.ts';
import { batchToRows } from '../../collector/ingest/rows.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import { UNKNOWN_USER_AGENT } from '../../collector/ingest/user-agent.ts';
import type { WireBatch } from '../../collector/ingest/wire.ts';
import type { RunningServer } from '../../collector/server.ts';
import { getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, storedEvents, wireEvent } from '../support/server.ts';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('POST /collect', () => {
  it('stores a text/plain beacon as rows, answering 202', async () => {
    const visitor = newVisitor();
    const view = wireEvent({ u: `${SITE_ORIGIN}/pricing?plan=pro#faq`, r: 'https://www.google.com/', ti: 'Pricing' });
    const track = wireEvent({ n: 't', k: 'pricing-toggle', p: { plan: 'annual', seats: 25, trial: true } });
    const response = await postBatch(server, { s: 'acme', v: visitor, sid: 'session-0001', e: [view, track] });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ accepted: 2 });

    const rows = await storedEvents(server, visitor);
    expect(rows.map((r) => r.type).sort()).toEqual(['pageview', 'track']);
    const pageview = rows.find((r) => r.type === 'pageview')!;
    expect(pageview).toMatchObject({
      event_id: view.i,
      url: `${SITE_ORIGIN}/pricing?plan=pro`,
      path: '/pricing',
      referrer: 'https://www.google.com/',
      title: 'Pricing',
    });
    expect(rows.find((r) => r.type === 'track')).toMatchObject({ name: 'pricing-toggle', props: { plan: 'annual', seats: '25', trial: 'true' } });
  });

  it('takes a referrer from another of the site\'s origins (its docs subdomain) for navigation, not a source', async () => {
    const visitor = newVisitor();
    const views = [
      wireEvent({ u: 'https://docs.acme.test/setup', r: `${SITE_ORIGIN}/pricing`, ss: 1 }),
      wireEvent({ u: `${SITE_ORIGIN}/pricing`, r: 'https://docs.acme.test/setup' }),
      wireEvent({ u: `${SITE_ORIGIN}/pricing`, r: 'https://news.ycombinator.com/item?id=1' }),
      // Another site's pages are a source, even on the same collector.
      wireEvent({ u: `${SITE_ORIGIN}/`, r: 'https://globex.test/' }),
    ];
    expect((await postBatch(server, { s: 'acme', v: visitor, e: views })).status).toBe(202);
    const hosts = Object.fromEntries((await storedEvents(server, visitor)).map((row) => [row.event_id, row.referrer_host]));
    expect(views.map((view) => hosts[String(view.i)])).toEqual(['', '', 'news.ycombinator.com', 'globex.test']);
  });

  it('stores an event under its own session id when it carries one (a retried event from an earlier visit)', async () => {
    const visitor = newVisitor();
    const earlier = wireEvent({ sid: 'session-earlier' });
    const current = wireEvent({ u: `${SITE_ORIGIN}/pricing` });
    expect((await postBatch(server, { s: 'acme', v: visitor, sid: 'session-current', e: [current, earlier] })).status).toBe(202);
    const rows = await storedEvents(server, visitor);
    expect(Object.fromEntries(rows.map((r) => [r.event_id, r.session_id]))).toEqual({ [String(current.i)]: 'session-current', [String(earlier.i)]: 'session-earlier' });
    // One another script rewrote in the browser's storage is stored as an id derived from it, and named.
    const odd = wireEvent({ sid: 'no spaces' });
    const answer = await postBatch(server, { s: 'acme', v: visitor, e: [odd] });
    expect([answer.status, (answer.body as any).ignored.map((p: { path: string }) => p.path)]).toEqual([202, ['e[0].sid']]);
    expect((await storedEvents(server, visitor)).find((r) => r.event_id === odd.i)!.session_id).toMatch(/^h-[\w-]{22}$/);
  });

  it('files identify traits under the keys the profile and the rules know, as form fields are', async () => {
    const visitor = newVisitor();
    const traits = {
      jobTitle: 'CEO', companySize: ' 500 ', Country: 'Belgique', plan: 'pro', 'Budget Range': '10k', Intérêt: 'CRM',
      password: 'hunter2', mdp: 'MonMotDePasse!', apiKey: 'sk_live_abc', email: 'other@acme.test',
      // Secret words in snake_case (QA: filed as company and phone).
      company_pin: '4321', company_bic: 'BNPAFRPP', mdp_portable: 's3cret', nif_societe: 'B12345678',
      // India's postal code is none; an ATM's PIN is one.
      pin_code: '560001', atm_pin_code: '4321',
    };
    const identify = wireEvent({ n: 'i', em: 'traits@acme.test', p: traits });
    // A form field the site named with data-hearth-field keeps its name, accents included.
    const form = wireEvent({ n: 'f', k: 'interest', p: { intérêt: 'ERP' } });
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent(), identify, form] })).status).toBe(202);
    const [row] = (await storedEvents(server, visitor)).filter((r) => r.type === 'identify');
    expect([row!.email, row!.props]).toEqual(['traits@acme.test', { job_title: 'CEO', company_size: '500', country: 'Belgique', plan: 'pro', budget_range: '10k', intérêt: 'CRM', pin_code: '560001' }]);
    expect((await storedEvents(server, visitor)).find((r) => r.type === 'form')!.props).toEqual({ intérêt: 'ERP' });
    const leads = await fetch(`${server.url}/api/leads?site=acme&visitor=${visitor}`, { headers: { authorization: 'Bearer test-admin-token' } });
    const [lead] = ((await leads.json()) as any).leads;
    expect(lead.reasons.map((reason: { rule: string }) => reason.rule)).toEqual(expect.arrayContaining(['c-level', 'company-over-250', 'covered-country']));
  });

  it('accepts application/json from a subdomain matched by a wildcard origin', async () => {
    const visitor = newVisitor();
    const response = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent()] }, { contentType: 'application/json', origin: 'https://blog.acme.test' });
    expect(response.status).toBe(202);
    expect(await storedEvents(server, visitor)).toHaveLength(1);
  });

  it('accepts server-side senders that send no Origin header', async () => {
    const visitor = newVisitor();
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent()] }, { origin: undefined })).status).toBe(202);
    expect(await storedEvents(server, visitor)).toHaveLength(1);
  });

  it('never counts a retried batch twice', async () => {
    const visitor = newVisitor();
    const events = [wireEvent(), wireEvent({ u: `${SITE_ORIGIN}/product` }), wireEvent({ n: 'i', em: 'ada@acme.test' })];
    const batch = { s: 'acme', v: visitor, e: events };
    for (let attempt = 0; attempt < 3; attempt++) expect((await postBatch(server, batch)).status).toBe(202);
    // A retry that regrouped the same events with a new one.
    const extra = wireEvent({ u: `${SITE_ORIGIN}/pricing` });
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [events[1], extra] })).status).toBe(202);

    const rows = await storedEvents(server, visitor);
    expect(rows.map((r) => r.event_id).sort()).toEqual([...events, extra].map((e) => e.i).sort());
    const leads = await fetch(`${server.url}/api/leads?site=acme&visitor=${visitor}`, { headers: { authorization: 'Bearer test-admin-token' } });
    const [lead] = ((await leads.json()) as any).leads;
    expect(lead).toMatchObject({ events: 4, pageviews: 3, email: 'ada@acme.test' });
  });

  it('answers 400 with the path of each bad value and stores nothing of the batch', async () => {
    const visitor = newVisitor();
    const response = await postBatch(server, {
      s: 'acme',
      v: visitor,
      e: [wireEvent(), wireEvent({ i: 'not-a-uuid', u: 'javascript:alert(1)' }), wireEvent({ n: 't' }), wireEvent({ n: 't', k: '' })],
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('invalid_batch');
    expect(response.body.problems).toEqual([
      { path: 'e[1].i', message: 'expected the event id as a UUID (got "not-a-uuid")' },
      { path: 'e[1].u', message: 'expected an http(s) URL (got "javascript:alert(1)")' },
      { path: 'e[2].k', message: 'a track event needs a name' },
      { path: 'e[3].k', message: 'a track event needs a name' },
    ]);
    expect(await storedEvents(server, visitor)).toHaveLength(0);
  });

  it.each([
    ['a body that is not JSON', '{"s": "acme", "v": ', 'invalid_json'],
    ['an empty batch', { s: 'acme', v: 'visitor-0001', e: [] }, 'invalid_batch'],
    ['more than 100 events', { s: 'acme', v: 'visitor-0001', e: Array.from({ length: 101 }, () => wireEvent()) }, 'invalid_batch'],
    ['a JSON array', [1, 2, 3], 'invalid_batch'],
  ])('answers 400 to %s', async (_name, body, code) => {
    const response = await postBatch(server, body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe(code);
    expect(typeof response.body.error).toBe('string');
  });

  it('says what is wrong with a body that is no JSON it takes, and where', async () => {
    const post = (body: string) => fetch(`${server.url}/collect`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: SITE_ORIGIN }, body });
    const bodies = ['', '{"s": "acme",\n "v": ', '{"s": "acme", "v": "x", "e": [}', '['.repeat(8000), `${'['.repeat(8000)}}`];
    const answers = await Promise.all(bodies.map(async (body) => (await post(body)).json()));
    // Every 400 lists what is wrong: for a body as a whole, one problem at its root.
    const refused = (error: string) => ({ error, code: 'invalid_json', problems: [{ path: '(root)', message: error }] });
    expect(answers).toEqual([
      refused('the body is empty: send a JSON object'),
      refused('the body is not valid JSON: Unexpected end of JSON input (line 2, column 7)'),
      refused(`the body is not valid JSON: Unexpected token '}' (line 1, column 31)`),
      // Lists in lists, thousands deep: where it goes wrong is found without recursing (it was a 500, a stack overflow).
      refused('the body is not valid JSON: Unexpected end of JSON input (line 1, column 8001)'),
      refused(`the body is not valid JSON: Unexpected token '}' (line 1, column 8001)`),
    ]);
  });

  it('leaves out a "__proto__" key and a "constructor" holding a "prototype", names them, and keeps the rest of the batch', async () => {
    // A page's hearth('track', 'crm-sync', JSON.parse(text)) with such a key: the whole batch was refused (400
    // invalid_json), the page's other events with it.
    const visitor = newVisitor();
    const toggle = wireEvent({ n: 't', k: 'plan-toggle', p: { plan: 'annual' } });
    const sync = wireEvent({ n: 't', k: 'crm-sync', p: { plan: 'pro' } });
    const body = JSON.stringify({ s: 'acme', v: visitor, e: [toggle, sync] })
      .replace('"p":{"plan":"pro"}', '"p":{"__proto__":{"admin":true},"plan":"pro","constructor":{"prototype":{"admin":true}}}')
      .replace('"s":"acme"', '"s":"acme","__proto__":"x"');
    const response = await fetch(`${server.url}/collect`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: SITE_ORIGIN }, body });
    expect([response.status, await response.json()]).toEqual([
      202,
      {
        accepted: 2,
        ignored: [
          { path: '__proto__', message: 'a "__proto__" key is refused: left out' },
          { path: 'e[1].p.__proto__', message: 'a "__proto__" key is refused: left out' },
          { path: 'e[1].p.constructor', message: 'a "constructor" key holding a "prototype" is refused: left out' },
        ],
      },
    ]);
    const rows = await storedEvents(server, visitor);
    expect(rows.map((row) => [row.name, row.props]).sort()).toEqual([
      ['crm-sync', { plan: 'pro' }],
      ['plan-toggle', { plan: 'annual' }],
    ]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('reads events sent as a JSON text, as a page whose arrays have a toJSON of their own (Prototype.js) makes the snippet send them', async () => {
    // JSON.stringify on such a page writes the list as a text: every batch of the site was refused with a 400.
    const visitor = newVisitor();
    const view = wireEvent({ u: `${SITE_ORIGIN}/pricing` });
    const track = wireEvent({ n: 't', k: 'plan-toggle', p: { plan: 'annual' } });
    const events = JSON.stringify([view, track]).replace('"p":{"plan":"annual"}', '"p":{"plan":"annual","__proto__":{"admin":true}}');
    const response = await postBatch(server, { s: 'acme', v: visitor, e: events });
    expect([response.status, response.body]).toEqual([202, { accepted: 2, ignored: [{ path: 'e[1].p.__proto__', message: 'a "__proto__" key is refused: left out' }] }]);
    const rows = await storedEvents(server, visitor);
    expect(rows.map((row) => [row.type, row.path, row.props]).sort()).toEqual([
      ['pageview', '/pricing', {}],
      ['track', '/', { plan: 'annual' }],
    ]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    // A text that holds no list is no list of events.
    for (const e of ['plain text', '{"i":"x"}', '', `{"e":[${'{"i":"x"},'.repeat(20)}{}]}`]) {
      const refused = await postBatch(server, { s: 'acme', v: visitor, e });
      expect([refused.status, refused.body.problems]).toEqual([400, [{ path: 'e', message: expect.stringContaining('expected a list') }]]);
    }
  });

  it('reads a body of thousands of such keys thousands of levels deep in the time of any other, naming the first', async () => {
    // 1,000 of them 15,000 levels deep (46 KB) took 28 s of the only thread, each key's path built level by level,
    // and answered 2 MB of paths.
    const visitor = newVisitor();
    const depth = 15_000;
    const body = JSON.stringify({ s: 'acme', v: visitor, e: [wireEvent()] }).replace(/}$/, `,"j":${'['.repeat(depth)}${Array(1000).fill('{"__proto__":1}').join(',')}${']'.repeat(depth)}}`);
    const started = performance.now();
    const response = await fetch(`${server.url}/collect`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: SITE_ORIGIN }, body });
    const answer = await response.json();
    // Well above its time on a busy machine (under half a second), well below the quadratic walk's.
    expect(performance.now() - started).toBeLessThan(5000);
    expect(response.status).toBe(202);
    expect(answer.ignored).toHaveLength(51);
    expect(answer.ignored[0]).toEqual({ path: `j${'[0]'.repeat(14)}…(${depth - 14} more levels)….__proto__`, message: 'a "__proto__" key is refused: left out' });
    expect(answer.ignored.at(-1).message).toBe('951 more left out, not listed');
  });

  it('answers 403 to an unknown site or a foreign origin, storing nothing', async () => {
    const visitor = newVisitor();
    const unknown = await postBatch(server, { s: 'initech', v: visitor, e: [wireEvent()] });
    expect(unknown.status).toBe(403);
    expect(unknown.body).toEqual({ error: 'unknown site "initech"', code: 'unknown_site' });
    const foreign = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent()] }, { origin: 'https://globex.test' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.code).toBe('origin_not_allowed');
    // An origin no site has (the site opened as localhost, or without www) reads its 403 too: a browser that cannot
    // read it takes it for a network error, and the snippet would keep the refused events to send again on each page.
    const unlisted = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent()] }, { origin: 'http://localhost:18081' });
    expect([unlisted.status, unlisted.body.error, unlisted.headers.get('access-control-allow-origin')]).toEqual([403, 'origin http://localhost:18081 is not allowed for site "acme"', 'http://localhost:18081']);
    expect(unlisted.headers.get('vary')).toMatch(/origin/i);
    // So does a site id mistyped on a page no site has, and a page opened from a file (its origin is "null", its
    // address file:///…): the developer reads why in the console, not a misleading CORS error.
    const mistyped = await postBatch(server, { s: 'acmee', v: visitor, e: [wireEvent()] }, { origin: 'http://localhost:18102' });
    expect([mistyped.status, mistyped.body.code, mistyped.headers.get('access-control-allow-origin')]).toEqual([403, 'unknown_site', 'http://localhost:18102']);
    const fromFile = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ u: 'file:///home/ada/site/index.html' })] }, { origin: 'null' });
    expect([fromFile.status, fromFile.body.problems, fromFile.headers.get('access-control-allow-origin')]).toEqual([
      400,
      [{ path: 'e[0].u', message: 'expected an http(s) URL (got "file:///home/ada/site/index.html")' }],
      'null',
    ]);
    // And the refusals of the body itself, which come before the batch is read: too large, not JSON, a coding the
    // collector cannot read, or not a batch's content type.
    const post = (body: string, headers: Record<string, string>) => fetch(`${server.url}/collect`, { method: 'POST', headers: { origin: 'null', 'content-type': 'text/plain', ...headers }, body });
    for (const [refused, status, code] of [
      [await post('x'.repeat(70_000), {}), 413, 'body_too_large'],
      [await post('{bad', {}), 400, 'invalid_json'],
      [await post('not gzip', { 'content-encoding': 'gzip' }), 400, 'invalid_encoding'],
      [await post('{}', { 'content-encoding': 'zstd' }), 415, 'unsupported_encoding'],
      [await post('{}', { 'content-type': 'image/png' }), 415, 'unsupported_media_type'],
    ] as const) {
      expect([refused.status, ((await refused.json()) as { code: string }).code, refused.headers.get('access-control-allow-origin')]).toEqual([status, code, 'null']);
    }
    expect(await storedEvents(server, visitor)).toHaveLength(0);
  });

  it('answers 413 with a JSON body to a body over 64 KB', async () => {
    const visitor = newVisitor();
    const body = JSON.stringify({ s: 'acme', v: visitor, e: [wireEvent({ ti: 'x'.repeat(65 * 1024) })] });
    const response = await postBatch(server, body);
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ error: 'the body is larger than 64 KB', code: 'body_too_large' });
    expect(await storedEvents(server, visitor)).toHaveLength(0);
  });

  it('replaces a client time that is far off with the arrival time', async () => {
    const visitor = newVisitor();
    const before = Date.now();
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ t: Date.UTC(2001, 0, 1) })] });
    const [row] = await storedEvents(server, visitor);
    expect(Date.parse(row!.ts.replace(' ', 'T') + 'Z')).toBeGreaterThanOrEqual(before - 1);
    expect(row!.ts).toBe(row!.received_at);
  });

  it('gives an event of a clock set wrong that is sent again the time of its first copy, so it is stored once', async () => {
    const visitor = newVisitor();
    const fast = Date.now() + 10 * 60_000;
    const batch = { s: 'acme', v: visitor, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: fast }), wireEvent({ n: 'f', k: 'newsletter', t: fast + 1, p: { email: `${visitor}@acme.test` } })] };
    expect((await postBatch(server, batch)).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The acknowledgement was lost: the snippet sends the same events again, later.
    expect((await postBatch(server, batch)).status).toBe(202);
    const rows = await storedEvents(server, visitor);
    expect(rows.map((row) => row.event_id).sort()).toEqual(batch.e.map((event) => event.i).sort());
    const { body } = await getJson(server, `/api/leads?site=acme&visitor=${visitor}`);
    expect(body.leads[0]).toMatchObject({ events: 2, pageviews: 1, score: 20 });
  });

  it('stores once the copies of an event of a clock set wrong that arrive at once (each open tab resends the retry queue as the browser comes back online)', async () => {
    const visitor = newVisitor();
    const fast = Date.now() + 10 * 60_000;
    const batch = { s: 'acme', v: visitor, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: fast, sid: randomUUID() }), wireEvent({ n: 't', k: 'clicked', t: fast + 1, sid: randomUUID() })] };
    const statuses = await Promise.all([1, 2, 3].map(() => postBatch(server, batch).then((response) => response.status)));
    expect(statuses).toEqual([202, 202, 202]);
    const rows = await storedEvents(server, visitor);
    expect(rows.map((row) => row.event_id).sort()).toEqual(batch.e.map((event) => event.i).sort());
    const { body } = await getJson(server, `/api/leads?site=acme&visitor=${visitor}`);
    expect(body.leads[0]).toMatchObject({ events: 2, pageviews: 1 });
  });

  it('finds the time of the first copy in ClickHouse when the copy sent again reaches another collector', async () => {
    const visitor = newVisitor();
    const slow = Date.UTC(2001, 0, 1);
    const batch = { s: 'acme', v: visitor, e: [wireEvent({ t: slow }), wireEvent({ t: Date.now() })] } as unknown as WireBatch;
    expect((await postBatch(server, batch)).status).toBe(202);
    const [first] = (await storedEvents(server, visitor)).filter((row) => row.event_id === batch.e[0]!.i);
    // Another collector: nothing in its memory.
    const elsewhere = retimedEvents(server.client, () => true);
    const found = await elsewhere.lookUp(batch, Date.now());
    expect([...found]).toEqual([[batch.e[0]!.i, first!.ts]]);
    expect(batchToRows(batch, Date.now(), { userAgent: UNKNOWN_USER_AGENT, retimed: found })[0]!.ts).toBe(first!.ts);
  });

  it('looks again, a flush interval later, for the first copy of a resent event that may still be in another collector\'s log', async () => {
    const visitor = newVisitor();
    const batch = { s: 'acme', v: visitor, e: [wireEvent({ t: Date.UTC(2001, 0, 1) })] } as unknown as WireBatch;
    const eventId = batch.e[0]!.i.toLowerCase();
    // Collector A took the first copy at its arrival; it moves it from its log into ClickHouse within its flush
    // interval (a second here), after the resend reached this collector from the snippet's retry queue.
    const first = batchToRows(batch, Date.now(), { userAgent: UNKNOWN_USER_AGENT });
    const resent = { ...batch, e: batch.e.map((event) => ({ ...event, sid: randomUUID() })) } as WireBatch;
    const here = retimedEvents(server.client, () => true, 1000);
    const looking = here.lookUp(resent, Date.now() + 200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await insertEvents(server.client, first);
    expect([...(await looking)]).toEqual([[eventId, first[0]!.ts]]);
    // A first send (no session on its events) finds nothing, and is not held back.
    const started = performance.now();
    const fresh = { s: 'acme', v: newVisitor(), e: [wireEvent({ t: Date.UTC(2001, 0, 1) })] } as unknown as WireBatch;
    expect((await here.lookUp(fresh, Date.now())).size).toBe(0);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('grants CORS to configured origins only, and only on /collect', async () => {
    const preflight = (origin: string, path = '/collect') =>
      fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const allowed = await preflight(SITE_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(SITE_ORIGIN);
    expect((await preflight('https://evil.test')).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight(SITE_ORIGIN, '/api/leads')).headers.get('access-control-allow-origin')).toBeNull();
    const post = await postBatch(server, { s: 'acme', v: newVisitor(), e: [wireEvent()] });
    expect(post.headers.get('access-control-allow-origin')).toBe(SITE_ORIGIN);
  });

  it('answers a preflight for /collect itself, not for a path that only begins with it', async () => {
    const preflight = async (path: string) => {
      const response = await fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: SITE_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      await response.arrayBuffer();
      return [path, response.status, response.headers.get('access-control-allow-origin')];
    };
    const answers = [];
    for (const path of ['/collect', '/collect?retry=1', '/collect/', '/collectx', '/collect/leads']) answers.push(await preflight(path));
    // POST /collect/ and the others are 404s: granting their preflight told a browser that a post would be read.
    expect(answers).toEqual([
      ['/collect', 204, SITE_ORIGIN],
      ['/collect?retry=1', 204, SITE_ORIGIN],
      ['/collect/', 404, null],
      ['/collectx', 404, null],
      ['/collect/leads', 404, null],
    ]);
  });

  it('stores SQL-looking text literally', async () => {
    const visitor = newVisitor();
    const title = "x'); DROP TABLE events; --";
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ ti: title, i: randomUUID() })] })).status).toBe(202);
    expect((await storedEvents(server, visitor))[0]!.title).toBe(title);
  });
});
