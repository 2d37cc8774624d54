// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { formatBacktest, type BacktestRun } from '../../../collector/backtest.ts';
import { backtest, ruleChanges, rulesSince, STANDINGS, TEMPERATURES, type BacktestInput, type Outcome, type RuleChanges } from '../../../scoring/backtest.ts';
import { defaultRules } from '../../../scoring/rules.ts';
import { leadScore } from '../../support/lead-score.ts';

/** A scored lead as the scoring query returns it; only what backtesting reads matters. */
const lead = leadScore;

const none = new Map<string, Outcome>();

describe('backtest', () => {
  it('counts temperatures under both rule sets, the movements between them and the MQL volume', () => {
    const current = [lead('ada', 70), lead('bob', 45), lead('cy', 20), lead('dee', 10), lead('eve', 65)];
    const candidate = [lead('ada', 90), lead('bob', 65), lead('cy', 35), lead('dee', 10), lead('eve', 55)];
    const report = backtest({ current, candidate, outcomes: none });
    expect(report.leads).toBe(5);
    expect(report.temperatures).toEqual({ cold: { current: 2, candidate: 1 }, warm: { current: 1, candidate: 2 }, hot: { current: 2, candidate: 2 } });
    expect(report.movements).toEqual({
      cold: { cold: 1, warm: 1, hot: 0, notScored: 0 },
      warm: { cold: 0, warm: 0, hot: 1, notScored: 0 },
      hot: { cold: 0, warm: 1, hot: 1, notScored: 0 },
      notScored: { cold: 0, warm: 0, hot: 0, notScored: 0 },
    });
    expect(report.moved).toBe(3);
    expect(report.rescored).toBe(4);
    expect(report.mql).toEqual({ current: 2, candidate: 2, entering: 1, leaving: 1, newlyMql: [{ leadId: 'l_bob', email: 'bob@acme.test' }], noLongerMql: [{ leadId: 'l_eve', email: 'eve@acme.test' }] });
  });

  it('counts a lead who asked for a demo as an MQL under both rule sets, however cold', () => {
    const demo = { signals: [{ signal: 'demo_request' as const, at: '2026-03-02 09:00:00.000', detail: 'form demo-request' }] };
    // Ada asked for a demo and stays cold; Bob is hot only under the current rules; Cy only under the candidate.
    const current = [lead('ada', 0, demo), lead('bob', 70), lead('cy', 45)];
    const candidate = [lead('ada', 10, demo), lead('bob', 50), lead('cy', 65)];
    const report = backtest({ current, candidate, outcomes: none });
    expect(report.temperatures.hot).toEqual({ current: 1, candidate: 1 });
    expect(report.mql).toEqual({ current: 2, candidate: 2, entering: 1, leaving: 1, newlyMql: [{ leadId: 'l_cy', email: 'cy@acme.test' }], noLongerMql: [{ leadId: 'l_bob', email: 'bob@acme.test' }] });
  });

  it('lists the leads whose score changes most first, up or down, and only those that change', () => {
    const current = [lead('ada', 70), lead('bob', 45), lead('cy', 20), lead('dee', 10)];
    const candidate = [lead('ada', 75), lead('bob', 15), lead('cy', 40), lead('dee', 10)];
    const report = backtest({ current, candidate, outcomes: none, top: 2 });
    expect(report.topMovers).toEqual([
      { leadId: 'l_bob', email: 'bob@acme.test', current: { score: 45, temperature: 'warm' }, candidate: { score: 15, temperature: 'cold' }, change: -30 },
      { leadId: 'l_cy', email: 'cy@acme.test', current: { score: 20, temperature: 'cold' }, candidate: { score: 40, temperature: 'warm' }, change: 20 },
    ]);
    expect(report.rescored).toBe(3);
  });

  it('lists the leads that change temperature at the same score, when the candidate only moves the thresholds', () => {
    // Candidate: warm from 20, hot above 40, same points. Ada 45 warm → hot, Cy 25 cold → warm, Bob 70 and Dee 10 stay.
    const current = [lead('ada', 45), lead('bob', 70), lead('cy', 25), lead('dee', 10)];
    const candidate = [lead('ada', 45, { temperature: 'hot' }), lead('bob', 70), lead('cy', 25, { temperature: 'warm' }), lead('dee', 10)];
    const report = backtest({ current, candidate, outcomes: none });
    expect([report.moved, report.rescored]).toEqual([2, 0]);
    expect(report.mql).toEqual({ current: 1, candidate: 2, entering: 1, leaving: 0, newlyMql: [{ leadId: 'l_ada', email: 'ada@acme.test' }], noLongerMql: [] });
    expect(report.topMovers).toEqual([
      { leadId: 'l_ada', email: 'ada@acme.test', current: { score: 45, temperature: 'warm' }, candidate: { score: 45, temperature: 'hot' }, change: 0 },
      { leadId: 'l_cy', email: 'cy@acme.test', current: { score: 25, temperature: 'cold' }, candidate: { score: 25, temperature: 'warm' }, change: 0 },
    ]);
  });

  it('lists a lead that changes temperature before one whose score changes as much without moving', () => {
    const current = [lead('ada', 50), lead('bob', 40)];
    const candidate = [lead('ada', 70), lead('bob', 60)];
    const report = backtest({ current, candidate, outcomes: none });
    expect(report.topMovers.map((mover) => mover.leadId)).toEqual(['l_ada', 'l_bob']);
    const flipped = backtest({ current: [lead('ada', 40), lead('bob', 50)], candidate: [lead('ada', 60), lead('bob', 70)], outcomes: none });
    expect(flipped.topMovers.map((mover) => mover.leadId)).toEqual(['l_bob', 'l_ada']);
  });

  it('measures precision and recall of each threshold against sales’ verdicts, for both rule sets', () => {
    // Two prospects (ada, bob), two disqualified (cy, dee), one lead without a verdict (eve).
    const current = [lead('ada', 70), lead('bob', 25), lead('cy', 50), lead('dee', 15), lead('eve', 90)];
    const candidate = [lead('ada', 80), lead('bob', 65), lead('cy', 45), lead('dee', 15), lead('eve', 95)];
    const outcomes = new Map<string, Outcome>([
      ['l_ada', 'prospect'],
      ['l_bob', 'prospect'],
      ['l_cy', 'disqualified'],
      ['l_dee', 'disqualified'],
    ]);
    const report = backtest({ current, candidate, outcomes, thresholds: [10, 30, 60] });
    expect(report.outcomes).toEqual({ prospects: 2, disqualified: 2 });
    const rows = Object.fromEntries(report.precisionRecall.map((row) => [row.threshold, [row.current, row.candidate]]));
    expect(rows[10]).toEqual([
      { selected: 4, truePositives: 2, precision: 0.5, recall: 1 },
      { selected: 4, truePositives: 2, precision: 0.5, recall: 1 },
    ]);
    expect(rows[30]).toEqual([
      { selected: 2, truePositives: 1, precision: 0.5, recall: 0.5 },
      { selected: 3, truePositives: 2, precision: 2 / 3, recall: 1 },
    ]);
    expect(rows[60]).toEqual([
      { selected: 1, truePositives: 1, precision: 1, recall: 0.5 },
      { selected: 2, truePositives: 2, precision: 1, recall: 1 },
    ]);
    // "hot" is each rule set's own temperature: above 60 here.
    expect(rows.hot).toEqual(rows[60]);
    expect(report.precisionRecall.map((row) => row.threshold)).toEqual([10, 30, 60, 'hot', 'mql']);
  });

  it('measures the MQLs as a pick too: the hot leads and those who asked for a demo, under each rule set', () => {
    const demo = { signals: [{ signal: 'demo_request' as const, at: '2026-03-02 09:00:00.000', detail: 'form demo-request' }] };
    // Ada, a prospect, asked for a demo and stays cold; Bob, a prospect, is hot only under the candidate; Cy,
    // disqualified, is hot under both; Dee, a prospect, is neither.
    const current = [lead('ada', 10, demo), lead('bob', 50), lead('cy', 70), lead('dee', 20)];
    const candidate = [lead('ada', 10, demo), lead('bob', 65), lead('cy', 70), lead('dee', 20)];
    const outcomes = new Map<string, Outcome>([
      ['l_ada', 'prospect'],
      ['l_bob', 'prospect'],
      ['l_cy', 'disqualified'],
      ['l_dee', 'prospect'],
    ]);
    const rows = Object.fromEntries(backtest({ current, candidate, outcomes, thresholds: [30] }).precisionRecall.map((row) => [row.threshold, [row.current, row.candidate]]));
    expect(rows.hot).toEqual([
      { selected: 1, truePositives: 0, precision: 0, recall: 0 },
      { selected: 2, truePositives: 1, precision: 0.5, recall: 1 / 3 },
    ]);
    expect(rows.mql).toEqual([
      { selected: 2, truePositives: 1, precision: 0.5, recall: 1 / 3 },
      { selected: 3, truePositives: 2, precision: 2 / 3, recall: 2 / 3 },
    ]);
  });

  it('has no precision when a threshold picks nobody, and no recall without prospects', () => {
    const outcomes = new Map<string, Outcome>([['l_cy', 'disqualified']]);
    const report = backtest({ current: [lead('cy', 40)], candidate: [lead('cy', 40)], outcomes, thresholds: [30, 50] });
    expect(report.precisionRecall[0]!.current).toEqual({ selected: 1, truePositives: 0, precision: 0, recall: null });
    expect(report.precisionRecall[1]!.current).toEqual({ selected: 0, truePositives: 0, precision: null, recall: null });
  });

  it('uses thresholds 10 to 100 by ten, then hot and MQL, by default', () => {
    const report = backtest({ current: [], candidate: [], outcomes: none });
    expect(report.precisionRecall.map((row) => row.threshold)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 'hot', 'mql']);
  });

  it('goes past 100 when judged leads score higher under either rule set, in at most about 20 steps', () => {
    const outcomes = new Map<string, Outcome>([['l_ada', 'prospect'], ['l_cy', 'disqualified']]);
    const report = backtest({ current: [lead('ada', 90), lead('cy', 40)], candidate: [lead('ada', 346), lead('cy', 180)], outcomes });
    const thresholds = report.precisionRecall.map((row) => row.threshold);
    expect(thresholds).toEqual([20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220, 240, 260, 280, 300, 320, 340, 'hot', 'mql']);
    // Above 180 the candidate rules still tell the prospect from the disqualified lead.
    expect(report.precisionRecall.find((row) => row.threshold === 200)!.candidate).toEqual({ selected: 1, truePositives: 1, precision: 1, recall: 1 });
    // An unjudged lead's score does not stretch the scale.
    expect(backtest({ current: [lead('eve', 900)], candidate: [lead('eve', 900)], outcomes }).precisionRecall).toHaveLength(12);
  });

  it('leaves out anonymous visitors, leads last seen before --since, and verdicts on leads it does not compare', () => {
    const current = [lead('ada', 70), lead('old', 80, { last_seen: '2026-02-01 10:00:00.000' }), lead('anon', 60, { kind: 'visitor', email: '' })];
    const outcomes = new Map<string, Outcome>([
      ['l_ada', 'prospect'],
      ['l_old', 'disqualified'],
    ]);
    const report = backtest({ current, candidate: current, outcomes, since: new Date('2026-03-01T00:00:00Z') });
    expect(report.leads).toBe(1);
    expect(report.temperatures.hot).toEqual({ current: 1, candidate: 1 });
    expect(report.outcomes).toEqual({ prospects: 1, disqualified: 0 });
  });

  it('says how many leads only one rule set scores, and counts a prospect it does not score as missed', () => {
    // The candidate counts automated browsers: a lead seen only through one appears.
    const current = [lead('ada', 70)];
    const candidate = [lead('ada', 70), lead('bot', 90)];
    const outcomes = new Map<string, Outcome>([['l_bot', 'prospect']]);
    const report = backtest({ current, candidate, outcomes, thresholds: [50] });
    // Every lead either rule set scores is one of the report's leads.
    expect([report.leads, report.onlyCurrent, report.onlyCandidate]).toEqual([2, 0, 1]);
    expect(report.temperatures.hot).toEqual({ current: 1, candidate: 2 });
    expect(report.precisionRecall[0]!.current).toMatchObject({ selected: 0, recall: 0 });
    expect(report.precisionRecall[0]!.candidate).toMatchObject({ selected: 1, recall: 1 });
  });
});

describe('a lead only one rule set scores', () => {
  const demo = { signals: [{ signal: 'demo_request' as const, at: '2026-03-02 09:00:00.000', detail: 'form demo-request' }] };
  // The candidate counts automated browsers: two bots appear, one hot, one that asked for a demo; a third lead
  // (a bot the current rules counted through a flag the candidate reads otherwise) is scored by the current rules only.
  const current = [lead('ada', 45), lead('old', 10, demo)];
  const candidate = [lead('ada', 45), lead('bot1', 90), lead('bot2', 10, demo)];

  it('counts as a lead, entering or leaving the MQLs, moving and changing score: the figures add up', () => {
    const report = backtest({ current, candidate, outcomes: none });
    expect([report.leads, report.onlyCurrent, report.onlyCandidate]).toEqual([4, 1, 2]);
    expect(report.mql).toMatchObject({ current: 1, candidate: 2, entering: 2, leaving: 1, newlyMql: [{ leadId: 'l_bot1', email: 'bot1@acme.test' }, { leadId: 'l_bot2', email: 'bot2@acme.test' }], noLongerMql: [{ leadId: 'l_old', email: 'old@acme.test' }] });
    expect(report.mql.entering - report.mql.leaving).toBe(report.mql.candidate - report.mql.current);
    expect([report.moved, report.rescored]).toEqual([3, 3]);
    // What --json gives scripts: every lead in one cell, a row summing to the current rules' leads of its temperature
    // and a column to the candidate's.
    expect(report.movements).toEqual({
      cold: { cold: 0, warm: 0, hot: 0, notScored: 1 },
      warm: { cold: 0, warm: 1, hot: 0, notScored: 0 },
      hot: { cold: 0, warm: 0, hot: 0, notScored: 0 },
      notScored: { cold: 1, warm: 0, hot: 1, notScored: 0 },
    });
    for (const t of TEMPERATURES) {
      expect(Object.values(report.movements[t]).reduce((a, b) => a + b)).toBe(report.temperatures[t].current);
      expect(STANDINGS.map((from) => report.movements[from][t]).reduce((a, b) => a + b)).toBe(report.temperatures[t].candidate);
    }
    expect(report.topMovers.map((m) => [m.email, m.current, m.candidate, m.change])).toEqual([
      ['bot1@acme.test', null, { score: 90, temperature: 'hot' }, 90],
      ['bot2@acme.test', null, { score: 10, temperature: 'cold' }, 10],
      ['old@acme.test', { score: 10, temperature: 'cold' }, null, -10],
    ]);
  });

  it('is "not scored" under the other rule set in the printed tables, whose columns sum to the leads the header counts', () => {
    const out = printed({ current, candidate, outcomes: none });
    expect(out[1]).toBe('4 identified leads, scored as of 2026-03-03T00:00:00.000Z');
    expect(out[2]).toMatch(/^\(1 of them scored by the current rules only, 2 by the candidate only: countBots differs;$/);
    expect(out[3]).toBe('below, such a lead is "not scored" under the other rules, and newly or no longer MQL if it is one under those that score it)');
    expect(after(out, 'Leads per temperature', 5)).toEqual(['current candidate change', 'cold 1 1 0', 'warm 1 1 0', 'hot 0 1 +1', 'not scored 2 1 -1']);
    expect(out).toContain('Movements (rows: current, columns: candidate): 3 of 4 change temperature, 3 change score');
    expect(after(out, 'Movements', 5)).toEqual(['cold warm hot not scored', 'cold 0 0 0 1', 'warm 0 1 0 0', 'hot 0 0 0 0', 'not scored 1 0 1 0']);
    expect(after(out, 'MQL volume', 1)).toEqual(['1 → 2 (+1): 2 newly MQL, 1 no longer MQL']);
    expect(after(out, 'Leads whose score or temperature changes most', 4)).toEqual([
      'lead id current candidate change',
      'bot1@acme.test l_bot1 not scored 90 hot +90',
      'bot2@acme.test l_bot2 not scored 10 cold +10',
      'old@acme.test l_old 10 cold not scored -10',
    ]);
  });

  it('leaves the tables as they were when both rule sets score the same leads', () => {
    const out = printed({ current: [lead('ada', 45)], candidate: [lead('ada', 65)], outcomes: none });
    expect(out[1]).toBe('1 identified lead, scored as of 2026-03-03T00:00:00.000Z');
    expect(out[2]).toBe('Temperatures: warm from 30, hot above 60');
    expect(after(out, 'Leads per temperature', 5)).toEqual(['current candidate change', 'cold 0 0 0', 'warm 1 0 -1', 'hot 0 1 +1', '']);
    expect(after(out, 'Movements', 4)).toEqual(['cold warm hot', 'cold 0 0 0', 'warm 0 0 1', 'hot 0 0 0']);
  });
});

describe('the printed backtest', () => {
  it('groups its counts by thousands, as hearth score and demo print theirs', () => {
    const many = (score: number) => Array.from({ length: 1200 }, (_, i) => lead(`l${i}`, score));
    const text = printed({ current: many(20), candidate: many(40), outcomes: none });
    expect(text[1]).toMatch(/^1,200 identified leads, scored as of /);
    expect(after(text, 'Leads per temperature', 3)).toEqual(['current candidate change', 'cold 1,200 0 -1,200', 'warm 0 1,200 +1,200']);
    expect(text).toContain('Movements (rows: current, columns: candidate): 1,200 of 1,200 change temperature, 1,200 change score');
  });

  it('never cuts an email address in the movers table: a cut address looks like another, real one', () => {
    const email = 'hugo.lovelace.1147@massivedynamic.example.com';
    const run = runOf({ current: [lead('hugo', 20, { email })], candidate: [lead('hugo', 40, { email })], outcomes: none });
    const text = formatBacktest(run);
    expect(text).toContain(`  ${email}  l_hugo`);
    expect(after(lines(text), 'Leads whose score or temperature changes most', 2)).toEqual(['lead id current candidate change', `${email} l_hugo 20 cold 40 warm +20`]);
  });
});

/** A run of the report over these scores, as `hearth backtest` prints it. */
function runOf(input: BacktestInput, changes: RuleChanges = { dropped: [], added: [], changed: [], settings: [] }): BacktestRun {
  const thresholds = { warm: 30, hot: 60 };
  return { site: 'acme', rulesFile: '/tmp/candidate.json', since: null, now: '2026-03-03T00:00:00.000Z', thresholds: { current: thresholds, candidate: thresholds }, changes, report: backtest(input) };
}
/** The printed lines with runs of spaces collapsed, so a test reads a table row as words. */
const lines = (text: string) => text.split('\n').map((line) => line.trim().replace(/ {2,}/g, ' '));
const printed = (input: BacktestInput) => lines(formatBacktest(runOf(input)));
const after = (out: string[], heading: string, count: number) => out.slice(out.findIndex((line) => line.startsWith(heading)) + 1).slice(0, count);

describe('ruleChanges', () => {
  const grid = defaultRules({ pricing: ['/pricing*'] });

  it('names the rules a candidate drops, adds and changes by list and id, and the settings it changes', () => {
    const [first, ...others] = grid.engagement;
    const candidate = {
      ...grid,
      engagement: [{ ...first!, points: first!.points + 5 }, { id: 'docs', event: 'pageview' as const, paths: ['/docs*'], points: 3 }],
      thresholds: { warm: 25, hot: 60 },
    } as typeof grid;
    expect(ruleChanges(grid, candidate)).toEqual({
      dropped: others.map((rule) => `engagement/${rule.id}`),
      added: ['engagement/docs'],
      changed: [`engagement/${first!.id}`],
      settings: ['thresholds.warm'],
    });
    expect(ruleChanges(grid, grid)).toEqual({ dropped: [], added: [], changed: [], settings: [] });
  });

  it('heads the printed report, so a list the file replaced whole shows what it left out', () => {
    const text = printed({ current: [lead('ada', 20)], candidate: [lead('ada', 20)], outcomes: none });
    expect(text).toContain('Rule changes: none');
    const changed = lines(formatBacktest(runOf({ current: [lead('ada', 20)], candidate: [lead('ada', 30)], outcomes: none }, { dropped: ['fit/ceo', 'fit/manager'], added: [], changed: ['engagement/pricing'], settings: ['windowDays', 'funnel.pricing'] })));
    expect(changed).toContain('Rule changes: drops fit/ceo, fit/manager; changes engagement/pricing; changes the settings windowDays, funnel.pricing');
  });
});

describe('rulesSince', () => {
  const rules = defaultRules({});
  const now = new Date('2026-03-11T12:00:00Z');

  it('narrows the behaviour window to start exactly at --since', () => {
    const narrowed = rulesSince(rules, new Date('2026-03-01T00:00:00Z'), now);
    expect(now.getTime() - narrowed.windowDays * 86_400_000).toBe(Date.parse('2026-03-01T00:00:00Z'));
    expect(narrowed.fit).toBe(rules.fit);
  });

  it('keeps a window that is already shorter, and refuses a start after the end', () => {
    expect(rulesSince(rules, new Date('2025-01-01T00:00:00Z'), now).windowDays).toBe(90);
    expect(() => rulesSince(rules, new Date('2026-03-12T00:00:00Z'), now)).toThrow(RangeError);
  });
});
