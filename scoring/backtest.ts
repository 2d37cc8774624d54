import type { LeadScore, Temperature } from './compile.ts';
import { scoreIsMarketingQualified } from './lifecycle.ts';
import { isRecord, type Rules } from './rules.ts';
import { timeOf } from './sql.ts';

/**
 * Backtesting: the same history scored with the current rules and with candidate rules, compared. Which leads
 * change temperature, how many would reach sales (the MQLs: hot, or asked for a demo), and, where sales already
 * judged a lead (prospect or disqualified), how well "score ≥ threshold" picks the prospects under each rule set.
 */

export const TEMPERATURES = ['cold', 'warm', 'hot'] as const satisfies readonly Temperature[];
/** Most rows the default thresholds make: past 200 points they go by 20, past 300 by 30, … */
const MAX_THRESHOLD_ROWS = 20;

/**
 * "Score ≥ N" for N = 10 … 100, or up to the highest score a judged lead reaches under either rule set when that is
 * higher (rules with large points score past 100, and every row above 100 would then read the same), in at most
 * about 20 steps of a multiple of 10.
 */
export function defaultThresholds(judgedScores: number[]): number[] {
  const top = Math.max(100, ...judgedScores);
  const step = 10 * Math.ceil(top / 10 / MAX_THRESHOLD_ROWS);
  // Up to the last threshold that still picks someone.
  return Array.from({ length: Math.floor(top / step) }, (_, i) => (i + 1) * step);
}
const DAY_MS = 86_400_000;

/** Sales' verdict on a lead: a prospect is what a good score predicts, a disqualified lead what it should not pick. */
export type Outcome = 'prospect' | 'disqualified';

export interface BacktestInput {
  current: LeadScore[];
  candidate: LeadScore[];
  /** By lead id; leads without a verdict (never qualified, or still in progress) are left out of precision and recall. */
  outcomes: ReadonlyMap<string, Outcome>;
  /** Only leads seen at or after this moment count. */
  since?: Date | undefined;
  /** How many of the leads whose score or temperature changes most to list (default 10). */
  top?: number | undefined;
  thresholds?: number[] | undefined;
}

export interface ScoreSide {
  score: number;
  temperature: Temperature;
}

export interface Mover {
  leadId: string;
  email: string;
  /** null: this rule set does not score the lead (countBots differs). */
  current: ScoreSide | null;
  candidate: ScoreSide | null;
  /** Candidate score minus current score, a side that does not score the lead counting 0. */
  change: number;
}

/** A lead that becomes an MQL under the candidate rules, or is one no longer: the first `top` of each, by email. */
export interface MqlChange {
  leadId: string;
  email: string;
}

/** "Score ≥ threshold" (or "hot", or "MQL") as a predictor of prospect, over the leads with a verdict. */
export interface Prediction {
  /** Leads with a verdict that the predictor picks. */
  selected: number;
  /** Of those, the prospects. */
  truePositives: number;
  /** truePositives / selected; null when it picks none. */
  precision: number | null;
  /** truePositives / prospects; null when there are no prospects. */
  recall: number | null;
}

export interface ThresholdRow {
  /**
   * A score threshold; "hot": each rule set's own hot temperature (score above its `thresholds.hot`); or "mql": each
   * rule set's MQLs, the leads handed to sales (hot, or asked for a demo: lifecycle.ts).
   */
  threshold: number | 'hot' | 'mql';
  current: Prediction;
  candidate: Prediction;
}

/**
 * The leads compared are those either rule set scores. When one counts automated browsers and the other does not, a
 * lead seen only through one is scored by that rule set alone: "not scored" under the other, it changes temperature
 * and score, and enters or leaves the MQLs when it is one, so that every figure adds up over the same leads.
 */
export interface BacktestReport {
  /** Identified leads scored by either rule set. */
  leads: number;
  /** Of those, the leads only one rule set scores. */
  onlyCurrent: number;
  onlyCandidate: number;
  /** Each rule set's leads per temperature (a column sums to `leads` less the leads that rule set does not score). */
  temperatures: Record<Temperature, { current: number; candidate: number }>;
  /**
   * movements[from][to]: leads that are `from` under the current rules and `to` under the candidate, `notScored` under
   * the rule set that does not score them (countBots differs), so that a row sums to the current rules' leads of its
   * temperature and a column to the candidate's.
   */
  movements: Record<Standing, Record<Standing, number>>;
  /** Leads whose temperature changes, those only one rule set scores included. */
  moved: number;
  /** Leads whose score changes, those only one rule set scores included. */
  rescored: number;
  /** The leads whose score or temperature changes, most change first (those changing temperature first on a tie). */
  topMovers: Mover[];
  /** How many leads change score or temperature: topMovers is the first `top` of them. */
  movers: number;
  /**
   * MQLs, the leads handed to sales (lifecycle.ts: hot, or asked for a demo; sales' verdicts are what the report
   * measures rules against, so they take no lead out): how many under each rule set, how many become one, how many
   * no longer are (a lead a rule set does not score is no MQL under it): candidate - current = entering - leaving.
   */
  mql: { current: number; candidate: number; entering: number; leaving: number; newlyMql: MqlChange[]; noLongerMql: MqlChange[] };
  outcomes: { prospects: number; disqualified: number };
  precisionRecall: ThresholdRow[];
}

const byTemperature = <T>(make: () => T) => Object.fromEntries(TEMPERATURES.map((t) => [t, make()])) as Record<Temperature, T>;

/** A lead's temperature under one rule set, or `notScored` when that rule set does not score it. */
export type Standing = Temperature | 'notScored';
export const STANDINGS = [...TEMPERATURES, 'notScored'] as const satisfies readonly Standing[];
const byStanding = <T>(make: () => T) => Object.fromEntries(STANDINGS.map((t) => [t, make()])) as Record<Standing, T>;

/**
 * The rules with their window narrowed to start at `since`: behaviour before it gives no points, while, as with
 * the window itself, declarative answers and identity still count whenever they were given. A fractional window
 * is fine for scoring (it only computes the window's start); it is never written back to a config.
 */
export function rulesSince(rules: Rules, since: Date, now: Date): Rules {
  const days = (now.getTime() - since.getTime()) / DAY_MS;
  if (!(days > 0)) throw new RangeError(`the start of the backtest (${since.toISOString()}) must be before its end (${now.toISOString()})`);
  return { ...rules, windowDays: Math.min(rules.windowDays, days) };
}

function predict(scores: Map<string, LeadScore>, outcomes: Map<string, Outcome>, picks: (score: LeadScore) => boolean, prospects: number): Prediction {
  let selected = 0;
  let truePositives = 0;
  for (const [leadId, outcome] of outcomes) {
    const score = scores.get(leadId);
    // A lead this rule set does not score is not picked.
    if (!score || !picks(score)) continue;
    selected++;
    if (outcome === 'prospect') truePositives++;
  }
  return {
    selected,
    truePositives,
    precision: selected ? truePositives / selected : null,
    recall: prospects ? truePositives / prospects : null,
  };
}

export function backtest(input: BacktestInput): BacktestReport {
  const since = input.since?.getTime();
  // Anonymous visitors are not leads yet: MQL volume and sales outcomes are about people who gave an email.
  const keep = (scores: LeadScore[]) =>
    new Map(scores.filter((s) => s.kind === 'lead' && (since === undefined || timeOf(s.last_seen) >= since)).map((s) => [s.lead_id, s]));
  const current = keep(input.current);
  const candidate = keep(input.candidate);

  const temperatures = byTemperature(() => ({ current: 0, candidate: 0 }));
  for (const score of current.values()) temperatures[score.temperature].current++;
  for (const score of candidate.values()) temperatures[score.temperature].candidate++;

  const movements = byStanding(() => byStanding(() => 0));
  const movers: Mover[] = [];
  let moved = 0;
  let rescored = 0;
  // Each rule set's own signals: a demo request is one under both, unless the candidate names other request forms.
  const isMql = scoreIsMarketingQualified;
  const countMqls = (scores: Map<string, LeadScore>) => [...scores.values()].filter(isMql).length;
  const entered: MqlChange[] = [];
  const left: MqlChange[] = [];
  const side = (s: LeadScore | undefined): ScoreSide | null => (s ? { score: s.score, temperature: s.temperature } : null);
  const leadIds = new Set([...current.keys(), ...candidate.keys()]);
  for (const leadId of leadIds) {
    const before = current.get(leadId);
    const after = candidate.get(leadId);
    movements[before?.temperature ?? 'notScored'][after?.temperature ?? 'notScored']++;
    const [wasMql, isNowMql] = [before !== undefined && isMql(before), after !== undefined && isMql(after)];
    if (wasMql !== isNowMql) (isNowMql ? entered : left).push({ leadId, email: (before ?? after)!.email });
    const change = (after?.score ?? 0) - (before?.score ?? 0);
    const changesScore = change !== 0 || !before || !after;
    const changesTemperature = before?.temperature !== after?.temperature;
    if (changesScore) rescored++;
    if (changesTemperature) moved++;
    // A lead that changes temperature at the same score (the candidate moves the thresholds) moves too: listed.
    if (changesScore || changesTemperature) movers.push({ leadId, email: (before ?? after)!.email, current: side(before), candidate: side(after), change });
  }
  // Most change first; of as much change, those that change temperature (what sales see) before the others.
  const crosses = (m: Mover) => (m.current?.temperature !== m.candidate?.temperature ? 1 : 0);
  movers.sort((a, b) => Math.abs(b.change) - Math.abs(a.change) || crosses(b) - crosses(a) || a.leadId.localeCompare(b.leadId));

  const outcomes = new Map([...input.outcomes].filter(([leadId]) => current.has(leadId) || candidate.has(leadId)));
  const prospects = [...outcomes.values()].filter((outcome) => outcome === 'prospect').length;
  const judgedScores = [...outcomes.keys()].flatMap((leadId) => [current.get(leadId)?.score ?? [], candidate.get(leadId)?.score ?? []].flat());
  const row = (threshold: ThresholdRow['threshold']): ThresholdRow => {
    const picks = threshold === 'hot' ? (s: LeadScore) => s.temperature === 'hot' : threshold === 'mql' ? isMql : (s: LeadScore) => s.score >= threshold;
    return { threshold, current: predict(current, outcomes, picks, prospects), candidate: predict(candidate, outcomes, picks, prospects) };
  };

  // A lead can enter or leave the MQLs at the same score and temperature (a demo request form the candidate no longer
  // counts): named, since the movers list does not hold it.
  const firstOf = (changes: MqlChange[]) => changes.sort((a, b) => a.email.localeCompare(b.email) || a.leadId.localeCompare(b.leadId)).slice(0, input.top ?? 10);
  const mql = { current: countMqls(current), candidate: countMqls(candidate), entering: entered.length, leaving: left.length, newlyMql: firstOf(entered), noLongerMql: firstOf(left) };
  const both = [...current.keys()].filter((leadId) => candidate.has(leadId)).length;
  return {
    leads: leadIds.size,
    onlyCurrent: current.size - both,
    onlyCandidate: candidate.size - both,
    temperatures,
    movements,
    moved,
    rescored,
    topMovers: movers.slice(0, input.top ?? 10),
    movers: movers.length,
    mql,
    outcomes: { prospects, disqualified: outcomes.size - prospects },
    precisionRecall: [...(input.thresholds ?? defaultThresholds(judgedScores)).map(row), row('hot'), row('mql')],
  };
}

/** The rule lists a candidate changes rule by rule (their rules have ids). */
const RULE_LISTS = ['fit', 'engagement', 'negative', 'source'] as const;
/** The rest of a rule set: a value, or an object compared key by key. */
const RULE_SETTINGS = ['decay', 'windowDays', 'thresholds', 'funnel', 'signals', 'countBots'] as const;

/**
 * What the candidate changes in the rules, as `list/id` (`engagement/pricing-page`): the rules it drops, adds and
 * changes, and the settings it changes, by path (`thresholds.hot`, and `signals.hotRearmBelow` that follows it when
 * neither rule set sets it). A file that gives a list replaces the whole list, so a rule it leaves out of that list
 * is dropped: said here rather than found in the scores.
 */
export interface RuleChanges {
  dropped: string[];
  added: string[];
  changed: string[];
  settings: string[];
}

export function ruleChanges(current: Rules, candidate: Rules): RuleChanges {
  const changes: RuleChanges = { dropped: [], added: [], changed: [], settings: [] };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const list of RULE_LISTS) {
    const before = new Map<string, unknown>(current[list].map((rule) => [rule.id, rule]));
    const after = new Map<string, unknown>(candidate[list].map((rule) => [rule.id, rule]));
    for (const [id, rule] of before) {
      if (!after.has(id)) changes.dropped.push(`${list}/${id}`);
      else if (!same(rule, after.get(id))) changes.changed.push(`${list}/${id}`);
    }
    for (const id of after.keys()) if (!before.has(id)) changes.added.push(`${list}/${id}`);
  }
  for (const key of RULE_SETTINGS) {
    const [before, after]: unknown[] = [current[key], candidate[key]];
    if (same(before, after)) continue;
    // An object setting by its keys: which threshold, which signal setting, which page group's stage.
    if (isRecord(before) && isRecord(after)) {
      const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
      changes.settings.push(...keys.filter((inner) => !same(before[inner], after[inner])).map((inner) => `${key}.${inner}`));
    } else changes.settings.push(key);
  }
  return changes;
}
