// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ALERT_MAX_AGE_MS, evaluateSignals } from '../../../scoring/alerts/evaluate.ts';
import type { ActiveSignal, LeadScore } from '../../../scoring/compile.ts';
import { defaultRules } from '../../../scoring/rules.ts';
import { goneSnapshot, toSnapshot, type StoredScore } from '../../../scoring/snapshots.ts';
import { leadScore } from '../../support/lead-score.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const rules = defaultRules();
const clickHouseTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

const lead = (score: number, fields: Partial<LeadScore> = {}) =>
  leadScore('ada', score, { lead_id: 'l_0123456789abcdef0123', stage: 'BOFU', first_seen: clickHouseTime(NOW - 3_600_000), last_seen: clickHouseTime(NOW - 60_000), ...fields });

/** Runs a lead through a sequence of scores the way the scorer does: each evaluation against the last snapshot. */
function replay(steps: { score: number; signals?: ActiveSignal[]; at?: number }[]) {
  let previous: StoredScore | undefined;
  return steps.map((step, i) => {
    const at = step.at ?? NOW + i * 60_000;
    const next = lead(step.score, { signals: step.signals ?? [], last_seen: clickHouseTime(at - 1000) });
    const evaluation = evaluateSignals('acme', rules, previous, next, at);
    previous = toSnapshot('acme', next, clickHouseTime(at), evaluation.hotArmed, 'h');
    return evaluation;
  });
}

describe('"became hot" with hysteresis', () => {
  it('alerts when a lead crosses the hot threshold, once, however long it stays hot', () => {
    const steps = replay([{ score: 40 }, { score: 65 }, { score: 70 }, { score: 62 }, { score: 55 }, { score: 66 }]);
    expect(steps.map((step) => step.signals.map((signal) => signal.signal))).toEqual([[], ['hot'], [], [], [], []]);
  });

  it('alerts again only after the score fell below the re-arm mark (50)', () => {
    const steps = replay([{ score: 65 }, { score: 45 }, { score: 61 }]);
    expect(steps.map((step) => step.signals.length)).toEqual([1, 0, 1]);
    expect(steps[0]!.signals[0]!.id).not.toBe(steps[2]!.signals[0]!.id);
    expect(steps[0]!.signals[0]!.summary).toBe('Above the hot threshold of 60 points');
  });

  it('alerts nobody for what new rules find with no new event, and a lead the new rules make hot alerts at its next visit', () => {
    const seen = clickHouseTime(NOW - 5 * 3_600_000);
    const before = toSnapshot('acme', lead(30, { last_seen: seen }), clickHouseTime(NOW - 3_600_000), true, 'old rules');
    const request: ActiveSignal = { signal: 'demo_request', at: seen, detail: 'form contact' };
    const rescored = evaluateSignals('acme', rules, before, lead(70, { last_seen: seen, signals: [request] }), NOW, 'new rules');
    expect(rescored).toEqual({ hotArmed: true, signals: [] });
    const after = toSnapshot('acme', lead(70, { last_seen: seen, signals: [request] }), clickHouseTime(NOW), rescored.hotArmed, 'new rules');
    // The next pass under the same new rules, still with no new event: still nothing.
    const rescoredAgain = evaluateSignals('acme', rules, after, lead(70, { last_seen: seen, signals: [request] }), NOW + 3_600_000, 'new rules');
    expect(rescoredAgain).toEqual({ hotArmed: true, signals: [] });
    const back = evaluateSignals('acme', rules, after, lead(72, { last_seen: clickHouseTime(NOW + 50_000), signals: [request] }), NOW + 60_000, 'new rules');
    expect(back.signals.map((signal) => signal.signal)).toEqual(['hot']);
    // New rules with a new event: what the event brings is news, as under the old rules.
    const active = evaluateSignals('acme', rules, before, lead(70, { last_seen: clickHouseTime(NOW - 60_000) }), NOW, 'new rules');
    expect(active.signals.map((signal) => signal.signal)).toEqual(['hot']);
  });

  it('keeps a lead that alerted disarmed while only the rules move its score below the mark and back (rules-change QA)', () => {
    // Hot under rules B at a visit: alerted.
    const visit = clickHouseTime(NOW - 60_000);
    const underB = evaluateSignals('acme', rules, toSnapshot('acme', lead(40, { last_seen: clickHouseTime(NOW - 7_200_000) }), clickHouseTime(NOW - 3_600_000), true, 'B'), lead(70, { last_seen: visit }), NOW, 'B');
    expect([underB.hotArmed, underB.signals.map((signal) => signal.signal)]).toEqual([false, ['hot']]);
    let snapshot = toSnapshot('acme', lead(70, { last_seen: visit }), clickHouseTime(NOW), underB.hotArmed, 'B');
    // Rules A put it at 45, below the mark, with nothing done; its next pass under A, an hour on, still 45; then B again.
    for (const [score, hash, at] of [[45, 'A', NOW + 60_000], [45, 'A', NOW + 3_660_000], [70, 'B', NOW + 3_720_000]] as const) {
      const rescored = evaluateSignals('acme', rules, snapshot, lead(score, { last_seen: visit }), at, hash);
      expect([score, hash, rescored]).toEqual([score, hash, { hotArmed: false, signals: [] }]);
      snapshot = toSnapshot('acme', lead(score, { last_seen: visit }), clickHouseTime(at), rescored.hotArmed, hash);
    }
    // Its next visit, hot under B as it was: no second "became hot".
    const back = evaluateSignals('acme', rules, snapshot, lead(71, { last_seen: clickHouseTime(NOW + 3_780_000) }), NOW + 3_800_000, 'B');
    expect(back.signals).toEqual([]);
    // Its own fall below the mark under the same rules re-arms it, as before.
    const fell = evaluateSignals('acme', rules, toSnapshot('acme', lead(71), clickHouseTime(NOW + 3_800_000), false, 'B'), lead(45, { last_seen: clickHouseTime(NOW + 3_850_000) }), NOW + 3_900_000, 'B');
    expect(fell.hotArmed).toBe(true);
  });

  it('takes a visit before the full pass under new rules for news of that visit alone: not a signal the rules found in an older one (QA)', () => {
    const visit = clickHouseTime(NOW - 20 * 60_000);
    const before = toSnapshot('acme', lead(30, { last_seen: clickHouseTime(NOW - 18 * 60_000) }), clickHouseTime(NOW - 15 * 60_000), true, 'old rules');
    // 80 s on pricing 20 minutes ago, a pricing_dwell once the rules ask 60 s; then an unrelated page view now.
    const dwell: ActiveSignal = { signal: 'pricing_dwell', at: visit, detail: '1 min 20 s engaged on pricing in one visit' };
    const back = evaluateSignals('acme', rules, before, lead(30, { last_seen: clickHouseTime(NOW - 30_000), signals: [dwell] }), NOW, 'new rules');
    expect(back.signals).toEqual([]);
    // What the new visit does is news all the same.
    const request: ActiveSignal = { signal: 'demo_request', at: clickHouseTime(NOW - 60_000), detail: 'form demo' };
    const asked = evaluateSignals('acme', rules, before, lead(30, { last_seen: clickHouseTime(NOW - 30_000), signals: [dwell, request] }), NOW, 'new rules');
    expect(asked.signals.map((signal) => signal.signal)).toEqual(['demo_request']);
  });

  it('gives the same alert id when the same change is evaluated twice (a restart before the snapshot was written)', () => {
    const previous = toSnapshot('acme', lead(40, { last_seen: clickHouseTime(NOW - 120_000) }), clickHouseTime(NOW - 60_000), true, 'h');
    const first = evaluateSignals('acme', rules, previous, lead(70), NOW);
    const again = evaluateSignals('acme', rules, previous, lead(71), NOW + 5000);
    expect(first.signals[0]!.id).toBe(again.signals[0]!.id);
  });

  it('gives a lead that comes back after it was gone a hot alert of its own (its gone snapshot names the crossing)', () => {
    const first = evaluateSignals('acme', rules, undefined, lead(70), NOW);
    const gone = goneSnapshot(toSnapshot('acme', lead(70), clickHouseTime(NOW), first.hotArmed, 'h'), clickHouseTime(NOW + 60_000));
    const back = evaluateSignals('acme', rules, gone, lead(70, { last_seen: clickHouseTime(NOW + 110_000) }), NOW + 120_000);
    expect(back.signals.map((signal) => signal.signal)).toEqual(['hot']);
    expect(back.signals[0]!.id).not.toBe(first.signals[0]!.id);
  });

  it('gives a lead erased and back with new visits (no snapshot left) a hot alert of its own, the same however often evaluated', () => {
    const first = evaluateSignals('acme', rules, undefined, lead(70), NOW);
    // Erased: its snapshots went with it. Its new visits start after the erasure.
    const returned = lead(70, { first_seen: clickHouseTime(NOW + 3_600_000), last_seen: clickHouseTime(NOW + 3_660_000) });
    const back = evaluateSignals('acme', rules, undefined, returned, NOW + 3_700_000);
    const again = evaluateSignals('acme', rules, undefined, { ...returned, score: 72 }, NOW + 3_705_000);
    expect(back.signals.map((signal) => signal.signal)).toEqual(['hot']);
    expect(back.signals[0]!.id).not.toBe(first.signals[0]!.id);
    expect(again.signals[0]!.id).toBe(back.signals[0]!.id);
  });

  it('alerts for a lead made hot by events dated before its last visit: a phone whose clock runs slow, a late retry queue (QA)', () => {
    const seen = clickHouseTime(NOW - 10 * 60_000);
    const pricing = (count: number) => [{ rule: 'pricing-page', kind: 'engagement' as const, count, points: 20 * count, capped: false }];
    const before = toSnapshot('acme', lead(45, { last_seen: seen, reasons: pricing(1) }), clickHouseTime(NOW - 5 * 60_000), true, 'h');
    // The phone's events, dated two hours back, join the lead: its last visit is still the laptop's.
    const phone = evaluateSignals('acme', rules, before, lead(65, { last_seen: seen, reasons: pricing(1), visitor_ids: ['v-ada', 'v-phone'] }), NOW, 'h');
    expect(phone.signals.map((signal) => signal.signal)).toEqual(['hot']);
    // A visit of a known browser delivered late: a rule counts one more occurrence.
    const late = evaluateSignals('acme', rules, before, lead(65, { last_seen: seen, reasons: pricing(2) }), NOW, 'h');
    expect(late.signals.map((signal) => signal.signal)).toEqual(['hot']);
    // Nothing gained (negative points fading, a lower threshold): still no news.
    expect(evaluateSignals('acme', rules, before, lead(65, { last_seen: seen, reasons: pricing(1) }), NOW, 'h').signals).toEqual([]);
    // New rules counting more of what was there: the rules' news, not the lead's.
    expect(evaluateSignals('acme', rules, before, lead(65, { last_seen: seen, reasons: pricing(2) }), NOW, 'new rules').signals).toEqual([]);
  });

  it('does not alert for a lead that is hot without recent activity (rules changed), nor for an anonymous visitor', () => {
    const stale = lead(80, { last_seen: clickHouseTime(NOW - ALERT_MAX_AGE_MS - 60_000) });
    expect(evaluateSignals('acme', rules, undefined, stale, NOW)).toEqual({ hotArmed: false, signals: [] });
    expect(evaluateSignals('acme', rules, undefined, lead(80, { kind: 'visitor', email: '' }), NOW).signals).toEqual([]);
  });
});

describe('behavioural signals', () => {
  const demo = (ms: number): ActiveSignal => ({ signal: 'demo_request', at: clickHouseTime(ms), detail: 'form demo-request' });

  it('alerts for a signal the snapshot did not know, and not again for the same occurrence', () => {
    const steps = replay([{ score: 20 }, { score: 40, signals: [demo(NOW + 50_000)] }, { score: 40, signals: [demo(NOW + 50_000)] }]);
    expect(steps.map((step) => step.signals.map((signal) => signal.signal))).toEqual([[], ['demo_request'], []]);
    expect(steps[1]!.signals[0]).toMatchObject({ summary: 'Asked to talk to sales: form demo-request', triggeredAt: new Date(NOW + 50_000).toISOString() });
    // A download's summary says so once (it read "Downloaded technical documentation: downloaded …").
    const docs: ActiveSignal = { signal: 'docs_download', at: clickHouseTime(NOW + 60_000), detail: 'downloaded /files/security-whitepaper.pdf' };
    expect(replay([{ score: 20 }, { score: 20, signals: [docs] }])[1]!.signals[0]).toMatchObject({ summary: 'Technical documentation: downloaded /files/security-whitepaper.pdf' });
  });

  it('alerts for a new occurrence of a known signal, under a new id', () => {
    const steps = replay([{ score: 40, signals: [demo(NOW - 10_000)] }, { score: 40, signals: [demo(NOW + 30_000)] }]);
    expect(steps.map((step) => step.signals.length)).toEqual([1, 1]);
    expect(steps[0]!.signals[0]!.id).not.toBe(steps[1]!.signals[0]!.id);
  });

  it('alerts for weak signals piling up when they start, not at each visit that keeps them up', () => {
    const weak = (minutes: number, visits: number): ActiveSignal => ({ signal: 'weak_accumulation', at: clickHouseTime(NOW + minutes * 60_000), detail: `${visits} visits in 30 days, up to 2 pages in one` });
    const steps = replay([{ score: 20 }, { score: 25, signals: [weak(1, 5)] }, { score: 30, signals: [weak(2, 6)] }, { score: 30 }, { score: 35, signals: [weak(4, 5)] }]);
    expect(steps.map((step) => step.signals.map((signal) => signal.signal))).toEqual([[], ['weak_accumulation'], [], [], ['weak_accumulation']]);
  });

  it('gives weak signals piling up the same alert id when their start is evaluated again after more events (a retried rescoring, a second collector)', () => {
    // Their time is the end of the latest visit, which moves with every event: it cannot name the start.
    const weak = (ms: number): ActiveSignal => ({ signal: 'weak_accumulation', at: clickHouseTime(ms), detail: '5 visits in 30 days, up to 3 pages in one' });
    const previous = toSnapshot('acme', lead(20), clickHouseTime(NOW - 60_000), true, 'h');
    const first = evaluateSignals('acme', rules, previous, lead(25, { signals: [weak(NOW - 30_000)] }), NOW);
    const again = evaluateSignals('acme', rules, previous, lead(26, { signals: [weak(NOW + 10_000)] }), NOW + 15_000);
    expect(first.signals.map((signal) => signal.signal)).toEqual(['weak_accumulation']);
    expect(again.signals[0]!.id).toBe(first.signals[0]!.id);
    // A start after the state had ended is another alert.
    const ended = toSnapshot('acme', lead(20), clickHouseTime(NOW + 3_600_000), true, 'h');
    const restarted = evaluateSignals('acme', rules, ended, lead(25, { signals: [weak(NOW + 3_700_000)] }), NOW + 3_700_000);
    expect(restarted.signals[0]!.id).not.toBe(first.signals[0]!.id);
  });

  it('alerts for a demo request dated a day and a half-hour back, as a device whose date is a day behind sends it now (QA)', () => {
    // /collect keeps a time up to 25 hours back; such a request was stored, made an MQL, and alerted no one.
    const behind = evaluateSignals('acme', rules, undefined, lead(40, { last_seen: clickHouseTime(NOW - 24.5 * 3_600_000), signals: [demo(NOW - 24.5 * 3_600_000)] }), NOW);
    expect(behind.signals.map((signal) => signal.signal)).toEqual(['demo_request']);
  });

  it('stays quiet about behaviour older than a day: a replayed history is not news', () => {
    const old = evaluateSignals('acme', rules, undefined, lead(40, { signals: [demo(NOW - ALERT_MAX_AGE_MS - 1000)] }), NOW);
    expect(old.signals).toEqual([]);
  });
});
