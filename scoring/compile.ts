import { domainToASCII } from 'node:url';
import { amountSql, countryCodeOf, countryCodeSql, numberOfSizeTextSql, paddedWordsSql, roleWordsSql, saysNothingSql, seniorityOfPaddedSql, sizeTextSql, TITLE_STAND_INS, words, wordsSql, type Seniority } from './normalize.ts';
import { pricingPages, STAGES, unknownPageGroups, type EngagementRule, type FitRule, type NegativeRule, type PageGroups, type Rules, type SourceRule, type Stage } from './rules.ts';
import { formatSeconds } from './labels.ts';
import { engagedWithin, letSql, SqlParams, toClickHouseTime } from './sql.ts';
import type { Signal } from './alerts/alert.ts';

export interface ScoringOptions {
  site: string;
  /**
   * Score only the leads these visitors belong to; every lead of the site when absent. compileScoring reads exactly
   * these visitors, so the list must hold every visitor of those leads: compileLeadVisitors finds them, and
   * scoreLeads runs it first.
   */
  visitors?: string[] | undefined;
  /**
   * With `visitors`: of the leads those visitors' rows make, keep only these emails' and the anonymous visitors'.
   * compileLeadVisitors gives the emails its visitors were gathered for; a lead of another email that shares a
   * browser with them would be scored from that browser alone.
   */
  leadEmails?: string[] | undefined;
  /** The site's page groups (sites[].pageGroups), which rules and the funnel name. */
  pageGroups?: PageGroups | undefined;
  /** Score as of this moment: later events are ignored, and decay and the window count back from it. */
  now?: Date | undefined;
  /**
   * Count the events (and emails) up to this moment instead of `now`, which decay and windows still count back
   * from: the collector keeps event times a little ahead of its clock, and its own rescoring counts them.
   */
  until?: Date | undefined;
  /**
   * Score one of `count` disjoint slices of the leads (by a hash of the lead's email, or of the visitor id of an
   * anonymous visitor), so a large site is rescored in parts that each fit in memory. leadSliceSql picks the same
   * leads among stored scores.
   */
  slice?: LeadSlice | undefined;
  /** Score only the leads that gave an email, leaving anonymous visitors out (what a backtest compares). */
  identifiedOnly?: boolean | undefined;
}

export interface LeadSlice {
  index: number;
  count: number;
}

export interface CompiledScoring {
  query: string;
  query_params: Record<string, unknown>;
  /** The settings the query needs (beyond them, a server's own settings apply). */
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
  /**
   * The lead's visits on its shared browsers (those that gave other people's emails too: a shared computer), as
   * ownerSql shares them out, sorted; none for a browser that is the lead's throughout. The dashboards credit a
   * shared browser's events to the lead whose visit they are in, not to every lead on it.
   */
  shared_visits: SharedVisit[];
  score: number;
  fit: number;
  engagement: number;
  source: number;
  negative: number;
  temperature: Temperature;
  stage: Stage | '';
  /** Highest points first. */
  reasons: ScoreReason[];
  /** The latest answer per declarative field, across the lead's forms and identify traits, those that say nothing ("-", "N/A") left out. */
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

/**
 * A lead's buying-signal facts, as the scoring query gives them (one tuple, an array in JSON): when each signal last
 * happened (ClickHouse's time of 0 when it never did), and the figures its text tells, 64-bit counts as JSON strings.
 * leadScoreOf composes the signals from them here rather than in the query: the texts are plain string work, and each
 * function in the query costs planning time, most of the time of scoring a few leads (composing them in SQL cost one
 * lead's query ~18 ms).
 */
export type SignalFacts = [
  request_at: string,
  request_form: string,
  dwell_at: string,
  dwell_ms: number | string,
  returns: number | string,
  returns_at: string,
  docs_at: string,
  docs_what: string,
  weak_visits: number | string,
  weak_visits_at: string,
  weak_deepest: number | string,
  weak_deep_at: string,
  weak_deep_pages: number | string,
];

/** SQL for each value of a tuple. */
type SqlOf<T extends unknown[]> = { [N in keyof T]: string };

/** One row of the scoring query: a LeadScore with its signals' facts, last, in place of its signals. */
export type ScoredRow = Omit<LeadScore, 'signals'> & { signal_facts: SignalFacts };

/** Whether a time the query gives is one: not ClickHouse's time of 0, whichever way the server writes times ("simple" or ISO). */
const happened = (at: string) => !at.startsWith('1970-01-01');
/** "1 visit", "5 visits". */
const howMany = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
/** " in 1 day", " in 7 days". */
const inDays = (days: number) => ` in ${days} ${days === 1 ? 'day' : 'days'}`;

/**
 * A scoring row as a LeadScore, in place: its buying signals composed from their facts, in the order the alerts rank
 * them. (A full rescoring shapes every lead: the facts are dropped as the last property, which keeps the row a fast
 * object, and a text is written only for a signal that happened.)
 */
export function leadScoreOf(row: ScoredRow, rules: Rules['signals']): LeadScore {
  const [requestAt, requestForm, dwellAt, dwellMs, returns, returnsAt, docsAt, docsWhat, weakVisits, weakVisitsAt, weakDeepest, weakDeepAt, weakDeepPages] = row.signal_facts;
  const signals: ActiveSignal[] = [];
  if (happened(requestAt)) signals.push({ signal: 'demo_request', at: requestAt, detail: `form ${requestForm}` });
  if (happened(dwellAt)) signals.push({ signal: 'pricing_dwell', at: dwellAt, detail: `${formatSeconds(Math.floor((Number(dwellMs) + 500) / 1000))} engaged on pricing in one visit` });
  if (Number(returns) >= rules.pricingReturns && happened(returnsAt)) {
    signals.push({ signal: 'pricing_returns', at: returnsAt, detail: `${howMany(Number(returns), 'visit')} to pricing${inDays(rules.pricingReturnsDays)}` });
  }
  if (happened(docsAt)) signals.push({ signal: 'docs_download', at: docsAt, detail: `downloaded ${docsWhat}` });
  // Weak signals: visiting often holds as of the latest visit; reading a lot, as of the latest visit that read enough.
  // What holds, of the two: "5 visits in 30 days", "9 pages in one visit" (that visit), or both.
  const [visits, deepest] = [Number(weakVisits), Number(weakDeepest)];
  const [often, deep] = [visits >= rules.weakVisits, deepest >= rules.weakPagesPerSession];
  const weakAt = often ? weakVisitsAt : deep ? weakDeepAt : '';
  if (weakAt && happened(weakAt)) {
    const visitsText = `${howMany(visits, 'visit')}${inDays(rules.weakDays)}`;
    const detail = often && deep ? `${visitsText}, up to ${howMany(deepest, 'page')} in one` : often ? visitsText : `${howMany(Number(weakDeepPages), 'page')} in one visit`;
    signals.push({ signal: 'weak_accumulation', at: weakAt, detail });
  }
  const lead = row as Omit<ScoredRow, 'signal_facts'> & { signal_facts?: SignalFacts; signals?: ActiveSignal[] };
  delete lead.signal_facts;
  lead.signals = signals;
  return lead as LeadScore;
}

/** One visit (session) of a browser. */
export interface SharedVisit {
  visitor_id: string;
  session_id: string;
}

/** A buying signal a lead shows: which, when it last happened (ClickHouse time, UTC), and what it was. */
export interface ActiveSignal {
  signal: Exclude<Signal, 'hot'>;
  at: string;
  detail: string;
}

/** Where a rule looks: the lead's merged answers, one event, one page visit (a page's time in one session), or the first-touch source. */
type Scope = 'profile' | 'event' | 'visit' | 'source';

interface CompiledRule {
  id: string;
  kind: RuleKind;
  scope: Scope;
  condition: string;
  points: number;
  cap: number;
  halfLifeDays: number;
  stageRank: number;
  /** Counted whenever it happened, at full points (a negative rule's `lasting`). */
  lasting?: boolean | undefined;
  /**
   * What tells one occurrence from another within a visit, for a rule that counts each once a visit (SQL over an
   * event): a form sent twice (a double click, a reload that posts again) or a file downloaded again in the same visit
   * is one sign-up, one download.
   */
  perVisit?: string | undefined;
}

/** Every rule's outcome for one lead, before those that did not match are dropped. */
const REASON_ROWS = 'Array(Tuple(rule String, kind String, count UInt64, points Float64, capped Bool, stage UInt8))';

/** The type of a lead's shared_visits (LeadScore), as lead_scores stores it. */
const SHARED_VISITS = 'Array(Tuple(visitor_id String, session_id String))';

/** No cap: larger than any count of events. */
const UNCAPPED = 4_294_967_295;
const DAY_MS = 86_400_000;

const escapeRegex = (text: string) => text.replace(/[\\^$.|?+()[\]{}]/g, '\\$&');

/**
 * Globs ("/pricing*", "*white*paper*") → one case-insensitive anchored RE2 pattern matching any of them. A trailing
 * slash is optional on both sides: "/pricing" and "/pricing/" are one page, whichever the site links to (a site
 * whose pages end in "/" found nothing under the pattern "/pricing").
 */
export function globsToRegex(globs: string[]): string {
  return `(?i)^(?:${globs.map((glob) => glob.replace(/\/$/, '').split('*').map(escapeRegex).join('.*')).join('|')})/?$`;
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
    // An answer that says nothing is not in `fields` (the merge drops it), and the rules refuse such values; a value
    // in a script words() does not keep ("日本") has no words either: only an answer given matches it.
    return `(${raw} != '' AND has(${bindValues(rule.values.map(words))}, ${wordsSql(raw, p)}))`;
  }
  if (rule.pattern !== undefined) return `(${raw} != '' AND match(${raw}, ${p.bind(`r${i}_pattern`, `(?i)${rule.pattern}`)}))`;
  const range = rule.range!;
  const number = field === 'company_size' ? 'company_size_min' : amountSql(raw, p);
  const bounds = [
    range.min !== undefined ? `${number} >= ${p.bind(`r${i}_min`, range.min, 'Float64')}` : '',
    range.max !== undefined ? `${number} <= ${p.bind(`r${i}_max`, range.max, 'Float64')}` : '',
  ].filter(Boolean);
  return `ifNull(${bounds.join(' AND ')}, 0)`;
}

/** A condition on one event (type, path, name, link_url) or, for a dwell rule, on one page visit (path, engaged_ms). */
function eventCondition(rule: EngagementRule | NegativeRule, i: number, p: SqlParams, pageGroups: PageGroups): string {
  const parts = [`type = ${p.bind(`r${i}_event`, rule.event)}`];
  if (rule.minEngagedSeconds !== undefined) parts.push(`engaged_ms >= ${p.bind(`r${i}_engaged_ms`, Math.round(rule.minEngagedSeconds * 1000), 'UInt64')}`);
  if (rule.pageGroup !== undefined) parts.push(`match(path, ${p.bind(`r${i}_page_group`, globsToRegex(pageGroups[rule.pageGroup]!))})`);
  if (rule.paths) parts.push(`match(path, ${p.bind(`r${i}_paths`, globsToRegex(rule.paths))})`);
  if (rule.assets) {
    const assets = p.bind(`r${i}_assets`, globsToRegex(rule.assets));
    parts.push(`(match(name, ${assets}) OR match(link_url, ${assets}))`);
  }
  if (rule.forms) parts.push(`match(name, ${p.bind(`r${i}_forms`, globsToRegex(rule.forms))})`);
  if (rule.names) parts.push(`match(name, ${p.bind(`r${i}_names`, globsToRegex(rule.names))})`);
  return `(${parts.join(' AND ')})`;
}

/** Hosts as the collector stores a referrer's (URL's hostname: lower case, an international name in its ASCII form), a leading dot dropped. */
function referrerHosts(hosts: string[]): string[] {
  return hosts.map((host) => {
    const bare = host.trim().toLowerCase().replace(/^\.+/, '');
    return domainToASCII(bare) || bare;
  });
}

function sourceCondition(rule: SourceRule, i: number, p: SqlParams): string {
  const lower = (values: string[]) => values.map((value) => value.trim().toLowerCase());
  const any = [
    rule.utmSources ? `has(${p.bind(`r${i}_utm_sources`, lower(rule.utmSources), 'Array(String)')}, utm_source)` : '',
    rule.utmMediums ? `has(${p.bind(`r${i}_utm_mediums`, lower(rule.utmMediums), 'Array(String)')}, utm_medium)` : '',
    rule.referrerHosts
      ? `(referrer_host != '' AND arrayExists(h -> referrer_host = h OR endsWith(referrer_host, concat('.', h)), ${p.bind(`r${i}_referrer_hosts`, referrerHosts(rule.referrerHosts), 'Array(String)')}))`
      : '',
  ].filter(Boolean);
  return `(has_touch AND (${any.join(' OR ')}))`;
}

/** Every rule with its 1-based index, which the query uses to look up the rule's id, points, cap and half-life. */
function compileRules(rules: Rules, p: SqlParams, pageGroups: PageGroups): CompiledRule[] {
  const compiled: CompiledRule[] = [];
  const stageRank = (stage: Stage | undefined) => (stage ? STAGES.indexOf(stage) + 1 : 0);
  const add = (rule: Omit<CompiledRule, 'condition'>, condition: (i: number) => string) => compiled.push({ ...rule, condition: condition(compiled.length + 1) });
  const halfLife = rules.decay.halfLifeDays;
  const eventTally = (rule: EngagementRule | NegativeRule) => ({
    scope: (rule.minEngagedSeconds !== undefined ? 'visit' : 'event') as Scope,
    cap: rule.cap ?? UNCAPPED,
    halfLifeDays: rule.halfLifeDays ?? halfLife,
    stageRank: stageRank(rule.stage),
    // A download by its file's name and link: gated files may share one link (javascript:void(0)) and differ by name.
    perVisit: rule.event === 'form' ? 'name' : rule.event === 'download' ? '(name, link_url)' : undefined,
  });
  const once = { cap: UNCAPPED, halfLifeDays: halfLife, stageRank: 0 };

  rules.fit.forEach((rule) => add({ id: rule.id, kind: 'fit', scope: 'profile', points: rule.points, ...once }, (i) => fieldCondition(rule, i, p)));
  rules.engagement.forEach((rule) => add({ id: rule.id, kind: 'engagement', points: rule.points, ...eventTally(rule) }, (i) => eventCondition(rule, i, p, pageGroups)));
  rules.negative.forEach((rule) =>
    rule.field !== undefined
      ? add({ id: rule.id, kind: 'negative', scope: 'profile', points: rule.points, ...once }, (i) => fieldCondition(rule, i, p))
      : add({ id: rule.id, kind: 'negative', points: rule.points, ...eventTally(rule), lasting: rule.lasting }, (i) => eventCondition(rule, i, p, pageGroups)),
  );
  rules.source.forEach((rule) => add({ id: rule.id, kind: 'source', scope: 'source', points: rule.points, ...once }, (i) => sourceCondition(rule, i, p)));
  return compiled;
}

/** The funnel rank (1 TOFU … 3 BOFU) of a page path, from the page groups the funnel assigns to stages. */
function pageStageSql(rules: Rules, pageGroups: PageGroups, p: SqlParams): string {
  const branches: string[] = [];
  for (const [rank, stage] of [...STAGES.entries()].reverse()) {
    const patterns = Object.entries(rules.funnel).flatMap(([group, groupStage]) => (groupStage === stage ? pageGroups[group]! : []));
    if (patterns.length) branches.push(`match(path, ${p.bind(`stage_${stage.toLowerCase()}`, globsToRegex(patterns))}), ${rank + 1}`);
  }
  return branches.length ? `multiIf(${branches.join(', ')}, 0)` : '0';
}

/**
 * An event rule's running tally, as columns of a row of the lead's history (a session, or a page visit) that
 * add up across rows: how many occurrences (`sn<i>`), and either the ages of the most recent `cap` of them
 * (`sa<i>`, when capped) or the sum of their decayed weights (`sw<i>`); merged per lead into `n<i>` and `w<i>`.
 */
class Tally {
  constructor(
    readonly rule: CompiledRule,
    readonly i: number,
    private readonly halfLife: string,
  ) {}

  get capped() {
    return this.rule.cap !== UNCAPPED;
  }

  /** A lasting rule's occurrences are as good as new, whatever their age… */
  private get age() {
    return this.rule.lasting ? '0.' : 'age_days';
  }

  /** …and count from before the window too: the rows the rule's tally reads, before its own condition. */
  get counted() {
    return this.rule.lasting ? "type != 'engagement'" : 'counted';
  }

  /**
   * [column, aggregate] over matching rows of `age_days` (inside a GROUP BY of one visit). A rule counted once a visit
   * (`perVisit`) counts the distinct occurrences, each as old as the visit's latest: they lie minutes apart.
   */
  aggregate(when: string): [string, string][] {
    const cap = this.rule.cap;
    if (!Number.isSafeInteger(cap) || cap <= 0) throw new Error(`rule ${this.rule.id}: a cap must be a positive integer`);
    const key = this.rule.perVisit;
    const count = key ? `uniqExactIf(${key}, ${when})` : `countIf(${when})`;
    // The cap is a validated integer; groupArraySorted takes it as a literal, not a query parameter.
    const ages = `groupArraySortedIf(${cap})(${this.age}, ${when})`;
    return [
      [`sn${this.i}`, count],
      this.capped
        ? [`sa${this.i}`, key ? `arrayResize(${ages}, least(${count}, ${cap}))` : ages]
        : [`sw${this.i}`, key ? `${count} * pow(0.5, minIf(${this.age}, ${when}) / ${this.halfLife})` : `sumIf(pow(0.5, ${this.age} / ${this.halfLife}), ${when})`],
    ];
  }

  /** [column, value] for one row, counted when `when` holds (no GROUP BY). */
  row(when: string): [string, string][] {
    return [
      [`sn${this.i}`, `toUInt64(${when})`],
      this.capped ? [`sa${this.i}`, `if(${when}, [age_days], [])`] : [`sw${this.i}`, `if(${when}, pow(0.5, age_days / ${this.halfLife}), 0.)`],
    ];
  }

  /** [column, value] for rows that never match (the other branches of the union). */
  none(): [string, string][] {
    return [[`sn${this.i}`, 'toUInt64(0)'], this.capped ? [`sa${this.i}`, `CAST([], 'Array(Float64)')`] : [`sw${this.i}`, '0.']];
  }

  /** Across the lead's rows: the count, and the decayed weight (under a cap, of the most recent occurrences only). */
  merge(): string[] {
    const weight = this.capped
      ? `arraySum(arrayMap(age -> pow(0.5, age / ${this.halfLife}), arraySlice(arraySort(groupArrayArray(sa${this.i})), 1, ${this.rule.cap})))`
      : `sum(sw${this.i})`;
    return [`sum(sn${this.i}) AS n${this.i}`, `${weight} AS w${this.i}`];
  }
}

function sliceParams({ index, count }: LeadSlice, p: SqlParams) {
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new Error(`slice ${index} of ${count}: the index must be an integer from 0 to count - 1`);
  }
  const [i, n] = [p.bind('slice_index', index, 'UInt64'), p.bind('slice_count', count, 'UInt64')];
  return { of: (key: string) => `cityHash64(${key}) % ${n} = ${i}` };
}

/**
 * The condition, over lead_scores rows, that keeps the leads of a slice (as compileScoring's `slice` scores
 * them): an identified lead by its email, an anonymous one by its visitor id (the lead id after `v_`).
 */
export function leadSliceSql(slice: LeadSlice, p: SqlParams): string {
  return sliceParams(slice, p).of(`if(startsWith(lead_id, 'l_'), email, substring(lead_id, 3))`);
}

/** The id of the lead of an email (SQL over an expression): `l_` and 20 hex digits of its SHA-256. */
export const leadIdOfEmailSql = (email: string) => `concat('l_', substring(lower(hex(SHA256(${email}))), 1, 20))`;

/** A moment (epoch ms) as a DateTime64 parameter. */
const bindTime = (p: SqlParams, name: string, ms: number) => p.bind(name, toClickHouseTime(ms), "DateTime64(3, 'UTC')");

/** The identity rows a scoring as of `now` reads: the site's, up to then, bots left out unless the rules count them. */
const knownIdentities = (site: string, now: string, countBots: boolean) => `site_id = ${site} AND ts <= ${now}${countBots ? '' : ' AND is_bot = 0'}`;

/**
 * Who each visit of a browser belongs to, when the browser gave several emails (a shared computer, an email given
 * again differently): a visit (session) in which an email was given is the latest such email's, with its page views
 * before the form; a visit without one is the latest email's given before it; the visits before the browser's first
 * email are those of its first identified visit. A browser that gave one email is that email's lead's throughout,
 * anonymous history included. So a person keeps what they did when someone else gives an email on their browser.
 *
 * A mistyped email put right in the same visit leaves the mistyped one no visit. Put right in a later visit, it is
 * another email's lead, with the visits before: two colleagues' addresses can be one letter apart (anne@, anna@), and
 * one person's visits must never go to another (an erasure would leave them behind). Events sent without a session
 * (a server's) are one visit: their browser is the latest email's throughout.
 *
 * `given` is the browser's identity rows, oldest first (by time, then event id): tuples (ts, event_id, email,
 * session_id) as identitiesSql gathers them. SQL of the email that owns the row of `session` at `at` (a time in the
 * visit); '' when the browser gave none. ownerOf is the same rule outside ClickHouse.
 */
export const ownerSql = (given: string, session: string, at: string) =>
  // The first index found (0: none) of: the visit's latest email, the latest given before, the first visit's latest.
  `${given}[arrayFirst(i -> i > 0, [arrayLastIndex(g -> g.4 = ${session}, ${given}), arrayLastIndex(g -> g.1 <= ${at}, ${given}),
      arrayLastIndex(g -> g.4 = ${given}[1].4, ${given})])].3`;

/** One identity row as ownerOf reads it: when (epoch ms), the event id, the email and the visit it was given in. */
export interface GivenEmail {
  at: number;
  eventId: string;
  email: string;
  sessionId: string;
}

/** ownerSql outside ClickHouse: the email whose visit `sessionId` at `at` (epoch ms) is; `given` oldest first. */
export function ownerOf(given: GivenEmail[], sessionId: string, at: number): string {
  const last = (test: (g: GivenEmail) => boolean) => given.filter(test).at(-1)?.email;
  if (given.length === 0) return '';
  return last((g) => g.sessionId === sessionId) ?? last((g) => g.at <= at) ?? last((g) => g.sessionId === given[0]!.sessionId)!;
}

/** SQL of rows (visitor_id, given) over the identity rows `where` keeps: each browser's, oldest first, as ownerSql and ownerOf read them. */
export const identitiesSql = (where: string) => `
    SELECT visitor_id, arraySort(groupArray((ts, event_id, email, session_id))) AS given
    FROM identities
    WHERE ${where}
    GROUP BY visitor_id`;

/** Each visitor (of a site, or of a list) with the emails it gave: the leads its visits belong to. */
const identifiedSql = (site: string, now: string, countBots: boolean, visitors?: string) =>
  `(${identitiesSql(`${knownIdentities(site, now, countBots)}${visitors ? ` AND visitor_id IN ${visitors}` : ''}`)})`;

/**
 * Two of ClickHouse's planning passes that cost the scoring queries more than they give them, since planning is most
 * of the time of scoring a few leads: merging each step's expressions into the next (query_plan_merge_expressions) and
 * deriving comparisons from chains of them (optimize_and_compare_chain). Without them, one lead's scoring query
 * takes 81 → 63 ms at 53,000 visitors and 90 → 73 ms at 1M, for the same rows (finding its visitors 14 → 12 ms);
 * a full rescoring takes as long.
 */
const PLANNING = { query_plan_merge_expressions: 0, optimize_and_compare_chain: 0 };

/**
 * Each lead's steps after the merge (its answers, seniority, country, company size) run regexes whose patterns
 * ClickHouse compiles once per block of rows. A lead's aggregate states are large (its answers, its visitors), so
 * past 50 MB of them ClickHouse switched to two-level aggregation, whose output is 256 blocks of a few hundred leads
 * each, and those steps paid the compiling 256 times: about 400 ms a query. With the byte threshold off, a query of
 * up to 100,000 leads (a slice of a full rescoring: SLICE_LEADS in collector/scorer.ts) is aggregated in one level
 * and its steps see few large blocks; the threshold in rows still splits larger ones, where the parallel merge pays.
 * Full rescoring at 53,000 visitors (FORMAT Null, interleaved): 1,749 → 1,371 ms; at 200,000 (208,710 leads in
 * one query), 5,337 → 5,031 ms; incremental and one-lead scoring unchanged.
 */
const AGGREGATION = { group_by_two_level_threshold_bytes: 0 };

/**
 * ClickHouse refuses a query of more than 50,000 syntax-tree nodes by default: about 800 rules of one pattern each
 * ("AST is too big", a backtest of a generated rules file of 1,000 pages). Such rule sets are scored, slowly (16 s to
 * plan 1,000 engagement rules), rather than refused.
 */
const LARGE_RULE_SETS = { max_ast_elements: 1_000_000, max_expanded_ast_elements: 10_000_000 };

/**
 * Rules → one parameterised ClickHouse query that scores, from raw events, every lead of a site (or the leads a
 * set of visitors belong to) as of `now`. Pure: the same rules and options give the same SQL and parameters.
 *
 * Identity: a visit belongs to the lead of an email its browser gave (form or identify), as ownerSql says; all of
 * that lead's visitors (devices) count, including their anonymous history. A visitor that never gave an email is scored
 * as a lead of its own (`v_…`, kind "visitor"), so an anonymous pricing-page regular is visible before the form.
 *
 * Shape: one pass over the events aggregates each session (one browser's visit) into a row that carries every
 * rule's tally, the first touch, the answers given (forms, identify calls) and the visit's buying-signal facts
 * (rules about engaged time on a page add a pass over page visits). These rows are mapped to leads and merged,
 * then each lead goes through a chain of steps: its latest answers, their normalised values, the answer and
 * first-touch rules, the reasons and points. One straight chain, no join back: ClickHouse's planning, which is
 * most of the time of scoring a few leads, grows with every branch and copy a query holds.
 */
export function compileScoring(rules: Rules, options: ScoringOptions): CompiledScoring {
  const p = new SqlParams();
  const pageGroups = options.pageGroups ?? {};
  // The config checks a site's own rules when it loads; a rules file (hearth backtest) is checked here.
  const [unknown] = unknownPageGroups(rules, pageGroups);
  if (unknown) throw new Error(`${unknown.path.map((key, n) => (typeof key === 'number' ? `[${key}]` : n ? `.${key}` : key)).join('')}: ${unknown.message}`);
  const now = options.now ?? new Date();
  const compiled = compileRules(rules, p, pageGroups);
  const site = p.bind('site', options.site);
  const nowParam = bindTime(p, 'now', now.getTime());
  // Events and identities are counted up to `until`, or `now` itself.
  const until = options.until ? bindTime(p, 'until', options.until.getTime()) : nowParam;
  const windowStart = bindTime(p, 'window_start', now.getTime() - rules.windowDays * DAY_MS);
  const notBot = (column: string) => (rules.countBots ? '' : ` AND ${column} = 0`);
  const visitors = options.visitors ? p.bind('visitors', options.visitors, 'Array(String)') : undefined;
  const ruleArray = (name: string, type: string, pick: (rule: CompiledRule) => unknown) => p.bind(name, compiled.map(pick), `Array(${type})`);
  const ruleIds = ruleArray('rule_ids', 'String', (r) => r.id);
  const ruleKinds = ruleArray('rule_kinds', 'String', (r) => r.kind);
  const rulePoints = ruleArray('rule_points', 'Float64', (r) => r.points);
  const ruleCaps = ruleArray('rule_caps', 'UInt32', (r) => r.cap);
  const ruleStages = ruleArray('rule_stages', 'UInt8', (r) => r.stageRank);
  const tallies = compiled.flatMap((rule, n) =>
    rule.scope === 'event' || rule.scope === 'visit' ? [new Tally(rule, n + 1, p.bind(`r${n + 1}_half_life`, rule.halfLifeDays, 'Float64'))] : [],
  );
  const eventTallies = tallies.filter((t) => t.rule.scope === 'event');
  const visitTallies = tallies.filter((t) => t.rule.scope === 'visit');

  const s = rules.signals;
  const pricing = p.bind('sig_pricing', globsToRegex(pricingPages(s, pageGroups)));
  const requestForms = p.bind('sig_request_forms', globsToRegex(s.requestForms));
  const docs = p.bind('sig_docs', globsToRegex(s.docAssets));
  const docWords = p.bind('sig_doc_words', [...new Set(s.docWords.map(words))], 'Array(String)');
  // The words of a name or a path, as words() reads them, a camelCase name's apart: "SecurityWhitepaper", and a run
  // of capitals before a word, "APIReference".
  const apart = p.bind('words_apart', '\\1 \\2');
  const [camel, capitals] = [p.bind('camel_case', '([a-z0-9])([A-Z])'), p.bind('capitals_case', '([A-Z])([A-Z][a-z])')];
  const wordsOf = (text: string) => `splitByChar(' ', ${wordsSql(`replaceRegexpAll(replaceRegexpAll(${text}, ${camel}, ${apart}), ${capitals}, ${apart})`, p)})`;
  // A doc word among them, or among its words with camelCase read as one ("DataSheet": datasheet), those read only
  // for a text that has camelCase (a few downloads: the full rescoring reads every one). Not two words joined:
  // "/data/sheet-music.pdf" and "Menu-A-Pi.pdf" are no documentation.
  const holdsDocWord = (text: string) =>
    `hasAny(${wordsOf(text)}, ${docWords}) OR (match(${text}, ${camel}) AND hasAny(splitByChar(' ', ${wordsSql(text, p)}), ${docWords}))`;
  const daysAgo = (name: string, days: number) => `${nowParam} - toIntervalMillisecond(${p.bind(name, Math.round(days * DAY_MS), 'UInt64')})`;
  const never = `toDateTime64(0, 3, 'UTC')`;
  // A visit's event on pricing that tells engaged time: its view or an engagement piece.
  const onPricing = `in_window AND on_pricing AND type IN ('pageview', 'engagement')`;

  const slice = options.slice && sliceParams(options.slice, p);
  // A visitor is read in the slices of its leads: those of the emails it gave, or its own when it gave none. The
  // leads of other slices its visits make are left out after the merge.
  const withEmail = (condition = '') => `(SELECT visitor_id FROM identified${condition && ` WHERE ${condition}`})`;
  const inSlice = slice
    ? ` AND (visitor_id IN ${withEmail(`arrayExists(g -> ${slice.of('g.3')}, given)`)} OR (${slice.of('visitor_id')} AND visitor_id NOT IN ${withEmail()}))`
    : '';
  const identifiedOnly = options.identifiedOnly ? ` AND visitor_id IN ${withEmail()}` : '';
  // The rows of the site (and of the visitors) are picked on the order key first, before any other column is read:
  // ClickHouse does not move a condition to PREWHERE by itself under FINAL, and the key's columns are the same in
  // every copy of a row, so picking on them before FINAL collapses the copies changes nothing.
  const eventsWhere = `PREWHERE site_id = ${site}${visitors ? ` AND visitor_id IN ${visitors}` : ''}
        WHERE ts <= ${until}${notBot('is_bot')}${inSlice}${identifiedOnly}`;
  // An event dated a little ahead (kept up to 5 minutes after its arrival: a clock running fast) is as new as can be,
  // never newer: a negative age would give a rule more than its points.
  const ageDays = `greatest(0., (toUnixTimestamp64Milli(${nowParam}) - toUnixTimestamp64Milli(ts)) / ${DAY_MS})`;
  // An answer: when (and the event's id, for a tie), the answers, and the email the event carried ('' for none).
  const answersType = `Array(Tuple(Tuple(DateTime64(3, \\'UTC\\'), UUID), Map(String, String), String))`;
  const touchType = `Tuple(Tuple(DateTime64(3, \\'UTC\\'), UUID), LowCardinality(String), LowCardinality(String), LowCardinality(String))`;

  // The columns of a row of a lead's history, each with its value in rows that do not carry it. Rows come from
  // sessions and, for dwell rules, page visits; every column adds up across a lead's rows.
  const neutral: Record<string, string> = {
    first_ts: `toDateTime64('2299-12-31 00:00:00', 3, 'UTC')`,
    last_ts: never,
    ...Object.fromEntries(tallies.flatMap((t) => t.none())),
    visit_stage: 'toUInt8(0)',
    touched: 'toUInt8(0)',
    visit_touch: `CAST(((${never}, toUUID('00000000-0000-0000-0000-000000000000')), '', '', ''), '${touchType}')`,
    visit_answers: `CAST([], '${answersType}')`,
    started: never,
    ended: never,
    pages: 'toUInt64(0)',
    pricing_ms: 'toUInt64(0)',
    pricing_at: never,
    request_at: never,
    request_form: `''`,
    docs_at: never,
    docs_name: `''`,
    docs_link: `''`,
  };
  const row = (values: Record<string, string>) => Object.keys(neutral).map((column) => `${values[column] ?? neutral[column]} AS ${column}`).join(',\n        ');

  // One row per session: every event rule's tally, the funnel stage, first touch and the visit's signal facts.
  const sessions = `
    SELECT
        visitor_id, session_id, min(ts) AS owned_at,
        ${row({
          first_ts: 'min(ts)',
          last_ts: 'max(ts)',
          ...Object.fromEntries(eventTallies.flatMap((t) => t.aggregate(`${t.counted} AND ${t.rule.condition}`))),
          // A request form (a demo, a quote) is the bottom of the funnel wherever the site keeps it.
          visit_stage: `maxIf(if(is_request, ${STAGES.indexOf('BOFU') + 1}, ${pageStageSql(rules, pageGroups, p)}), counted)`,
          touched: 'countIf(is_touch) > 0',
          // What the visitor said in this session (forms, identify calls), whenever it was: answers never age out. With
          // the email the form or identify call carried: its answers are that person's (fields, below).
          visit_answers: `groupArrayIf(((ts, event_id), props, given_email), type IN ('form', 'identify'))`,
          // The earliest touch with its source: tuples compare by time first (and event id on a tie).
          visit_touch: 'minIf(((ts, event_id), utm_source, utm_medium, referrer_host), is_touch)',
          started: 'minIf(ts, in_window)',
          ended: 'maxIf(ts, in_window)',
          pages: `countIf(in_window AND type = 'pageview')`,
          // No more than the visit spent between its first pricing event and its last, give or take a piece: pieces are
          // client-told (engagedWithin). The pricing panel bounds its time the same way, as a dwell rule bounds a page's.
          pricing_ms: engagedWithin(`sumIf(engaged_ms, ${onPricing})`, `minIf(ts, ${onPricing})`, `maxIf(ts, ${onPricing})`),
          // A visit is on pricing by a view or by engaged time there: a pricing tab left open and come back to after
          // 30 minutes is a new visit that sends engaged time and no page view.
          pricing_at: `maxIf(ts, ${onPricing})`,
          request_at: 'maxIf(ts, in_window AND is_request)',
          request_form: 'argMaxIf(name, ts, in_window AND is_request)',
          docs_at: 'maxIf(ts, in_window AND is_docs)',
          docs_name: 'argMaxIf(name, ts, in_window AND is_docs)',
          docs_link: 'argMaxIf(link_url, ts, in_window AND is_docs)',
        })}
    FROM
    (
        SELECT visitor_id, session_id, event_id, ts, type, name, path, link_url, engaged_ms, utm_source, utm_medium, referrer_host, props,
            lower(trimBoth(email)) AS given_email,
            ${ageDays} AS age_days,
            ts >= ${windowStart} AS in_window,
            in_window AND type != 'engagement' AS counted,
            type = 'pageview' AND (utm_source != '' OR referrer_host != '') AS is_touch,
            match(path, ${pricing}) AS on_pricing,
            type = 'form' AND match(name, ${requestForms}) AS is_request,
            type = 'download' AND (match(name, ${docs}) OR match(link_url, ${docs}) OR ${holdsDocWord('name')} OR ${holdsDocWord('path(link_url)')}) AS is_docs
        FROM events FINAL
        ${eventsWhere}
    )
    GROUP BY visitor_id, session_id`;

  // A dwell rule counts page visits: one page's views and engaged time in one session, as old as its first event.
  const pageVisits = visitTallies.length
    ? `
    UNION ALL
    SELECT
        visitor_id, session_id, owned_at,
        ${row(Object.fromEntries(visitTallies.flatMap((t) => t.row(t.rule.condition))))}
    FROM
    (
        SELECT visitor_id, session_id, visit_at AS owned_at, 'pageview' AS type, '' AS name, '' AS link_url, path, visit_engaged_ms AS engaged_ms, visit_age_days AS age_days
        FROM
        (
            SELECT visitor_id, session_id, path, min(ts) AS visit_at, ${engagedWithin('sum(engaged_ms)', 'min(ts)', 'max(ts)')} AS visit_engaged_ms, max(${ageDays}) AS visit_age_days
            FROM events FINAL
            ${eventsWhere} AND ts >= ${windowStart} AND type IN ('pageview', 'engagement')
            GROUP BY visitor_id, session_id, path
        )
    )`
    : '';

  const dwellMs = p.bind('sig_dwell_ms', Math.round(s.pricingDwellSeconds * 1000), 'UInt64');
  const recentPricing = `pricing_at > ${never} AND started >= ${daysAgo('sig_returns_ms', s.pricingReturnsDays)}`;
  const recent = `started >= ${daysAgo('sig_weak_ms', s.weakDays)}`;
  // The facts of the buying signals (SignalFacts), each aggregated once per lead; leadScoreOf composes the signals from
  // them. Each signal has the last time it happened, so a new occurrence is told from an old one. The pricing signals
  // are visits (their time is the start of the latest visit that shows them), so further page views in the same visit
  // are not a new occurrence. Weak signals: the visits in the last weakDays days, and the most pages one of them read,
  // a figure of one visit being the latest visit's that shows it.
  const deepVisit = `${recent} AND pages >= ${p.bind('sig_weak_pages', s.weakPagesPerSession, 'UInt32')}`;
  const longVisit = `pricing_ms >= ${dwellMs}`;
  const signalFacts: SqlOf<SignalFacts> = [
    'maxIf(started, toUnixTimestamp64Milli(request_at) > 0)',
    'argMax(request_form, request_at)',
    `maxIf(started, ${longVisit})`,
    `argMaxIf(pricing_ms, started, ${longVisit})`,
    `countIf(${recentPricing})`,
    `maxIf(started, ${recentPricing})`,
    'max(docs_at)',
    `argMax(if(docs_name != '', docs_name, path(docs_link)), docs_at)`,
    `countIf(${recent})`,
    `maxIf(ended, ${recent})`,
    `maxIf(pages, ${recent})`,
    `maxIf(ended, ${deepVisit})`,
    `argMaxIf(pages, ended, ${deepVisit})`,
  ];

  // Per lead, step by step: each step's columns are plain columns to the next, so no expression is repeated
  // inside another (ClickHouse inlines an alias wherever it is used, and planning grows with the copies).
  // Each row goes to the lead its visit belongs to (ownerSql); a visitor that gave no email is a lead of its own.
  const keep = [
    slice && slice.of(`if(email = '', anonymous_id, email)`),
    options.visitors && options.leadEmails && `(email = '' OR has(${p.bind('lead_emails', options.leadEmails, 'Array(String)')}, email))`,
  ].filter(Boolean);
  const leads = `
    SELECT
        if(email = '', concat('v_', anonymous_id), ${leadIdOfEmailSql('email')}) AS lead_id,
        email,
        arraySort(groupUniqArray(sessions.visitor_id)) AS visitor_ids,
        -- A browser's identity rows that name two emails or more make it shared: its visits are listed, one by one.
        CAST(arraySort(groupUniqArrayIf((sessions.visitor_id, sessions.session_id), arrayExists(g -> g.3 != identified.given[1].3, identified.given))),
            '${SHARED_VISITS}') AS shared_visits,
        min(first_ts) AS first_seen, max(last_ts) AS last_seen,
        ${tallies.flatMap((t) => t.merge()).join(',\n        ')}${tallies.length ? ',' : ''}
        max(visit_stage) AS page_stage,
        max(touched) AS has_touch,
        minIf(visit_touch, touched) AS touch,
        arrayFlatten(groupArray(visit_answers)) AS answers,
        (${signalFacts.join(',\n            ')}) AS signal_facts
    FROM
    (${sessions}${pageVisits}
    ) AS sessions
    LEFT JOIN identified ON identified.visitor_id = sessions.visitor_id
    GROUP BY ${ownerSql('identified.given', 'sessions.session_id', 'sessions.owned_at')} AS email, if(email = '', sessions.visitor_id, '') AS anonymous_id${
      keep.length ? `
    HAVING ${keep.join(' AND ')}` : ''
    }`;
  /** Columns n<i>, w<i> of the rules of a scope that match once or not at all (answers, first touch). */
  const matchedOnce = (scope: Scope) =>
    compiled.flatMap((rule, n) => (rule.scope === scope ? [`toUInt64(${rule.condition}) AS n${n + 1}, 1. AS w${n + 1}`] : [])).join(',\n        ');
  /**
   * `SELECT *` plus each step's columns in turn, each step reading the one before it as plain columns. Steps cost
   * planning time each (about 6 ms), so a value used only inside one expression is bound there with letSql.
   */
  const stepped = (source: string, steps: string[]) =>
    steps.filter(Boolean).reduce((inner, columns) => `
    SELECT *,
        ${columns}
    FROM
    (${inner.replaceAll('\n', '\n    ')}
    )`, source);
  // Per lead, after the merge: its answers, then its rules. Answer rules (fit, and negatives such as free mail) and
  // first-touch rules match once or not at all. A visitor who gave no answer goes through the same steps with
  // empty answers, which costs next to nothing.
  const standIns = p.bind('title_stand_ins', [...TITLE_STAND_INS], 'Array(String)');
  const scored = stepped(`
    SELECT * FROM leads`, [
    // The latest answer per field across the lead's forms and identify calls, fields in name order. An answer that says
    // nothing ("", "-", "N/A", "néant": saysNothing) is not one: a later "-" leaves the earlier "CEO" in place. A lead
    // who never gave a job title has their job level (or role, or function) for one: a later form asking only the
    // function ("Marketing") leaves the CEO a CEO. A form or identify call that carried another email is that person's,
    // not the lead's: someone else who gave theirs earlier in the visit the lead's email was given in (a shared computer
    // at a stand), or the lead's own email mistyped there, whose corrected form brings its answers again.
    `${letSql(
      'given',
      `arrayFilter(a -> NOT ${saysNothingSql('a.2', p)}, arrayFlatten(arrayMap(f -> arrayMap((k, v) -> (k, trimBoth(v)), mapKeys(f.2), mapValues(f.2)),
        arrayReverseSort(f -> f.1, arrayFilter(f -> f.3 = '' OR f.3 = email, answers)))))`,
      letSql(
        'latest',
        `arraySort(arrayFilter((a, i) -> indexOf(arrayMap(x -> x.1, given), a.1) = i, given, arrayEnumerate(given)))`,
        letSql(
          'titled',
          `if(has(arrayMap(x -> x.1, latest), 'job_title'), latest, arraySort(arrayConcat(latest, arrayMap(x -> ('job_title', x.2),
            arraySlice(arraySort(x -> indexOf(${standIns}, x.1), arrayFilter(x -> has(${standIns}, x.1), latest)), 1, 1)))))`,
          `mapFromArrays(arrayMap(x -> x.1, titled), arrayMap(x -> x.2, titled))`,
        ),
      ),
    )} AS fields,
        substring(email, position(email, '@') + 1) AS email_domain,
        lowerUTF8(touch.2) AS utm_source, lowerUTF8(touch.3) AS utm_medium, lowerUTF8(touch.4) AS referrer_host`,
    `${letSql('title_words', roleWordsSql(paddedWordsSql(`fields['job_title']`, p), p), seniorityOfPaddedSql('title_words', p))} AS seniority,
        ${countryCodeSql(`fields['country']`, p)} AS country_code,
        ${letSql('size_text', sizeTextSql(`fields['company_size']`, p), numberOfSizeTextSql('size_text', p))} AS company_size_min`,
    // Per rule: how often it matched, its points (decayed, under its cap, to two decimals as the reasons show them:
    // each part is the sum of its reasons as shown, so 14.747 twice is 29.5, not 29.49), whether the cap cut in, its stage.
    // Each rule array is referenced once: a parameter is a literal wherever it appears, and planning pays per copy.
    // The answer and first-touch rules' columns are used once, in this step's reasons, so they share its step.
    [
      matchedOnce('profile'),
      matchedOnce('source'),
      `arrayFilter(r -> r.count > 0, CAST(arrayMap((rule, kind, count, weight, points, cap, stage) -> (rule, kind, count, round(weight * points, 2), count > cap, stage),
            ${ruleIds}, ${ruleKinds}, CAST([${compiled.map((_, n) => `n${n + 1}`).join(', ')}], 'Array(UInt64)'),
            CAST([${compiled.map((_, n) => `w${n + 1}`).join(', ')}], 'Array(Float64)'), ${rulePoints}, ${ruleCaps}, ${ruleStages}), '${REASON_ROWS}')) AS all_reasons`,
    ]
      .filter(Boolean)
      .join(',\n        '),
  ]);
  const points = (kind: RuleKind) => `arraySum(r -> if(r.kind = '${kind}', r.points, 0.), all_reasons)`;

  const query = `
WITH
identified AS${identifiedSql(site, until, rules.countBots, visitors)},
leads AS
(${leads}
)
SELECT
    lead_id,
    if(email = '', 'visitor', 'lead') AS kind,
    email, visitor_ids, shared_visits,
    -- The sum of the parts as they are shown (each the sum of its reasons as shown, to two decimals: 15 + 20.5 is 36,
    -- where the exact 35.496 was 35), half up, as Math.round (the accounts) and the thresholds read it: ClickHouse's
    -- round() takes 60.5 to 60.
    toInt32(floor(round(fit + engagement + source + negative, 2) + 0.5)) AS score,
    round(${points('fit')}, 2) AS fit,
    round(${points('engagement')}, 2) AS engagement,
    round(${points('source')}, 2) AS source,
    round(${points('negative')}, 2) AS negative,
    multiIf(score > ${p.bind('hot', rules.thresholds.hot, 'Float64')}, 'hot', score >= ${p.bind('warm', rules.thresholds.warm, 'Float64')}, 'warm', 'cold') AS temperature,
    ['', 'TOFU', 'MOFU', 'BOFU'][greatest(arrayMax(arrayPushBack(arrayMap(r -> r.stage, all_reasons), toUInt8(0))), page_stage) + 1] AS stage,
    arraySort(r -> (-r.points, r.rule), arrayMap(r -> CAST((r.rule, r.kind, toUInt32(r.count), r.points, r.capped), 'Tuple(rule String, kind String, count UInt32, points Float64, capped Bool)'), all_reasons)) AS reasons,
    fields AS profile, seniority, country_code AS country, company_size_min,
    CAST((utm_source, utm_medium, referrer_host), 'Tuple(utm_source String, utm_medium String, referrer_host String)') AS first_touch,
    first_seen, last_seen, signal_facts
FROM
(${scored}
)
ORDER BY score DESC, lead_id`;
  return { query, query_params: p.values, clickhouse_settings: { ...PLANNING, ...AGGREGATION, ...LARGE_RULE_SETS } };
}

/**
 * The leads some visitors' visits belong to, as of `now`: their emails (every email the visitors gave) and the other
 * visitors that gave one of them. A batch from one device rescores the lead with all its devices, and the other person
 * of a shared browser too (their visits may have changed hands). One row (`visitors`, `emails`); the visitors asked
 * about are not repeated in it: scoreLeads adds them. Run apart from the scoring query, whose planning grows with every
 * copy of a subquery it holds; one statement with one subquery, as its planning is most of its time (where three
 * selects in a UNION over a materialized CTE took 15 ms for one lead and 29 ms for 1,000, this takes 9 and 14 ms on the
 * 53,000-visitor benchmark history).
 */
export function compileLeadVisitors(rules: Pick<Rules, 'countBots'>, options: ScoringOptions & { visitors: string[] }): CompiledScoring {
  const p = new SqlParams();
  const site = p.bind('site', options.site);
  // Only the emails given up to `until` (or `now`) count; nothing here decays.
  const upTo = bindTime(p, options.until ? 'until' : 'now', (options.until ?? options.now ?? new Date()).getTime());
  const visitors = p.bind('visitors', options.visitors, 'Array(String)');
  const known = knownIdentities(site, upTo, rules.countBots);
  // Every row read gives one of the emails, and each email has a row at least: its emails are the leads' emails.
  const query = `
SELECT groupUniqArray(visitor_id) AS visitors, groupUniqArray(email) AS emails FROM identities
WHERE ${known} AND email IN (SELECT email FROM identities WHERE ${known} AND visitor_id IN ${visitors})`;
  return { query, query_params: p.values, clickhouse_settings: PLANNING };
}
