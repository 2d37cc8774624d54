import { createHash, randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { isoTime, toClickHouseTime } from '../../scoring/sql.ts';
import { localTable, quoteName, type ClusterTarget } from '../store/cluster-ddl.ts';
import { replayQualificationChange, type QualificationChange, type QualificationState } from '../../scoring/qualification.ts';

/** A lead's id: `l_` and the start of the SHA-256 of its email, stable, and not the email itself. */
export function leadIdOf(email: string): string {
  return 'l_' + createHash('sha256').update(email).digest('hex').slice(0, 20);
}

export interface LeadIdentity {
  id: string;
  email: string;
  /** Every browser (visitor id) that ever gave this email. */
  visitorIds: string[];
}

async function rows<T>(client: ClickHouseClient, query: string, query_params: Record<string, unknown>): Promise<T[]> {
  const result = await client.query({ query, query_params, format: 'JSONEachRow' });
  return result.json<T>();
}

/** Finds an identified lead of a site by id; undefined when no email of the site hashes to it. Reads the identity map. */
export async function findLead(client: ClickHouseClient, site: string, id: string): Promise<LeadIdentity | undefined> {
  if (!/^l_[0-9a-f]{20}$/.test(id)) return undefined;
  const found = await rows<{ email: string; visitor_ids: string[] }>(
    client,
    `SELECT email, groupUniqArray(visitor_id) AS visitor_ids
     FROM identities
     WHERE site_id = {site:String} AND substring(lower(hex(SHA256(email))), 1, 20) = {hash:String}
     GROUP BY email`,
    { site, hash: id.slice(2) },
  );
  const lead = found[0];
  return lead && { id, email: lead.email, visitorIds: lead.visitor_ids.sort() };
}

/** The latest non-empty value of each declarative field, across the lead's forms and identify traits. */
export async function leadProfile(client: ClickHouseClient, site: string, lead: LeadIdentity): Promise<Record<string, string>> {
  const fields = await rows<{ key: string; latest: string }>(
    client,
    `SELECT key, argMax(value, ts) AS latest
     FROM events FINAL
     ARRAY JOIN mapKeys(props) AS key, mapValues(props) AS value
     WHERE site_id = {site:String} AND has({visitors:Array(String)}, visitor_id) AND type IN ('form', 'identify') AND value != ''
     GROUP BY key ORDER BY key`,
    { site, visitors: lead.visitorIds },
  );
  return Object.fromEntries(fields.map((field) => [field.key, field.latest]));
}

/** The lead's events, newest first. */
export async function leadEvents(client: ClickHouseClient, site: string, lead: LeadIdentity, limit: number) {
  return rows<Record<string, unknown>>(
    client,
    `SELECT * EXCEPT (site_id) FROM events FINAL
     WHERE site_id = {site:String} AND has({visitors:Array(String)}, visitor_id)
     ORDER BY ts DESC, event_id LIMIT {limit:UInt32}`,
    { site, visitors: lead.visitorIds, limit },
  );
}

interface QualificationRow {
  framework: string;
  boxes: Record<string, number>;
  notes: Record<string, string>;
  owner: string;
  disqualified: number;
  reason: string;
  changed_by: string;
  changed_at: string;
  /** The request that made the row (JSON); empty on rows written before changes were kept. */
  change: string;
}

export interface QualificationRecord extends QualificationState {
  changedBy: string;
  changedAt: string;
}

const stateOf = (row: QualificationRow): QualificationState => ({
  framework: row.framework as QualificationState['framework'],
  boxes: Object.fromEntries(Object.entries(row.boxes).map(([box, ticked]) => [box, Number(ticked) === 1])),
  notes: row.notes,
  owner: row.owner,
  disqualified: Number(row.disqualified) === 1,
  reason: row.reason,
});

/**
 * A lead's rows, oldest first, as the states they make: each row's change applied to the state before it. A row's
 * own state columns are what its writer saw plus its change, which misses a change another collector made at the
 * same moment; they are the state only for the first row (built on nothing) and for rows without a change.
 */
function foldHistory(history: QualificationRow[]): QualificationRecord[] {
  const records: QualificationRecord[] = [];
  for (const row of history) {
    const before = records.at(-1);
    const state = before && row.change ? replayQualificationChange(before, JSON.parse(row.change) as QualificationChange) : stateOf(row);
    const { framework, boxes, notes, owner, disqualified, reason } = state;
    records.push({ framework, boxes, notes, owner, disqualified, reason, changedBy: row.changed_by, changedAt: isoTime(row.changed_at) });
  }
  return records;
}

const QUALIFICATION_COLUMNS = 'framework, boxes, notes, owner, disqualified, reason, changed_by, changed_at, change';

/** Every qualification change of a lead, oldest first; the last is the current state. */
export async function qualificationHistory(client: ClickHouseClient, site: string, leadId: string): Promise<QualificationRecord[]> {
  const history = await rows<QualificationRow>(
    client,
    `SELECT ${QUALIFICATION_COLUMNS}
     FROM lead_qualifications WHERE site_id = {site:String} AND lead_id = {lead:String} ORDER BY changed_at, change_id`,
    { site, lead: leadId },
  );
  return foldHistory(history);
}

/** Appends a change of a lead's qualification: the state it makes from the current one, and the change itself. */
export async function appendQualification(
  client: ClickHouseClient,
  site: string,
  leadId: string,
  { state, change }: { state: QualificationState; change: QualificationChange },
  changedBy: string,
  at: number,
): Promise<void> {
  await client.insert({
    table: 'lead_qualifications',
    format: 'JSONEachRow',
    values: [
      {
        site_id: site,
        lead_id: leadId,
        framework: state.framework,
        boxes: Object.fromEntries(Object.entries(state.boxes).map(([box, ticked]) => [box, ticked ? 1 : 0])),
        notes: state.notes,
        owner: state.owner,
        disqualified: state.disqualified ? 1 : 0,
        reason: state.reason,
        changed_by: changedBy,
        changed_at: toClickHouseTime(at),
        change: JSON.stringify(change),
        change_id: randomUUID(),
      },
    ],
  });
}

/** Where a mutation runs: the table itself, or on a cluster each node's replicated `_local` table, ON CLUSTER. */
export function mutationTarget(table: string, cluster: ClusterTarget | undefined): string {
  return cluster ? `${quoteName(localTable(table))} ON CLUSTER ${quoteName(cluster.cluster)}` : table;
}

/**
 * Erases a person: every event of every browser that gave the email (their anonymous history too), every event
 * carrying the email, their identities, their stored scores (and those of the anonymous visitors they were), the
 * qualification history and the alerts about them. Synchronous mutations (on every replica of a cluster): when this resolves, the rows are gone.
 */
export async function eraseLead(client: Pick<ClickHouseClient, 'command'>, site: string, lead: LeadIdentity, cluster?: ClusterTarget): Promise<void> {
  const settings = { mutations_sync: '2' } as const;
  const query_params = { site, email: lead.email, visitors: lead.visitorIds, lead: lead.id };
  const deletions: [string, string][] = [
    ['events', 'email = {email:String} OR has({visitors:Array(String)}, visitor_id)'],
    ['identities', 'email = {email:String} OR has({visitors:Array(String)}, visitor_id)'],
    ['lead_scores', 'lead_id = {lead:String} OR email = {email:String} OR hasAny(visitor_ids, {visitors:Array(String)})'],
    ['lead_qualifications', 'lead_id = {lead:String}'],
    // Alerts carry the person's name, email and company.
    ['alert_outbox', 'lead_id = {lead:String}'],
  ];
  for (const [table, condition] of deletions) {
    await client.command({ query: `ALTER TABLE ${mutationTarget(table, cluster)} DELETE WHERE site_id = {site:String} AND (${condition})`, query_params, clickhouse_settings: settings });
  }
}

/** The current qualification of every qualified lead of a site: its history folded (few leads are qualified). */
export async function currentQualifications(client: ClickHouseClient, site: string): Promise<Map<string, QualificationRecord>> {
  const history = await rows<QualificationRow & { lead_id: string }>(
    client,
    `SELECT lead_id, ${QUALIFICATION_COLUMNS}
     FROM lead_qualifications WHERE site_id = {site:String}
     ORDER BY lead_id, changed_at, change_id`,
    { site },
  );
  const byLead = new Map<string, QualificationRow[]>();
  for (const row of history) {
    const leadRows = byLead.get(row.lead_id);
    if (leadRows) leadRows.push(row);
    else byLead.set(row.lead_id, [row]);
  }
  return new Map([...byLead].map(([leadId, leadRows]) => [leadId, foldHistory(leadRows).at(-1)!]));
}
