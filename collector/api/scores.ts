import type { ClickHouseClient } from '@clickhouse/client';
import { defaultRules, scoreLeads, type LeadScore, type Rules } from '../../scoring/index.ts';
import type { LeadSlice } from '../../scoring/compile.ts';
import type { QualificationVerdict } from '../../scoring/qualification.ts';
import type { HearthConfig, SiteConfig } from '../config/schema.ts';
import { reasonsOf, signalsOf, type StoredScore } from '../../scoring/snapshots.ts';
import { isoTime } from '../../scoring/sql.ts';
import { scoreIsMarketingQualified } from '../../scoring/lifecycle.ts';
import { numberOf } from '../../scoring/normalize.ts';
import { leadActivity } from './leads.ts';
import { MAX_FUTURE_MS } from '../ingest/rows.ts';
import { rulePatterns, type WrittenPattern } from '../../scoring/patterns.ts';

const defaultRulesOf = new WeakMap<SiteConfig, Rules>();

/** The rules a site scores with: its own, else the default grid over its page groups (built once per site). */
export function rulesOf(site: SiteConfig): Rules {
  if (site.rules) return site.rules;
  let rules = defaultRulesOf.get(site);
  if (!rules) defaultRulesOf.set(site, (rules = defaultRules(site.pageGroups)));
  return rules;
}

/** Whether a site's rules count automated browsers: their emails then share out visits too (lead-store's visitsOf). */
export const siteCountsBots = (config: HearthConfig, site: string): boolean => rulesOf(config.sites.find((candidate) => candidate.id === site)!).countBots;

/** A site's rules' patterns, each at its path in the config (`sites[1].rules.fit[0].pattern`): what unrunnablePatterns checks. */
export const sitePatterns = (site: SiteConfig, index: number): WrittenPattern[] => rulePatterns(rulesOf(site), `sites[${index}].rules`);

export interface ScoreOptions {
  /** Count automated browsers' events even when the rules do not. */
  countBots?: boolean;
  now?: Date;
  /** ClickHouse settings for the query, over the scoring's own. */
  settings?: Record<string, number> | undefined;
  /** Score one slice of the site's leads (compileScoring's `slice`). */
  slice?: LeadSlice | undefined;
}

/**
 * Scores a site's leads from raw events, or only the leads of `visitors`. The collector keeps event times a little
 * ahead of its clock (a client's clock running fast): every scoring counts them, the collector's rescoring as the
 * API's on the spot, so a score never flips with the scope or with who computes it.
 */
export function scoreSite(client: ClickHouseClient, site: SiteConfig, visitors?: string[], options: ScoreOptions = {}): Promise<LeadScore[]> {
  const rules = rulesOf(site);
  const now = options.now ?? new Date();
  const until = new Date(now.getTime() + MAX_FUTURE_MS);
  return scoreLeads(client, options.countBots ? { ...rules, countBots: true } : rules, { site: site.id, pageGroups: site.pageGroups, visitors, now, until, slice: options.slice }, options.settings);
}

/** Where a lead stands: visitor → lead → MQL (hot, or asked for a demo) → prospect (qualified by sales), or disqualified. */
export type Lifecycle = 'visitor' | 'lead' | 'mql' | 'prospect' | 'disqualified';

/**
 * `score` undefined: an identified lead with no score (seen only through automated browsers, rules not counting
 * them), which sales may still qualify or disqualify.
 */
export function lifecycleOf(score: LeadScore | undefined, qualification: QualificationVerdict | undefined): Lifecycle {
  if (qualification?.disqualified) return 'disqualified';
  if (qualification?.prospect) return 'prospect';
  if (score?.kind === 'visitor') return 'visitor';
  return score && scoreIsMarketingQualified(score) ? 'mql' : 'lead';
}

/** Where a lead stands and who owns it, as the API shows them (a lead with no score too). */
export const standingOf = (score: LeadScore | undefined, qualification: QualificationVerdict | undefined) => ({
  lifecycle: lifecycleOf(score, qualification),
  owner: qualification?.owner || null,
});

/**
 * The score's fields of a lead with no score (seen only through automated browsers, the rules not counting them), as
 * presentScore names them: the same keys, none left out, `null` or empty.
 */
export const UNSCORED = { score: null, fit: null, engagement: null, sourcePoints: null, source: null, negative: null, temperature: null, stage: null, reasons: [], signals: [], firstTouch: null } as const;

/** A score as the API shows it. */
export function presentScore(score: LeadScore, qualification?: QualificationVerdict) {
  return {
    ...standingOf(score, qualification),
    score: score.score,
    fit: score.fit,
    engagement: score.engagement,
    // The source rules' points, as the dashboards' list and the CSV name them (sourcePoints, source_points); `source`
    // says the same, kept for the integrations written before (the dashboards' list calls the channel `source`).
    sourcePoints: score.source,
    source: score.source,
    negative: score.negative,
    temperature: score.temperature,
    stage: score.stage || null,
    reasons: score.reasons,
    signals: score.signals.map((signal) => ({ ...signal, at: isoTime(signal.at) })),
    firstTouch: score.first_touch,
  };
}

/** Leads as lists show them (`GET /api/leads`, `hearth score --json`), each with its counts of events and page views. */
export async function listedLeads(
  client: ClickHouseClient,
  site: SiteConfig,
  scores: LeadScore[],
  verdictOf: (leadId: string) => QualificationVerdict | undefined,
  /** Whether the scores counted automated browsers (the rules do, or the list was asked to: `bots=include`). */
  countBots = rulesOf(site).countBots,
) {
  const activity = await leadActivity(client, site.id, scores.map((score) => ({ id: score.lead_id, visitorIds: score.visitor_ids })), countBots);
  return scores.map((score) => ({
    id: score.lead_id,
    kind: score.kind,
    email: score.email || null,
    visitorIds: [...score.visitor_ids].sort(),
    ...activity.get(score.lead_id)!,
    firstSeen: isoTime(score.first_seen),
    lastSeen: isoTime(score.last_seen),
    ...presentScore(score, verdictOf(score.lead_id)),
  }));
}

/** A stored score (lead_scores) in the shape of a freshly computed one, so both present alike. */
export function scoreOfSnapshot(row: StoredScore): LeadScore {
  return {
    lead_id: row.lead_id,
    kind: row.kind === 'lead' ? 'lead' : 'visitor',
    email: row.email,
    visitor_ids: row.visitor_ids,
    shared_visits: row.shared_visits,
    score: row.score,
    fit: row.fit,
    engagement: row.engagement,
    source: row.source,
    negative: row.negative,
    temperature: row.temperature,
    stage: row.stage,
    reasons: reasonsOf(row),
    profile: row.profile,
    seniority: row.seniority as LeadScore['seniority'],
    country: row.country,
    company_size_min: numberOf(row.profile.company_size ?? ''),
    first_touch: { utm_source: row.utm_source, utm_medium: row.utm_medium, referrer_host: row.referrer_host },
    first_seen: row.first_seen,
    last_seen: row.last_seen,
    signals: signalsOf(row),
  };
}
