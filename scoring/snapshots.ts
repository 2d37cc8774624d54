import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { leadIdOfEmailSql, leadSliceSql, type ActiveSignal, type LeadScore, type LeadSlice, type ScoreReason, type SharedVisit, type Temperature } from './compile.ts';
import { companyKeySql } from './normalize.ts';
import { MARKETING_QUALIFIED_SQL } from './lifecycle.ts';
import { ONE_LEAD, slicesOf, SqlParams, timeOf } from './sql.ts';
import { accountKeyOf, byAccount, type AccountMember, type FreeMail } from './accounts.ts';
import type { Rules, Stage } from './rules.ts';
import { inTurns, queryRows } from './turns.ts';

/**
 * Score snapshots (table `lead_scores`): a row each time a lead's score, temperature, stage, signals, identity or
 * activity change. The latest row of a lead is its current score, which lists and dashboards read instead of
 * rescoring a site at every request; the earlier rows are its trend. A lead that stops existing (an anonymous
 * visitor who gave an email and joined a lead, an erased person) gets a last row of kind `gone`.
 */
export interface StoredScore {
  site_id: string;
  lead_id: string;
  scored_at: string;
  kind: 'lead' | 'visitor' | 'gone';
  email: string;
  visitor_ids: string[];
  /** LeadScore's shared_visits; empty on the rows stored before migration 015, until the lead is rescored. */
  shared_visits: SharedVisit[];
  score: number;
  fit: number;
  engagement: number;
  source: number;
  negative: number;
  temperature: Temperature;
  stage: Stage | '';
  /** JSON of ScoreReason[]. */
  reasons: string;
  /** JSON of ActiveSignal[]. */
  signals: string;
  profile: Record<string, string>;
  company: string;
  seniority: string;
  country: string;
  utm_source: string;
  utm_medium: string;
  referrer_host: string;
  first_seen: string;
  last_seen: string;
  /** 1 while "became hot" may alert; 0 after it did, until the score falls below the re-arm mark. */
  hot_armed: number;
  rules_hash: string;
}

export type SnapshotStore = Pick<ClickHouseClient, 'query'>;

/** A stable digest of the rules (and page groups) a score was computed with: when it changes, every lead is rescored. */
export function rulesHash(rules: Rules, pageGroups: Record<string, string[]> = {}): string {
  return createHash('sha256').update(JSON.stringify({ rules, pageGroups })).digest('hex').slice(0, 16);
}

export function toSnapshot(site: string, score: LeadScore, scoredAt: string, hotArmed: boolean, hash: string): StoredScore {
  return {
    site_id: site,
    lead_id: score.lead_id,
    scored_at: scoredAt,
    kind: score.kind,
    email: score.email,
    visitor_ids: score.visitor_ids,
    shared_visits: score.shared_visits,
    score: score.score,
    fit: score.fit,
    engagement: score.engagement,
    source: score.source,
    negative: score.negative,
    temperature: score.temperature,
    stage: score.stage,
    reasons: JSON.stringify(score.reasons),
    signals: JSON.stringify(score.signals),
    profile: score.profile ?? {},
    company: score.profile?.company?.trim() ?? '',
    seniority: score.seniority,
    country: score.country,
    utm_source: score.first_touch?.utm_source ?? '',
    utm_medium: score.first_touch?.utm_medium ?? '',
    referrer_host: score.first_touch?.referrer_host ?? '',
    first_seen: score.first_seen,
    last_seen: score.last_seen,
    hot_armed: hotArmed ? 1 : 0,
    rules_hash: hash,
  };
}

/** The last row of a lead that no longer exists: lists leave it out, its history stays readable until erased. */
export function goneSnapshot(previous: StoredScore, scoredAt: string): StoredScore {
  return { ...previous, scored_at: scoredAt, kind: 'gone', score: 0, fit: 0, engagement: 0, source: 0, negative: 0, temperature: 'cold', signals: '[]', hot_armed: 1 };
}

/** What a snapshot says that a reader would notice: a new row is written when one of these changes. */
function visible(row: StoredScore, reasons: ScoreReason[]): string {
  return JSON.stringify([
    row.kind, row.email, row.visitor_ids, row.shared_visits, row.score, Math.round(row.fit), Math.round(row.engagement), Math.round(row.source),
    Math.round(row.negative), row.temperature, row.stage, row.signals, row.profile, row.utm_source, row.utm_medium, row.referrer_host,
    row.first_seen, row.last_seen, row.hot_armed, row.rules_hash,
    reasons.map((reason) => [reason.rule, reason.count, reason.capped]),
  ]);
}

/** The parts' and each reason's points as the pages show them, to one decimal. */
function shownPoints(row: StoredScore, reasons: ScoreReason[]): string {
  const shown = (points: number) => Math.round(points * 10);
  return JSON.stringify([shown(row.fit), shown(row.engagement), shown(row.source), shown(row.negative), reasons.map((reason) => shown(reason.points))]);
}

/** How long decay may leave a lead's stored points behind what they are (see snapshotChanged). */
const DRIFT_MS = 24 * 3600_000;

/**
 * Whether a rescoring writes a new snapshot: when a reader would notice a change (visible), or when decay moved a part's
 * or a reason's points as the pages show them and the last snapshot is a day old. Without the reasons, and with the
 * parts compared as whole numbers alone, a lead's stored reasons kept a count past the window, and points days of decay
 * old (5 where 4.67 was due, until the part fell past 4.5). Decay moves a tenth of a point of a fifth of the leads every
 * hour: a row for each at every hourly pass would make a lead's history 14 times as long (53,000 visitors), and
 * every list that reads the latest rows slower; a day of decay is 2.3 % of a reason's points (a 30-day half-life).
 */
export function snapshotChanged(previous: StoredScore | undefined, next: StoredScore): boolean {
  if (!previous) return true;
  // Each row's reasons parsed once: an hourly pass compares every lead of the site. In the order of their rules, not of
  // their points: decay taking a reason from 20 to 19.99 puts it after a fit reason of 20, which no page shows apart.
  const byRule = (row: StoredScore) => reasonsOf(row).sort((a, b) => (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
  const [before, after] = [byRule(previous), byRule(next)];
  if (visible(previous, before) !== visible(next, after)) return true;
  return shownPoints(previous, before) !== shownPoints(next, after) && timeOf(next.scored_at) - timeOf(previous.scored_at) >= DRIFT_MS;
}

/** Reasons and signals of a stored score, parsed. */
export const reasonsOf = (row: Pick<StoredScore, 'reasons'>): ScoreReason[] => JSON.parse(row.reasons || '[]');
export const signalsOf = (row: Pick<StoredScore, 'signals'>): ActiveSignal[] => JSON.parse(row.signals || '[]');

const SNAPSHOT_COLUMNS = [
  'site_id', 'lead_id', 'scored_at', 'kind', 'email', 'visitor_ids', 'shared_visits', 'score', 'fit', 'engagement', 'source', 'negative', 'temperature', 'stage',
  'reasons', 'signals', 'profile', 'company', 'seniority', 'country', 'utm_source', 'utm_medium', 'referrer_host', 'first_seen', 'last_seen',
  'hot_armed', 'rules_hash',
] as const;


/**
 * SQL for the identified leads of the site `{site:String}` as they stand now: each lead's latest snapshot with these
 * columns, leads that are gone (merged or erased) left out. `l_` ids are a range of the table's order key
 * (site_id, lead_id, scored_at), so the anonymous visitors' rows (`v_…`) are skipped unread.
 */
export function currentLeadsSql(columns: readonly string[]): string {
  const others = columns.filter((column) => column !== 'lead_id' && column !== 'kind');
  return `
    SELECT ${['lead_id', ...others].join(', ')} FROM
    (
        SELECT ${['lead_id', 'kind', ...others].join(', ')}
        FROM lead_scores
        WHERE site_id = {site:String} AND startsWith(lead_id, 'l_')
        ORDER BY lead_id, scored_at DESC
        LIMIT 1 BY lead_id
    )
    WHERE kind = 'lead'`;
}

/** The current stored scores of a site's identified leads, as account members. */
export const currentAccountMembers = (store: SnapshotStore, site: string): Promise<AccountMember[]> => accountMembers(store, site);

/**
 * The colleagues of each of some leads, by their current stored scores: the other identified leads of its account
 * (accountKeyOf: its work email's domain, else its declared company), none for a lead of no account. One read for all
 * of them: an alert's account is scored from its lead's colleagues, and a burst of new leads (a webinar's sign-ups)
 * makes hundreds of alerts in one round.
 */
export async function accountColleagues(
  store: SnapshotStore,
  site: string,
  leads: Pick<AccountMember, 'lead_id' | 'email' | 'profile'>[],
  /** The site's (freeMailOf): a default would quietly leave out the providers the site's rules add. */
  freeMail: FreeMail,
): Promise<Map<string, AccountMember[]>> {
  const keys = leads.map((lead) => accountKeyOf(lead, freeMail)?.id);
  const accounts = [...new Set(keys.filter((key) => key !== undefined))];
  const companies = accounts.filter((key) => key.startsWith('company:'));
  // A domain's leads end with it; a company's are picked by its key as companyKey writes it (no case, accents,
  // punctuation or legal form), then kept if theirs is the account (a work email's domain goes first).
  const p = new SqlParams();
  const ats = p.bind('ats', accounts.filter((key) => !companies.includes(key)).map((domain) => `@${domain}`), 'Array(String)');
  const named = p.bind('companies', companies.map((key) => key.slice('company:'.length)), 'Array(String)');
  const members = accounts.length ? await accountMembers(store, site, `arrayExists(at -> endsWith(email, at), ${ats}) OR (company != '' AND ${companyKeySql('company', p)} IN ${named})`, p) : [];
  const grouped = byAccount(members, freeMail);
  return new Map(leads.map((lead, n) => [lead.lead_id, (keys[n] === undefined ? [] : (grouped.get(keys[n]!) ?? [])).filter((member) => member.lead_id !== lead.lead_id)]));
}

/** The current stored scores of a site's identified leads as account members: all, or those that meet `where`. */
async function accountMembers(store: SnapshotStore, site: string, where = '', p = new SqlParams()): Promise<AccountMember[]> {
  const result = await store.query({
    query: `SELECT * FROM (${currentLeadsSql(['email', 'score', 'temperature', 'company', 'seniority'])})${where && ` WHERE ${where}`}`,
    query_params: { site, ...p.values },
    format: 'JSONEachRow',
  });
  const rows = await result.json<Pick<StoredScore, 'lead_id' | 'email' | 'score' | 'temperature' | 'company' | 'seniority'>>();
  return rows.map(({ company, seniority, ...row }) => ({ ...row, kind: 'lead', seniority: seniority as LeadScore['seniority'], profile: { company } }));
}

/**
 * The current snapshot of a site's leads: all of them, those of a slice (see compileScoring), or those with these
 * ids or with any of these visitors (which finds the anonymous `v_…` lead a visitor leaves behind when it joins an
 * identified one). Gone leads included.
 */
export async function currentSnapshots(
  store: SnapshotStore,
  site: string,
  only?: { leadIds: string[]; visitors: string[] } | { slice: LeadSlice },
): Promise<StoredScore[]> {
  const p = new SqlParams();
  p.bind('site', site);
  let candidates = '';
  let latest = '';
  if (only && 'slice' in only) {
    candidates = `AND ${leadSliceSql(only.slice, p)}`;
  } else if (only) {
    // A lead that ever held one of the visitors is the visitor's own anonymous lead or that of an email it gave:
    // those ids are looked up by the order key (a few granules), then the visitor test is applied again to the
    // latest rows, since an older row may list a visitor the lead has since lost.
    const ids = p.bind('ids', only.leadIds, 'Array(String)');
    if (only.visitors.length === 0) candidates = `AND lead_id IN ${ids}`;
    else {
      const visitors = p.bind('visitors', only.visitors, 'Array(String)');
      candidates = `AND (lead_id IN ${ids} OR lead_id IN (SELECT concat('v_', arrayJoin(${visitors})))
        OR lead_id IN (SELECT ${leadIdOfEmailSql('email')} FROM identities WHERE site_id = {site:String} AND visitor_id IN ${visitors}))`;
      latest = `AND (lead_id IN ${ids} OR hasAny(visitor_ids, ${visitors}))`;
    }
  }
  return queryRows<StoredScore>(store, {
    query: `SELECT ${SNAPSHOT_COLUMNS.join(', ')} FROM
      (SELECT * FROM lead_scores WHERE site_id = {site:String} ${candidates} ORDER BY lead_id, scored_at DESC LIMIT 1 BY lead_id)
      WHERE 1 ${latest}`,
    query_params: p.values,
  });
}

/** Which stored leads a list shows, and in which order: filters the list API turns its query into. */
export interface StoredLeadQuery {
  temperature?: Temperature | undefined;
  /** Only MQLs by their score and signals (true), or only the others (false): see lifecycle.ts. */
  marketingQualified?: boolean | undefined;
  stage?: Stage | undefined;
  kind?: 'lead' | 'visitor' | undefined;
  /** Only these leads. */
  leadIds?: string[] | undefined;
  /** None of these leads. */
  exceptLeadIds?: string[] | undefined;
  sort: ListSort;
  offset: number;
  limit: number;
  /** Only the leads after this one in the list's order (a cursor: `next` of the page before). */
  after?: LeadCursor | undefined;
  /** Only the leads whose stored score changed at or after `at` (ClickHouse's text), or whose qualification did (`qualified`). */
  changedSince?: { at: string; qualified: string[] } | undefined;
}

/**
 * The orders of a lead list, each best first: by score, by when the lead was last seen, by the fit part of the score
 * (who they are: the leads most like the customers sought) or by its engagement part (what they did).
 */
export const LEAD_SORTS = ['score', 'recent', 'fit', 'engagement'] as const;
export type LeadSort = (typeof LEAD_SORTS)[number];

/**
 * The API's orders: the lists' and by lead id, a key that never changes, so a sync paging through a site while leads
 * move still gets each lead once (one that arrives behind its cursor is for the next sync: changedSince).
 */
export type ListSort = LeadSort | 'id';

/** A sort by a part of the score: fit or engagement. */
export const sortsByPart = (sort: ListSort): sort is 'fit' | 'engagement' => sort === 'fit' || sort === 'engagement';

/**
 * A part of the score (stored to two decimals) as a sort key: in whole hundredths of a point, compared exactly where a
 * Float64 would make a cursor miss its own lead.
 */
export const partKeySql = (part: 'fit' | 'engagement') => `toInt64(round(${part} * 100))`;

/** A sort's key in a stored score, and its type. */
const SORT_KEYS: Record<ListSort, [string, string]> = {
  // The same key for every lead: the id alone orders them.
  id: ["''", 'String'],
  score: ['score', 'Int32'],
  recent: ['last_seen', "DateTime64(3, 'UTC')"],
  fit: [partKeySql('fit'), 'Int64'],
  engagement: [partKeySql('engagement'), 'Int64'],
};

/** Where a page of leads ends: its last lead's sort key (score, last seen as ClickHouse writes it, or a part's points in hundredths) and id. */
export interface LeadCursor {
  key: string;
  leadId: string;
}

/**
 * One page of a site's current stored scores, filtered and sorted by ClickHouse, with the count of all that match:
 * a site with a million leads sends the page, not the million.
 */
export async function storedLeadPage(store: SnapshotStore, site: string, query: StoredLeadQuery): Promise<{ total: number; rows: StoredScore[]; next: LeadCursor | null }> {
  if (query.leadIds?.length === 0) return { total: 0, rows: [], next: null };
  const p = new SqlParams();
  p.bind('site', site);
  const where = [
    `kind != 'gone'`,
    query.temperature ? `temperature = ${p.bind('temperature', query.temperature)}` : '',
    query.marketingQualified === undefined ? '' : query.marketingQualified ? MARKETING_QUALIFIED_SQL : `NOT ${MARKETING_QUALIFIED_SQL}`,
    query.stage ? `stage = ${p.bind('stage', query.stage)}` : '',
    query.kind ? `kind = ${p.bind('kind', query.kind)}` : '',
    query.exceptLeadIds?.length ? `lead_id NOT IN ${p.bind('except_ids', query.exceptLeadIds, 'Array(String)')}` : '',
    query.changedSince === undefined
      ? ''
      : `(scored_at >= ${p.bind('changed_since', query.changedSince.at, "DateTime64(3, 'UTC')")} OR lead_id IN ${p.bind('qualified_since', query.changedSince.qualified, 'Array(String)')})`,
  ].filter(Boolean);
  const only = query.leadIds ? `AND lead_id IN ${p.bind('ids', query.leadIds, 'Array(String)')}` : '';
  // The page is picked from narrow columns (the latest row of every lead), then only its rows are read whole.
  // The signals only when a lifecycle needs them: they are the widest of these columns.
  const signals = query.marketingQualified === undefined ? '' : ', signals';
  const parts = sortsByPart(query.sort) ? `, ${query.sort}` : '';
  const changed = query.changedSince === undefined ? '' : ', scored_at';
  const latest = `(SELECT lead_id, kind, temperature, stage, score, last_seen${parts}${signals}${changed} FROM lead_scores WHERE site_id = {site:String} ${only}
    ORDER BY lead_id, scored_at DESC LIMIT 1 BY lead_id) WHERE ${where.join(' AND ')}`;
  const [key, type] = SORT_KEYS[query.sort];
  const column = 'sort_key';
  const order = `${column} DESC, lead_id`;
  // Keyset paging: the leads after the cursor's in the list's order, counted among all that match (total).
  const after = query.after
    ? `WHERE ${column} < ${p.bind('after_key', query.after.key, type)} OR (${column} = {after_key:${type}} AND lead_id > ${p.bind('after_id', query.after.leadId)})`
    : '';
  const run = async <T>(sql: string, params: Record<string, unknown> = p.values) => (await store.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json<T>();
  // One lead more than the page, to know whether another page follows.
  const found = await run<{ lead_id: string; key: string; total: string }>(
    `SELECT lead_id, toString(${column}) AS key, total FROM (SELECT lead_id, ${key} AS ${column}, count() OVER () AS total FROM ${latest}) ${after}
     ORDER BY ${order} LIMIT ${p.bind('limit', query.limit + 1, 'UInt64')} OFFSET ${p.bind('offset', query.offset, 'UInt64')}`,
  );
  const page = found.slice(0, query.limit);
  const last = page.at(-1);
  const next = found.length > query.limit && last ? { key: last.key, leadId: last.lead_id } : null;
  // Past the last page there is no row to carry the count.
  if (page.length === 0) return { total: Number((await run<{ n: string }>(`SELECT count() AS n FROM ${latest}`))[0]!.n), rows: [], next };
  // A page may be a whole site (hearth score --json): read a slice of ids at a time.
  const rows: StoredScore[] = [];
  for (const ids of slicesOf(page.map((row) => row.lead_id))) {
    rows.push(
      ...(await run<StoredScore>(
        `SELECT ${SNAPSHOT_COLUMNS.join(', ')} FROM lead_scores WHERE site_id = {site:String} AND lead_id IN {ids:Array(String)}
         ORDER BY lead_id, scored_at DESC LIMIT 1 BY lead_id`,
        { site, ids },
      )),
    );
  }
  // A lead merged or erased between the two reads is left out of the page.
  const byId = new Map(rows.flatMap((row) => (row.kind === 'gone' ? [] : [[row.lead_id, row] as const])));
  return { total: Number(page[0]!.total), rows: page.flatMap((row) => byId.get(row.lead_id) ?? []), next };
}

/** Rows per insert: an insert's body is one string, and a full rescoring of a large site changes millions. */
const WRITE_CHUNK = 20_000;

/** Inserts a body already in `FORMAT JSONEachRow` into a table (the collector's encodedInsertOf). */
export type EncodedInsert = (table: string, body: Buffer) => Promise<void>;

/** Stores snapshots, encoded a turn at a time (the client's insert encodes its rows all at once). */
export async function writeSnapshots(insert: EncodedInsert, rows: StoredScore[]): Promise<void> {
  for (let start = 0; start < rows.length; start += WRITE_CHUNK) {
    const lines: string[] = [];
    await inTurns(rows.slice(start, start + WRITE_CHUNK), (row) => lines.push(`${JSON.stringify(row)}\n`));
    await insert('lead_scores', Buffer.from(lines.join('')));
  }
}

/**
 * A lead's latest snapshots (at most `limit`), newest first, every column: the first is its current score unless the
 * lead is gone, and those not gone are its score over time. One read for both, as the lead page needs both.
 */
export async function leadSnapshots(store: SnapshotStore, site: string, leadId: string, limit = 500): Promise<StoredScore[]> {
  const result = await store.query({
    query: `SELECT ${SNAPSHOT_COLUMNS.join(', ')} FROM lead_scores
      WHERE site_id = {site:String} AND lead_id = {lead:String}
      ORDER BY scored_at DESC LIMIT {limit:UInt32}`,
    query_params: { site, lead: leadId, limit },
    format: 'JSONEachRow',
    clickhouse_settings: ONE_LEAD,
  });
  return result.json<StoredScore>();
}
