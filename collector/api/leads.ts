import type { ClickHouseClient } from '@clickhouse/client';
import { IDS_PER_STATEMENT, isoTime, slicesOf } from '../../scoring/sql.ts';
import { identitiesSql, leadIdOfEmailSql, ownerSql } from '../../scoring/compile.ts';

export interface LeadSummary {
  /** `l_…` for an identified lead (stable per email), `v_<visitor id>` for an anonymous visitor. */
  id: string;
  kind: 'lead' | 'visitor';
  email: string | null;
  visitorIds: string[];
  events: number;
  pageviews: number;
  firstSeen: string;
  lastSeen: string;
}

export interface LeadQuery {
  site: string;
  limit: number;
  visitor?: string | undefined;
  /** Only these lead ids (`l_…`, `v_…`). */
  ids?: string[] | undefined;
}

/**
 * The visits of a site's visitors (those `where` keeps, over events and identity rows) with the lead each belongs to (ownerSql, as
 * scoring has it): one row (visitor_id, lead_id, email, events, pageviews, first_seen, last_seen) per visit. A visitor
 * that gave no email is a lead of its own (`v_…`), and a visit before the form is its email's lead's. The emails
 * automated browsers gave share out visits only with `countBots`, as in scoring. A batch stored twice (a replay) is
 * counted once by its events' keys, as FINAL would collapse it, at a third of FINAL's cost (a page of 50 leads' counts
 * at 400,000 visitors: 53 → 19 ms).
 */
const visitsByLeadSql = (where: string, countBots = true) => `
    SELECT
        s.visitor_id AS visitor_id,
        ${ownerSql('i.given', 's.session_id', 's.first_seen')} AS email,
        if(email = '', concat('v_', s.visitor_id), ${leadIdOfEmailSql('email')}) AS lead_id,
        s.events AS events, s.pageviews AS pageviews, s.first_seen AS first_seen, s.last_seen AS last_seen
    FROM
    (
        SELECT visitor_id, session_id, uniqExact(ts, event_id) AS events, uniqExactIf(ts, event_id, type = 'pageview') AS pageviews,
            min(ts) AS first_seen, max(ts) AS last_seen
        FROM events
        WHERE ${where}
        GROUP BY visitor_id, session_id
    ) AS s
    LEFT JOIN (${identitiesSql(`${where}${countBots ? '' : ' AND is_bot = 0'}`)}) AS i ON i.visitor_id = s.visitor_id`;

// Several visitors (devices) with the same email are one lead.
const LEADS_SQL = `
SELECT
    lead_id AS id,
    any(email) AS email,
    groupUniqArray(visitor_id) AS visitor_ids,
    sum(events) AS events,
    sum(pageviews) AS pageviews,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen
FROM (${visitsByLeadSql('site_id = {site:String}')})
GROUP BY lead_id
HAVING ({visitor:String} = '' OR has(visitor_ids, {visitor:String})) AND (empty({ids:Array(String)}) OR has({ids:Array(String)}, id))
ORDER BY last_seen DESC, id
LIMIT {limit:UInt32}`;

interface LeadRow {
  id: string;
  email: string;
  visitor_ids: string[];
  events: string | number;
  pageviews: string | number;
  first_seen: string;
  last_seen: string;
}

/** The visitors and identified leads of a site, most recently seen first. */
export async function listLeads(client: ClickHouseClient, query: LeadQuery): Promise<LeadSummary[]> {
  const result = await client.query({
    query: LEADS_SQL,
    query_params: { site: query.site, limit: query.limit, visitor: query.visitor ?? '', ids: query.ids ?? [] },
    format: 'JSONEachRow',
  });
  return (await result.json<LeadRow>()).map((row) => ({
    id: row.id,
    kind: row.email ? 'lead' : 'visitor',
    email: row.email || null,
    visitorIds: row.visitor_ids.sort(),
    events: Number(row.events),
    pageviews: Number(row.pageviews),
    firstSeen: isoTime(row.first_seen),
    lastSeen: isoTime(row.last_seen),
  }));
}

/**
 * The activity of the given leads (from their stored scores' visitor ids): events and page views of their visits
 * (a browser shared with someone else counts the lead's visits only). Reads only those visitors' rows, which the
 * events table's order key keeps together.
 */
export async function leadActivity(
  client: ClickHouseClient,
  site: string,
  leads: { id: string; visitorIds: string[] }[],
  countBots: boolean,
): Promise<Map<string, { events: number; pageviews: number }>> {
  // Their ids and visitor ids are the statement's: a list of a whole site (hearth score --json) is read in slices.
  if (leads.length > IDS_PER_STATEMENT) {
    const activity = new Map<string, { events: number; pageviews: number }>();
    for (const slice of slicesOf(leads)) for (const [id, counts] of await leadActivity(client, site, slice, countBots)) activity.set(id, counts);
    return activity;
  }
  const visitors = [...new Set(leads.flatMap((lead) => lead.visitorIds))];
  const activity = new Map(leads.map((lead) => [lead.id, { events: 0, pageviews: 0 }]));
  if (visitors.length === 0) return activity;
  const result = await client.query({
    query: `SELECT lead_id, sum(events) AS events, sum(pageviews) AS pageviews
      FROM (${visitsByLeadSql('site_id = {site:String} AND visitor_id IN {visitors:Array(String)}', countBots)})
      WHERE lead_id IN {leads:Array(String)}
      GROUP BY lead_id`,
    query_params: { site, visitors, leads: [...activity.keys()] },
    format: 'JSONEachRow',
  });
  for (const row of await result.json<{ lead_id: string; events: string; pageviews: string }>()) {
    activity.set(row.lead_id, { events: Number(row.events), pageviews: Number(row.pageviews) });
  }
  return activity;
}
