import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { drained, newVisitor, SITE_ORIGIN, startTestServer, storedEvents, wireEvent } from '../support/server.ts';

// Hundreds of requests from one address: the rate limits have their own test.
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { requestsPerMinutePerIp: 1_000_000, requestsPerMinutePerSite: 1_000_000 } });
});
afterAll(() => server.close());

async function send(body: string | Buffer, contentType: string | null = 'text/plain', method = 'POST') {
  const headers: Record<string, string> = { origin: SITE_ORIGIN };
  if (contentType) headers['content-type'] = contentType;
  const payload = method === 'GET' ? undefined : typeof body === 'string' ? body : new Uint8Array(body);
  const response = await fetch(`${server.url}/collect`, { method, headers, body: payload });
  const text = await response.text();
  return { status: response.status, text };
}

/** Waits for the write-ahead log to drain; if it cannot, fails with ClickHouse's reason instead of a test timeout. */
async function drainedWithin(ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the write-ahead log did not drain: ${server.sink.status().lastError}`)), ms);
  });
  try {
    await Promise.race([drained(server), stuck]);
  } finally {
    clearTimeout(timer);
  }
}

async function expectHealthy() {
  const response = await fetch(`${server.url}/healthz`);
  expect(response.status).toBe(200);
  await response.arrayBuffer();
}

const validBatch = () => ({
  s: 'acme',
  v: newVisitor(),
  sid: 'session-0001',
  e: [
    wireEvent({ u: `${SITE_ORIGIN}/pricing?utm_source=news`, r: 'https://www.google.com/', ti: 'Pricing' }),
    wireEvent({ n: 't', k: 'pricing-toggle', p: { plan: 'annual', seats: 25, trial: true } }),
    wireEvent({ n: 'e', ms: 15_000, sd: 80 }),
    wireEvent({ n: 'd', h: `${SITE_ORIGIN}/whitepaper.pdf`, x: 'Download' }),
    wireEvent({ n: 'f', k: 'contact', p: { email: 'ada@acme.test', job_title: 'CTO' } }),
    wireEvent({ n: 'i', em: 'ada@acme.test' }),
  ],
});
const withEvent = (fields: Record<string, unknown>) => JSON.stringify({ s: 'acme', v: newVisitor(), e: [wireEvent(fields)] });
const withBatch = (fields: Record<string, unknown>) => JSON.stringify({ ...validBatch(), ...fields });
const nested = (depth: number, open: string, close: string, inner = '1') => open.repeat(depth) + inner + close.repeat(depth);
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));

const SQL_LOOKING = ["x'); DROP TABLE events; --", "' OR '1'='1", '{site:String}', 'SELECT * FROM system.users', '\\\'; --', 'a\\', '1; TRUNCATE events'];

/** Bodies that must be refused with a 4xx, each with the server still healthy afterwards. */
const BAD_BODIES: [name: string, body: string | Buffer, contentType?: string | null][] = [
  ['an empty text/plain body', ''],
  ['an empty application/json body', '', 'application/json'],
  ['whitespace', '   \n\t '],
  ['a truncated batch (first byte)', JSON.stringify(validBatch()).slice(0, 1)],
  ['a truncated batch (half)', JSON.stringify(validBatch()).slice(0, 300)],
  ['a truncated batch (last byte missing)', JSON.stringify(validBatch()).slice(0, -1)],
  ['null', 'null'],
  ['a number', '42'],
  ['a string', '"acme"'],
  ['an array', '[{"s":"acme"}]'],
  ['a number as site id', withBatch({ s: 123 })],
  ['a site id that is an array', withBatch({ s: ['acme'] })],
  ['a null site id', withBatch({ s: null })],
  ['a number as visitor id', withBatch({ v: 12345678 })],
  ['events as an object', withBatch({ e: { 0: wireEvent() } })],
  ['events as a string', withBatch({ e: 'events' })],
  ['null events', withBatch({ e: [null, 42, [], 'x'] })],
  ['a bot flag that is a string', withBatch({ b: 'yes' })],
  ['an event id that is a number', withEvent({ i: 123 })],
  ['an unknown event type', withEvent({ n: 'x' })],
  ['an event type that is a number', withEvent({ n: 1 })],
  ['a time of "NaN"', withEvent({ t: 'NaN' })],
  ['a time of "Infinity"', withEvent({ t: 'Infinity' })],
  ['a time that overflows to Infinity', withEvent({ t: 1 }).replace('"t":1', '"t":1e400')],
  ['a bare NaN', withEvent({ t: 1 }).replace('"t":1', '"t":NaN')],
  ['a negative time', withEvent({ t: -1 })],
  ['a fractional time', withEvent({ t: 1.5 })],
  ['an engagement of "NaN" ms', withEvent({ n: 'e', ms: 'NaN' })],
  ['a scroll depth of 101', withEvent({ n: 'e', ms: 1, sd: 101 })],
  ['a URL that is a number', withEvent({ u: 42 })],
  ['a javascript: URL', withEvent({ u: 'javascript:alert(1)' })],
  ['an email that is not one', withEvent({ n: 'i', em: 'not-an-email' })],
  ['a 1000-deep array', nested(1000, '[', ']')],
  ['a 30000-deep array', nested(30_000, '[', ']')],
  ['a huge site id', withBatch({ s: 'a'.repeat(50_000) })],
  ['a huge title', withEvent({ ti: 'x'.repeat(60_000) })],
  ['a body over 64 KB', withEvent({ ti: 'x'.repeat(70_000) })],
  ['10,000 events', withBatch({ e: Array.from({ length: 10_000 }, () => wireEvent()) })],
  ['101 events', withBatch({ e: Array.from({ length: 101 }, () => wireEvent()) })],
  ['invalid UTF-8 in place of a quote', bytes('{"s":', [0xff, 0xfe], 'acme', [0xc3], '}')],
  ['invalid UTF-8 in the site id', bytes('{"s":"ac', [0xff, 0xc0, 0x80], `me",${withBatch({}).slice(1 + '"s":"acme",'.length)}`)],
  ['a SQL-looking site id', withBatch({ s: SQL_LOOKING[0] })],
  ['a form-encoded body', 's=acme&v=visitor-0001', 'application/x-www-form-urlencoded'],
  ['a multipart body', '--x\r\nContent-Disposition: form-data; name="s"\r\n\r\nacme\r\n--x--', 'multipart/form-data; boundary=x'],
  ['an XML body', '<batch s="acme"/>', 'application/xml'],
  ['HTML', '<html></html>', 'text/html'],
  // fetch labels a string body text/plain: bytes go without a content type.
  ['no content type', Buffer.from(withBatch({})), null],
];

/**
 * Bodies whose only fault is a value the page's own code passed as a property: the event is stored without it, and
 * the 202 names what was left out (a null, JavaScript's "unknown", silently). The snippet cannot check them itself.
 */
const ODD_PROPERTIES: [name: string, body: string, ignored: string[]][] = [
  ['properties as an array', withEvent({ n: 't', k: 'x', p: ['a'] }), ['e[0].p']],
  ['a nested property', withEvent({ n: 't', k: 'x', p: { a: { b: 1 } } }), ['e[0].p.a']],
  ['a null property', withEvent({ n: 't', k: 'x', p: { a: null } }), []],
  ['a 1000-deep object in properties', withEvent({ n: 't', k: 'x' }).replace('"k":"x"', `"k":"x","p":{"a":${nested(1000, '{"a":', '}')}}`), ['e[0].p.a']],
  ['a huge property name', withEvent({ n: 't', k: 'x', p: { ['k'.repeat(10_000)]: 'v' } }), [`e[0].p.${'k'.repeat(64)}…`]],
  ['a huge property value', withEvent({ n: 't', k: 'x', p: { a: 'x'.repeat(60_000) } }), ['e[0].p.a']],
  // Keys that would taint the objects of whatever copies the event: left out, wherever they are.
  ['__proto__ in properties', withEvent({ n: 't', k: 'x' }).replace('"k":"x"', '"k":"x","p":{"__proto__":{"polluted":"yes"}}'), ['e[0].p.__proto__']],
  ['constructor.prototype in properties', withEvent({ n: 't', k: 'x', p: { constructor: { prototype: { polluted: 'yes' } } } }), ['e[0].p.constructor']],
  ['__proto__ at the top level', withEvent({ n: 't', k: 'x' }).replace('{"s":', '{"__proto__":{"polluted":true},"s":'), ['__proto__']],
  ['constructor.prototype at the top level', withEvent({ n: 't', k: 'x' }).replace('{"s":', '{"constructor":{"prototype":{"polluted":true}},"s":'), ['constructor']],
  ['__proto__ in an event', withEvent({ n: 't', k: 'x' }).replace('"k":"x"', '"k":"x","__proto__":{"polluted":true}'), ['e[0].__proto__']],
];

describe('bad input to POST /collect', () => {
  it.each(BAD_BODIES)('answers 4xx to %s, and stays healthy', async (_name, body, contentType = 'text/plain') => {
    const response = await send(body, contentType);
    expect(response.status, response.text).toBeGreaterThanOrEqual(400);
    expect(response.status, response.text).toBeLessThan(500);
    expect(JSON.parse(response.text)).toMatchObject({ error: expect.any(String), code: expect.any(String) });
    await expectHealthy();
  });

  it.each(ODD_PROPERTIES)('stores the event of %s without what it cannot store, naming it, and stays healthy', async (_name, body, ignored) => {
    const response = await send(body);
    expect(response.status, response.text).toBe(202);
    const answer = JSON.parse(response.text);
    expect([answer.accepted, answer.ignored?.map((problem: { path: string }) => problem.path) ?? []]).toEqual([1, ignored]);
    const [row, ...others] = await storedEvents(server, JSON.parse(body).v);
    expect([row?.name, row?.props, others]).toEqual(['x', {}, []]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectHealthy();
  });

  it('stores the events of a SQL-looking visitor id under an id derived from it, names it, and stays healthy', async () => {
    // A visitor id in another shape is one the browser kept (a rewritten cookie): refusing it lost that browser for good.
    for (const v of SQL_LOOKING) {
      const response = await send(withBatch({ v }));
      expect(response.status, response.text).toBe(202);
      const [ignored] = JSON.parse(response.text).ignored;
      expect(ignored).toEqual({ path: 'v', message: expect.stringMatching(/^expected 8–64 letters, digits, "-" or "_" \(got .+\): stored as h-[\w-]{22}, the same id for the same value$/) });
      expect(await storedEvents(server, /stored as (h-[\w-]{22})/.exec(ignored.message)![1]!)).toHaveLength(6);
    }
    await expectHealthy();
  });

  it('answers 405 to other methods, naming POST', async () => {
    expect((await send('', null, 'GET')).status).toBe(405);
    expect((await send(withBatch({}), 'text/plain', 'PUT')).status).toBe(405);
    await expectHealthy();
  });

  it('stores SQL-looking and otherwise odd text in a valid batch literally', async () => {
    const visitor = newVisitor();
    const odd = [...SQL_LOOKING, 'nul\u0000byte', 'emoji 🔥 and RTL \u202e', 'lone surrogate \ud800', 'quote " and backslash \\'];
    const events = odd.map((text) =>
      wireEvent({ n: 't', k: text.slice(0, 200), ti: text, p: { note: text, constructor: text, toString: text, [text.slice(0, 64)]: 'key' } }),
    );
    const response = await send(JSON.stringify({ s: 'acme', v: visitor, e: events }));
    expect(response.status, response.text).toBe(202);
    await drainedWithin(10_000);
    const rows = await storedEvents(server, visitor);
    expect(rows).toHaveLength(odd.length);
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    for (const [index, event] of events.entries()) {
      // A lone surrogate cannot be stored as UTF-8: it arrives as the replacement character, like any broken text.
      const text = odd[index]!.replace('\ud800', '\ufffd');
      const row = byId.get(event.i as string)!;
      expect(row).toMatchObject({ name: text, title: text });
      expect(row.props).toMatchObject({ note: text, constructor: text, toString: text, [text.slice(0, 64)]: 'key' });
    }
  });

  it('stores invalid UTF-8 in a valid batch as replacement characters', async () => {
    const visitor = newVisitor();
    const event = wireEvent();
    const body = bytes(JSON.stringify({ s: 'acme', v: visitor, e: [{ ...event, ti: 'before-after' }] }).replace('before-after', 'before\u0001after'));
    const broken = Buffer.from(body.toString().replace('\u0001', '\u0002'));
    broken[broken.indexOf(0x02)] = 0xff;
    expect((await send(broken)).status).toBe(202);
    expect((await storedEvents(server, visitor))[0]!.title).toBe('before\ufffdafter');
  });
});

/** mulberry32: a seeded PRNG, so a failing mutation can be replayed from its case number. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_VALUES: unknown[] = [null, 0, -1, 1.5, 1e308, -1e308, '', 'NaN', 'Infinity', '__proto__', 'x'.repeat(3000), [], {}, [null], { a: { b: 1 } }, true, false, "'; DROP TABLE events; --", '\u0000', '\ud800', 'https://evil.test/'];

function mutate(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const batch: any = validBatch();
  const mutations = 1 + Math.floor(random() * 3);
  for (let m = 0; m < mutations; m++) {
    // Walk to a random object or array in the batch, then change one of its entries.
    let target: any = batch;
    while (random() < 0.6) {
      const children = Object.values(target).filter((value) => typeof value === 'object' && value !== null);
      if (children.length === 0) break;
      target = pick(children);
    }
    const keys = Object.keys(target);
    const key = keys.length > 0 && random() < 0.85 ? pick(keys) : pick(['s', 'v', 'e', 'i', 'n', 't', 'u', 'p', 'zz', '__proto__']);
    const action = random();
    if (action < 0.25) delete target[key];
    else if (action < 0.8) target[key] = pick(ODD_VALUES);
    else if (action < 0.9 && Array.isArray(target)) target.push(...target);
    else target[key] = structuredClone(batch.e?.[0] ?? null);
  }
  let text = JSON.stringify(batch) ?? '';
  const textual = random();
  if (textual < 0.15) text = text.slice(0, Math.floor(random() * text.length));
  else if (textual < 0.3) {
    const at = Math.floor(random() * text.length);
    text = text.slice(0, at) + pick(['"', '{', ']', ',', '\\', ':', '\u0000', 'NaN', '1e999']) + text.slice(at + 1);
  }
  return text;
}

describe('random mutations of a valid batch', () => {
  it('never get a 5xx, and everything accepted reaches ClickHouse', async () => {
    const random = prng(20_260_601);
    const started = Date.now();
    const statuses: Record<number, number> = {};
    for (let testCase = 0; testCase < 300 && Date.now() - started < 20_000; testCase++) {
      const body = mutate(random);
      const { status, text } = await send(body);
      statuses[status] = (statuses[status] ?? 0) + 1;
      expect([202, 400, 403, 413], `case ${testCase}: ${status} ${text}\nbody: ${body.slice(0, 500)}`).toContain(status);
      await expectHealthy();
    }
    expect(Object.keys(statuses).length).toBeGreaterThan(1);
    // A row ClickHouse refused would stay in the write-ahead log, retried forever: draining proves none did.
    await drainedWithin(10_000);
    const ready = await fetch(`${server.url}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});
