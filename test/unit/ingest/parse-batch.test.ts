import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { batchToRows } from '../../../collector/ingest/rows.ts';
import { parseBatch, wireBatchSchema } from '../../../collector/ingest/wire.ts';

// parseBatch is what /collect makes of a body: the batch to store and what it left out (the 202's `ignored`), or
// the problems of a batch it cannot store (the 400's). The route's own tests (test/integration/collect*.test.ts)
// check what is stored; these check each decision, quickly.

const event = (fields: Record<string, unknown> = {}) => ({ i: randomUUID(), n: 'v', t: 1_780_000_000_000, u: 'https://www.acme.test/', ...fields });
const batchOf = (...e: unknown[]) => ({ s: 'acme', v: 'visitor-0001', e });
const identify = (em: unknown, p?: unknown) => event({ n: 'i', em, p });

/** The outcome as a sender sees it: the 202's body with the stored events' properties, or the 400's problems. */
function outcome(body: unknown) {
  const parsed = parseBatch(body);
  if (!parsed.ok) return { status: 400, problems: parsed.problems };
  return { status: 202, stored: parsed.batch.e.map((e) => e.p ?? null), ignored: parsed.ignored };
}

describe('parseBatch', () => {
  it('takes a batch the schema takes as it is, with nothing ignored', () => {
    const body = batchOf(event(), event({ n: 't', k: 'pricing-toggle', p: { plan: 'annual', seats: 25, trial: true } }));
    const parsed = parseBatch(body);
    expect(parsed).toEqual({ ok: true, batch: body, ignored: [] });
  });

  it('treats a null property as absent, without a word', () => {
    expect(outcome(batchOf(event(), identify('ada@acme.com', { phone: null, company: 'Acme' }), event({ n: 't', k: 'signup', p: { plan: null } })))).toEqual({
      status: 202,
      stored: [null, { company: 'Acme' }, {}],
      ignored: [],
    });
  });

  it('leaves out an object, a list or an over-long text, and names each', () => {
    const body = batchOf(event({ n: 't', k: 'cart', p: { company: { name: 'Acme' }, items: [1, 2], note: 'x'.repeat(501), ok: 'x'.repeat(500), total: 42 } }));
    expect(outcome(body)).toEqual({
      status: 202,
      stored: [{ ok: 'x'.repeat(500), total: 42 }],
      ignored: [
        { path: 'e[0].p.company', message: 'an object is not stored: a property is text, a number or true/false' },
        { path: 'e[0].p.items', message: 'a list is not stored: a property is text, a number or true/false' },
        { path: 'e[0].p.note', message: 'at most 500 characters (got 501)' },
      ],
    });
  });

  it('leaves out a property whose name is empty or over 64 characters, naming it cut', () => {
    const long = 'k'.repeat(10_000);
    expect(outcome(batchOf(event({ n: 't', k: 'x', p: { '': 1, [long]: 2, fine: 3 } })))).toEqual({
      status: 202,
      stored: [{ fine: 3 }],
      ignored: [
        { path: 'e[0].p[""]', message: 'a property name has 1 to 64 characters' },
        { path: `e[0].p.${'k'.repeat(64)}…`, message: 'a property name has 1 to 64 characters' },
      ],
    });
  });

  it('counts a property name in characters, as the schema does: 40 emoji are 40, whatever else the batch holds', () => {
    const [emoji40, emoji65] = ['😀'.repeat(40), '😀'.repeat(65)];
    // Named whole when left out for its value, or as a field an event does not have.
    expect(outcome(batchOf(event({ n: 't', k: 'x', p: { [emoji40]: [] }, [emoji40]: 1 }))).ignored).toEqual([
      { path: `e[0].p.${emoji40}`, message: 'a list is not stored: a property is text, a number or true/false' },
      { path: `e[0].${emoji40}`, message: expect.stringMatching(/^not a field of an event/) },
    ]);
    expect(outcome(batchOf(event({ n: 't', k: 'x', p: { [emoji40]: 1 } })))).toEqual({ status: 202, stored: [{ [emoji40]: 1 }], ignored: [] });
    expect(outcome(batchOf(event({ n: 't', k: 'x', p: { [emoji40]: 1, [emoji65]: 2, list: [] } })))).toEqual({
      status: 202,
      stored: [{ [emoji40]: 1 }],
      ignored: [
        { path: `e[0].p.${'😀'.repeat(64)}…`, message: 'a property name has 1 to 64 characters' },
        { path: 'e[0].p.list', message: 'a list is not stored: a property is text, a number or true/false' },
      ],
    });
  });

  it('counts a property value in characters: 500 emoji are stored, 501 left out as 501', () => {
    const [emoji500, emoji501] = ['😀'.repeat(500), '😀'.repeat(501)];
    expect(outcome(batchOf(event({ n: 't', k: 'x', p: { note: emoji500 } })))).toEqual({ status: 202, stored: [{ note: emoji500 }], ignored: [] });
    // The same with another property left out beside it, which sends the batch through the cleaning.
    expect(outcome(batchOf(event({ n: 't', k: 'x', p: { note: emoji500, long: emoji501, list: [] } })))).toEqual({
      status: 202,
      stored: [{ note: emoji500 }],
      ignored: [
        { path: 'e[0].p.long', message: 'at most 500 characters (got 501)' },
        { path: 'e[0].p.list', message: 'a list is not stored: a property is text, a number or true/false' },
      ],
    });
  });

  it('leaves out properties that are not an object of them', () => {
    expect(outcome(batchOf(event({ n: 't', k: 'x', p: ['a'] }), event({ n: 't', k: 'y', p: 'annual' })))).toEqual({
      status: 202,
      stored: [null, null],
      ignored: [
        { path: 'e[0].p', message: 'expected the properties as an object (got a list)' },
        { path: 'e[1].p', message: 'expected the properties as an object (got text)' },
      ],
    });
  });

  it('keeps the first 20 properties of an event (100 of a form or identify call), naming the rest in one entry', () => {
    const many = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, n) => [`k${n}`, n]));
    const parsed = outcome(batchOf(event({ n: 't', k: 'x', p: { ...many(27), gone: null } }), event({ n: 'f', k: 'contact', p: many(101) })));
    expect(parsed).toEqual({
      status: 202,
      stored: [many(20), many(100)],
      ignored: [
        { path: 'e[0].p', message: 'at most 20 properties: 7 left out (k20, k21, k22, k23, k24, …)' },
        { path: 'e[1].p', message: 'at most 100 properties: 1 left out (k100)' },
      ],
    });
  });

  it('takes an email in any script, trimmed, lower-cased and composed', () => {
    const emails = ['josé@exemple.fr', 'Ada@Bücher.de', ' ADA@ACME.COM ', 'jose\u0301@exemple.fr', 'иван@пример.рф', 'ada+hearth@sub.acme.co.uk'];
    const parsed = parseBatch(batchOf(...emails.map((em) => identify(em))));
    expect(parsed.ok && parsed.batch.e.map((e) => e.em)).toEqual(['josé@exemple.fr', 'ada@bücher.de', 'ada@acme.com', 'josé@exemple.fr', 'иван@пример.рф', 'ada+hearth@sub.acme.co.uk']);
  });

  // A browser's email field (<input type="email">) gives an international domain as the mail system writes it
  // (Chromium: ada@xn--bcher-kva.de for ada@bücher.de typed), while the page's own code passes the address as its user
  // typed it elsewhere: one mailbox, one lead.
  it('stores an international domain one way, however it was written', () => {
    const spellings = ['ada@xn--bcher-kva.de', 'ADA@XN--BCHER-KVA.DE', 'ada@bücher.de', 'ada@bücher\u3002de', 'ada@\uff42ücher.de', 'ada@bu\u0308cher.de'];
    const parsed = parseBatch(batchOf(...spellings.map((em) => identify(em))));
    expect(parsed.ok && parsed.batch.e.map((e) => e.em)).toEqual(spellings.map(() => 'ada@bücher.de'));
    const form = parseBatch(batchOf(event({ n: 'f', k: 'contact', p: { email: 'ada@xn--bcher-kva.de' } }), identify('ada@bücher.de')));
    expect(form.ok && batchToRows(form.batch, 1_780_000_000_000).map((row) => row.email)).toEqual(['ada@bücher.de', 'ada@bücher.de']);
  });

  it('stores a utm tag without blanks or invisible characters around or in it: one source, however it was pasted', () => {
    const sources = ['linkedin', ' linkedin ', 'linkedin\u200b', 'link\u0000edin', 'linkedin%0A', '\u202elinkedin'];
    const parsed = parseBatch(batchOf(...sources.map((source) => event({ u: `https://www.acme.test/?utm_source=${encodeURIComponent(source).replace('%250A', '%0A')}&utm_medium=%20cpc%20` }))));
    const rows = parsed.ok ? batchToRows(parsed.batch, 1_780_000_000_000) : [];
    expect(rows.map((row) => [row.utm_source, row.utm_medium])).toEqual(sources.map(() => ['linkedin', 'cpc']));
  });

  it('stores paths and web links as people read them, keeping the escapes that give an address its structure', () => {
    const paths = ['/carri%C3%A8res', '/a%2Fb%3Fc', '/bad%E2%80', '/line%0Abreak', '/100%25'];
    const links = ['https://x.test/docs/Livre%20blanc%20%E2%80%93%202025.pdf?q=a%26b', 'data:text/csv,a%2Cb%0Ac', 'mailto:ana%40acme.test'];
    const parsed = parseBatch(batchOf(...paths.map((path) => event({ u: `https://www.acme.test${path}` })), ...links.map((h) => event({ n: 'd', h }))));
    const rows = parsed.ok ? batchToRows(parsed.batch, 1_780_000_000_000) : [];
    expect(rows.slice(0, paths.length).map((row) => row.path)).toEqual(['/carrières', '/a%2Fb%3Fc', '/bad%E2%80', '/line%0Abreak', '/100%']);
    expect(rows.slice(paths.length).map((row) => row.link_url)).toEqual(['https://x.test/docs/Livre blanc – 2025.pdf?q=a%26b', ...links.slice(1)]);
  });

  it('stores no address for a gated asset behind an SVG link, whose href the snippet can only send as "[object SVGAnimatedString]"', () => {
    const parsed = parseBatch(batchOf(event({ n: 'd', h: '[object SVGAnimatedString]', k: 'diagram' })));
    const rows = parsed.ok ? batchToRows(parsed.batch, 1_780_000_000_000) : [];
    expect(rows.map((row) => [row.name, row.link_url])).toEqual([['diagram', '']]);
  });

  it('finds a French form\'s email in a field named "mail", "e_mail" or "adresse_mail", not in a "mailing" list choice', () => {
    const forms = [{ 'mail mail ': 'bruno@leroy.fr' }, { 'e_mail  ': 'bruno@leroy.fr' }, { 'adresse_mail  ': 'bruno@leroy.fr' }, { 'mailing_list  ': 'bruno@leroy.fr' }];
    const parsed = parseBatch(batchOf(...forms.map((p) => event({ n: 'f', k: 'demande-devis', p }))));
    expect(parsed.ok && batchToRows(parsed.batch, 1_780_000_000_000).map((row) => row.email)).toEqual(['bruno@leroy.fr', 'bruno@leroy.fr', 'bruno@leroy.fr', '']);
  });

  it("keeps a form's job title whatever else it asks about the job (a function, a level, a role), each under its own key", () => {
    const forms = [
      // HubSpot's department field before the title: the department was taken for the title ("Marketing"), first in the form.
      { 'email  ': 'ana@initech.test', 'job_function  ': 'Marketing', 'jobtitle  ': 'VP Marketing' },
      { 'email  ': 'ana@initech.test', 'Job Level  ': 'C-Level', 'Your role  ': 'Decision maker' },
      { 'email  ': 'ana@initech.test', 'fonction  ': 'Directrice commerciale', 'role  ': 'Acheteuse' },
      { 'email  ': 'ana@initech.test', 'jobrole  ': 'Economic buyer', 'primaryRole  ': 'Decision maker', 'jobtitle  ': 'CEO' },
    ];
    const traits = { jobFunction: 'Sales', jobTitle: 'Chief Executive Officer', companySize: '500' };
    const parsed = parseBatch(batchOf(...forms.map((p) => event({ n: 'f', k: 'demo', p })), identify('ana@initech.test', traits)));
    expect(parsed.ok && batchToRows(parsed.batch, 1_780_000_000_000).map((row) => row.props)).toEqual([
      { job_function: 'Marketing', job_title: 'VP Marketing' },
      { job_level: 'C-Level', job_role: 'Decision maker' },
      { job_title: 'Directrice commerciale', job_role: 'Acheteuse' },
      { job_role: 'Economic buyer', job_title: 'CEO' },
      { job_function: 'Sales', job_title: 'Chief Executive Officer', company_size: '500' },
    ]);
  });

  it("keeps a trait or answer named as an object's own members (constructor, toString) as any other", () => {
    const parsed = parseBatch(batchOf(identify('ana@initech.test', { constructor: 'Ada', toString: 'x', company: 'Initech' }), event({ n: 'f', k: 'demo', p: { email: 'ana@initech.test', valueOf: 'y' } })));
    const stored: Record<string, string>[] = [{ constructor: 'Ada', tostring: 'x', company: 'Initech' }, { valueof: 'y' }];
    expect(parsed.ok && batchToRows(parsed.batch, 1_780_000_000_000).map((row) => row.props)).toEqual(stored);
  });

  // What a mail system takes unquoted before the @ (RFC 5322's dot-atom, with any letter of RFC 6531): anything else
  // is not an address a person typed, and a control or invisible character would make a second lead of one mailbox.
  it('leaves out an address with a control, invisible or special character before the @', () => {
    const bad = ['ada\u0000@acme.com', 'ada\u200b@acme.com', '\u200bada@acme.com', 'ada<b>@acme.com', 'mailto:ada@acme.com', 'ada,bob@acme.com', '.ada@acme.com', 'ada.@acme.com', 'ada..lovelace@acme.com', 'ada\ud800@acme.com', 'ada\ufffd@acme.com'];
    const good = ["o'brien+news@acme.com", 'ada.lovelace@acme.com', 'josé@exemple.fr', 'иван@пример.рф', '用户@例子.广告', 'ada_{x}~!#$%&*/=?^`|-@acme.com'];
    const parsed = parseBatch(batchOf(...[...bad, ...good].map((em) => identify(em))));
    expect(parsed.ok && parsed.batch.e.map((e) => e.em)).toEqual(good);
    expect(parsed.ok && parsed.ignored.map((problem) => problem.path)).toEqual(bad.map((_, index) => `e[${index}].em`));
  });

  it('leaves out an identify call without an address, keeping the other events', () => {
    const events = [event(), identify('not-an-email'), identify('a@b'), identify('ada lovelace@acme.com'), identify(undefined), identify(42), identify('ada@acme.com')];
    const parsed = parseBatch(batchOf(...events));
    expect(parsed.ok && parsed.batch.e.map((e) => e.i)).toEqual([events[0]!.i, events[6]!.i]);
    expect(parsed.ok && parsed.ignored).toEqual([
      { path: 'e[1].em', message: 'expected an email address (got "not-an-email"): the identify event is left out' },
      { path: 'e[2].em', message: 'expected an email address (got "a@b"): the identify event is left out' },
      { path: 'e[3].em', message: 'expected an email address (got "ada lovelace@acme.com"): the identify event is left out' },
      { path: 'e[4].em', message: 'an identify event needs an email: the identify event is left out' },
      { path: 'e[5].em', message: 'expected an email address (got 42): the identify event is left out' },
    ]);
  });

  it("leaves out a track event without a name, keeping the page view and the other events sent with it", () => {
    // hearth('track', el.dataset.event || '') on a button without the attribute: the batch holds the page view too.
    const events = [event(), event({ n: 't', k: '' }), event({ n: 't', k: 'signup-click', p: { plan: 'pro' } }), event({ n: 't', k: null, p: { a: [1] } })];
    const parsed = parseBatch(batchOf(...events));
    expect(parsed.ok && parsed.batch.e.map((e) => e.i)).toEqual([events[0]!.i, events[2]!.i]);
    expect(parsed.ok && parsed.ignored).toEqual([
      { path: 'e[1].k', message: 'a track event needs a name: the track event is left out' },
      { path: 'e[3].k', message: 'a track event needs a name: the track event is left out' },
    ]);
    // Alone, it leaves nothing to store; a name that is no text still refuses the batch.
    expect(outcome(batchOf(event({ n: 't' })))).toEqual({ status: 400, problems: [{ path: 'e[0].k', message: 'a track event needs a name' }] });
    expect(outcome(batchOf(event(), event({ n: 't', k: 42 }))).status).toBe(400);
  });

  it('leaves out a bad email on another event, keeping the event', () => {
    expect(outcome(batchOf(event({ em: 'a@b' })))).toEqual({ status: 202, stored: [null], ignored: [{ path: 'e[0].em', message: 'expected an email address (got "a@b"): left out' }] });
  });

  it('refuses a batch left with nothing to store, with the reason', () => {
    expect(outcome(batchOf(identify('a@b', { plan: null })))).toEqual({ status: 400, problems: [{ path: 'e[0].em', message: 'expected an email address (got "a@b")' }] });
  });

  it("refuses a batch with a bad event, listing its problems at the sent events' places but not the values it would leave out", () => {
    const body = batchOf(event({ n: 't', k: 'x', p: { a: null, b: { c: 1 } } }), identify('a@b'), event({ u: 'ftp://acme.test/' }), event({ i: 'nope' }));
    expect(outcome(body)).toEqual({
      status: 400,
      problems: [
        { path: 'e[1].em', message: 'expected an email address (got "a@b")' },
        { path: 'e[2].u', message: 'expected an http(s) URL (got "ftp://acme.test/")' },
        { path: 'e[3].i', message: 'expected the event id as a UUID (got "nope")' },
      ],
    });
  });

  it.each([
    ['not an object', [event()]],
    ['without events', { s: 'acme', v: 'visitor-0001' }],
    ['with an event without a time', batchOf(event({ t: undefined, p: { a: null } }))],
    ['with more than 100 events', batchOf(...Array.from({ length: 101 }, () => event({ p: { a: null } })))],
  ])('refuses a batch %s, as before', (_name, body) => {
    expect(outcome(body).status).toBe(400);
  });

  it("names what the snippet's bot flag and session start take", () => {
    expect(outcome({ s: 'acme', v: 'visitor-0001', b: '1', e: [event()] })).toEqual({
      status: 400,
      problems: [{ path: 'b', message: 'expected true, false, 1 or 0 (whether the snippet saw an automated browser) (got "1")' }],
    });
    expect(outcome(batchOf(event({ ss: true })))).toEqual({ status: 400, problems: [{ path: 'e[0].ss', message: 'expected 1 (on the event that began a session) or nothing (got true)' }] });
  });

  it('stores a visitor or session id kept in another shape as one derived from it, the same for the same value', () => {
    // Another script or a server framework rewrote the hearth_vid cookie: URL-encoded, quoted, or an older format.
    const sent = { s: 'acme', v: '%22visitor-0001%22', sid: 'GA1.2.3', e: [event(), event({ sid: 'ses"1' })] };
    const parsed = parseBatch(sent);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const { v, sid } = parsed.batch;
    expect([v, sid, parsed.batch.e[1]!.sid]).toEqual([expect.stringMatching(/^h-[\w-]{22}$/), expect.stringMatching(/^h-[\w-]{22}$/), expect.stringMatching(/^h-[\w-]{22}$/)]);
    expect(parsed.ignored).toEqual([
      { path: 'v', message: `expected 8–64 letters, digits, "-" or "_" (got "%22visitor-0001%22"): stored as ${v}, the same id for the same value` },
      { path: 'sid', message: `expected 8–64 letters, digits, "-" or "_" (got "GA1.2.3"): stored as ${sid}, the same id for the same value` },
      { path: 'e[1].sid', message: expect.stringContaining('(got "ses\\"1"): stored as h-') },
    ]);
    // The next batch of that browser is the same visitor; another value is another visitor.
    const again = parseBatch({ ...sent, e: [event()] });
    const other = parseBatch({ ...sent, v: '%22visitor-0002%22', e: [event()] });
    expect([again.ok && again.batch.v, other.ok && other.batch.v !== v]).toEqual([v, true]);
  });

  it.each([
    ['empty', ''],
    ['over 1,024 characters', 'v'.repeat(1025)],
    ['a number', 12345678],
  ])('still refuses a visitor id that is %s', (_name, v) => {
    expect(outcome({ s: 'acme', v, e: [event()] })).toEqual({ status: 400, problems: [{ path: 'v', message: expect.any(String) }] });
  });

  it('stores an event sent twice in one batch once, and names the repeat at its place as sent', () => {
    const view = event();
    const click = event({ n: 'o', h: 'https://elsewhere.test/' });
    const parsed = parseBatch(batchOf(view, identify('a@b'), click, { ...view, i: view.i.toUpperCase() }, click));
    expect(parsed.ok && parsed.batch.e.map((e) => e.i)).toEqual([view.i, click.i]);
    expect(parsed.ok && parsed.ignored).toEqual([
      { path: 'e[1].em', message: 'expected an email address (got "a@b"): the identify event is left out' },
      { path: 'e[3].i', message: 'the id of e[0]: a repeat, left out' },
      { path: 'e[4].i', message: 'the id of e[2]: a repeat, left out' },
    ]);
    expect(outcome(batchOf(view, view))).toEqual({ status: 202, stored: [null], ignored: [{ path: 'e[1].i', message: 'the id of e[0]: a repeat, left out' }] });
    // A repeat is not stored at all: nothing else is said of it.
    const form = event({ n: 'f', k: 'contact', p: { 'email email': 'ada@acme', list: [1] }, sid: 'a.b' });
    expect(outcome(batchOf(form, form)).ignored?.map(({ path }) => path)).toEqual(['e[0].sid', 'e[0].p.list', 'e[1].i', 'e[0].p["email email"]']);
  });

  it("names a form's email answer that is not an address, as the form makes no lead without one", () => {
    const form = (p: Record<string, unknown>) => event({ n: 'f', k: 'contact', p });
    const parsed = parseBatch(batchOf(identify('a@b'), form({ 'email email': 'ada@acme', company: 'Acme' }), form({ courriel: 'ada@acme', 'email2 email': 'ada@acme.com' }), form({ email: ' ' })));
    expect(parsed.ok && parsed.batch.e.map((e) => e.p)).toEqual([{ 'email email': 'ada@acme', company: 'Acme' }, { courriel: 'ada@acme', 'email2 email': 'ada@acme.com' }, { email: ' ' }]);
    expect(parsed.ok && parsed.ignored).toEqual([
      { path: 'e[0].em', message: 'expected an email address (got "a@b"): the identify event is left out' },
      { path: 'e[1].p["email email"]', message: 'expected an email address (got "ada@acme"): the form is stored without it, and makes no lead' },
    ]);
  });

  it('names the fields the wire format does not have, leaving them out, and says nothing of an event left out whole', () => {
    // A server-side sender's `props` for `p`, `referrer` for `r`, `bot` for `b`: dropped by the schema, without a word.
    const sent = { ...batchOf(event({ props: { plan: 'pro' }, referrer: 'https://www.google.com/' }), identify('a@b', undefined), event({ n: 't', k: 'x', p: { a: [1] } })), bot: true };
    (sent.e[1] as Record<string, unknown>).traits = { company: 'Acme' };
    const eventFields = 'i, n, t, u, r, ti, k, em, p, ms, sd, h, x, ss, sid';
    expect(outcome(sent)).toEqual({
      status: 202,
      stored: [null, {}],
      ignored: [
        { path: 'e[1].em', message: 'expected an email address (got "a@b"): the identify event is left out' },
        { path: 'e[2].p.a', message: 'a list is not stored: a property is text, a number or true/false' },
        { path: 'bot', message: 'not a field of a batch (s, v, sid, b, e): left out' },
        { path: 'e[0].props', message: `not a field of an event (${eventFields}): left out` },
        { path: 'e[0].referrer', message: `not a field of an event (${eventFields}): left out` },
      ],
    });
    // The same without anything else to leave out: the schema takes it at once.
    expect(outcome(batchOf(event({ props: {} }))).ignored).toEqual([{ path: 'e[0].props', message: `not a field of an event (${eventFields}): left out` }]);
  });

  it('says where the stored events were sent when some were left out before them', () => {
    const [first, second] = [event(), event()];
    const parsed = parseBatch(batchOf(identify('a@b'), first, first, second));
    expect(parsed.ok && [parsed.batch.e.map((e) => e.i), parsed.positions]).toEqual([[first.i, second.i], [1, 3]]);
    expect(parseBatch(batchOf(first, second))).toMatchObject({ ok: true, positions: undefined });
  });

  it('cleans a batch whose properties the schema refuses without asking the schema to name each of them first', () => {
    // 64 KB of `"a1":[]`: the schema's first pass named all 6,000 lists, ~70 ms of the collector's event loop a batch.
    const p = Object.fromEntries(Array.from({ length: 6000 }, (_, n) => [`a${n}`, []]));
    const parse = vi.spyOn(wireBatchSchema, 'safeParse');
    try {
      const parsed = parseBatch(batchOf(event({ n: 't', k: 'x', p })));
      expect(parsed.ok && [parsed.batch.e[0]!.p, parsed.ignored.length, parsed.ignored[5999]]).toEqual([
        {},
        6000,
        { path: 'e[0].p.a5999', message: 'a list is not stored: a property is text, a number or true/false' },
      ]);
      // Once: on the cleaned copy.
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it('does not change the body it was given', () => {
    const body = { ...batchOf(identify('a@b'), event({ n: 't', k: 'x', p: { a: null, b: [1] }, sid: 'a.b' })), v: 'a.b' };
    const copy = structuredClone(body);
    parseBatch(body);
    expect(body).toEqual(copy);
  });
});

describe('the addresses stored', () => {
  it('leave out query parameters named like secrets: a form sent by GET puts its password in the next address', () => {
    const thanks = 'https://www.acme.test/contact/thanks.html?first_name=Claire&email=claire%40acheteur.fr&password=hunter2&utm_source=newsletter&api_key=k-123';
    const parsed = parseBatch(batchOf(event({ u: thanks }), event({ u: 'https://www.acme.test/pricing?plan=pro', r: thanks })));
    const rows = parsed.ok ? batchToRows(parsed.batch, 1_780_000_000_000) : [];
    const kept = 'https://www.acme.test/contact/thanks.html?first_name=Claire&utm_source=newsletter';
    expect(rows.map((row) => [row.url, row.referrer])).toEqual([
      [kept, ''],
      ['https://www.acme.test/pricing?plan=pro', kept],
    ]);
    // The page's source is read as before.
    expect(rows[0]!.utm_source).toBe('newsletter');
  });

  it('leave out a value holding an email address, in page addresses and referrers (the person it names is found by no request for their data)', () => {
    const newsletter = 'https://www.acme.test/offer?email=carol.anon%40corp-example.com&utm_source=newsletter';
    const webmail = 'https://mail.example.com/inbox?user=alice.anon@corp-example.com&folder=inbox&to=Bob%20%3Cbob%40corp.example%3E';
    // In a utm tag too (QA: the address lost it, its utm_content column kept it).
    const tagged = 'https://www.acme.test/?utm_source=newsletter&utm_content=carol@corp.example&utm_term=dave%40corp.example&utm_campaign=ivan@пример.рф&x=jane@example.xn--p1ai';
    const parsed = parseBatch(
      batchOf(event({ u: newsletter, r: webmail }), event({ u: 'https://www.acme.test/find?q=%40acme&handle=@acme_hq&pkg=react@18.2.0&at=48.85@2.35' }), event({ u: tagged })),
    );
    const rows = parsed.ok ? batchToRows(parsed.batch, 1_780_000_000_000) : [];
    expect(rows.map((row) => [row.url, row.referrer])).toEqual([
      ['https://www.acme.test/offer?utm_source=newsletter', 'https://mail.example.com/inbox?folder=inbox'],
      // A handle, a search for one, a package's version or coordinates are no address.
      ['https://www.acme.test/find?q=%40acme&handle=@acme_hq&pkg=react@18.2.0&at=48.85@2.35', ''],
      ['https://www.acme.test/?utm_source=newsletter', ''],
    ]);
    expect(rows[0]!.utm_source).toBe('newsletter');
    // Whatever the script of its domain (QA: ivan@пример.рф was kept).
    expect([rows[2]!.utm_source, rows[2]!.utm_content, rows[2]!.utm_term, rows[2]!.utm_campaign]).toEqual(['newsletter', '', '', '']);
  });

  it("leave out a signed link's signature, a session and an OAuth sign-in's code, and keep a promo code", () => {
    const stored = (u: string) => {
      const parsed = parseBatch(batchOf(event({ u })));
      return parsed.ok ? batchToRows(parsed.batch, 1_780_000_000_000)[0]!.url : '';
    };
    expect(stored('https://www.acme.test/dl?X-Amz-Credential=x&X-Amz-Signature=abc&X-Goog-Signature=def&sv=2024&sig=AZURE&plan=pro')).toBe('https://www.acme.test/dl?sv=2024&plan=pro');
    expect(stored('https://www.acme.test/app?session=S8SESSION&tab=billing')).toBe('https://www.acme.test/app?tab=billing');
    expect(stored('https://www.acme.test/callback?code=OAUTHCODE&state=xyz')).toBe('https://www.acme.test/callback?state=xyz');
    expect(stored('https://www.acme.test/pricing?code=SPRING24')).toBe('https://www.acme.test/pricing?code=SPRING24');
  });

  it('leave out a sign-in fragment and a hash route\'s secret parameters, in page addresses, referrers and links', () => {
    // A magic link's tokens ride in the fragment; the app reads them and replaces its address, and the snippet sends
    // the address it had as the next page's referrer.
    const signedIn = 'https://app.acme.test/app/#access_token=eyJhbGciOiJIUzI1NiJ9.SECRET&expires_in=3600&refresh_token=rt_SECRET_42&token_type=bearer';
    const route = 'https://app.acme.test/hashapp/#/pricing?plan=pro&password=hunter2';
    const parsed = parseBatch(
      batchOf(
        event({ u: 'https://app.acme.test/app/pricing', r: signedIn }),
        event({ u: route, r: 'https://app.acme.test/hashapp/#/reset?token=t-1' }),
        event({ n: 'o', u: 'https://www.acme.test/', h: 'https://partner.example.org/sso?token=SECRET123&x=1', x: 'Partner' }),
        event({ n: 'd', u: 'https://www.acme.test/#faq', h: 'https://www.acme.test/guide.pdf#page=2', x: 'Guide' }),
        event({ n: 'o', u: 'https://www.acme.test/', h: 'javascript:void(0)?token=x', x: 'Any scheme' }),
        event({ n: 'o', u: 'https://www.acme.test/', h: 'http://exa mple.com/?token=x', x: 'Not an address' }),
      ),
    );
    const rows = parsed.ok ? batchToRows(parsed.batch, 1_780_000_000_000) : [];
    expect(rows.map((row) => [row.url, row.path, row.referrer, row.link_url])).toEqual([
      ['https://app.acme.test/app/pricing', '/app/pricing', 'https://app.acme.test/app/', ''],
      ['https://app.acme.test/hashapp/#/pricing?plan=pro', '/hashapp/pricing', 'https://app.acme.test/hashapp/#/reset', ''],
      ['https://www.acme.test/', '/', '', 'https://partner.example.org/sso?x=1'],
      ['https://www.acme.test/', '/', '', 'https://www.acme.test/guide.pdf'],
      ['https://www.acme.test/', '/', '', 'javascript:void(0)'],
      // What does not parse as an address is kept as the page wrote it.
      ['https://www.acme.test/', '/', '', 'http://exa mple.com/?token=x'],
    ]);
  });

  it('leave out a card number whatever its parameter is called, and not a phone number or an order id', () => {
    const thanks = (query: string) => event({ u: `https://www.acme.test/thanks.html?${query}` });
    const parsed = parseBatch(
      batchOf(
        thanks('contact_phone_alt=4111-1111-1111-1111&company_notes=do+not+read+me'),
        thanks('alt=4111%201111%201111%201111&x=1'),
        thanks('phone=0044+20+7946+0958&order=12345678901234'),
        thanks('amex=378282246310005'),
      ),
    );
    const rows = parsed.ok ? batchToRows(parsed.batch, 1_780_000_000_000) : [];
    expect(rows.map((row) => row.url)).toEqual([
      'https://www.acme.test/thanks.html?company_notes=do+not+read+me',
      'https://www.acme.test/thanks.html?x=1',
      // Neither passes the Luhn check every card number passes.
      'https://www.acme.test/thanks.html?phone=0044+20+7946+0958&order=12345678901234',
      'https://www.acme.test/thanks.html',
    ]);
  });

  it('leave out a user name and password written before the host, in page addresses, referrers and links', () => {
    const parsed = parseBatch(
      batchOf(
        event({ u: 'https://user:s3cretpw@www.acme.test/creds?ok=1', r: 'https://admin:hunter2@intranet.acme.test/' }),
        event({ n: 'o', u: 'https://www.acme.test/', h: 'https://bob:pa55w0rd@partner.example/portal', x: 'Portal' }),
        event({ n: 'o', u: 'https://www.acme.test/', h: 'https://bob@partner.example/', x: 'Name only' }),
        event({ n: 'o', u: 'https://www.acme.test/', h: 'mailto:sales@acme.test', x: 'Mail us' }),
        // Addresses that do not parse (a port mistyped, a space, a server's relative address) lose them as text.
        event({ n: 'd', u: 'https://www.acme.test/', h: 'https://bob:pw@files.example:99999/x.pdf', x: 'Port' }),
        event({ n: 'd', u: 'https://www.acme.test/', h: 'https://bob:pw@exa mple.com/x.pdf', x: 'Space' }),
        event({ n: 'o', u: 'https://www.acme.test/', h: '//u:p@host.example/g', x: 'Relative' }),
      ),
    );
    const rows = parsed.ok ? batchToRows(parsed.batch, 1_780_000_000_000) : [];
    expect(rows.map((row) => [row.url, row.referrer, row.link_url])).toEqual([
      ['https://www.acme.test/creds?ok=1', 'https://intranet.acme.test/', ''],
      ['https://www.acme.test/', '', 'https://partner.example/portal'],
      ['https://www.acme.test/', '', 'https://partner.example/'],
      // An email address is no credential.
      ['https://www.acme.test/', '', 'mailto:sales@acme.test'],
      ['https://www.acme.test/', '', 'https://files.example:99999/x.pdf'],
      ['https://www.acme.test/', '', 'https://exa mple.com/x.pdf'],
      ['https://www.acme.test/', '', '//host.example/g'],
    ]);
  });
});

describe('the source of a landing page', () => {
  it('is its utm tags, else the network its ad click id names: a Google Ads click is google / cpc, not direct', () => {
    const landing = (query: string) => event({ u: `https://www.acme.test/app/${query}`, ss: 1 });
    const parsed = parseBatch(batchOf(landing('?gclid=abc123'), landing('?msclkid=m1'), landing('?fbclid=f1'), landing('?utm_source=newsletter&gclid=abc'), landing('')));
    const rows = parsed.ok ? batchToRows(parsed.batch, 1_780_000_000_000) : [];
    expect(rows.map((row) => [row.utm_source, row.utm_medium, row.click_id])).toEqual([
      ['google', 'cpc', 'gclid:abc123'],
      ['bing', 'cpc', 'msclkid:m1'],
      // Meta adds fbclid to its posts' links too: the network, not a medium.
      ['facebook', '', 'fbclid:f1'],
      ['newsletter', '', 'gclid:abc'],
      ['', '', ''],
    ]);
  });
});
