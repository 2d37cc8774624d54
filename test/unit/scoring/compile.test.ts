// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { compileLeadVisitors, compileScoring, globsToRegex, leadScoreOf, type ScoredRow, type SignalFacts } from '../../../scoring/compile.ts';
import { defaultRules, rulesSchema } from '../../../scoring/rules.ts';

const PAGE_GROUPS = { pricing: ['/pricing*'], careers: ['/careers/*'], resources: ['/resources/*'] };
const NOW = new Date('2026-03-02T12:00:00.000Z');
const placeholders = (query: string) => [...query.matchAll(/\{([^{}:]+):([^{}]+)\}/g)].map((m) => ({ name: m[1]!, type: m[2]! }));

/** Text a user controls, each piece distinctive enough to spot if it leaked into the SQL. */
const hostile = rulesSchema.parse({
  fit: [
    { id: 'leak-id-fit', field: 'leak_field', values: ["Leak Value'); DROP TABLE events; --"], points: 5 },
    { id: 'leak-pattern', field: 'industry', pattern: "^leak-regex'$", points: 5 },
    { id: 'leak-range', field: 'leak_budget', range: { min: 12345.5 }, points: 5 },
  ],
  engagement: [{ id: 'leak-id-event', event: 'download', paths: ['/leak-path*'], assets: ['*leak-asset*'], points: 5, cap: 3, halfLifeDays: 7 }],
  negative: [{ id: 'leak-domain', field: 'email_domain', values: ['leak-domain.example'], points: -5 }],
  source: [{ id: 'leak-source', utmSources: ['leak-utm'], referrerHosts: ['leak-host.example'], points: 5 }],
  funnel: { pricing: 'BOFU' },
});

describe('compileScoring', () => {
  it('binds every value as a {name:Type} parameter and inlines none of the rules’ or site’s text', () => {
    const { query, query_params } = compileScoring(hostile, { site: "leak-site'--", pageGroups: PAGE_GROUPS, visitors: ['leak-visitor'], now: NOW });
    for (const text of ['leak', 'DROP TABLE', '12345', '/pricing', '/careers']) expect(query).not.toContain(text);
    const used = placeholders(query);
    expect(new Set(used.map((p) => p.name))).toEqual(new Set(Object.keys(query_params)));
    const params = JSON.stringify(query_params);
    for (const text of ['leak-site', 'leak value drop table events', 'leak-regex', 'leak-path', 'leak-asset', 'leak-domain.example', 'leak-utm', 'leak-host.example', 'leak-visitor', 'leak-id-fit']) {
      expect(params).toContain(text);
    }
  });

  it('gives every parameter one type wherever it is used', () => {
    const { query } = compileScoring(defaultRules(PAGE_GROUPS), { site: 'acme', pageGroups: PAGE_GROUPS, now: NOW });
    const types = new Map<string, Set<string>>();
    for (const { name, type } of placeholders(query)) types.set(name, (types.get(name) ?? new Set()).add(type));
    expect([...types].filter(([, set]) => set.size > 1)).toEqual([]);
  });

  it('lists rules in order fit, engagement, negative, source, with caps and stages by index, and each event rule’s half-life', () => {
    const { query_params } = compileScoring(hostile, { site: 'acme', pageGroups: PAGE_GROUPS, now: NOW });
    expect(query_params.rule_ids).toEqual(['leak-id-fit', 'leak-pattern', 'leak-range', 'leak-id-event', 'leak-domain', 'leak-source']);
    expect(query_params.rule_kinds).toEqual(['fit', 'fit', 'fit', 'engagement', 'negative', 'source']);
    expect(query_params.rule_points).toEqual([5, 5, 5, 5, -5, 5]);
    expect((query_params.rule_caps as number[])[3]).toBe(3);
    expect(query_params.r4_half_life).toBe(7);
  });

  it('compares answers the way the normalisers write them', () => {
    const rules = rulesSchema.parse({
      fit: [
        { id: 'countries', field: 'country', values: ['Allemagne', 'United States', 'fr'], points: 5 },
        { id: 'industry', field: 'industry', values: ['Édition de logiciels'], points: 5 },
      ],
    });
    const { query_params } = compileScoring(rules, { site: 'acme', now: NOW });
    expect(query_params.r1_values).toEqual(['DE', 'US', 'FR']);
    expect(query_params.r2_values).toEqual(['edition de logiciels']);
  });

  it('scores as of `now`, over the window before it', () => {
    const { query_params } = compileScoring(defaultRules(PAGE_GROUPS), { site: 'acme', pageGroups: PAGE_GROUPS, now: NOW });
    expect(query_params.now).toBe('2026-03-02 12:00:00.000');
    expect(query_params.window_start).toBe('2025-12-02 12:00:00.000');
  });

  it('reads only the given visitors when asked, and finds the other visitors of their leads apart', () => {
    const all = compileScoring(defaultRules(PAGE_GROUPS), { site: 'acme', pageGroups: PAGE_GROUPS, now: NOW });
    expect(all.query_params).not.toHaveProperty('visitors');
    expect(all.query).not.toContain('{visitors:');
    const some = compileScoring(defaultRules(PAGE_GROUPS), { site: 'acme', pageGroups: PAGE_GROUPS, visitors: ['v1', 'v2'], now: NOW });
    expect(some.query_params.visitors).toEqual(['v1', 'v2']);
    expect(some.query).toContain('visitor_id IN {visitors:Array(String)}');
    const scope = compileLeadVisitors(defaultRules(PAGE_GROUPS), { site: 'acme', visitors: ['v1'], now: NOW });
    expect(scope.query_params).toEqual({ site: 'acme', now: '2026-03-02 12:00:00.000', visitors: ['v1'] });
  });

  it('scores a slice of the leads when asked, and refuses a slice that is not one', () => {
    const some = compileScoring(defaultRules(PAGE_GROUPS), { site: 'acme', pageGroups: PAGE_GROUPS, slice: { index: 2, count: 5 }, now: NOW });
    expect(some.query_params).toMatchObject({ slice_index: 2, slice_count: 5 });
    // The visitors with an email of the slice are read, and the leads of the slice kept: its emails', and its anonymous visitors'.
    expect(some.query).toContain('arrayExists(g -> cityHash64(g.3) % {slice_count:UInt64} = {slice_index:UInt64}, given)');
    expect(some.query).toContain("HAVING cityHash64(if(email = '', anonymous_id, email)) % {slice_count:UInt64} = {slice_index:UInt64}");
    expect(compileScoring(defaultRules(PAGE_GROUPS), { site: 'acme', pageGroups: PAGE_GROUPS, now: NOW }).query).not.toContain('slice_count');
    for (const slice of [{ index: 5, count: 5 }, { index: -1, count: 2 }, { index: 0, count: 0 }, { index: 0.5, count: 2 }]) {
      expect(() => compileScoring(defaultRules(PAGE_GROUPS), { site: 'acme', pageGroups: PAGE_GROUPS, slice, now: NOW })).toThrow(`slice ${slice.index} of ${slice.count}`);
    }
  });

  it('is deterministic', () => {
    const options = { site: 'acme', pageGroups: PAGE_GROUPS, now: NOW };
    expect(compileScoring(defaultRules(PAGE_GROUPS), options)).toEqual(compileScoring(defaultRules(PAGE_GROUPS), options));
  });

  it('compiles rules that have no rules of some kind', () => {
    const { query } = compileScoring(rulesSchema.parse({}), { site: 'acme', now: NOW });
    // An empty list of reasons still has its element type, so ClickHouse can read its fields.
    expect(query).toContain("CAST([], 'Array(UInt64)')");
  });

  it('refuses a funnel stage for a page group the site does not have', () => {
    const rules = rulesSchema.parse({ funnel: { demo: 'BOFU' } });
    expect(() => compileScoring(rules, { site: 'acme', pageGroups: PAGE_GROUPS, now: NOW })).toThrow('funnel.demo: the site has no page group "demo"');
  });

  it('refuses a pricing page group the site does not have, unless it is the default one, which falls back to paths', () => {
    const rules = rulesSchema.parse({ signals: { pricingPageGroup: 'tarifs' } });
    expect(() => compileScoring(rules, { site: 'acme', pageGroups: PAGE_GROUPS, now: NOW })).toThrow(
      'signals.pricingPageGroup: the site has no page group "tarifs" (it has: pricing, careers, resources)',
    );
    expect(compileScoring(rulesSchema.parse({}), { site: 'acme', pageGroups: {}, now: NOW }).query_params.sig_pricing).toBe(globsToRegex(rules.signals.pricingPaths));
  });
});

describe('leadScoreOf', () => {
  const never = '1970-01-01 00:00:00.000';
  /** A row with these facts; the others say the signal never happened. */
  const row = (facts: Partial<Record<'requestAt' | 'requestForm' | 'dwellAt' | 'dwellMs' | 'returns' | 'returnsAt' | 'docsAt' | 'docsWhat' | 'weakVisits' | 'weakVisitsAt' | 'weakDeepest' | 'weakDeepAt' | 'weakDeepPages', string>>) => {
    const f = { requestAt: never, requestForm: '', dwellAt: never, dwellMs: '0', returns: '0', returnsAt: never, docsAt: never, docsWhat: '', weakVisits: '0', weakVisitsAt: never, weakDeepest: '0', weakDeepAt: never, weakDeepPages: '0', ...facts };
    const signal_facts: SignalFacts = [f.requestAt, f.requestForm, f.dwellAt, f.dwellMs, f.returns, f.returnsAt, f.docsAt, f.docsWhat, f.weakVisits, f.weakVisitsAt, f.weakDeepest, f.weakDeepAt, f.weakDeepPages];
    return { lead_id: 'l_1', score: 70, signal_facts } as unknown as ScoredRow;
  };
  const signals = defaultRules(PAGE_GROUPS).signals;

  it('tells each signal that happened, with its figures, and leaves the facts out of the lead', () => {
    const lead = leadScoreOf(row({
      requestAt: '2026-03-01 10:00:00.000', requestForm: 'demo-request',
      dwellAt: '2026-03-01 09:00:00.000', dwellMs: '3725400',
      returns: '3', returnsAt: '2026-03-02 08:00:00.000',
      docsAt: '2026-02-27 08:00:00.000', docsWhat: 'API-reference.pdf',
      weakVisits: '1', weakVisitsAt: '2026-03-02 08:30:00.000', weakDeepest: '9', weakDeepAt: '2026-02-20 08:00:00.000', weakDeepPages: '9',
    }), signals);
    expect(lead).toEqual({
      lead_id: 'l_1',
      score: 70,
      signals: [
        { signal: 'demo_request', at: '2026-03-01 10:00:00.000', detail: 'form demo-request' },
        { signal: 'pricing_dwell', at: '2026-03-01 09:00:00.000', detail: '1 h 2 min engaged on pricing in one visit' },
        { signal: 'pricing_returns', at: '2026-03-02 08:00:00.000', detail: '3 visits to pricing in 7 days' },
        { signal: 'docs_download', at: '2026-02-27 08:00:00.000', detail: 'downloaded API-reference.pdf' },
        { signal: 'weak_accumulation', at: '2026-02-20 08:00:00.000', detail: '9 pages in one visit' },
      ],
    });
    expect(Object.keys(lead)).toEqual(['lead_id', 'score', 'signals']);
  });

  it('tells no signal whose time is ClickHouse’s time of 0, whichever way the server writes times', () => {
    expect(leadScoreOf(row({}), signals).signals).toEqual([]);
    const iso = '1970-01-01T00:00:00.000Z';
    expect(leadScoreOf(row({ requestAt: iso, dwellAt: iso, docsAt: iso, weakDeepest: '20', weakDeepAt: iso }), signals).signals).toEqual([]);
  });

  it('counts returns to pricing and visits only from their thresholds, and says both when a lead visits often and reads a lot', () => {
    const lead = leadScoreOf(row({ returns: '2', returnsAt: '2026-03-02 08:00:00.000', weakVisits: '5', weakVisitsAt: '2026-03-02 09:00:00.000', weakDeepest: '8', weakDeepAt: '2026-03-01 09:00:00.000' }), signals);
    expect(lead.signals).toEqual([{ signal: 'weak_accumulation', at: '2026-03-02 09:00:00.000', detail: '5 visits in 30 days, up to 8 pages in one' }]);
  });
});

describe('globsToRegex', () => {
  it.each([
    [['/pricing*'], '/pricing/enterprise', true],
    [['/pricing*'], '/en/pricing', false],
    [['*white*paper*'], 'https://x.test/assets/WhitePaper-2026.pdf', true],
    [['/a.b'], '/axb', false],
    [['/x', '/y*'], '/y/z', true],
    // A trailing slash is optional on either side: one page, however the site links to it.
    [['/pricing'], '/pricing/', true],
    [['/pricing/'], '/pricing', true],
    [['/'], '/', true],
    [['/'], '/about', false],
    [['/pricing'], '/pricing/enterprise', false],
  ])('%j matches %j: %s', (globs, text, expected) => {
    // RE2's (?i) prefix is JavaScript's i flag.
    expect(new RegExp(globsToRegex(globs).replace('(?i)', ''), 'i').test(text)).toBe(expected);
  });
});
