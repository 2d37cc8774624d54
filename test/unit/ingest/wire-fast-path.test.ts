import { describe, expect, it } from 'vitest';
import { parseBatch, takenAsSent, wireBatchSchema } from '../../../collector/ingest/wire.ts';

// takenAsSent answers for the schema on the collector's hot path: it may say yes only to a batch the schema takes and
// gives back unchanged. These tests hold it to that over bodies built near every edge of the schema, and check that
// the snippet's everyday batches do take the fast path (a check that always said no would be correct, and useless).

const NOW = 1_780_000_000_000;
const uuid = (n: number) => `0b8f6a1c-7d2e-4${(n % 4096).toString(16).padStart(3, '0')}-9a3b-${n.toString(16).padStart(12, '0')}`;

/** The events the snippet sends, as it sends them. */
const everyday = (n: number) => [
  { i: uuid(n), n: 'v', t: NOW, u: 'https://www.acme.test/pricing?utm_source=news#plans', r: 'https://www.google.com/', ti: 'Pricing — Acme', ss: 1, sid: 'session-0001' },
  { i: uuid(n + 1), n: 'e', t: NOW, u: 'https://www.acme.test/pricing', ms: 15_000, sd: 80 },
  { i: uuid(n + 2), n: 'd', t: NOW, u: 'https://www.acme.test/resources', h: 'https://www.acme.test/white-paper.pdf', x: 'Download the white paper', k: 'white-paper' },
  { i: uuid(n + 3), n: 'o', t: NOW, u: 'https://www.acme.test/', h: 'https://www.linkedin.com/company/acme', x: 'LinkedIn' },
  { i: uuid(n + 4), n: 'f', t: NOW, u: 'http://www.acme.test/contact', k: 'contact', p: { email: 'ada@acme.test', job_title: 'CTO', company_size: '251-500', consent: true } },
  { i: uuid(n + 5), n: 't', t: NOW, u: 'https://www.acme.test/pricing', k: 'pricing-toggle', p: { plan: 'annual', seats: 25, trial: true } },
];

/** A small seeded generator, so a failure names a body that can be built again. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const props = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, n) => [`field_${n}`, n % 3 === 0 ? 'text' : n % 3 === 1 ? n : true]));
const ABSENT = Symbol('absent');

/** Values at and around each edge of the schema, field by field (ABSENT: the key left out). */
const EDGES: Record<string, unknown[]> = {
  s: ['acme', '', 'x'.repeat(64), 'x'.repeat(65), '😀'.repeat(32), '😀'.repeat(33), 5, null, ABSENT],
  v: ['visitor-0001', 'short', 'x'.repeat(64), 'x'.repeat(65), 'bad id!', 12345678, null, ABSENT],
  sid: [ABSENT, null, 'session-01', 'bad', 5],
  b: [ABSENT, null, true, false, 1, 0, 2, 'true'],
  i: [uuid(1), uuid(2).toUpperCase(), '00000000-0000-0000-0000-000000000000', '0b8f6a1c-7d2e-0abc-9a3b-000000000001', '0b8f6a1c-7d2e-4abc-7a3b-000000000001', 'not-a-uuid', 5, null, ABSENT],
  n: ['v', 'e', 'd', 'o', 'f', 't', 'i', 'x', '', null, ABSENT],
  t: [NOW, 0, -1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, -0, '1', null, ABSENT],
  u: [
    'https://www.acme.test/',
    'http://x.test/a?b=1#c',
    'HTTPS://ACME.TEST/',
    'Https://acme.test/',
    ' https://acme.test/',
    'https://acme.test/ ',
    'https://acme.test/\t',
    'https://acme.test/a\nb',
    'https://acme.test/a b',
    'https://acme.test/\u00a0',
    'https://acme.test/\u2028',
    'https://acme.test/\ufeff',
    'https://acme.test/\x01',
    'ftp://acme.test/',
    'http:acme.test',
    'https:/acme.test',
    'https://',
    'https://exa mple.test',
    'https://[::1]:8080/',
    'https://ex%41mple.test/',
    'https://bücher.test/é',
    'javascript:alert(1)',
    `https://acme.test/${'a'.repeat(3000)}`,
    5,
    null,
    ABSENT,
  ],
  r: [ABSENT, null, '', 'https://www.google.com/', 'not a url', 5],
  ti: [ABSENT, null, '', 'x'.repeat(512), 'x'.repeat(513), '😀'.repeat(256), '😀'.repeat(257), 5],
  k: [ABSENT, null, '', 'cta', 'k'.repeat(5000), 5],
  em: [ABSENT, ABSENT, 'ada@acme.test', ' Ada@Acme.TEST ', 'not an email', null],
  p: [
    ABSENT,
    null,
    {},
    { plan: 'annual', seats: 25, trial: true },
    props(20),
    props(21),
    props(100),
    props(101),
    { '': 1 },
    { ['k'.repeat(64)]: 1 },
    { ['k'.repeat(65)]: 1 },
    { ['😀'.repeat(32)]: 1 },
    { a: null },
    { a: [1] },
    { a: {} },
    { a: 'x'.repeat(500) },
    { a: 'x'.repeat(501) },
    { a: '😀'.repeat(250) },
    { a: 1e308 },
    [],
    ['a'],
    'text',
  ],
  ms: [ABSENT, null, 0, 15_000, 86_400_000, 86_400_001, -1, 1.5, '5'],
  sd: [ABSENT, null, 0, 100, 101, -1, 50.5],
  h: [ABSENT, null, '', 'https://www.acme.test/a.pdf', 'javascript:void(0)', 5],
  x: [ABSENT, null, 'x'.repeat(500), 'x'.repeat(501), '😀'.repeat(250), 5],
  ss: [ABSENT, null, 1, 0, true],
  extra: [ABSENT, ABSENT, ABSENT, 1, null],
};
const BATCH_FIELDS = ['s', 'v', 'sid', 'b'];
const EVENT_FIELDS = ['i', 'n', 't', 'u', 'r', 'ti', 'k', 'em', 'p', 'ms', 'sd', 'h', 'x', 'ss', 'sid'];

/** A body as it reaches the route: JSON, so a field left undefined is absent and -0 is 0. */
const overTheWire = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

function mutated(target: Record<string, unknown>, fields: string[], next: () => number, changes: number) {
  for (let c = 0; c < changes; c++) {
    const field = fields[Math.floor(next() * fields.length)]!;
    const edges = field === 'sid' && fields === BATCH_FIELDS ? EDGES.sid! : EDGES[field]!;
    const value = edges[Math.floor(next() * edges.length)];
    const key = field === 'extra' ? 'zz' : field;
    if (value === ABSENT) delete target[key];
    else target[key] = value;
  }
}

function generatedBody(seed: number): unknown {
  const next = random(seed);
  const pool = everyday(seed * 8);
  // Now and then a batch of 100 or 101 events, all as the snippet sends them (one odd event would hide the count).
  const full = next() < 0.04;
  const count = full ? 100 + Math.floor(next() * 2) : 1 + Math.floor(next() * 4);
  const events = Array.from({ length: count }, () => {
    const event: Record<string, unknown> = { ...pool[Math.floor(next() * pool.length)]! };
    // Most events keep their shape, so that a good share of the bodies is taken on the fast path.
    if (!full && next() < 0.6) mutated(event, [...EVENT_FIELDS, 'extra'], next, 1 + Math.floor(next() * 2));
    return event;
  });
  const batch: Record<string, unknown> = { s: 'acme', v: 'visitor-0001', sid: 'session-0001', e: events };
  if (next() < 0.3) mutated(batch, [...BATCH_FIELDS, 'extra'], next, 1);
  if (next() < 0.02) batch.e = [];
  return overTheWire(next() < 0.01 ? events : batch);
}

describe('takenAsSent (the fast path of parseBatch)', () => {
  it('takes the snippet’s everyday batches, the first of a session and one from a page served over http', () => {
    const batch = overTheWire({ s: 'acme', v: 'visitor-0001', sid: 'session-0001', b: false, e: everyday(0) });
    expect(takenAsSent(batch)).toBe(true);
    expect(parseBatch(batch)).toEqual({ ok: true, batch, ignored: [] });
    for (const event of everyday(0)) expect(takenAsSent({ s: 'acme', v: 'visitor-0001', e: [event] }), JSON.stringify(event)).toBe(true);
  });

  it('leaves to the schema what it converts, strips, cleans or refuses', () => {
    const take = (event: Record<string, unknown>, batch: Record<string, unknown> = {}) => takenAsSent({ s: 'acme', v: 'visitor-0001', e: [{ ...everyday(0)[0], ...event }], ...batch });
    expect(take({ n: 'i', em: 'ada@acme.test' })).toBe(false);
    expect(take({ u: 'https://www.acme.test/ ' })).toBe(false);
    expect(take({ u: 'HTTPS://WWW.ACME.TEST/' })).toBe(false);
    expect(take({ utm: 'news' })).toBe(false);
    expect(take({}, { extra: 1 })).toBe(false);
    expect(take({ n: 't', k: '' })).toBe(false);
    expect(take({ p: props(21) })).toBe(false);
    expect(take({ ti: '😀'.repeat(257) })).toBe(false);
    // Objects JSON.parse never makes, which the schema reads otherwise (own fields only, into plain objects).
    const plain = { s: 'acme', v: 'visitor-0001', e: [everyday(0)[5]] };
    expect(takenAsSent(Object.assign(Object.create({ s: 'acme' }) as object, { v: plain.v, e: plain.e }))).toBe(false);
    expect(takenAsSent(Object.assign(Object.create(null) as object, plain))).toBe(false);
    expect(takenAsSent({ ...plain, e: [{ ...plain.e[0], p: Object.assign(Object.create(null) as object, { plan: 'annual' }) }] })).toBe(false);
    expect(takenAsSent({ ...plain, e: [new (class Event { i = uuid(9); n = 'v'; t = NOW; u = 'https://www.acme.test/' })()] })).toBe(false);
  });

  it('says yes only to a body the schema takes and gives back as it is, over 6,000 bodies built near its edges', () => {
    let taken = 0;
    let left = 0;
    for (let seed = 1; seed <= 6000; seed++) {
      const body = generatedBody(seed);
      if (!takenAsSent(body)) {
        left++;
        continue;
      }
      taken++;
      const parsed = wireBatchSchema.safeParse(body);
      expect(parsed.success ? parsed.data : parsed.error.issues, `seed ${seed}: ${JSON.stringify(body).slice(0, 400)}`).toStrictEqual(body);
    }
    // Both answers are common, so the property says something about each.
    expect(taken).toBeGreaterThan(1500);
    expect(left).toBeGreaterThan(1500);
  });
});
