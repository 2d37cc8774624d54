import { isMarketingQualified } from '../../scoring/lifecycle.ts';
import type { FunnelResponse, FunnelStep, LeadQuality, Lifecycle, ScoreBucket, Stage, SummaryResponse, Temperature } from './dashboard-types.ts';

/**
 * The marketing panels' arithmetic over the identified leads seen in a period: pure functions of one list (read
 * once per period by dashboard-queries.ts) and sales' verdicts, so four panels cost one query and no SQL.
 */

/** An identified lead seen in the period or the one before, with its current score. */
export interface ActiveLead {
  id: string;
  temperature: Temperature;
  stage: Stage | '';
  score: number;
  /** A demo request among its current buying signals (lifecycle.ts: it makes the lead an MQL). */
  askedForDemo: boolean;
  /** Its first touch: utm_source, else the referring host, else "(direct)". */
  source: string;
  inCurrent: boolean;
  inPrevious: boolean;
}

/** Sales' decisions on leads (lead_qualifications judged against the site's policy). */
export interface Verdicts {
  prospects: Set<string>;
  disqualified: Set<string>;
  owners: Map<string, string>;
}

export const FUNNEL_STEPS = ['TOFU', 'MOFU', 'BOFU', 'MQL', 'prospect'] as const satisfies readonly FunnelStep[];

/** Where an identified lead stands: sales' decisions first, then the score and signals (hot, or asked for a demo, is an MQL). */
export function lifecycleOf(lead: Pick<ActiveLead, 'id' | 'temperature' | 'askedForDemo'>, verdicts: Verdicts): Lifecycle {
  if (verdicts.disqualified.has(lead.id)) return 'disqualified';
  if (verdicts.prospects.has(lead.id)) return 'prospect';
  return isMarketingQualified(lead) ? 'mql' : 'lead';
}

type LeadKpis = Pick<SummaryResponse['kpis'], 'identifiedLeads' | 'warm' | 'hot' | 'mqls' | 'prospects'>;

export function leadKpis(leads: ActiveLead[], verdicts: Verdicts): LeadKpis {
  const kpis: LeadKpis = {
    identifiedLeads: { current: 0, previous: 0 },
    warm: { current: 0, previous: 0 },
    hot: { current: 0, previous: 0 },
    mqls: { current: 0, previous: 0 },
    prospects: { current: 0, previous: 0 },
  };
  for (const lead of leads) {
    const lifecycle = lifecycleOf(lead, verdicts);
    for (const [when, seen] of [['current', lead.inCurrent], ['previous', lead.inPrevious]] as const) {
      if (!seen) continue;
      kpis.identifiedLeads[when]++;
      if (lead.temperature === 'warm') kpis.warm[when]++;
      if (lead.temperature === 'hot') kpis.hot[when]++;
      if (lifecycle === 'mql') kpis.mqls[when]++;
      if (lifecycle === 'prospect') kpis.prospects[when]++;
    }
  }
  return kpis;
}

/** 1 TOFU … 3 BOFU, 4 MQL, 5 prospect: the furthest step a lead reached; 0 before any funnel content. */
export function funnelRank(lead: Pick<ActiveLead, 'stage'>, lifecycle: Lifecycle): number {
  if (lifecycle === 'prospect') return 5;
  if (lifecycle === 'mql') return 4;
  return lead.stage ? FUNNEL_STEPS.indexOf(lead.stage) + 1 : 0;
}

/** Each lead sits at its furthest step; a step counts the leads at it or beyond, and converts from the one before. */
export function funnelOf(leads: ActiveLead[], verdicts: Verdicts): Pick<FunnelResponse, 'leads' | 'steps'> {
  const reached = FUNNEL_STEPS.map(() => 0);
  for (const lead of leads) {
    const rank = funnelRank(lead, lifecycleOf(lead, verdicts));
    for (let step = 0; step < rank; step++) reached[step]!++;
  }
  return {
    leads: leads.length,
    steps: FUNNEL_STEPS.map((step, i) => ({
      step,
      leads: reached[i]!,
      // None at the step before: no share to give (0 would chart as a step where every lead stopped).
      conversion: i > 0 && reached[i - 1]! > 0 ? reached[i]! / reached[i - 1]! : null,
    })),
  };
}

/**
 * Leads, average score and hot leads per group, of pairs (group, lead): a first-touch source, a kind of device. A lead
 * in two groups counts in each (visitors are counted from events elsewhere).
 */
export function leadQuality(grouped: Iterable<readonly [string, ActiveLead]>): Map<string, LeadQuality> {
  const byGroup = new Map<string, { leads: number; scores: number; hotLeads: number }>();
  for (const [group, lead] of grouped) {
    const entry = byGroup.get(group) ?? { leads: 0, scores: 0, hotLeads: 0 };
    entry.leads++;
    entry.scores += lead.score;
    if (lead.temperature === 'hot') entry.hotLeads++;
    byGroup.set(group, entry);
  }
  return new Map(
    [...byGroup].map(([group, { leads: count, scores, hotLeads }]) => [
      group,
      { leads: count, averageScore: Math.round((scores / count) * 10) / 10, hotLeads, hotShare: hotLeads / count },
    ]),
  );
}

/** A group with no lead. */
export const NO_LEADS: LeadQuality = Object.freeze({ leads: 0, averageScore: 0, hotLeads: 0, hotShare: 0 });

/**
 * Leads per score bucket of `size` points (a bucket starts at a multiple of it), empty buckets included, split by each
 * lead's own temperature: the thresholds are the site's and need not fall on a bucket's edge (60 is warm, 61 hot).
 */
export function scoreBuckets(leads: ActiveLead[], size: number): ScoreBucket[] {
  if (leads.length === 0) return [];
  const counts = new Map<number, ScoreBucket>();
  const bucketOf = (from: number) => counts.get(from) ?? { from, leads: 0, cold: 0, warm: 0, hot: 0 };
  for (const lead of leads) {
    const bucket = bucketOf(Math.floor(lead.score / size) * size);
    bucket.leads++;
    bucket[lead.temperature]++;
    counts.set(bucket.from, bucket);
  }
  const lowest = Math.min(...counts.keys());
  const highest = Math.max(...counts.keys());
  const buckets: ScoreBucket[] = [];
  for (let from = lowest; from <= highest; from += size) buckets.push(bucketOf(from));
  return buckets;
}
