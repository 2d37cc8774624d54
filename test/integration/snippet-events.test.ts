import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, storedEvents, wireEvent } from '../support/server.ts';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('what the complete snippet sends, as stored', () => {
  it('stores engagement pieces, downloads and outbound clicks with their details', async () => {
    const visitor = newVisitor();
    const response = await postBatch(server, {
      s: 'acme',
      v: visitor,
      e: [
        wireEvent({ n: 'e', u: `${SITE_ORIGIN}/pricing`, ms: 15000, sd: 40 }),
        wireEvent({ n: 'e', u: `${SITE_ORIGIN}/pricing`, ms: 4200, sd: 85 }),
        wireEvent({ n: 'd', h: `${SITE_ORIGIN}/files/whitepaper.pdf`, x: 'Download the white paper', k: null }),
        wireEvent({ n: 'd', h: `${SITE_ORIGIN}/gated`, x: 'E-book', k: 'state-of-b2b' }),
        wireEvent({ n: 'o', h: 'https://www.linkedin.com/company/acme', x: 'LinkedIn' }),
      ],
    });
    expect(response.status).toBe(202);
    const rows = await storedEvents(server, visitor);
    const engaged = rows.filter((r) => r.type === 'engagement');
    expect(engaged.reduce((sum, r) => sum + Number(r.engaged_ms), 0)).toBe(19200);
    expect(Math.max(...engaged.map((r) => Number(r.scroll_depth)))).toBe(85);
    expect(rows.filter((r) => r.type === 'download').map((r) => [r.link_url, r.link_text, r.name])).toEqual(
      expect.arrayContaining([
        [`${SITE_ORIGIN}/files/whitepaper.pdf`, 'Download the white paper', ''],
        [`${SITE_ORIGIN}/gated`, 'E-book', 'state-of-b2b'],
      ]),
    );
    expect(rows.find((r) => r.type === 'outbound')).toMatchObject({ link_url: 'https://www.linkedin.com/company/acme' });
  });

  it('files form fields under their declarative keys, drops the rest, and lets the email identify the visitor', async () => {
    const visitor = newVisitor();
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ t: Date.now() - 60_000 })] });
    const form = wireEvent({
      n: 'f',
      k: 'demo-request',
      p: {
        'email email email': ' Ada@Acme.TEST ',
        'prenom  ': 'Ada',
        'nom  ': 'Lovelace',
        'fonction  ': 'PDG',
        'societe  ': 'Acme',
        'effectif  ': '251-1000',
        'pays  country': 'FR',
        budget: '40k',
        'username  ': 'ada',
      },
    });
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [form] })).status).toBe(202);
    const row = (await storedEvents(server, visitor)).find((r) => r.type === 'form')!;
    expect(row.name).toBe('demo-request');
    expect(row.email).toBe('ada@acme.test');
    expect(row.props).toEqual({ first_name: 'Ada', last_name: 'Lovelace', job_title: 'PDG', company: 'Acme', company_size: '251-1000', country: 'FR', budget: '40k' });
    const { body } = await getJson(server, `/api/leads?site=acme&visitor=${visitor}`);
    expect(body.leads[0]).toMatchObject({ kind: 'lead', email: 'ada@acme.test', events: 2, pageviews: 1 });
  });

  it("files a field by its autocomplete before its name, and a company's industry, country or phone as such", async () => {
    const visitor = newVisitor();
    // The wire keys as a snippet before the type was sent wrote them, "name id autocomplete" (the current one writes
    // "type name id autocomplete"); each misleading field comes first, as the first value of a key wins.
    const form = wireEvent({
      n: 'f',
      k: 'contact',
      p: {
        'title title honorific-prefix': 'Dr',
        'job_title job_title organization-title': 'CEO',
        'pays pays country-name': 'FR',
        'nom-entreprise nom-entreprise organization': 'Acme',
        'nom nom family-name': 'Lovelace',
        'company_industry company_industry ': 'Logistics',
        'company_phone company_phone tel': '+33 1 23 45 67 89',
        'company company ': 'Acme SA',
        'full_name full_name name': 'Ada Lovelace',
      },
    });
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [form] })).status).toBe(202);
    const row = (await storedEvents(server, visitor)).find((r) => r.type === 'form')!;
    expect(row.props).toEqual({
      job_title: 'CEO',
      country: 'FR',
      company: 'Acme',
      last_name: 'Lovelace',
      industry: 'Logistics',
      phone: '+33 1 23 45 67 89',
      full_name: 'Ada Lovelace',
    });
  });

  it('derives the traffic source of a page view from its URL and referrer', async () => {
    const visitor = newVisitor();
    await postBatch(server, {
      s: 'acme',
      v: visitor,
      b: true,
      e: [
        wireEvent({ u: `${SITE_ORIGIN}/pricing?utm_source=linkedin&utm_medium=paid-social&utm_campaign=q3&li_fat_id=xyz`, r: 'https://www.linkedin.com/feed/', ss: 1 }),
        wireEvent({ u: `${SITE_ORIGIN}/contact`, r: `${SITE_ORIGIN}/pricing` }),
      ],
    });
    const rows = await storedEvents(server, visitor);
    const landing = rows.find((r) => r.path === '/pricing')!;
    expect(landing).toMatchObject({ session_start: 1, referrer_host: 'www.linkedin.com', utm_source: 'linkedin', utm_medium: 'paid-social', utm_campaign: 'q3', click_id: 'li_fat_id:xyz', is_bot: 1 });
    expect(rows.find((r) => r.path === '/contact')).toMatchObject({ session_start: 0, referrer_host: '', utm_source: '' });
  });

  it('stores a hash route as the page it is (data-hash), and drops an anchor', async () => {
    const visitor = newVisitor();
    await postBatch(server, {
      s: 'acme',
      v: visitor,
      e: [
        wireEvent({ u: `${SITE_ORIGIN}/#/pricing?plan=annual`, t: Date.now() - 3000 }),
        wireEvent({ u: `${SITE_ORIGIN}/app/#!/contact`, t: Date.now() - 2000 }),
        wireEvent({ u: `${SITE_ORIGIN}/docs#faq`, t: Date.now() - 1000 }),
      ],
    });
    const rows = await storedEvents(server, visitor);
    expect(rows.map((row) => [row.path, row.url])).toEqual([
      ['/pricing', `${SITE_ORIGIN}/#/pricing?plan=annual`],
      ['/app/contact', `${SITE_ORIGIN}/app/#!/contact`],
      ['/docs', `${SITE_ORIGIN}/docs`],
    ]);
  });

  it('names what an event of each type is missing', async () => {
    const response = await postBatch(server, {
      s: 'acme',
      v: newVisitor(),
      e: [wireEvent({ n: 'e' }), wireEvent({ n: 'd' }), wireEvent({ n: 'x' }), wireEvent({ n: 'e', ms: -5, sd: 140 })],
    });
    expect(response.status).toBe(400);
    expect(response.body.problems.map((p: { path: string }) => p.path)).toEqual(['e[0].ms', 'e[1].h', 'e[2].n', 'e[3].ms', 'e[3].sd']);
  });
});
