import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, storedEvents, wireEvent } from '../support/server.ts';

// What the snippet reads from a real page (its address, the referrer, a link's target, a form's fields) is sent as
// the browser gives it. The snippet drops a batch the collector answers with a 4xx (retrying cannot help), so a
// refusal here loses the page view, the form and everything else batched with them.

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** A page address over 2 KB, as search filters, ad platforms' tracking parameters or an app's state in the query make. */
const longQuery = `filters=${'industry%3Dsoftware%2C'.repeat(120)}&utm_source=newsletter`;

describe('POST /collect with what real pages send', () => {
  it('stores the page view and the form of a page whose address is over 2 KB, its URL cut to 2 KB', async () => {
    const visitor = newVisitor();
    const page = `${SITE_ORIGIN}/contact?${longQuery}`;
    expect(page.length).toBeGreaterThan(2048);
    const referrer = `${SITE_ORIGIN}/search?${longQuery}`;
    const response = await postBatch(server, {
      s: 'acme',
      v: visitor,
      e: [
        wireEvent({ u: page, r: referrer, ss: 1 }),
        wireEvent({ n: 'f', u: page, k: 'contact', p: { 'email email email': 'long@acme.test', 'job_title job_title organization-title': 'CEO' } }),
      ],
    });
    expect([response.status, response.body]).toEqual([202, { accepted: 2 }]);

    const rows = await storedEvents(server, visitor);
    const view = rows.find((row) => row.type === 'pageview')!;
    expect(view).toMatchObject({ path: '/contact', utm_source: 'newsletter', url: page.slice(0, 2048), referrer: referrer.slice(0, 2048) });
    const lead = (await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body.leads[0];
    expect([lead.email, lead.pageviews]).toEqual(['long@acme.test', 1]);
  });

  it('stores a click on a link whose target is over 2 KB, or is made by the page itself (blob: or data:)', async () => {
    const visitor = newVisitor();
    const target = `https://docs.example.test/guide.pdf?${longQuery}`;
    const clicks = [
      wireEvent({ n: 'o', h: target, x: 'Guide' }),
      wireEvent({ n: 'd', h: `blob:${SITE_ORIGIN}/3f1c0f5e-5d3b-4d8e-9a43-2b1f3c0d9e11`, x: 'Export as CSV' }),
      wireEvent({ n: 'd', h: 'data:text/csv;charset=utf-8,plan%2Cseats%0Apro%2C25', x: 'Download the sample' }),
    ];
    const response = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent(), ...clicks] });
    expect([response.status, response.body]).toEqual([202, { accepted: 4 }]);
    const stored = Object.fromEntries((await storedEvents(server, visitor)).map((row) => [row.event_id, row.link_url]));
    expect(clicks.map((click) => stored[click.i as string])).toEqual([target.slice(0, 2048), clicks[1]!.h, clicks[2]!.h]);
  });

  it('stores a form with more than 20 fields the snippet reads, keeping its answers', async () => {
    const visitor = newVisitor();
    // A registration for a team: every attendee's name, email, phone and job title is a declarative-looking field.
    const fields: Record<string, string> = { 'email email email': 'team@acme.test', 'company company organization': 'Acme' };
    for (let n = 1; n <= 6; n++) {
      fields[`attendee_${n}_name attendee_${n}_name `] = `Person ${n}`;
      fields[`attendee_${n}_email attendee_${n}_email `] = `person${n}@acme.test`;
      fields[`attendee_${n}_phone attendee_${n}_phone `] = `+33 1 00 00 00 0${n}`;
      fields[`attendee_${n}_title attendee_${n}_title `] = 'Engineer';
    }
    expect(Object.keys(fields).length).toBeGreaterThan(20);
    const response = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent(), wireEvent({ n: 'f', k: 'webinar-team', p: fields })] });
    expect([response.status, response.body]).toEqual([202, { accepted: 2 }]);
    const form = (await storedEvents(server, visitor)).find((row) => row.type === 'form')!;
    expect([form.email, form.props.company]).toEqual(['team@acme.test', 'Acme']);
  });

  it('keeps the first 20 properties of a custom event that has more, naming the others', async () => {
    const visitor = newVisitor();
    const props = Object.fromEntries(Array.from({ length: 22 }, (_, n) => [`prop${n}`, 'x']));
    const response = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent(), wireEvent({ n: 't', k: 'many', p: props })] });
    expect([response.status, response.body]).toEqual([
      202,
      { accepted: 2, ignored: [{ path: 'e[1].p', message: 'at most 20 properties: 2 left out (prop20, prop21)' }] },
    ]);
    const track = (await storedEvents(server, visitor)).find((row) => row.type === 'track')!;
    expect(Object.keys(track.props).sort()).toEqual(Object.keys(props).slice(0, 20).sort());
  });

  it('still refuses a page or link address that is not an http(s) URL', async () => {
    const response = await postBatch(server, { s: 'acme', v: newVisitor(), e: [wireEvent({ u: 'javascript:alert(1)' }), wireEvent({ n: 'o', h: 'javascript:alert(1)' })] });
    expect([response.status, response.body.problems.map((problem: { path: string }) => problem.path)]).toEqual([400, ['e[0].u', 'e[1].h']]);
  });
});

// A page passes what its own code holds: a user object's nullable or nested fields, an address in any script. The
// snippet has no bytes to check them and drops a batch answered 4xx, so the collector keeps what it can and says, in
// the 202, what it left out.
describe('POST /collect with odd values from the page', () => {
  it("stores an identify call's traits but a null one, with the page view, and makes the lead", async () => {
    const visitor = newVisitor();
    // hearth('identify', 'ada@acme.com', { phone: null, company: 'Acme' }), then hearth('track', 'signup', { plan: null })
    const identify = wireEvent({ n: 'i', em: 'ada@acme.com', p: { phone: null, company: 'Acme' } });
    const signup = wireEvent({ n: 't', k: 'signup', p: { plan: null, seats: 3 } });
    const response = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent(), identify, signup] });
    expect([response.status, response.body]).toEqual([202, { accepted: 3 }]);
    const rows = await storedEvents(server, visitor);
    expect(rows.filter((row) => row.type !== 'pageview').map((row) => [row.type, row.props])).toEqual(
      expect.arrayContaining([
        ['identify', { company: 'Acme' }],
        ['track', { seats: '3' }],
      ]),
    );
    const lead = (await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body.leads[0];
    expect([lead.email, lead.pageviews]).toEqual(['ada@acme.com', 1]);
  });

  it('leaves out a nested, list or over-long value, stores the rest and names what it left out', async () => {
    const visitor = newVisitor();
    const events = [
      wireEvent(),
      wireEvent({ n: 'i', em: 'ada@acme.com', p: { company: { name: 'Acme' }, jobTitle: 'CEO' } }),
      wireEvent({ n: 't', k: 'cart', p: { items: ['a', 'b'], note: 'x'.repeat(501), total: 42 } }),
    ];
    const response = await postBatch(server, { s: 'acme', v: visitor, e: events });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({
      accepted: 3,
      ignored: [
        { path: 'e[1].p.company', message: 'an object is not stored: a property is text, a number or true/false' },
        { path: 'e[2].p.items', message: 'a list is not stored: a property is text, a number or true/false' },
        { path: 'e[2].p.note', message: 'at most 500 characters (got 501)' },
      ],
    });
    const rows = await storedEvents(server, visitor);
    expect(rows.find((row) => row.type === 'identify')!.props).toEqual({ job_title: 'CEO' });
    expect(rows.find((row) => row.type === 'track')!.props).toEqual({ total: '42' });
  });

  it('makes a lead of an address with accents or an international domain name', async () => {
    const emails: string[] = [];
    for (const email of ['josé@exemple.fr', 'Ada@Bücher.de']) {
      const visitor = newVisitor();
      const response = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent(), wireEvent({ n: 'i', em: email })] });
      expect([response.status, response.body]).toEqual([202, { accepted: 2 }]);
      await drained(server);
      emails.push((await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body.leads[0].email);
    }
    expect(emails).toEqual(['josé@exemple.fr', 'ada@bücher.de']);
  });

  it('makes a lead of a form whose email has accents', async () => {
    const visitor = newVisitor();
    const form = wireEvent({ n: 'f', k: 'contact', p: { 'email email email': 'josé@exemple.fr' } });
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent(), form] })).status).toBe(202);
    await drained(server);
    const { leads } = (await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body;
    expect(leads.map((lead: { email: string }) => lead.email)).toEqual(['josé@exemple.fr']);
  });

  it("stores a form whose email is not an address, and says why it makes no lead", async () => {
    const visitor = newVisitor();
    // <input type="email"> lets "ada@acme" through; without an address there is no lead to make.
    const form = wireEvent({ n: 'f', k: 'contact', p: { 'email email email': 'ada@acme', 'company company organization': 'Acme' } });
    const response = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent(), form] });
    expect([response.status, response.body]).toEqual([
      202,
      { accepted: 2, ignored: [{ path: 'e[1].p.email email email', message: 'expected an email address (got "ada@acme"): the form is stored without it, and makes no lead' }] },
    ]);
    const stored = (await storedEvents(server, visitor)).find((row) => row.type === 'form')!;
    expect([stored.email, stored.props]).toEqual(['', { company: 'Acme' }]);
    const { leads } = (await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body;
    expect(leads.map((lead: { kind: string }) => lead.kind)).toEqual(['visitor']);
  });

  it("makes one lead of a form and an identify call whose address a browser's email field gave with an ASCII domain", async () => {
    // Chromium's <input type="email"> gives ada@bücher.de, as typed, as ada@xn--bcher-kva.de: the snippet sends that
    // from the form, while the page's code identifies its user with the address as stored in its own records.
    const [onForm, identified] = [newVisitor(), newVisitor()];
    const local = `ada.${onForm}`;
    const form = wireEvent({ n: 'f', k: 'contact', p: { email: `${local}@xn--bcher-kva.de` } });
    expect((await postBatch(server, { s: 'acme', v: onForm, e: [wireEvent(), form] })).status).toBe(202);
    expect((await postBatch(server, { s: 'acme', v: identified, e: [wireEvent(), wireEvent({ n: 'i', em: `${local}@Bücher.de` })] })).status).toBe(202);
    await drained(server);
    const leads = [];
    for (const visitor of [onForm, identified]) leads.push(...(await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body.leads);
    expect(leads.map((lead: { id: string; email: string }) => [lead.id, lead.email])).toEqual([
      [leads[0].id, `${local}@bücher.de`],
      [leads[0].id, `${local}@bücher.de`],
    ]);
  });

  it('leaves out an identify call whose email is not an address, keeping the page view', async () => {
    const visitor = newVisitor();
    const view = wireEvent();
    const response = await postBatch(server, { s: 'acme', v: visitor, e: [view, wireEvent({ n: 'i', em: 'a@b' })] });
    expect([response.status, response.body]).toEqual([
      202,
      { accepted: 1, ignored: [{ path: 'e[1].em', message: 'expected an email address (got "a@b"): the identify event is left out' }] },
    ]);
    expect((await storedEvents(server, visitor)).map((row) => row.event_id)).toEqual([view.i]);
  });

  it("counts a browser whose visitor id cookie another script rewrote as one visitor, who becomes a lead", async () => {
    // The snippet sends the id it finds in hearth_vid: here URL-encoded and quoted by a server framework.
    const cookie = `%22${newVisitor()}%22`;
    const first = await postBatch(server, { s: 'acme', v: cookie, e: [wireEvent()] });
    const second = await postBatch(server, { s: 'acme', v: cookie, e: [wireEvent(), wireEvent({ n: 'i', em: 'grace@acme.com' })] });
    expect([first.status, first.body.accepted, second.status, second.body.accepted]).toEqual([202, 1, 202, 2]);
    const storedAs = /stored as (h-[\w-]{22}),/.exec(first.body.ignored[0].message)![1]!;
    expect(second.body.ignored).toEqual([{ path: 'v', message: `expected 8–64 letters, digits, "-" or "_" (got ${JSON.stringify(cookie)}): stored as ${storedAs}, the same id for the same value` }]);
    expect(await storedEvents(server, storedAs)).toHaveLength(3);
    const lead = (await getJson(server, `/api/leads?site=acme&visitor=${storedAs}`)).body.leads[0];
    expect([lead.email, lead.pageviews]).toEqual(['grace@acme.com', 2]);
  });

  it('stores and counts once an event sent twice in one batch', async () => {
    const visitor = newVisitor();
    const view = wireEvent();
    const response = await postBatch(server, { s: 'acme', v: visitor, e: [view, wireEvent({ n: 't', k: 'x' }), view] });
    expect([response.status, response.body]).toEqual([202, { accepted: 2, ignored: [{ path: 'e[2].i', message: 'the id of e[0]: a repeat, left out' }] }]);
    expect(await storedEvents(server, visitor)).toHaveLength(2);
  });

  it('lists at most 50 values it left out, and how many more: a 64 KB batch does not get a 600 KB answer', async () => {
    const visitor = newVisitor();
    // 100 events of 60 list-valued properties each: 6,000 values left out, from a body of under 64 KB.
    const lists = Object.fromEntries(Array.from({ length: 60 }, (_, n) => [`l${n}`, []]));
    const events = Array.from({ length: 100 }, () => wireEvent({ n: 't', k: 'x', p: lists }));
    const response = await postBatch(server, { s: 'acme', v: visitor, e: events });
    expect([response.status, response.body.accepted, response.body.ignored.length]).toEqual([202, 100, 51]);
    expect(response.body.ignored[0]).toEqual({ path: 'e[0].p.l0', message: 'a list is not stored: a property is text, a number or true/false' });
    expect(response.body.ignored[49].path).toBe('e[0].p.l49');
    expect(response.body.ignored[50]).toEqual({ path: 'e', message: '5950 more left out, not listed' });
    expect(JSON.stringify(response.body).length).toBeLessThan(8 * 1024);
    expect(await storedEvents(server, visitor)).toHaveLength(100);
  });

  it('still refuses a batch that holds nothing to store but an identify call without an address', async () => {
    const visitor = newVisitor();
    const response = await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ n: 'i', em: 'not-an-email', p: { plan: null } })] });
    expect([response.status, response.body.code, response.body.problems]).toEqual([
      400,
      'invalid_batch',
      [{ path: 'e[0].em', message: 'expected an email address (got "not-an-email")' }],
    ]);
    expect(await storedEvents(server, visitor)).toHaveLength(0);
  });

  it('still refuses a batch with a bad event, listing only what is wrong with it', async () => {
    const response = await postBatch(server, { s: 'acme', v: newVisitor(), e: [wireEvent({ n: 't', k: 'x', p: { a: null, b: { c: 1 } } }), wireEvent({ u: 'ftp://acme.test/' })] });
    expect([response.status, response.body.problems]).toEqual([400, [{ path: 'e[1].u', message: 'expected an http(s) URL (got "ftp://acme.test/")' }]]);
  });
});
