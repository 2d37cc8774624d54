import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

let server: RunningServer;
beforeAll(async () => {
  // The demo site too, for the refusal of a static path out of its folder.
  server = await startTestServer({ serveDemoSite: true });
});
afterAll(() => server.close());

const minutesAgo = (minutes: number) => Date.now() - minutes * 60_000;

/** A GET of a path as written: fetch would resolve its dot segments, %2e%2e included, before sending it. */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    // Options, not a URL string: Node parses a string with WHATWG's URL, which resolves dot segments too.
    get({ hostname, port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('GET /api/leads', () => {
  it('refuses a missing or wrong token with 401', async () => {
    for (const token of [null, 'wrong-token']) {
      const response = await getJson(server, '/api/leads?site=acme', token);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="hearth"');
      expect(response.body.code).toBe('unauthorized');
    }
  });

  it('lists an anonymous visitor with its event count and last-seen time', async () => {
    const visitor = newVisitor();
    await postBatch(server, {
      s: 'acme',
      v: visitor,
      e: [wireEvent({ t: minutesAgo(3) }), wireEvent({ t: minutesAgo(2), u: `${SITE_ORIGIN}/pricing` }), wireEvent({ n: 't', k: 'chat-open', t: minutesAgo(1) })],
    });
    await drained(server);
    const { status, body } = await getJson(server, `/api/leads?site=acme&visitor=${visitor}`);
    expect(status).toBe(200);
    expect(body.site).toBe('acme');
    expect(body.leads).toMatchObject([
      {
        id: `v_${visitor}`,
        kind: 'visitor',
        email: null,
        visitorIds: [visitor],
        events: 3,
        pageviews: 2,
        firstSeen: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        lastSeen: expect.any(String),
      },
    ]);
    expect(Date.parse(body.leads[0].lastSeen) - Date.parse(body.leads[0].firstSeen)).toBeGreaterThan(100_000);
    // Scored like everyone: a pricing page view is worth 20 points in the article's grid.
    expect(body.leads[0]).toMatchObject({ score: expect.any(Number), temperature: expect.stringMatching(/^(cold|warm|hot)$/), reasons: expect.any(Array) });
  });

  it("lists a browser whose clock runs fast as the stored scores do, whether computed on the spot or read", async () => {
    // Two minutes fast: the collector keeps times up to 5 minutes ahead, and its rescoring counts them.
    const visitor = newVisitor();
    const fast = (ms: number) => Date.now() + 120_000 + ms;
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ t: fast(0), u: `${SITE_ORIGIN}/pricing` }), wireEvent({ n: 'i', em: 'fast.clock@globex.test', t: fast(1000) })] });
    await drained(server);
    const stored = await getJson(server, '/api/leads?site=acme&limit=1000');
    const lead = stored.body.leads.find((listed: { email: string | null }) => listed.email === 'fast.clock@globex.test');
    expect(lead).toMatchObject({ kind: 'lead', events: 2, pageviews: 1 });
    for (const query of [`visitor=${visitor}`, `visitor=${visitor}&bots=include`]) {
      const onTheSpot = await getJson(server, `/api/leads?site=acme&${query}`);
      expect(onTheSpot.body.leads, query).toMatchObject([{ id: lead.id, kind: 'lead', email: 'fast.clock@globex.test', score: lead.score, events: 2, pageviews: 1 }]);
    }
  });


  it('computes one list counting automated browsers at a time, two waiting, and tells the others to come back', async () => {
    const visitor = newVisitor();
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ t: minutesAgo(2), u: `${SITE_ORIGIN}/pricing` })] });
    await drained(server);
    // Each is a whole site's rescoring held in memory (at 300,000 visitors, 16 s and 2 GB): eight asked at once.
    const answers = await Promise.all(Array.from({ length: 8 }, () => getJson(server, '/api/leads?site=acme&bots=include&limit=1')));
    const busy = answers.filter((answer) => answer.status === 503);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    for (const answer of busy) {
      expect(answer.body).toEqual({ error: 'lists counting automated browsers (bots=include) are being computed; try again in a few seconds', code: 'busy' });
      expect(answer.headers.get('retry-after')).toBe('10');
    }
    expect(answers.filter((answer) => answer.status === 200).length).toBe(8 - busy.length);
    // One visitor's lead is no site's rescoring: always answered.
    const one = await Promise.all([getJson(server, '/api/leads?site=acme&bots=include'), getJson(server, `/api/leads?site=acme&bots=include&visitor=${visitor}`)]);
    expect(one[1].status).toBe(200);
    expect(one[1].body.leads).toHaveLength(1);
  });

  it('counts the events of a batch stored twice (replayed after a crash, before ClickHouse merges the copies) once', async () => {
    const visitor = newVisitor();
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ t: minutesAgo(2), u: `${SITE_ORIGIN}/pricing` }), wireEvent({ n: 'i', em: `${visitor}@globex.test`, t: minutesAgo(1) })] });
    await drained(server);
    const stored = async () => (await server.client.query({ query: 'SELECT * FROM events WHERE visitor_id = {visitor:String}', query_params: { visitor }, format: 'JSONEachRow' })).json<Record<string, unknown>>();
    await server.client.insert({ table: 'events', values: await stored(), format: 'JSONEachRow' });
    expect(await stored()).toHaveLength(4);
    for (const query of [`visitor=${visitor}`, 'limit=1000']) {
      const { body } = await getJson(server, `/api/leads?site=acme&${query}`);
      expect(body.leads.find((lead: { email: string | null }) => lead.email === `${visitor}@globex.test`), query).toMatchObject({ events: 2, pageviews: 1 });
    }
  });
  it('makes an identified visitor a lead, counting the anonymous history before the email and every device', async () => {
    const laptop = newVisitor();
    const phone = newVisitor();
    const batches = [
      { s: 'acme', v: laptop, e: [wireEvent({ t: minutesAgo(30) }), wireEvent({ t: minutesAgo(29) })] },
      { s: 'acme', v: laptop, e: [wireEvent({ n: 'i', em: ' Grace@Globex.TEST ', t: minutesAgo(28) })] },
      { s: 'acme', v: phone, e: [wireEvent({ t: minutesAgo(5) }), wireEvent({ n: 'i', em: 'grace@globex.test', t: minutesAgo(4) })] },
    ];
    for (const batch of batches) expect((await postBatch(server, batch)).status).toBe(202);
    await drained(server);

    const byLaptop = await getJson(server, `/api/leads?site=acme&visitor=${laptop}`);
    const byPhone = await getJson(server, `/api/leads?site=acme&visitor=${phone}`);
    expect(byLaptop.body.leads).toHaveLength(1);
    expect(byPhone.body.leads).toEqual(byLaptop.body.leads);
    expect(byLaptop.body.leads[0]).toMatchObject({
      id: expect.stringMatching(/^l_[0-9a-f]{20}$/),
      kind: 'lead',
      email: 'grace@globex.test',
      visitorIds: [laptop, phone].sort(),
      events: 5,
      pageviews: 3,
    });
  });

  it('keeps sites apart', async () => {
    const visitor = newVisitor();
    await postBatch(server, { s: 'globex', v: visitor, e: [wireEvent({ u: 'https://globex.test/' })] }, { origin: 'https://globex.test' });
    await drained(server);
    expect((await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body.leads).toEqual([]);
    expect((await getJson(server, `/api/leads?site=globex&visitor=${visitor}`)).body.leads).toHaveLength(1);
  });

  it('lists the most recently seen first and honours limit', async () => {
    const older = newVisitor();
    const newer = newVisitor();
    await postBatch(server, { s: 'globex', v: older, e: [wireEvent({ u: 'https://globex.test/', t: minutesAgo(10) })] }, { origin: 'https://globex.test' });
    await postBatch(server, { s: 'globex', v: newer, e: [wireEvent({ u: 'https://globex.test/', t: minutesAgo(0) })] }, { origin: 'https://globex.test' });
    await drained(server);
    const visitorsOf = (body: { leads: { visitorIds: string[] }[] }) => body.leads.map((lead) => lead.visitorIds[0]);
    const all = visitorsOf((await getJson(server, '/api/leads?site=globex&sort=recent')).body);
    expect(all.indexOf(newer)).toBeLessThan(all.indexOf(older));
    expect(visitorsOf((await getJson(server, '/api/leads?site=globex&sort=recent&limit=1')).body)).toEqual([newer]);
  });

  it('answers 400 naming the bad parameter', async () => {
    const unknownSite = await getJson(server, '/api/leads?site=initech');
    expect(unknownSite.status).toBe(400);
    expect(unknownSite.body.problems).toEqual([{ path: 'site', message: 'unknown site; configured sites: acme, globex (got "initech")' }]);
    const noSite = await getJson(server, '/api/leads');
    expect(noSite.body.problems[0]).toEqual({ path: 'site', message: 'choose a site: acme, globex' });
    const badLimit = await getJson(server, '/api/leads?site=acme&limit=0');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.problems[0].path).toBe('limit');
    const twice = await getJson(server, '/api/leads?site=acme&site=globex');
    expect(twice.status).toBe(400);
    expect(twice.body.problems).toEqual([{ path: 'site', message: 'given 2 times: give it once (got "acme", "globex")' }]);
  });
});

describe('health and the snippet', () => {
  it('reports live and ready', async () => {
    expect(await getJson(server, '/healthz', null)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await getJson(server, '/readyz', null)).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('serves hearth.js compressed, cacheable, and revalidated by ETag', async () => {
    const first = await fetch(`${server.url}/hearth.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(first.headers.get('content-encoding')).toBe('gzip');
    expect(first.headers.get('cache-control')).toContain('max-age=');
    const source = await first.text();
    expect(source).toContain('sendBeacon');
    const etag = first.headers.get('etag')!;
    const again = await fetch(`${server.url}/hearth.js`, { headers: { 'accept-encoding': 'gzip', 'if-none-match': etag } });
    expect(again.status).toBe(304);
    // If-None-Match is a list, compared weakly, and `*` is any tag (RFC 9110): a proxy that weakened the tag still revalidates.
    for (const header of [`W/${etag}`, `"another", ${etag}`, '*']) {
      expect((await fetch(`${server.url}/hearth.js`, { headers: { 'accept-encoding': 'gzip', 'if-none-match': header } })).status, header).toBe(304);
    }
    expect((await fetch(`${server.url}/hearth.js`, { headers: { 'accept-encoding': 'gzip', 'if-none-match': '"another"' } })).status).toBe(200);
    // Each coding has its own ETag: a browser that now takes brotli gets the brotli bytes, not a 304 for the gzip ones.
    const brotli = await fetch(`${server.url}/hearth.js`, { headers: { 'accept-encoding': 'br', 'if-none-match': etag } });
    expect([brotli.status, brotli.headers.get('content-encoding')]).toEqual([200, 'br']);
    expect(brotli.headers.get('etag')).not.toBe(etag);
  });

  // q=0 means "not this one"; `*` stands for any coding not named; ties go to brotli, the smaller.
  it.each([
    ['br;q=0, gzip', 'gzip'],
    ['gzip;q=0', 'uncompressed'],
    ['*', 'br'],
    ['gzip, deflate, br, zstd', 'br'],
    ['br;q=0, *', 'gzip'],
    ['br;q=0, gzip;q=0, *', 'uncompressed'],
    ['gzip;q=1, br;q=0.5', 'gzip'],
    ['GZIP', 'gzip'],
    ['identity', 'uncompressed'],
    ['', 'uncompressed'],
  ])('serves hearth.js to Accept-Encoding "%s" as %s', async (acceptEncoding, expected) => {
    const response = await fetch(`${server.url}/hearth.js`, { headers: { 'accept-encoding': acceptEncoding } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-encoding') ?? 'uncompressed').toBe(expected);
    expect(response.headers.get('vary')).toBe('accept-encoding');
    expect(await response.text()).toContain('sendBeacon');
  });

  it('redirects the demo site and its folders written without their last slash', async () => {
    for (const [path, to] of [['/demo', '/demo/'], ['/demo/pricing', '/demo/pricing/'], ['/demo?utm_source=news&utm_campaign=dec', '/demo/?utm_source=news&utm_campaign=dec']]) {
      const response = await fetch(`${server.url}${path}`, { redirect: 'manual' });
      expect([path, response.status, response.headers.get('location')]).toEqual([path, 301, to]);
    }
    expect((await fetch(`${server.url}/demo`)).url).toBe(`${server.url}/demo/`);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await getJson(server, '/nope', null);
    expect(response).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });

  it.each([
    ['PUT', '/collect', 'POST'],
    ['GET', '/collect', 'POST'],
    ['DELETE', '/api/leads?site=acme', 'GET, HEAD'],
    ['PUT', '/api/leads/l_0123456789abcdef0123/qualification?site=acme', 'GET, HEAD, POST'],
    ['POST', '/hearth.js', 'GET, HEAD'],
    ['OPTIONS', '/api/leads?site=acme', 'GET, HEAD'],
  ])('answers %s %s, a route for other methods, with a JSON 405 naming them (Allow: %s)', async (method, path, allow) => {
    const response = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, ...(method === 'GET' ? {} : { body: '{}' }) });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe(allow);
    expect(await response.json()).toEqual({ error: `${path.split('?')[0]} takes ${allow}, not ${method}`, code: 'method_not_allowed', allowed: allow.split(', ') });
  });

  it('keeps a refused CORS preflight and an unknown method on an unknown path 404s', async () => {
    const preflight = await fetch(`${server.url}/collect`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(404);
    const unknown = await fetch(`${server.url}/api/nope`, { method: 'PUT', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(unknown.status).toBe(404);
  });

  it('answers what the HTTP parser refuses, and a static path out of its folder, with the JSON errors of every other refusal', async () => {
    const method = await fetch(`${server.url}/api/leads?site=acme`, { method: 'FOO', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(method.status).toBe(400);
    const unknownMethod = 'the request method is not an HTTP method this server knows';
    expect(await method.json()).toEqual({ error: unknownMethod, code: 'bad_method', problems: [{ path: '(root)', message: unknownMethod }] });
    const headers = await fetch(`${server.url}/api/leads?site=acme`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, 'x-padding': 'x'.repeat(20_000) } });
    expect(headers.status).toBe(431);
    expect(await headers.json()).toEqual({ error: 'the request headers are larger than 16 KB', code: 'headers_too_large' });
    const outside = await rawGet(server.url, '/demo/%2e%2e/%2e%2e/%2e%2e/package.json');
    expect(outside).toMatchObject({ status: 403 });
    expect(JSON.parse(outside.body)).toMatchObject({ code: 'forbidden' });
  });
});

describe('the API while ClickHouse refuses the collector (its password rotated, its database dropped)', () => {
  it('answers 503 store_unavailable with Retry-After, not 500', async () => {
    const query = server.client.query;
    // As @clickhouse/client throws ClickHouse's refusal of a login: its type, from the exception ClickHouse sent.
    server.client.query = (async () => {
      throw Object.assign(new Error('hearth: Authentication failed: password is incorrect, or there is no user with such name.'), { code: '516', type: 'AUTHENTICATION_FAILED' });
    }) as typeof query;
    try {
      for (const path of ['/api/leads?site=acme', '/api/dashboard/summary?site=acme']) {
        const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
        expect([path, response.status, response.headers.get('retry-after')]).toEqual([path, 503, '5']);
        expect(await response.json()).toMatchObject({ code: 'store_unavailable', error: expect.stringContaining('refuses this collector') });
      }
    } finally {
      server.client.query = query;
    }
  });
});
