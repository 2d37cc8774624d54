import { createHash } from 'node:crypto';
import type { ActiveSignal, LeadScore } from '../compile.ts';
import type { Rules } from '../rules.ts';
import { isoTime, timeOf } from '../sql.ts';
import type { StoredScore } from '../snapshots.ts';
import { reasonsOf, signalsOf } from '../snapshots.ts';
import type { Signal } from './alert.ts';

/** A signal worth telling sales about, before the lead's details (owner, account, link) are added. */
export interface SignalEvent {
  id: string;
  signal: Signal;
  summary: string;
  triggeredAt: string;
}

export interface Evaluation {
  /** The hysteresis state to store with the new snapshot. */
  hotArmed: boolean;
  signals: SignalEvent[];
}

/**
 * Behaviour older than this does not alert: a rules change or a replayed history is not news for sales. A day, and
 * the two hours more that /collect keeps a browser's time from (25 hours back: a device whose date is a day behind),
 * and a round to score it: a demo request such a device sent just now alerts.
 */
export const ALERT_MAX_AGE_MS = 26 * 3_600_000;

const SUMMARIES: Record<ActiveSignal['signal'], string> = {
  demo_request: 'Asked to talk to sales',
  pricing_dwell: 'Spent a long time on pricing',
  pricing_returns: 'Keeps coming back to pricing',
  // Its detail says what: "Technical documentation: downloaded security-whitepaper.pdf".
  docs_download: 'Technical documentation',
  weak_accumulation: 'Visits often or reads a lot',
};

/**
 * Signals that are a state rather than an act: news when they start, not at each event that keeps them up (every
 * further page view of a regular visitor would be another alert).
 */
const STATES: ReadonlySet<Signal> = new Set(['weak_accumulation']);

/** The idempotency key of an alert: the same trigger always gives the same id, however often it is evaluated. */
export const alertId = (site: string, leadId: string, signal: Signal, trigger: string) =>
  'al_' + createHash('sha256').update(`${site}\u0000${leadId}\u0000${signal}\u0000${trigger}`).digest('hex').slice(0, 24);

/**
 * What names an alert of a lead with no snapshot yet: its first event's time. A lead erased (its snapshots deleted
 * with it) that comes back with new visits, or one whose snapshots the retention TTL removed, is another episode: a
 * fixed "first" gave its alert the id of the erased one's, which the dispatcher then held as a stale copy for minutes
 * and receivers dropped as a repeat of a webhook-id they had processed.
 */
const firstTrigger = (next: LeadScore) => `first ${next.first_seen}`;

/**
 * Whether, under the rules of its snapshot, the lead did something the snapshot did not know although its last event
 * is no later: a browser joined it (a phone whose clock runs slow identifying), or a rule counted more of its
 * occurrences (a retry queue delivering a visit late). Both are news; decay and a window's end only ever take away.
 */
function gainedSince(previous: StoredScore, next: LeadScore, rulesHash: string | undefined): boolean {
  if (rulesHash === undefined || previous.rules_hash !== rulesHash) return false;
  if (next.visitor_ids.some((visitor) => !previous.visitor_ids.includes(visitor))) return true;
  const counted = new Map(reasonsOf(previous).map((reason) => [reason.rule, reason.count]));
  return next.reasons.some((reason) => reason.count > (counted.get(reason.rule) ?? 0));
}

/**
 * Compares a lead's new score with its last snapshot and says which buying signals are news (none when only the
 * rules changed, `rulesHash` being the rules' now):
 * - "became hot" when the score is above the hot threshold, the lead was armed (it never alerted, or fell below
 *   `signals.hotRearmBelow` since) and was seen since the snapshot (gainedSince too), in the last day; a hot score with activity
 *   disarms, a fall of its own below the mark re-arms (not one the rules alone made);
 * - a behavioural signal when it happened again (a later time than the snapshot knew) in the last day; a state
 *   (weak accumulation) when it starts, that is when the snapshot did not show it.
 * Pure: the trigger, not the moment of evaluation, names the alert, so evaluating twice never makes two alerts.
 */
export function evaluateSignals(site: string, rules: Rules, previous: StoredScore | undefined, next: LeadScore, now: number, rulesHash?: string): Evaluation {
  const events: SignalEvent[] = [];
  const recent = (at: string) => now - timeOf(at) <= ALERT_MAX_AGE_MS;
  const wasArmed = previous ? previous.hot_armed === 1 : true;
  const hot = next.temperature === 'hot';
  // Seen since its snapshot. A lead that turns hot with no new event (new rules, a lower threshold; negative points
  // fading) is not news: it stays armed, and its next visit, hot, alerts.
  // What it gained is read only for a hot lead, where it can alert (a full pass evaluates every lead of the site).
  const active = !previous || previous.kind === 'gone' || timeOf(next.last_seen) > timeOf(previous.last_seen) || (hot && gainedSince(previous, next, rulesHash));
  if (hot && wasArmed && active && next.kind === 'lead' && recent(next.last_seen)) {
    events.push({
      // The snapshot this one follows names the crossing: a restart re-evaluating it finds the same one.
      id: alertId(site, next.lead_id, 'hot', previous?.scored_at ?? firstTrigger(next)),
      signal: 'hot',
      // The signal's label and the score head every message already ("Became hot: Ada Lovelace, score 72 (hot)").
      summary: `Above the hot threshold of ${rules.thresholds.hot} points`,
      triggeredAt: isoTime(next.last_seen),
    });
  }
  const rulesChanged = previous !== undefined && rulesHash !== undefined && previous.rules_hash !== rulesHash;
  // Re-armed when the lead's own score fell below the mark, under the rules that scored it before. A score the rules
  // alone put there (new rules, or a change reverted) is no cooling down: it re-armed a lead that had alerted, whose
  // next visit, once the rules were changed back, alerted "became hot" a second time with nothing new done.
  const mark = rules.signals.hotRearmBelow;
  const fell = next.score < mark && (previous === undefined || previous.kind === 'gone' || (!rulesChanged && previous.score >= mark));
  const hotArmed = next.score < mark ? fell || wasArmed : hot && active ? false : wasArmed;
  // What new rules find with no new event (a wider request form, fewer visits for weak signals) is the rules' news,
  // not the lead's: the snapshot records it, and nothing alerts.
  if (!active && rulesChanged) return { hotArmed, signals: events };
  // Active under new rules (a visit came before the full pass after a restart reached the lead): the snapshot's
  // signals are the old rules', so only what happened after it is news. A pricing visit of before, which the new rules
  // now find long enough, alerted for the lead that came back first and for no one who came back after the pass.
  const newsSince = rulesChanged ? timeOf(previous.last_seen) : -Infinity;

  const known = new Map((previous ? signalsOf(previous) : []).map((signal) => [signal.signal, signal.at]));
  for (const signal of next.signals) {
    if (next.kind !== 'lead' || !recent(signal.at) || timeOf(signal.at) <= newsSince) continue;
    const before = known.get(signal.signal);
    if (before !== undefined && (STATES.has(signal.signal) || timeOf(before) >= timeOf(signal.at))) continue;
    events.push({
      // A state's time moves with every event that keeps it up (weak signals: the end of the latest visit), so, as for
      // "became hot", the snapshot it follows names its start: evaluated again after more events, it is the same alert.
      id: alertId(site, next.lead_id, signal.signal, STATES.has(signal.signal) ? (previous?.scored_at ?? firstTrigger(next)) : signal.at),
      signal: signal.signal,
      summary: `${SUMMARIES[signal.signal]}: ${signal.detail}`,
      triggeredAt: isoTime(signal.at),
    });
  }
  return { hotArmed, signals: events };
}
