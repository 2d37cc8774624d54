import type { ClickHouseClient } from '@clickhouse/client';
import { accountKeyOf, freeMailOf, scoreAccounts, type AccountScore } from '../../scoring/accounts.ts';
import { globsToRegex, type LeadScore, type ScoreReason } from '../../scoring/compile.ts';
import { judgeQualification } from '../../scoring/qualification.ts';
import { pricingPages } from '../../scoring/rules.ts';
import { ASKED_FOR_DEMO_SQL, MARKETING_QUALIFIED_SQL } from '../../scoring/lifecycle.ts';
import { sameOwner, weightiestReasons } from '../../scoring/labels.ts';
import { currentAccountMembers, currentLeadsSql, partKeySql, sortsByPart, type LeadSort } from '../../scoring/snapshots.ts';
import { engagedWithin, isoTime, SqlParams, toClickHouseTime } from '../../scoring/sql.ts';
import { fold as foldText, foldSql } from '../../scoring/normalize.ts';
import type { SiteConfig } from '../config/schema.ts';
import { FUNNEL_STEPS, funnelOf, leadKpis, leadQuality, NO_LEADS, scoreBuckets, type ActiveLead, type Verdicts } from './dashboard-figures.ts';
import type {
  Compared,
  ContentResponse,
  ContentRow,
  DevicesResponse,
  FunnelResponse,
  FunnelStep,
  LeadListItem,
  Lifecycle,
  PeriodInfo,
  PricingResponse,
  ScoreDistributionResponse,
  SourceRow,
  Stage,
  SummaryResponse,
  Temperature,
  TimeseriesResponse,
} from './dashboard-types.ts';
import { currentQualifications } from './lead-store.ts';
import { queryRows as rows } from '../store/client.ts';
import { rulesOf } from './scores.ts';
import { personName } from '../../scoring/person-name.ts';

/**
 * The dashboards' queries. Lead figures read the stored scores (`lead_scores`, the latest row per lead). Visitor
 * figures (the key figures' visitors, the days, devices and sources, which leads were seen in a period) read the
 * rollup `visit_days`, a row per visit and day that a materialized view keeps as events land (migration 019): at
 * 300,000 visitors, 697,000 rows where the period's events are 6.8 million. Content and pricing figures aggregate one
 * site's events over a time range, which reads a `site_id` prefix of the order key and the months of the range. None
 * uses FINAL: they count distinct visitors, visits and events, which a retried copy cannot change.
 */

const DAY_MS = 86_400_000;

/** A view's time range: [start, end), and the previous period of the same length, [previousStart, start). */
export interface Period {
  start: number;
  end: number;
  previousStart: number;
}

export function periodOf(from: string, to: string): Period {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`) + DAY_MS;
  return { start, end, previousStart: start - (end - start) };
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function periodInfo(period: Period): PeriodInfo {
  return { from: day(period.start), to: day(period.end - DAY_MS), previousFrom: day(period.previousStart), previousTo: day(period.start - DAY_MS) };
}

/** The UTC days of the period, in order. */
function daysOf(period: Period): string[] {
  const days: string[] = [];
  for (let at = period.start; at < period.end; at += DAY_MS) days.push(day(at));
  return days;
}

const periodParams = (site: string, period: Period) => ({
  site,
  start: toClickHouseTime(period.start),
  end: toClickHouseTime(period.end),
  previous_start: toClickHouseTime(period.previousStart),
});


// ---- SQL building blocks (no user input is ever spliced in: values travel as query parameters) ----------------

const START = `{start:DateTime64(3, 'UTC')}`;
const END = `{end:DateTime64(3, 'UTC')}`;
const PREVIOUS_START = `{previous_start:DateTime64(3, 'UTC')}`;

/**
 * Where a lead or a session came from: its utm_source, else the referring host without "www.", else "(direct)" (labels.ts
 * sourceName). The rollup's entry_source is this of a visit's first page view (migration 019 writes it as this does).
 */
export const SOURCE = `multiIf(utm_source != '', lowerUTF8(utm_source), referrer_host != '', replaceRegexpOne(lowerUTF8(referrer_host), '^www\\\\.', ''), '(direct)')`;

/**
 * Leaves bots out of a read of events or identities, as scoring does, unless the site's rules count them
 * (`countBots`): a site whose server sends its events with curl or Node, which the collector flags as bots, has those
 * leads scored, and their visits must count here too, or the lead seen in a period is in no figure and no list of it.
 */
const notBot = (site: SiteConfig, column = 'is_bot') => (rulesOf(site).countBots ? '' : ` AND ${column} = 0`);

/**
 * The rollup's rows of the days in [from, to) of the site (bots left out, see notBot): the period's bounds are UTC
 * midnights (periodOf), so a visit's day is in it exactly when its events of that day are.
 */
const visitDaysBetween = (site: SiteConfig, from: string, to: string) =>
  `visit_days WHERE site_id = {site:String} AND day >= toDate(${from}) AND day < toDate(${to})${notBot(site)}`;

/** The visitors (bots left out, see notBot) with an event in [from, to), of those `condition` keeps if given. */
const visitorsBetween = (site: SiteConfig, from: string, to: string, condition = '') =>
  condition
    ? `
    SELECT DISTINCT visitor_id FROM events
    WHERE site_id = {site:String} AND ts >= ${from} AND ts < ${to}${notBot(site)} AND ${condition}`
    : `
    SELECT DISTINCT visitor_id FROM ${visitDaysBetween(site, from, to)}`;

/**
 * The current leads' browsers, a row each: visitor_id, lead_id, the lead's `columns`, and `visits`. A browser is the
 * lead's throughout (`visits` empty), unless other people gave their emails on it too (a shared computer): then only
 * the lead's own visits of it are, as scoring shares them out (the stored `shared_visits`), or the colleague who
 * filled a form later on the same computer would be counted as reading what the first person read. Joined to events
 * by visitor, a row is the lead's where OWNS_VISIT holds.
 */
const leadOfVisitorSql = (columns: string[]) => `
    SELECT visitor_id, ${['lead_id', ...columns].join(', ')},
        arrayMap(visit -> visit.session_id, arrayFilter(visit -> visit.visitor_id = visitor_id, shared_visits)) AS visits
    FROM (${currentLeadsSql([...columns, 'visitor_ids', 'shared_visits'])}) ARRAY JOIN visitor_ids AS visitor_id`;

/** Whether an event (its session_id), joined to its browser's row of leadOfVisitorSql, is that lead's. */
const OWNS_VISIT = '(empty(visits) OR has(visits, session_id))';

/** The browsers some stored score of an identified lead names as shared (every score ever stored: a browser no longer shared only widens what is read). */
const SHARED_BROWSERS = `SELECT arrayJoin(shared_visits.visitor_id) FROM lead_scores WHERE site_id = {site:String} AND startsWith(lead_id, 'l_')`;

/**
 * In a read of events grouped by browser (and device…) rather than by visit: the visits of a shared browser,
 * `sessions`, for OWNS_BROWSER_VISIT (none for the others, whose leads own all their visits). Grouped so, the devices
 * panel reads a row per browser where it read one per visit: at 300,000 visitors and 6.7M events, its query took
 * 1.5 s, 0.7–0.9 s so. (The daily and content panels' took as long either way.)
 */
const SHARED_SESSIONS = `groupUniqArrayIf(session_id, visitor_id IN (${SHARED_BROWSERS})) AS sessions`;

/** OWNS_VISIT for a row of SHARED_SESSIONS: the lead owns one of the browser's visits it holds. */
const OWNS_BROWSER_VISIT = '(empty(visits) OR hasAny(visits, sessions))';

/**
 * The visits (visitor_id, session_id) with an event in [from, to), of the browsers that some stored score names as
 * shared: those are few, and picked on the order key, so this reads a few granules.
 */
const sharedVisitsBetween = (site: SiteConfig, from: string, to: string, condition = '') => `
    SELECT DISTINCT visitor_id, session_id FROM events
    WHERE site_id = {site:String}
      AND visitor_id IN (${SHARED_BROWSERS})
      AND ts >= ${from} AND ts < ${to}${notBot(site)}${condition ? ` AND ${condition}` : ''}`;

/**
 * Whether a lead (a row of currentLeadsSql with visitor_ids and shared_visits) had an event in [from, to) that
 * `condition` keeps: any on a browser of its own, one of its own visits on a shared one (leadOfVisitorSql).
 */
const seenBetween = (site: SiteConfig, from: string, to: string, condition = '') => `(
        arrayExists(visitor -> NOT has(shared_visits.visitor_id, visitor) AND visitor IN (${visitorsBetween(site, from, to, condition)}), visitor_ids)
        OR arrayExists(visit -> visit IN (${sharedVisitsBetween(site, from, to, condition)}), shared_visits))`;

/** A lead's lifecycle, from the qualification verdicts passed as parameters, then its temperature and signals (lists
 * filter on it in SQL; the panels use lifecycleOf in dashboard-figures.ts, which says the same). */
const LIFECYCLE = `multiIf(has({disqualified:Array(String)}, lead_id), 'disqualified', has({prospects:Array(String)}, lead_id), 'prospect', ${MARKETING_QUALIFIED_SQL}, 'mql', 'lead')`;

/** 1 TOFU … 3 BOFU, 4 MQL, 5 prospect: the furthest funnel step a lead reached (funnelRank in dashboard-figures.ts). */
const FUNNEL_RANK = `multiIf(lifecycle = 'prospect', 5, lifecycle = 'mql', 4, stage = 'BOFU', 3, stage = 'MOFU', 2, stage = 'TOFU', 1, 0)`;

/** The content a panel lists, by kind: a page view's path, a download's asset, a webinar form's name. */
const WEBINAR_FORMS = '(?i)webina(r|ire)';
const CONTENT_KIND = `multiIf(type = 'pageview', 'page', type = 'download', 'download', 'webinar')`;
const CONTENT_ITEM = `multiIf(type = 'pageview', path, type = 'download', if(name != '', name, path(link_url)), name)`;
const CONTENT_EVENTS = `(type IN ('pageview', 'download') OR (type = 'form' AND match(name, {webinar_forms:String})))`;

// ---- Reads several panels share: concurrent requests for the same figures (the marketing page asks for its
// panels at once) wait for one query instead of running it again. Nothing is kept once it has answered. ------------

const inFlight = new WeakMap<ClickHouseClient, Map<string, Promise<unknown>>>();

function shared<T>(client: ClickHouseClient, key: string, read: () => Promise<T>): Promise<T> {
  let pending = inFlight.get(client);
  if (!pending) inFlight.set(client, (pending = new Map()));
  const running = pending.get(key);
  if (running) return running as Promise<T>;
  const started = read().finally(() => pending.delete(key));
  pending.set(key, started);
  return started;
}

/** Sales' verdicts: the latest qualification of each lead, judged against the site's policy. */
export function verdictsOf(client: ClickHouseClient, site: SiteConfig): Promise<Verdicts> {
  return shared(client, `verdicts/${site.id}`, async () => {
    const verdicts: Verdicts = { prospects: new Set(), disqualified: new Set(), owners: new Map() };
    for (const [leadId, state] of await currentQualifications(client, site.id)) {
      const verdict = judgeQualification(state, site.qualification);
      if (verdict.disqualified) verdicts.disqualified.add(leadId);
      else if (verdict.prospect) verdicts.prospects.add(leadId);
      if (verdict.owner) verdicts.owners.set(leadId, verdict.owner);
    }
    return verdicts;
  });
}

const periodKey = (site: SiteConfig, period: Period) => `${site.id}/${period.previousStart}/${period.start}/${period.end}`;

/** The identified leads seen in the period or the one before (an event of theirs from any of their browsers, bots left out: notBot). */
export function activeLeads(client: ClickHouseClient, site: SiteConfig, period: Period): Promise<ActiveLead[]> {
  return shared(client, `active/${periodKey(site, period)}`, async () => {
    const found = await rows<{ lead_id: string; temperature: Temperature; stage: Stage | ''; score: number; asked_for_demo: number; source: string; in_current: number; in_previous: number }>(
      client,
      `
SELECT lead_id, temperature, stage, score, ${ASKED_FOR_DEMO_SQL} AS asked_for_demo, ${SOURCE} AS source,
    ${seenBetween(site, START, END)} AS in_current,
    ${seenBetween(site, PREVIOUS_START, START)} AS in_previous
FROM (${currentLeadsSql(['temperature', 'stage', 'score', 'signals', 'utm_source', 'referrer_host', 'visitor_ids', 'shared_visits'])})
WHERE in_current OR in_previous`,
      periodParams(site.id, period),
    );
    return found.map((row) => ({
      id: row.lead_id,
      temperature: row.temperature,
      stage: row.stage,
      score: Number(row.score),
      askedForDemo: Number(row.asked_for_demo) === 1,
      source: row.source,
      inCurrent: Number(row.in_current) === 1,
      inPrevious: Number(row.in_previous) === 1,
    }));
  });
}

/**
 * Distinct browsers (bots left out: notBot) in the period and the one before. ClickHouse's `uniq` keeps every value's
 * hash up to 65,536 of them and samples beyond, so a count is off by a fraction of a percent at most, for half the time
 * of `uniqExact` at a million events.
 */
function visitorCounts(client: ClickHouseClient, site: SiteConfig, period: Period): Promise<Compared> {
  return shared(client, `visitors/${periodKey(site, period)}`, async () => {
    const [row] = await rows<{ current: string; previous: string }>(
      client,
      `
SELECT uniqIf(visitor_id, day >= toDate(${START})) AS current, uniqIf(visitor_id, day < toDate(${START})) AS previous
FROM ${visitDaysBetween(site, PREVIOUS_START, END)}`,
      periodParams(site.id, period),
    );
    return { current: Number(row?.current ?? 0), previous: Number(row?.previous ?? 0) };
  });
}

const inCurrent = (leads: ActiveLead[]) => leads.filter((lead) => lead.inCurrent);

/** Each email (of those `condition` keeps) with when it was first given (`identified_at`): a lead is new in that period. */
const firstIdentified = (site: SiteConfig, condition = '') => `
    SELECT email, min(ts) AS identified_at FROM identities
    WHERE site_id = {site:String}${notBot(site)}${condition ? ` AND ${condition}` : ''}
    GROUP BY email`;

// ---- Panels --------------------------------------------------------------------------------------------------

export async function summary(client: ClickHouseClient, site: SiteConfig, period: Period): Promise<SummaryResponse> {
  // A lead is new in the period it first gave its email. Only the current leads count: an email corrected or a
  // browser shared leaves identities behind whose lead is gone, and the key figures and lists count it no more.
  const newLeads = rows<{ current: string; previous: string }>(
    client,
    `
SELECT countIf(identified_at >= ${START} AND identified_at < ${END}) AS current, countIf(identified_at >= ${PREVIOUS_START} AND identified_at < ${START}) AS previous
FROM (${firstIdentified(site, `email IN (SELECT email FROM (${currentLeadsSql(['email'])}))`)})`,
    periodParams(site.id, period),
  );
  const [leads, verdicts, visitors, [identified]] = await Promise.all([activeLeads(client, site, period), verdictsOf(client, site), visitorCounts(client, site, period), newLeads]);
  return {
    site: site.id,
    period: periodInfo(period),
    kpis: {
      visitors,
      newLeads: { current: Number(identified?.current ?? 0), previous: Number(identified?.previous ?? 0) },
      ...leadKpis(leads, verdicts),
    },
  };
}

export async function timeseries(client: ClickHouseClient, site: SiteConfig, period: Period): Promise<TimeseriesResponse> {
  const daily = rows<{ day: string; visitors: string; cold: string; warm: string; hot: string }>(
    client,
    `
WITH lead_of_visitor AS
(${leadOfVisitorSql(['temperature'])}
)
SELECT
    -- A browser two people shared is one visitor, and a lead's on the days of their own visits.
    toString(day) AS day, uniqExact(visitor_id) AS visitors,
    uniqExactIf(lead_id, owned AND temperature = 'cold') AS cold, uniqExactIf(lead_id, owned AND temperature = 'warm') AS warm,
    uniqExactIf(lead_id, owned AND temperature = 'hot') AS hot
FROM
(
    SELECT day, visitor_id, lead_id, temperature, ${OWNS_VISIT} AS owned
    FROM
    (
        SELECT DISTINCT day, visitor_id, session_id FROM ${visitDaysBetween(site, START, END)}
    ) AS daily
    LEFT JOIN lead_of_visitor USING visitor_id
)
GROUP BY day ORDER BY day`,
    periodParams(site.id, period),
  );
  // The period's own distinct counts, which the days cannot add up to: the key figures' reads, shared with them.
  const [found, leads, visitors] = await Promise.all([daily, activeLeads(client, site, period), visitorCounts(client, site, period)]);
  const byDay = new Map(found.map((row) => [row.day, row]));
  const days = daysOf(period);
  const series = (pick: (row: (typeof found)[number]) => string) => days.map((d) => Number(byDay.has(d) ? pick(byDay.get(d)!) : 0));
  const seen = (temperature: Temperature) => inCurrent(leads).filter((lead) => lead.temperature === temperature).length;
  return {
    site: site.id,
    period: periodInfo(period),
    days,
    visitors: series((row) => row.visitors),
    leads: { cold: series((row) => row.cold), warm: series((row) => row.warm), hot: series((row) => row.hot) },
    totals: { visitors: visitors.current, leads: { cold: seen('cold'), warm: seen('warm'), hot: seen('hot') } },
  };
}

export async function funnel(client: ClickHouseClient, site: SiteConfig, period: Period): Promise<FunnelResponse> {
  const [leads, verdicts] = await Promise.all([activeLeads(client, site, period), verdictsOf(client, site)]);
  return { site: site.id, period: periodInfo(period), ...funnelOf(inCurrent(leads), verdicts) };
}

export async function sources(client: ClickHouseClient, site: SiteConfig, period: Period): Promise<SourceRow[]> {
  const [leads, sessions] = await Promise.all([
    activeLeads(client, site, period),
    rows<{ source: string; visitors: string }>(
      client,
      `
SELECT entry_source AS source, uniqExact(visitor_id) AS visitors
FROM ${visitDaysBetween(site, START, END)} AND entry_source != ''
GROUP BY source`,
      periodParams(site.id, period),
    ),
  ]);
  const quality = leadQuality(inCurrent(leads).map((lead) => [lead.source, lead] as const));
  const visitors = new Map(sessions.map((row) => [row.source, Number(row.visitors)]));
  return [...new Set([...visitors.keys(), ...quality.keys()])]
    .map((source) => ({ source, visitors: visitors.get(source) ?? 0, ...(quality.get(source) ?? NO_LEADS) }))
    .sort((a, b) => b.leads - a.leads || b.visitors - a.visitors || a.source.localeCompare(b.source));
}

/** How many browsers and operating systems the devices panel names, the most used first. */
export const DEVICE_NAMES_SHOWN = 8;

/**
 * Visitors and the quality of their leads by kind of device (desktop, mobile, tablet: the User-Agent's, as stored), and
 * the visitors' browsers and operating systems. A lead counts under the devices of its own visits in the period (a
 * shared computer's visits are each their person's), the leads those of the key figures and the sources panel.
 */
export async function devices(client: ClickHouseClient, site: SiteConfig, period: Period): Promise<Omit<DevicesResponse, 'site' | 'period'>> {
  // One read of the period's browsers (SHARED_SESSIONS), each with its kind, name and system and the lead it is of: the
  // visitors per kind and per name, and each kind's leads.
  const [leads, seen] = await Promise.all([
    activeLeads(client, site, period),
    rows<{ kind: 'device' | 'browser' | 'os'; name: string; visitors: string; leads: string[] }>(
      client,
      `
WITH lead_of_visitor AS
(${leadOfVisitorSql([])}
)
SELECT named.1 AS kind, named.2 AS name, uniqExact(visitor_id) AS visitors, groupUniqArrayIf(lead_id, kind = 'device' AND lead_id != '' AND owned) AS leads
FROM
(
    SELECT visitor_id, device, browser, os, lead_id, ${OWNS_BROWSER_VISIT} AS owned
    FROM
    (
        SELECT visitor_id, device, browser, os, ${SHARED_SESSIONS} FROM ${visitDaysBetween(site, START, END)}
        GROUP BY visitor_id, device, browser, os
    ) AS browsers
    LEFT JOIN lead_of_visitor USING visitor_id
)
ARRAY JOIN [('device', toString(device)), ('browser', toString(browser)), ('os', toString(os))] AS named
GROUP BY kind, name
ORDER BY visitors DESC, name`,
      periodParams(site.id, period),
    ),
  ]);
  const active = new Map(inCurrent(leads).map((lead) => [lead.id, lead]));
  const of = (kind: string) => seen.filter((row) => row.kind === kind);
  const named = (kind: string) => of(kind).slice(0, DEVICE_NAMES_SHOWN).map((row) => ({ name: row.name, visitors: Number(row.visitors) }));
  const quality = leadQuality(of('device').flatMap((row) => row.leads.flatMap((id) => (active.has(id) ? [[row.name, active.get(id)!] as const] : []))));
  return {
    devices: of('device').map((row) => ({ device: row.name, visitors: Number(row.visitors), ...(quality.get(row.name) ?? NO_LEADS) })),
    browsers: named('browser'),
    systems: named('os'),
  };
}

export async function content(client: ClickHouseClient, site: SiteConfig, period: Period, limit: number): Promise<Omit<ContentResponse, 'site' | 'period'>> {
  const found = await rows<{ kind: 'page' | 'download' | 'webinar'; item: string; visitors: string; leads: string; hot_leads: string }>(
    client,
    `
WITH lead_of_visitor AS
(${leadOfVisitorSql(['temperature'])}
)
SELECT kind, item, uniqExact(visitor_id) AS visitors, uniqExactIf(lead_id, owned AND lead_id != '') AS leads, uniqExactIf(lead_id, owned AND temperature = 'hot') AS hot_leads
FROM
(
    SELECT kind, item, visitor_id, lead_id, temperature, ${OWNS_VISIT} AS owned
    FROM
    (
        SELECT ${CONTENT_KIND} AS kind, ${CONTENT_ITEM} AS item, visitor_id, session_id
        FROM events
        WHERE site_id = {site:String} AND ts >= ${START} AND ts < ${END}${notBot(site)} AND ${CONTENT_EVENTS}
    ) AS engaged
    LEFT JOIN lead_of_visitor USING visitor_id
    WHERE item != ''
)
GROUP BY kind, item
ORDER BY leads DESC, visitors DESC, item
LIMIT {limit:UInt32} BY kind`,
    { ...periodParams(site.id, period), webinar_forms: WEBINAR_FORMS, limit },
  );
  const of = (kind: string): ContentRow[] =>
    found.filter((row) => row.kind === kind).map((row) => ({ item: row.item, visitors: Number(row.visitors), leads: Number(row.leads), hotLeads: Number(row.hot_leads) }));
  return { pages: of('page'), downloads: of('download'), webinars: of('webinar') };
}

/** The pricing pages as the pricing signals see them (`signals.pricingPageGroup`, else `signals.pricingPaths`). */
export const pricingPatterns = (site: SiteConfig): string[] => pricingPages(rulesOf(site).signals, site.pageGroups);

export async function pricing(client: ClickHouseClient, site: SiteConfig, period: Period): Promise<Omit<PricingResponse, 'site' | 'period'>> {
  const patterns = pricingPatterns(site);
  const params = { ...periodParams(site.id, period), pricing: globsToRegex(patterns) };
  // Views and engaged time are summed, so a retried event must count once: one row per event id among the pricing
  // pages' rows, which costs far less than FINAL, which merges every row of the range before filtering.
  const pricingEvents = (from: string) => `
    SELECT event_id, any(e.visitor_id) AS visitor_id, any(e.session_id) AS session_id, any(e.type) AS type, any(e.engaged_ms) AS engaged_ms, any(e.ts) AS ts FROM events AS e
    WHERE e.site_id = {site:String} AND e.ts >= ${from} AND e.ts < ${END}${notBot(site, 'e.is_bot')}
      AND e.type IN ('pageview', 'engagement') AND match(e.path, {pricing:String})
    GROUP BY event_id`;
  // One pass over the two periods' pricing rows, a row per visit and day, read twice: per day, rolled up (day '') for
  // the distinct visitors of each period, which days cannot add up to; and per lead (of each visit, on a shared
  // computer: OWNS_VISIT), for how many leads looked in each period and who spent longest in this one. Only the ten
  // picked are then named: carrying profiles through the join costs more. Not WITH TOTALS: chDB, the embedded store,
  // garbles the JSON of totals over no rows (a quiet period answered 500).
  const both = rows<{ part: 'day' | 'lead'; key: string; views_current: string; views_previous: string; engaged_current: string; engaged_previous: string; visitors_current: string; visitors_previous: string }>(
    client,
    `
WITH pricing_visits AS MATERIALIZED
(
    SELECT toDate(ts) AS day, visitor_id, session_id,
        countIf(type = 'pageview' AND ts >= ${START}) AS visit_views_current, countIf(type = 'pageview' AND ts < ${START}) AS visit_views_previous,
        ${engagedWithin(`sumIf(engaged_ms, type = 'engagement' AND ts >= ${START})`, `minIf(ts, ts >= ${START})`, `maxIf(ts, ts >= ${START})`)} AS visit_engaged_current,
        ${engagedWithin(`sumIf(engaged_ms, type = 'engagement' AND ts < ${START})`, `minIf(ts, ts < ${START})`, `maxIf(ts, ts < ${START})`)} AS visit_engaged_previous
    FROM (${pricingEvents(PREVIOUS_START)})
    GROUP BY day, visitor_id, session_id
)
SELECT 'day' AS part, toString(day) AS key,
    sum(visit_views_current) AS views_current, sum(visit_views_previous) AS views_previous, sum(visit_engaged_current) AS engaged_current, sum(visit_engaged_previous) AS engaged_previous,
    uniqIf(visitor_id, visit_views_current > 0) AS visitors_current, uniqIf(visitor_id, visit_views_previous > 0) AS visitors_previous
FROM pricing_visits
GROUP BY key WITH ROLLUP
UNION ALL
SELECT 'lead' AS part, lead_id AS key,
    sum(visit_views_current) AS views_current, sum(visit_views_previous) AS views_previous, sum(visit_engaged_current) AS engaged_current, toUInt64(0) AS engaged_previous,
    toUInt64(0) AS visitors_current, toUInt64(0) AS visitors_previous
FROM pricing_visits AS per_visit
INNER JOIN (${leadOfVisitorSql([])}) AS lead_of_visitor USING visitor_id
WHERE ${OWNS_VISIT}
GROUP BY lead_id`,
    params,
    { enable_materialized_cte: 1 },
  );
  const [all, found] = await Promise.all([visitorCounts(client, site, period), both]);
  const byDay = found.filter((row) => row.part === 'day').map((row) => ({ ...row, day: row.key }));
  const perLead = found.filter((row) => row.part === 'lead').map((row) => ({ ...row, lead_id: row.key }));
  const leads = [{ current: perLead.filter((lead) => Number(lead.views_current) > 0).length, previous: perLead.filter((lead) => Number(lead.views_previous) > 0).length }];
  const ranked = perLead
    .filter((lead) => Number(lead.views_current) > 0 || Number(lead.engaged_current) > 0)
    .sort((a, b) => Number(b.engaged_current) - Number(a.engaged_current) || Number(b.views_current) - Number(a.views_current) || a.lead_id.localeCompare(b.lead_id))
    .slice(0, 10);
  const details = new Map(
    (ranked.length === 0
      ? []
      : await rows<{ lead_id: string; email: string; profile: Record<string, string>; company: string; score: number; temperature: Temperature }>(
          client,
          `SELECT * FROM (${currentLeadsSql(['email', 'profile', 'company', 'score', 'temperature'])}) WHERE lead_id IN {top:Array(String)}`,
          { ...params, top: ranked.map((lead) => lead.lead_id) },
        )
    ).map((lead) => [lead.lead_id, lead]),
  );
  const top = ranked.flatMap((lead) => {
    const found = details.get(lead.lead_id);
    return found ? [{ ...found, views: lead.views_current, engaged_ms: lead.engaged_current }] : [];
  });
  const totals: Record<string, string> = byDay.find((row) => row.day === '') ?? {};
  const number = (name: string) => Number(totals[name] ?? 0);
  const compared = (name: string) => ({ current: number(`${name}_current`), previous: number(`${name}_previous`) });
  // No views, no average: null, which the page shows as "–", not "0 s". To the millisecond: the page rounds it to show
  // it, and works its change out from the averages (from 18.3 s, 55 s over 3 views against 27 s was down 32.2%, not 32.1%).
  const perView = (when: 'current' | 'previous') => (number(`views_${when}`) > 0 ? Math.round(number(`engaged_${when}`) / number(`views_${when}`)) / 1000 : null);
  const share = (when: 'current' | 'previous') => (all[when] > 0 ? number(`visitors_${when}`) / all[when] : 0);
  const viewsByDay = new Map(byDay.filter((row) => row.day !== '').map((found) => [found.day, Number(found.views_current)]));
  const days = daysOf(period);
  return {
    patterns,
    views: compared('views'),
    visitors: compared('visitors'),
    leads: { current: Number(leads[0]?.current ?? 0), previous: Number(leads[0]?.previous ?? 0) },
    averageEngagedSeconds: { current: perView('current'), previous: perView('previous') },
    visitorShare: { current: share('current'), previous: share('previous') },
    days,
    dailyViews: days.map((d) => viewsByDay.get(d) ?? 0),
    topLeads: top.map((lead) => ({
      id: lead.lead_id,
      email: lead.email,
      name: personName(lead.profile),
      company: lead.company,
      views: Number(lead.views),
      engagedSeconds: Math.round(Number(lead.engaged_ms) / 1000),
      score: Number(lead.score),
      temperature: lead.temperature,
    })),
  };
}

export async function scoreDistribution(client: ClickHouseClient, site: SiteConfig, period: Period, bucketSize: number): Promise<Omit<ScoreDistributionResponse, 'site' | 'period'>> {
  const leads = inCurrent(await activeLeads(client, site, period));
  return { thresholds: rulesOf(site).thresholds, bucketSize, buckets: scoreBuckets(leads, bucketSize) };
}

// ---- Lead lists (the inbox, every panel's drill-down, and their CSV export) ---------------------------------------

export interface LeadFilters {
  /** Only leads seen in [start, end). */
  period?: Period | undefined;
  temperatures?: Temperature[] | undefined;
  lifecycle?: Lifecycle | undefined;
  stage?: Stage | undefined;
  /** At this funnel step or beyond (as the funnel panel counts). */
  funnel?: FunnelStep | undefined;
  source?: string | undefined;
  /** `page:/pricing`, `download:whitepaper.pdf`, `webinar:webinar-signup`: leads who engaged with it in the period. */
  content?: { kind: 'page' | 'download' | 'webinar'; item: string } | undefined;
  /** Leads who viewed a pricing page (pricingPatterns) in the period, as the pricing panel counts them. */
  viewedPricing?: boolean | undefined;
  /** Leads whose email was first given in the period: the key figures' new leads. */
  newInPeriod?: boolean | undefined;
  /** An owner's name; '' for the unassigned. */
  owner?: string | undefined;
  minScore?: number | undefined;
  maxScore?: number | undefined;
  /** Part of the email, name or company. */
  search?: string | undefined;
  /** An account's id (`initech.example`, `company:initech`): its leads, those the accounts list counts. */
  account?: string | undefined;
  sort: LeadSort;
  limit: number;
  offset: number;
  /** The page after this lead, or before it (a page's `next`, `previous`), in place of an offset. */
  after?: ListCursor | undefined;
  before?: ListCursor | undefined;
}

/**
 * A page's edge in a lead list: its first or last lead's score, when it was last seen (epoch ms), in a list sorted by
 * a part of the score that part and its points in hundredths, and its id: the list's sort keys. Pages turned by it
 * neither repeat nor skip the leads that stay put when others arrive or move between two turns, as offsets did (a new
 * lead on page 1 pushed its last lead to the top of page 2); the lead that moved may be.
 */
export interface ListCursor {
  score: number;
  lastSeenMs: number;
  part?: { of: 'fit' | 'engagement'; hundredths: number } | undefined;
  leadId: string;
}

/**
 * A page edge as `next` and `previous` give it, and `after=` and `before=` take it back (dashboard.routes.ts):
 * `125.1794569815530.l_…`, or by a part `125.1794569815530.fit9000.l_…`.
 */
const cursorText = ({ score, lastSeenMs, part, leadId }: ListCursor) => [score, lastSeenMs, ...(part ? [`${part.of}${part.hundredths}`] : []), leadId].join('.');

/**
 * A lead list's keys in their order (each best first, then the lead id), as whole numbers compared exactly with an
 * edge's (ListCursor): by a part of the score, the part, then the score and when the lead was last seen.
 */
function listKeys(sort: LeadSort): { sql: string; param: string }[] {
  const score = { sql: 'score', param: '{edge_score:Int64}' };
  const seen = { sql: 'toUnixTimestamp64Milli(last_seen)', param: '{edge_seen:Int64}' };
  if (sortsByPart(sort)) return [{ sql: partKeySql(sort), param: '{edge_part:Int64}' }, score, seen];
  return sort === 'recent' ? [seen, score] : [score, seen];
}

interface LeadListRow {
  lead_id: string;
  email: string;
  score: number;
  fit: number;
  engagement: number;
  temperature: Temperature;
  stage: Stage | '';
  reasons: string;
  profile: Record<string, string>;
  company: string;
  country: string;
  source: string;
  lifecycle: Lifecycle;
  first_seen: string;
  last_seen: string;
  total: string;
  /** In a list sorted by a part of the score, its points in hundredths (listKeys). */
  part?: string;
}

export async function leadList(
  client: ClickHouseClient,
  site: SiteConfig,
  filters: LeadFilters,
): Promise<{ total: number; position: number; next: string | null; previous: string | null; leads: LeadListItem[] }> {
  const verdicts = await verdictsOf(client, site);
  const params: Record<string, unknown> = { site: site.id, prospects: [...verdicts.prospects], disqualified: [...verdicts.disqualified], limit: filters.limit, offset: filters.offset };
  const where: string[] = [];
  if (filters.period) {
    Object.assign(params, periodParams(site.id, filters.period));
    const conditions: string[] = [];
    if (filters.content) {
      params.webinar_forms = WEBINAR_FORMS;
      params.content_kind = filters.content.kind;
      params.content_item = filters.content.item;
      conditions.push(`${CONTENT_EVENTS} AND ${CONTENT_KIND} = {content_kind:String} AND ${CONTENT_ITEM} = {content_item:String}`);
    }
    if (filters.viewedPricing) {
      params.pricing = globsToRegex(pricingPatterns(site));
      conditions.push(`type = 'pageview' AND match(path, {pricing:String})`);
    }
    // An event that meets each condition (one page view, one download): both conditions together keep only a pricing page.
    where.push(seenBetween(site, START, END, conditions.map((condition) => `(${condition})`).join(' AND ')));
    if (filters.newInPeriod) where.push(`email IN (SELECT email FROM (${firstIdentified(site)}) WHERE identified_at >= ${START} AND identified_at < ${END})`);
  }
  if (filters.temperatures?.length) {
    params.temperatures = filters.temperatures;
    where.push('temperature IN {temperatures:Array(String)}');
  }
  if (filters.lifecycle) {
    params.lifecycle = filters.lifecycle;
    where.push('lifecycle = {lifecycle:String}');
  }
  if (filters.stage) {
    params.stage = filters.stage;
    where.push('stage = {stage:String}');
  }
  if (filters.funnel) {
    params.funnel_rank = FUNNEL_STEPS.indexOf(filters.funnel) + 1;
    where.push(`${FUNNEL_RANK} >= {funnel_rank:UInt8}`);
  }
  if (filters.source !== undefined) {
    params.source = filters.source;
    // Typed as people write it ("LinkedIn"); utm tags come in any case too.
    where.push('lowerUTF8(source) = lowerUTF8({source:String})');
  }
  if (filters.owner !== undefined) {
    const wanted = filters.owner;
    params.owned = [...verdicts.owners].filter(([, owner]) => wanted === '' || sameOwner(owner, wanted)).map(([leadId]) => leadId);
    where.push(filters.owner === '' ? 'NOT has({owned:Array(String)}, lead_id)' : 'has({owned:Array(String)}, lead_id)');
  }
  if (filters.minScore !== undefined) {
    params.min_score = filters.minScore;
    where.push('score >= {min_score:Int64}');
  }
  if (filters.maxScore !== undefined) {
    params.max_score = filters.maxScore;
    where.push('score <= {max_score:Int64}');
  }
  if (filters.search) {
    // Folded on both sides (case, accents: normalize.ts's fold), as people search: "ines martin" finds Inès Martin.
    const fold = new SqlParams();
    const found = (text: string) => `position(${foldSql(text, fold)}, {search:String}) > 0`;
    params.search = foldText(filters.search);
    where.push(`(${found('email')} OR ${found('company')} OR ${found(`concat(profile['first_name'], ' ', profile['last_name'])`)}
      OR ${found(`profile['full_name']`)} OR ${found(`profile['name']`)})`);
    Object.assign(params, fold.values);
  }
  if (filters.account !== undefined) {
    params.account_leads = await accountLeadIds(client, site, filters.account);
    where.push('has({account_leads:Array(String)}, lead_id)');
  }
  const keys = listKeys(filters.sort);
  const order = `${keys.map((key) => `${key.sql} DESC`).join(', ')}, lead_id`;
  const part = sortsByPart(filters.sort) ? `,\n    ${keys[0]!.sql} AS part` : '';
  const listed = (extra = '') => `
SELECT lead_id, email, score, fit, engagement, temperature, stage, reasons, profile, company, country, source, lifecycle, first_seen, last_seen,
    count() OVER () AS total${part}${extra}
FROM
(
    SELECT *, ${SOURCE} AS source, ${LIFECYCLE} AS lifecycle
    FROM (${currentLeadsSql(['email', 'score', 'fit', 'engagement', 'temperature', 'stage', 'signals', 'reasons', 'profile', 'company', 'country', 'utm_source', 'referrer_host', 'first_seen', 'last_seen', 'visitor_ids', 'shared_visits'])})
)
${where.length ? `WHERE ${where.join('\n  AND ')}` : ''}`;
  const query = `${listed()}
ORDER BY ${order}
LIMIT {limit:UInt32} OFFSET {offset:UInt64}`;
  const edge = filters.after ?? filters.before;
  let found: (LeadListRow & { outside?: string })[];
  if (edge) {
    Object.assign(params, { edge_score: edge.score, edge_seen: edge.lastSeenMs, edge_part: edge.part?.hundredths ?? 0, edge_id: edge.leadId });
    // The rows on the page's side of its edge, in the list's order: after it (lower keys, then greater ids), or before
    // it. Tuples compare key by key.
    const [lower, id] = filters.after ? ['<', '>'] : ['>', '<'];
    const [rowKeys, edgeKeys] = [`(${keys.map((key) => key.sql).join(', ')})`, `(${keys.map((key) => key.param).join(', ')})`];
    const side = `(${rowKeys} ${lower} ${edgeKeys} OR (${rowKeys} = ${edgeKeys} AND lead_id ${id} {edge_id:String}))`;
    // A page before its edge is the last rows before it: read backwards, then turned round.
    const backwards = `${keys.map((key) => `${key.sql} ASC`).join(', ')}, lead_id DESC`;
    found = await rows<LeadListRow & { outside: string }>(
      client,
      `SELECT * FROM (${listed(`,\n    countIf(NOT ${side}) OVER () AS outside`)})
WHERE ${side}
ORDER BY ${filters.after ? order : backwards}
LIMIT {limit:UInt32}`,
      params,
    );
    if (filters.before) found.reverse();
  } else found = await rows<LeadListRow>(client, query, params);
  // The total rides on each row; a page past the end has none, so ask for the first row's.
  const total = Number(found[0]?.total ?? (filters.offset > 0 || edge ? (await rows<LeadListRow>(client, query, { ...params, limit: 1, offset: 0 }))[0]?.total : undefined) ?? 0);
  // Where the page starts in the list, 1 for the first lead: after its edge, past the rows up to it; before it, as
  // many rows back from it as the page holds.
  const outside = Number(found[0]?.outside ?? 0);
  const position = !edge ? filters.offset + 1 : filters.after ? outside + 1 : total - outside - found.length + 1;
  const listItem = (row: LeadListRow): LeadListItem => {
    const reasons = JSON.parse(row.reasons || '[]') as ScoreReason[];
    const pointsOf = (kind: ScoreReason['kind']) => Math.round(reasons.reduce((sum, reason) => sum + (reason.kind === kind ? reason.points : 0), 0) * 100) / 100;
    return {
      id: row.lead_id,
      email: row.email,
      name: personName(row.profile),
      company: row.company,
      jobTitle: row.profile.job_title ?? '',
      country: row.country,
      score: Number(row.score),
      fit: Number(row.fit),
      engagement: Number(row.engagement),
      temperature: row.temperature,
      stage: row.stage || null,
      lifecycle: row.lifecycle,
      owner: verdicts.owners.get(row.lead_id) ?? null,
      sourcePoints: pointsOf('source'),
      negative: pointsOf('negative'),
      source: row.source,
      // The rules that weigh most either way: a cold lead's minus points say why it is cold. Their points as stored, to
      // two decimals, as the CSV gives them; the dashboards' chips show them in whole points.
      topReasons: weightiestReasons(reasons).map((reason) => ({ rule: reason.rule, points: reason.points })),
      firstSeen: isoTime(row.first_seen),
      lastSeen: isoTime(row.last_seen),
    };
  };
  const partOf = (row: LeadListRow) => (sortsByPart(filters.sort) ? { of: filters.sort, hundredths: Number(row.part) } : undefined);
  const edgeOf = (row: LeadListRow | undefined) => row && cursorText({ score: Number(row.score), lastSeenMs: Date.parse(isoTime(row.last_seen)), part: partOf(row), leadId: row.lead_id });
  return {
    total,
    position,
    next: position + found.length - 1 < total ? (edgeOf(found.at(-1)) ?? null) : null,
    previous: position > 1 ? (edgeOf(found[0]) ?? null) : null,
    leads: found.map(listItem),
  };
}

// ---- Accounts ---------------------------------------------------------------------------------------------------

/**
 * The ids of an account's leads, grouped by the accounts list's own rule (accountKeyOf), so that a list has as many
 * leads as the account counts: a search for its name also finds other companies' leads and misses "ACME, Inc." for
 * "Acmé SAS".
 */
async function accountLeadIds(client: ClickHouseClient, site: SiteConfig, account: string): Promise<string[]> {
  const found = await rows<{ lead_id: string; email: string; company: string }>(client, `SELECT lead_id, email, company FROM (${currentLeadsSql(['email', 'company'])})`, {
    site: site.id,
  });
  const freeMail = freeMailOf(rulesOf(site));
  return found.filter((row) => accountKeyOf({ email: row.email, profile: { company: row.company } }, freeMail)?.id === account).map((row) => row.lead_id);
}

/**
 * The companies behind the identified leads (scoring/accounts.ts), from the few columns of their stored scores it needs,
 * sales' verdicts leaving the disqualified leads' weight out: `/api/accounts`, the accounts page and its CSV.
 */
export async function accounts(client: ClickHouseClient, site: SiteConfig): Promise<AccountScore[]> {
  const [members, verdicts] = await Promise.all([currentAccountMembers(client, site.id), verdictsOf(client, site)]);
  const rules = rulesOf(site);
  return scoreAccounts(members, rules.thresholds, verdicts.disqualified, freeMailOf(rules));
}
