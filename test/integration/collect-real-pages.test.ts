import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, storedEvents, wireEvent } from '../support/server.ts';

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

  it('still refuses more than 20 properties on a custom event, which are stored as sent', async () => {
    const props = Object.fromEntries(Array.from({ length: 21 }, (_, n) => [`prop${n}`, 'x']));
    const response = await postBatch(server, { s: 'acme', v: newVisitor(), e: [wireEvent({ n: 't', k: 'many', p: props })] });
    expect([response.status, response.body.problems]).toEqual([400, [{ path: 'e[0].p', message: 'at most 20 properties' }]]);
  });

  it('still refuses a page or link address that is not an http(s) URL', async () => {
    const response = await postBatch(server, { s: 'acme', v: newVisitor(), e: [wireEvent({ u: 'javascript:alert(1)' }), wireEvent({ n: 'o', h: 'javascript:alert(1)' })] });
    expect([response.status, response.body.problems.map((problem: { path: string }) => problem.path)]).toEqual([400, ['e[0].u', 'e[1].h']]);
  });
});
