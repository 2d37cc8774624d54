import { countryCodeOf, countryCodeSql, numberSql, senioritySql, words, wordsSql, type Seniority } from './normalize.ts';
import { STAGES, type EngagementRule, type FitRule, type NegativeRule, type PageGroups, type Rules, type SourceRule, type Stage } from './rules.ts';
import { SqlParams, toClickHouseTime } from './sql.ts';
import type { Signal } from './alerts/alert.ts';
import type { SignalRules } from './rules.ts';

export interface ScoringOptions {
  site: string;
  /** Score only the leads these visitors belong to (each with all its visitors); every lead of the site when absent. */
  visitors?: string[] | undefined;
  /** The site's page groups (sites[].pageGroups), which rules and the funnel name. */
  pageGroups?: PageGroups | undefined;
  /** Score as of this moment: later events are ignored, and decay and the window count back from it. */
  now?: Date | undefined;
}

export interface CompiledScoring {
  query: string;
  query_params: Record<string, unknown>;
  /** The settings the query needs: its shared steps are MATERIALIZED CTEs (ClickHouse 25.x and later). */
  clickhouse_settings: Record<string, number>;
}

export type RuleKind = 'fit' | 'engagement' | 'negative' | 'source';
export type Temperature = 'cold' | 'warm' | 'hot';

/** One rule that gave (or took) points: how often it matched in the window, its decayed points, whether its cap cut in. */
export interface ScoreReason {
  rule: string;
  kind: RuleKind;
  count: number;
  points: number;
  capped: boolean;
}

/** One row of the scoring query (JSONEachRow). */
export interface LeadScore {
  /** `l_` + a hash of the email for an identified lead (as /api/leads names it), `v_<visitor id>` for an anonymous visitor. */
  lead_id: string;
  kind: 'lead' | 'visitor';
  email: string;
  visitor_ids: string[];
  score: number;
  fit: number;
  engagement: number;
  source: number;
  negative: number;
  temperature: Temperature;
  stage: Stage | '';
  /** Highest points first. */
  reasons: ScoreReason[];
  /** The latest non-empty answer per declarative field, across the lead's forms and identify traits. */
  profile: Record<string, string>;
  seniority: Seniority | '';
  /** ISO 3166-1 alpha-2, '' when the answer names no known country. */
  country: string;
  company_size_min: number | null;
  /** The earliest session that came from somewhere (utm tags or a referrer). */
  first_touch: { utm_source: string; utm_medium: string; referrer_host: string };
  first_seen: string;
  last_seen: string;
  /** The buying signals the lead showed within the window, each with the last time it happened. */
  signals: ActiveSignal[];
}

/** A buying signal a lead shows: which, when it last happened (ClickHouse time, UTC), and what it was. */
export interface ActiveSignal {
  signal: Exclude<Signal, 'hot'>;
  at: string;
  detail: string;
}

/** Where a rule looks: the lead's merged answers, one event or page visit, or the first-touch source. */
type Scope = 'profile' | 'event' | 'source';

interface CompiledRule {
  id: string;
  kind: RuleKind;
  scope: Scope;
  condition: string;
  points: number;
  cap: number;
  halfLifeDays: number;
  stageRank: number;
}

/** No cap: larger than any count of events. */
const UNCAPPED = 4_294_967_295;
const DAY_MS = 86_400_000;

const escapeRegex = (text: string) => text.replace(/[\\^$.|?+()[\]{}]/g, '\\$&');

/** Globs ("/pricing*", "*white*paper*") → one case-insensitive anchored RE2 pattern matching any of them. */
export function globsToRegex(globs: string[]): string {
  return `(?i)^(?:${globs.map((glob) => glob.split('*').map(escapeRegex).join('.*')).join('|')})$`;
}

function fieldCondition(rule: FitRule | NegativeRule, i: number, p: SqlParams): string {
  const field = rule.field!;
  const derived: Record<string, string> = { seniority: 'seniority', email_domain: 'email_domain', email: 'email' };
  const raw = derived[field] ?? `fields[${p.bind(`r${i}_field`, field)}]`;
  const bindValues = (values: string[]) => p.bind(`r${i}_values`, values, 'Array(String)');
  if (rule.values) {
    if (field === 'seniority') return `has(${bindValues(rule.values)}, seniority)`;
    if (field === 'country') return `has(${bindValues(rule.values.map((value) => countryCodeOf(value)!))}, country_code)`;
    if (field === 'email_domain') {
      const domains = bindValues(rule.values.map((value) => value.trim().toLowerCase().replace(/^[@.]+/, '')));
      return `(email_domain != '' AND arrayExists(d -> email_domain = d OR endsWith(email_domain, concat('.', d)), ${domains}))`;
    }
    if (field === 'email') return `has(${bindValues(rule.values.map((value) => value.trim().toLowerCase()))}, email)`;
    return `has(${bindValues(rule.values.map(words))}, ${wordsSql(raw, p)})`;
  }
  if (rule.pattern !== undefined) return `(${raw} != '' AND match(${raw}, ${p.bind(`r${i}_pattern`, `(?i)${rule.pattern}`)}))`;
  const range = rule.range!;
  const number = field === 'company_size' ? 'company_size_min' : numberSql(raw, p);
  const bounds = [
    range.min !== undefined ? `${number} >= ${p.bind(`r${i}_min`, range.min, 'Float64')}` : '',
    range.max !== undefined ? `${number} <= ${p.bind(`r${i}_max`, range.max, 'Float64')}` : '',
  ].filter(Boolean);
  return `ifNull(${bounds.join(' AND ')}, 0)`;
}

function eventCondition(rule: EngagementRule | NegativeRule, i: number, p: SqlParams, pageGroups: PageGroups, path: string): string {
  const parts = [`type = ${p.bind(`r${i}_event`, rule.event)}`];
  // A dwell rule counts page visits (a page's views and engaged time in one session); others count single events.
  if (rule.minEngagedSeconds !== undefined) parts.push(`unit = 'visit'`, `engaged_ms >= ${p.bind(`r${i}_engaged_ms`, Math.round(rule.minEngagedSeconds * 1000), 'UInt64')}`);
  else parts.push(`unit = 'event'`);
  if (rule.pageGroup !== undefined) {
    const patterns = pageGroups[rule.pageGroup];
    if (!patterns) throw new Error(`${path}.pageGroup: the site has no page group "${rule.pageGroup}" (it has: ${Object.keys(pageGroups).join(', ') || 'none'})`);
    parts.push(`match(path, ${p.bind(`r${i}_page_group`, globsToRegex(patterns))})`);
  }
  if (rule.paths) parts.push(`match(path, ${p.bind(`r${i}_paths`, globsToRegex(rule.paths))})`);
  if (rule.assets) {
    const assets = p.bind(`r${i}_assets`, globsToRegex(rule.assets));
    parts.push(`(match(name, ${assets}) OR match(link_url, ${assets}))`);
  }
  if (rule.forms) parts.push(`match(name, ${p.bind(`r${i}_forms`, globsToRegex(rule.forms))})`);
  if (rule.names) parts.push(`match(name, ${p.bind(`r${i}_names`, globsToRegex(rule.names))})`);
  return `(${parts.join(' AND ')})`;
}

function sourceCondition(rule: SourceRule, i: number, p: SqlParams): string {
  const lower = (values: string[]) => values.map((value) => value.trim().toLowerCase());
  const any = [
    rule.utmSources ? `has(${p.bind(`r${i}_utm_sources`, lower(rule.utmSources), 'Array(String)')}, utm_source)` : '',
    rule.utmMediums ? `has(${p.bind(`r${i}_utm_mediums`, lower(rule.utmMediums), 'Array(String)')}, utm_medium)` : '',
    rule.referrerHosts
      ? `(referrer_host != '' AND arrayExists(h -> referrer_host = h OR endsWith(referrer_host, concat('.', h)), ${p.bind(`r${i}_referrer_hosts`, lower(rule.referrerHosts), 'Array(String)')}))`
      : '',
  ].filter(Boolean);
  return `(${any.join(' OR ')})`;
}

/** Every rule with its 1-based index, which the query uses to look up the rule's id, points, cap and half-life. */
function compileRules(rules: Rules, p: SqlParams, pageGroups: PageGroups): CompiledRule[] {
  const compiled: CompiledRule[] = [];
  const stageRank = (stage: Stage | undefined) => (stage ? STAGES.indexOf(stage) + 1 : 0);
  const add = (rule: Omit<CompiledRule, 'condition'>, condition: (i: number) => string) => compiled.push({ ...rule, condition: condition(compiled.length + 1) });
  const halfLife = rules.decay.halfLifeDays;
  const eventTally = (rule: EngagementRule | NegativeRule) => ({ cap: rule.cap ?? UNCAPPED, halfLifeDays: rule.halfLifeDays ?? halfLife, stageRank: stageRank(rule.stage) });
  const once = { cap: UNCAPPED, halfLifeDays: halfLife, stageRank: 0 };

  rules.fit.forEach((rule) => add({ id: rule.id, kind: 'fit', scope: 'profile', points: rule.points, ...once }, (i) => fieldCondition(rule, i, p)));
  rules.engagement.forEach((rule, n) =>
    add({ id: rule.id, kind: 'engagement', scope: 'event', points: rule.points, ...eventTally(rule) }, (i) => eventCondition(rule, i, p, pageGroups, `engagement[${n}]`)),
  );
  rules.negative.forEach((rule, n) =>
    rule.field !== undefined
      ? add({ id: rule.id, kind: 'negative', scope: 'profile', points: rule.points, ...once }, (i) => fieldCondition(rule, i, p))
      : add({ id: rule.id, kind: 'negative', scope: 'event', points: rule.points, ...eventTally(rule) }, (i) => eventCondition(rule, i, p, pageGroups, `negative[${n}]`)),
  );
  rules.source.forEach((rule) => add({ id: rule.id, kind: 'source', scope: 'source', points: rule.points, ...once }, (i) => sourceCondition(rule, i, p)));
  return compiled;
}

/** The indexes of the rules of one scope that a row matches, one row each. */
function matchedRules(compiled: CompiledRule[], scope: Scope): string {
  const candidates = compiled.flatMap((rule, n) => (rule.scope === scope ? [`if(${rule.condition}, ${n + 1}, 0)`] : []));
  return `arrayJoin(arrayFilter(x -> x > 0, [${['0', ...candidates].join(', ')}]))`;
}

/** The funnel rank (1 TOFU … 3 BOFU) of a page path, from the page groups the funnel assigns to stages. */
function pageStageSql(rules: Rules, pageGroups: PageGroups, p: SqlParams): string {
  const branches: string[] = [];
  for (const [rank, stage] of [...STAGES.entries()].reverse()) {
    const patterns = Object.entries(rules.funnel).flatMap(([group, groupStage]) => {
      if (groupStage !== stage) return [];
      if (!pageGroups[group]) throw new Error(`funnel.${group}: the site has no page group "${group}" (it has: ${Object.keys(pageGroups).join(', ') || 'none'})`);
      return pageGroups[group];
    });
    if (patterns.length) branches.push(`match(path, ${p.bind(`stage_${stage.toLowerCase()}`, globsToRegex(patterns))}), ${rank + 1}`);
  }
  return branches.length ? `multiIf(${branches.join(', ')}, 0)` : '0';
}

/**
 * Buying signals per lead, from its visits (one session of one browser) in the window: a request form (demo, quote,
 * pricing grid), long engaged time on pricing in one visit, repeated visits to pricing, a technical document
 * downloaded, and weak signals piling up (many visits, or one deep visit). Each comes with the last time it
 * happened, so a new occurrence is told from an old one.
 */
function signalsSql(signals: SignalRules, pageGroups: PageGroups, p: SqlParams, nowParam: string, windowStart: string): string {
  const pricing = p.bind('sig_pricing', globsToRegex(pageGroups[signals.pricingPageGroup] ?? signals.pricingPaths));
  const requestForms = p.bind('sig_request_forms', globsToRegex(signals.requestForms));
  const docs = p.bind('sig_docs', globsToRegex(signals.docAssets));
  const daysAgo = (name: string, days: number) => `${nowParam} - toIntervalMillisecond(${p.bind(name, Math.round(days * DAY_MS), 'UInt64')})`;
  const dwellMs = p.bind('sig_dwell_ms', Math.round(signals.pricingDwellSeconds * 1000), 'UInt64');
  const returns = p.bind('sig_returns', signals.pricingReturns, 'UInt32');
  const weakVisits = p.bind('sig_weak_visits', signals.weakVisits, 'UInt32');
  const weakPages = p.bind('sig_weak_pages', signals.weakPagesPerSession, 'UInt32');
  const returnsDays = p.bind('sig_returns_days', String(signals.pricingReturnsDays));
  const weakDays = p.bind('sig_weak_days', String(signals.weakDays));
  const isRequest = `(type = 'form' AND match(name, ${requestForms}))`;
  const isDocs = `(type = 'download' AND (match(name, ${docs}) OR match(link_url, ${docs})))`;
  const signal = (name: string, at: string, detail: string) => `CAST(('${name}', ${at}, ${detail}), 'Tuple(signal String, at DateTime64(3, \\'UTC\\'), detail String)')`;
  const never = `toDateTime64(0, 3, 'UTC')`;
  // Each pattern is matched once per event (in the inner query), not once per aggregate that needs it.
  return `visits AS
(
    SELECT
        lead_id, min(ts) AS started, max(ts) AS ended,
        countIf(type = 'pageview') AS pages,
        sumIf(engaged_ms, on_pricing AND type IN ('pageview', 'engagement')) AS pricing_ms,
        maxIf(ts, on_pricing AND type = 'pageview') AS pricing_at,
        maxIf(ts, is_request) AS request_at,
        argMaxIf(name, ts, is_request) AS request_form,
        maxIf(ts, is_docs) AS docs_at,
        argMaxIf(if(name != '', name, link_url), ts, is_docs) AS docs_asset
    FROM
    (
        SELECT lead_id, visitor_id, session_id, ts, type, name, link_url, engaged_ms,
            match(path, ${pricing}) AS on_pricing, ${isRequest} AS is_request, ${isDocs} AS is_docs
        FROM lead_events
        WHERE ts >= ${windowStart}
    )
    GROUP BY lead_id, visitor_id, session_id
),
signals AS
(
    SELECT lead_id, arrayFilter(s -> toUnixTimestamp64Milli(s.at) > 0, [
        ${signal('demo_request', 'max(request_at)', `concat('form ', argMax(request_form, request_at))`)},
        ${signal('pricing_dwell', `maxIf(pricing_at, pricing_ms >= ${dwellMs})`, `concat(toString(intDiv(max(pricing_ms), 1000)), ' s engaged on pricing in one visit')`)},
        ${signal(
          'pricing_returns',
          `if(countIf(pricing_at > ${never} AND started >= ${daysAgo('sig_returns_ms', signals.pricingReturnsDays)}) >= ${returns}, max(pricing_at), ${never})`,
          `concat(toString(countIf(pricing_at > ${never} AND started >= ${daysAgo('sig_returns_ms', signals.pricingReturnsDays)})), ' visits to pricing in ', ${returnsDays}, ' days')`,
        )},
        ${signal('docs_download', 'max(docs_at)', `concat('downloaded ', argMax(docs_asset, docs_at))`)},
        ${signal(
          'weak_accumulation',
          `if(countIf(started >= ${daysAgo('sig_weak_ms', signals.weakDays)}) >= ${weakVisits} OR maxIf(pages, started >= ${daysAgo('sig_weak_ms', signals.weakDays)}) >= ${weakPages}, maxIf(ended, started >= ${daysAgo('sig_weak_ms', signals.weakDays)}), ${never})`,
          `concat(toString(countIf(started >= ${daysAgo('sig_weak_ms', signals.weakDays)})), ' visits in ', ${weakDays}, ' days, up to ', toString(maxIf(pages, started >= ${daysAgo('sig_weak_ms', signals.weakDays)})), ' pages in one')`,
        )}
    ]) AS active
    FROM visits
    GROUP BY lead_id
)`;
}

/**
 * Rules → one parameterised ClickHouse query that scores, from raw events, every lead of a site (or the leads a
 * set of visitors belong to) as of `now`. Pure: the same rules and options give the same SQL and parameters.
 *
 * Identity: a visitor belongs to the lead of the latest email it gave (form or identify); all of that lead's
 * visitors (devices) count, including their anonymous history. A visitor that never gave an email is scored
 * as a lead of its own (`v_…`, kind "visitor"), so an anonymous pricing-page regular is visible before the form.
 */
export function compileScoring(rules: Rules, options: ScoringOptions): CompiledScoring {
  const p = new SqlParams();
  const pageGroups = options.pageGroups ?? {};
  const now = options.now ?? new Date();
  const compiled = compileRules(rules, p, pageGroups);
  const site = p.bind('site', options.site);
  const nowParam = p.bind('now', toClickHouseTime(now.getTime()), "DateTime64(3, 'UTC')");
  const windowStart = p.bind('window_start', toClickHouseTime(now.getTime() - rules.windowDays * DAY_MS), "DateTime64(3, 'UTC')");
  const notBot = (column: string) => (rules.countBots ? '' : ` AND ${column} = 0`);
  const visitors = options.visitors ? p.bind('visitors', options.visitors, 'Array(String)') : undefined;
  const ruleArray = (name: string, type: string, pick: (rule: CompiledRule) => unknown) => p.bind(name, compiled.map(pick), `Array(${type})`);
  const ruleIds = ruleArray('rule_ids', 'String', (r) => r.id);
  const ruleKinds = ruleArray('rule_kinds', 'String', (r) => r.kind);
  const rulePoints = ruleArray('rule_points', 'Float64', (r) => r.points);
  const ruleCaps = ruleArray('rule_caps', 'UInt32', (r) => r.cap);
  const ruleHalfLives = ruleArray('rule_half_lives', 'Float64', (r) => r.halfLifeDays);
  const ruleStages = ruleArray('rule_stages', 'UInt8', (r) => r.stageRank);
  const hasDwellRules = [...rules.engagement, ...rules.negative].some((rule) => rule.minEngagedSeconds !== undefined);

  const scope = visitors
    ? `
scope_visitors AS
(
    SELECT arrayJoin(${visitors}) AS visitor_id
    UNION DISTINCT
    SELECT visitor_id FROM identified WHERE lead_email IN (SELECT lead_email FROM identified WHERE visitor_id IN ${visitors})
),`
    : '';

  const query = `
WITH
identified AS MATERIALIZED
(
    SELECT visitor_id, argMax(email, (ts, event_id)) AS lead_email
    FROM identities
    WHERE site_id = ${site} AND ts <= ${nowParam}${notBot('is_bot')}
    GROUP BY visitor_id
),${scope}
lead_events AS MATERIALIZED
(
    SELECT
        if(identified.lead_email = '', concat('v_', e.visitor_id), concat('l_', substring(lower(hex(SHA256(identified.lead_email))), 1, 20))) AS lead_id,
        identified.lead_email AS email,
        e.visitor_id AS visitor_id, e.session_id AS session_id, e.event_id AS event_id, e.ts AS ts, e.type AS type, e.name AS name,
        e.path AS path, e.link_url AS link_url, e.engaged_ms AS engaged_ms, e.props AS props,
        e.utm_source AS utm_source, e.utm_medium AS utm_medium, e.referrer_host AS referrer_host,
        (toUnixTimestamp64Milli(${nowParam}) - toUnixTimestamp64Milli(e.ts)) / ${DAY_MS} AS age_days
    FROM events AS e FINAL
    LEFT JOIN identified ON identified.visitor_id = e.visitor_id
    WHERE e.site_id = ${site} AND e.ts <= ${nowParam}${notBot('e.is_bot')}${visitors ? ' AND e.visitor_id IN (SELECT visitor_id FROM scope_visitors)' : ''}
),
profiles AS
(
    SELECT lead_id, mapFromArrays(groupArray(field), groupArray(latest)) AS fields
    FROM
    (
        SELECT lead_id, field, argMax(trimBoth(answer), (ts, event_id)) AS latest
        FROM lead_events ARRAY JOIN mapKeys(props) AS field, mapValues(props) AS answer
        WHERE type IN ('form', 'identify') AND trimBoth(answer) != ''
        GROUP BY lead_id, field
    )
    GROUP BY lead_id
),
attributes AS
(
    SELECT
        leads.lead_id AS lead_id, leads.email AS email, leads.visitor_ids AS visitor_ids,
        leads.first_seen AS first_seen, leads.last_seen AS last_seen, profiles.fields AS fields,
        substring(leads.email, position(leads.email, '@') + 1) AS email_domain,
        ${senioritySql(`fields['job_title']`, p)} AS seniority,
        ${countryCodeSql(`fields['country']`, p)} AS country_code,
        ${numberSql(`fields['company_size']`, p)} AS company_size_min
    FROM
    (
        SELECT lead_id, any(email) AS email, arraySort(groupUniqArray(visitor_id)) AS visitor_ids, min(ts) AS first_seen, max(ts) AS last_seen
        FROM lead_events
        GROUP BY lead_id
    ) AS leads
    LEFT JOIN profiles ON profiles.lead_id = leads.lead_id
),
first_touch AS
(
    SELECT lead_id, touch.1 AS utm_source, touch.2 AS utm_medium, touch.3 AS referrer_host
    FROM
    (
        SELECT lead_id, argMin((lower(utm_source), lower(utm_medium), lower(referrer_host)), (ts, event_id)) AS touch
        FROM lead_events
        WHERE type = 'pageview' AND (utm_source != '' OR referrer_host != '')
        GROUP BY lead_id
    )
),
units AS
(
    SELECT lead_id, 'event' AS unit, type, name, path, link_url, toUInt64(0) AS engaged_ms, age_days
    FROM lead_events
    WHERE ts >= ${windowStart} AND type != 'engagement'${
      hasDwellRules
        ? `
    UNION ALL
    SELECT lead_id, 'visit' AS unit, 'pageview' AS type, '' AS name, path, '' AS link_url, sum(engaged_ms) AS visit_engaged_ms, max(age_days) AS visit_age_days
    FROM lead_events
    WHERE ts >= ${windowStart} AND type IN ('pageview', 'engagement')
    GROUP BY lead_id, visitor_id, session_id, path`
        : ''
    }
),
hits AS
(
    SELECT lead_id, rule_index, toUInt32(1) AS occurrences, 1. AS weight
    FROM (SELECT lead_id, ${matchedRules(compiled, 'profile')} AS rule_index FROM attributes)
    UNION ALL
    SELECT lead_id, rule_index, toUInt32(1) AS occurrences, 1. AS weight
    FROM (SELECT lead_id, ${matchedRules(compiled, 'source')} AS rule_index FROM first_touch)
    UNION ALL
    -- Each occurrence is worth 0.5^(age / half-life); under a cap, the most recent (the most valuable) count.
    SELECT lead_id, rule_index, toUInt32(count()) AS occurrences,
        arraySum(arraySlice(arrayReverseSort(groupArray(pow(0.5, age_days / ${ruleHalfLives}[rule_index]))), 1, ${ruleCaps}[rule_index])) AS weight
    FROM (SELECT lead_id, age_days, ${matchedRules(compiled, 'event')} AS rule_index FROM units)
    GROUP BY lead_id, rule_index
),
scored AS
(
    SELECT
        lead_id,
        sumIf(points, kind = 'fit') AS fit_points,
        sumIf(points, kind = 'engagement') AS engagement_points,
        sumIf(points, kind = 'source') AS source_points,
        sumIf(points, kind = 'negative') AS negative_points,
        max(stage_rank) AS rule_stage,
        arraySort(r -> (-r.points, r.rule), groupArray(CAST((rule, kind, occurrences, round(points, 2), capped),
            'Tuple(rule String, kind String, count UInt32, points Float64, capped Bool)'))) AS reasons
    FROM
    (
        SELECT
            lead_id, occurrences,
            ${ruleIds}[rule_index] AS rule,
            ${ruleKinds}[rule_index] AS kind,
            weight * ${rulePoints}[rule_index] AS points,
            occurrences > ${ruleCaps}[rule_index] AS capped,
            ${ruleStages}[rule_index] AS stage_rank
        FROM hits
    )
    GROUP BY lead_id
),
page_stages AS
(
    SELECT lead_id, max(${pageStageSql(rules, pageGroups, p)}) AS page_stage
    FROM units
    GROUP BY lead_id
),
${signalsSql(rules.signals, pageGroups, p, nowParam, windowStart)}
SELECT
    attributes.lead_id AS lead_id,
    if(attributes.email = '', 'visitor', 'lead') AS kind,
    attributes.email AS email,
    attributes.visitor_ids AS visitor_ids,
    toInt32(round(scored.fit_points + scored.engagement_points + scored.source_points + scored.negative_points)) AS score,
    round(scored.fit_points, 2) AS fit,
    round(scored.engagement_points, 2) AS engagement,
    round(scored.source_points, 2) AS source,
    round(scored.negative_points, 2) AS negative,
    multiIf(score > ${p.bind('hot', rules.thresholds.hot, 'Float64')}, 'hot', score >= ${p.bind('warm', rules.thresholds.warm, 'Float64')}, 'warm', 'cold') AS temperature,
    ['', 'TOFU', 'MOFU', 'BOFU'][greatest(scored.rule_stage, page_stages.page_stage) + 1] AS stage,
    scored.reasons AS reasons,
    attributes.fields AS profile,
    attributes.seniority AS seniority,
    attributes.country_code AS country,
    attributes.company_size_min AS company_size_min,
    CAST((first_touch.utm_source, first_touch.utm_medium, first_touch.referrer_host), 'Tuple(utm_source String, utm_medium String, referrer_host String)') AS first_touch,
    attributes.first_seen AS first_seen,
    attributes.last_seen AS last_seen,
    ifNull(signals.active, []) AS signals
FROM attributes
LEFT JOIN scored ON scored.lead_id = attributes.lead_id
LEFT JOIN page_stages ON page_stages.lead_id = attributes.lead_id
LEFT JOIN first_touch ON first_touch.lead_id = attributes.lead_id
LEFT JOIN signals ON signals.lead_id = attributes.lead_id
ORDER BY score DESC, lead_id`;
  // The lead's events feed five steps; computed once instead of once per step, scoring is ~2.5× faster.
  return { query, query_params: p.values, clickhouse_settings: { enable_materialized_cte: 1 } };
}
