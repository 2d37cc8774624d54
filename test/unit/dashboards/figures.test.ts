import { describe, expect, it } from 'vitest';
import { toCsv } from '../../../collector/api/csv.ts';
import { funnelOf, leadKpis, leadQuality, lifecycleOf, scoreBuckets, type ActiveLead, type Verdicts } from '../../../collector/api/dashboard-figures.ts';

const lead = (id: string, fields: Partial<ActiveLead> = {}): ActiveLead => ({ id, temperature: 'cold', stage: '', score: 0, askedForDemo: false, source: '(direct)', inCurrent: true, inPrevious: false, ...fields });
const noVerdicts = (): Verdicts => ({ prospects: new Set(), disqualified: new Set(), owners: new Map() });

describe('the marketing panels\' arithmetic', () => {
  it('ranks sales\' decisions above the score: disqualified, then prospect, then hot or a demo request (MQL)', () => {
    const verdicts: Verdicts = { prospects: new Set(['l_p', 'l_both']), disqualified: new Set(['l_d', 'l_both']), owners: new Map() };
    expect(lifecycleOf(lead('l_both', { temperature: 'hot' }), verdicts)).toBe('disqualified');
    expect(lifecycleOf(lead('l_p', { temperature: 'cold' }), verdicts)).toBe('prospect');
    expect(lifecycleOf(lead('l_hot', { temperature: 'hot' }), verdicts)).toBe('mql');
    expect(lifecycleOf(lead('l_warm', { temperature: 'warm' }), verdicts)).toBe('lead');
  });

  it('makes a lead who asked for a demo an MQL whatever its temperature, until sales decide', () => {
    const verdicts: Verdicts = { prospects: new Set(['l_p']), disqualified: new Set(['l_d']), owners: new Map() };
    expect(lifecycleOf(lead('l_cold', { askedForDemo: true }), verdicts)).toBe('mql');
    expect(lifecycleOf(lead('l_warm', { temperature: 'warm', askedForDemo: true }), verdicts)).toBe('mql');
    expect(lifecycleOf(lead('l_p', { askedForDemo: true }), verdicts)).toBe('prospect');
    expect(lifecycleOf(lead('l_d', { askedForDemo: true }), verdicts)).toBe('disqualified');
  });

  it('counts a cold lead who asked for a demo among the MQLs and at the funnel\'s MQL step, not among the hot leads', () => {
    const leads = [lead('a', { stage: 'TOFU', askedForDemo: true }), lead('b', { stage: 'MOFU', temperature: 'hot' }), lead('c', { stage: 'TOFU' })];
    expect(leadKpis(leads, noVerdicts())).toMatchObject({ hot: { current: 1 }, mqls: { current: 2 } });
    expect(funnelOf(leads, noVerdicts()).steps.map((step) => step.leads)).toEqual([3, 2, 2, 2, 0]);
  });

  it('counts each lead in every period it was seen', () => {
    const kpis = leadKpis([lead('a', { temperature: 'hot', inPrevious: true }), lead('b', { temperature: 'warm', inCurrent: false, inPrevious: true })], noVerdicts());
    expect(kpis).toEqual({
      identifiedLeads: { current: 1, previous: 2 },
      warm: { current: 0, previous: 1 },
      hot: { current: 1, previous: 1 },
      mqls: { current: 1, previous: 1 },
      prospects: { current: 0, previous: 0 },
    });
  });

  it('puts a hot lead that never saw BOFU content past BOFU, so no step converts above 100 %', () => {
    const { leads, steps } = funnelOf([lead('a', { stage: 'TOFU' }), lead('b', { stage: 'MOFU', temperature: 'hot' }), lead('c')], noVerdicts());
    expect(leads).toBe(3);
    expect(steps.map((step) => step.leads)).toEqual([2, 1, 1, 1, 0]);
    expect(steps.map((step) => step.conversion)).toEqual([null, 0.5, 1, 1, 0]);
  });

  it('gives no conversion after a step with no leads, as the page shows none', () => {
    expect(funnelOf([], noVerdicts()).steps.map((step) => step.conversion)).toEqual([null, null, null, null, null]);
    const { steps } = funnelOf([lead('a', { stage: 'TOFU' })], noVerdicts());
    expect(steps.map((step) => step.conversion)).toEqual([null, 0, null, null, null]);
  });

  it('averages scores and shares hot leads per group, a lead in two groups in each', () => {
    const [a, b, c] = [lead('a', { score: 80, temperature: 'hot' }), lead('b', { score: 41 }), lead('c', { score: -15 })];
    const quality = leadQuality([['mobile', a], ['mobile', b], ['desktop', c], ['desktop', a]]);
    expect(quality.get('mobile')).toEqual({ leads: 2, averageScore: 60.5, hotLeads: 1, hotShare: 0.5 });
    expect(quality.get('desktop')).toEqual({ leads: 2, averageScore: 32.5, hotLeads: 1, hotShare: 0.5 });
  });

  it('buckets negative scores downwards and keeps the empty buckets between', () => {
    const empty = { leads: 0, cold: 0, warm: 0, hot: 0 };
    expect(scoreBuckets([lead('a', { score: -15 }), lead('b', { score: 21 }), lead('c', { score: 29 })], 10)).toEqual([
      { from: -20, leads: 1, cold: 1, warm: 0, hot: 0 },
      { from: -10, ...empty },
      { from: 0, ...empty },
      { from: 10, ...empty },
      { from: 20, leads: 2, cold: 2, warm: 0, hot: 0 },
    ]);
    expect(scoreBuckets([], 10)).toEqual([]);
  });

  it('counts each lead of a bucket under its own temperature, where a threshold falls inside the bucket', () => {
    // Hot is above 60: 60 is warm and 61 hot, both in the bucket of 60 to 69 points.
    expect(scoreBuckets([lead('a', { score: 60, temperature: 'warm' }), lead('b', { score: 61, temperature: 'hot' }), lead('c', { score: 69, temperature: 'hot' })], 10)).toEqual([
      { from: 60, leads: 3, cold: 0, warm: 1, hot: 2 },
    ]);
  });
});

describe('CSV export', () => {
  it('quotes what needs it, ends lines with CRLF, and defuses cells a spreadsheet would run as formulas, after a byte-order mark', () => {
    expect(toCsv(['name', 'score', 'note'], [['Ada, "the first"', -5, '=HYPERLINK("http://x")'], ['Grace', 12, null], ['+33 1 23', 0, '@SUM(A1)']])).toBe(
      '\uFEFFname,score,note\r\n"Ada, ""the first""",-5,"\'=HYPERLINK(""http://x"")"\r\nGrace,12,\r\n\'+33 1 23,0,\'@SUM(A1)\r\n',
    );
  });

  it('quotes a cell holding a semicolon, which Excel splits on in French and German locales, and defuses a formula after one', () => {
    const csv = toCsv(['company'], [["x;=cmd|' /C calc'!A0;y"]]);
    expect(csv).toBe(`\uFEFFcompany\r\n"x;'=cmd|' /C calc'!A0;y"\r\n`);
    // Read as a semicolon-separated file (quotes honoured), the value stays one cell that starts with "x"; a cell
    // further along its line is split at its semicolons (test/unit/api/csv.test.ts), where the apostrophe defuses it.
    const cells = csv.split('\r\n')[1]!.match(/"(?:[^"]|"")*"|[^;]+/g);
    expect(cells).toEqual([`"x;'=cmd|' /C calc'!A0;y"`]);
  });
});
