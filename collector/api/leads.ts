import type { ClickHouseClient } from '@clickhouse/client';
import { isoTime } from '../../scoring/sql.ts';
import { browserOwnersSql, leadIdOfEmailSql } from '../../scoring/compile.ts';

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

// A visitor belongs to the lead of the latest email it gave (browserOwnersSql, as scoring has it), with all its
// events, including the anonymous ones before the form; several visitors (devices) with the same email are one lead.
const LEADS_SQL = `
SELECT
    person AS id,
    any(email) AS email,
    groupUniqArray(visitor_id) AS visitor_ids,
    count() AS events,
    countIf(type = 'pageview') AS pageviews,
    min(ts) AS first_seen,
    max(ts) AS last_seen
FROM
(
    SELECT
        e.visitor_id AS visitor_id,
        e.type AS type,
        e.ts AS ts,
        i.lead_email AS email,
        if(i.lead_email = '', concat('v_', e.visitor_id), ${leadIdOfEmailSql('i.lead_email')}) AS person
    FROM events AS e FINAL
    LEFT JOIN (${browserOwnersSql('site_id = {site:String}')}) AS i ON i.visitor_id = e.visitor_id
    WHERE e.site_id = {site:String}
)
GROUP BY person
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
 * The activity of the given leads (from their stored scores' visitor ids): events and page views, summed over their
 * browsers. Reads only those visitors' rows, which the events table's order key keeps together.
 */
export async function leadActivity(client: ClickHouseClient, site: string, leads: { id: string; visitorIds: string[] }[]): Promise<Map<string, { events: number; pageviews: number }>> {
  const visitors = leads.flatMap((lead) => lead.visitorIds);
  const activity = new Map(leads.map((lead) => [lead.id, { events: 0, pageviews: 0 }]));
  if (visitors.length === 0) return activity;
  const result = await client.query({
    query: `SELECT visitor_id, count() AS events, countIf(type = 'pageview') AS pageviews
      FROM events FINAL WHERE site_id = {site:String} AND visitor_id IN {visitors:Array(String)} GROUP BY visitor_id`,
    query_params: { site, visitors },
    format: 'JSONEachRow',
  });
  const byVisitor = new Map((await result.json<{ visitor_id: string; events: string; pageviews: string }>()).map((row) => [row.visitor_id, row]));
  for (const lead of leads) {
    const sum = activity.get(lead.id)!;
    for (const visitor of lead.visitorIds) {
      sum.events += Number(byVisitor.get(visitor)?.events ?? 0);
      sum.pageviews += Number(byVisitor.get(visitor)?.pageviews ?? 0);
    }
  }
  return activity;
}
