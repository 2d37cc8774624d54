import { createHash, randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { browserOwnersSql, leadIdOfEmailSql } from '../../scoring/compile.ts';
import { reasonsOf, signalsOf } from '../../scoring/snapshots.ts';
import { saysNothingSql } from '../../scoring/normalize.ts';
import { isoTime, SqlParams, timeOf, toClickHouseTime } from '../../scoring/sql.ts';
import { END_OF_TIME, type ErasureRow } from '../ingest/erasures.ts';
import type { EventRow } from '../ingest/rows.ts';
import { localTable, quoteName, type ClusterTarget } from '../store/cluster-ddl.ts';
import { FRAMEWORKS, replayQualificationChange, type QualificationChange, type QualificationState } from '../../scoring/qualification.ts';

/** A lead's id: `l_` and the start of the SHA-256 of its email, stable, and not the email itself. */
export function leadIdOf(email: string): string {
  return 'l_' + createHash('sha256').update(email).digest('hex').slice(0, 20);
}

/** Whether `id` has the shape of a lead id (leadIdOf); any other is no lead's. */
export const isLeadId = (id: string) => /^l_[0-9a-f]{20}$/.test(id);

export interface LeadIdentity {
  id: string;
  email: string;
  /** The browsers (visitor ids) that belong to the lead: those whose latest email is this one, as its score counts them. */
  visitorIds: string[];
}

/**
 * A person, as their export and erasure select what is theirs (the README's erase text): their lead, whose browsers
 * may all have gone to other emails since, and the rest of what is stored about them.
 */
export interface Person extends LeadIdentity {
  /**
   * The browsers that gave the email and then another one (a shared computer), each with the time (ISO 8601) the
   * other email took it over: what the browser did before then is this person's, from then on the other's.
   */
  handedOver: { visitorId: string; until: string }[];
  /**
   * The leads their stored scores, qualifications and alerts are under: their own, the anonymous visitors their
   * browsers were, and those of the other emails their browsers gave while theirs whose lead is gone (no browser
   * belongs to it any more: an email they corrected).
   */
  leadIds: string[];
}

async function rows<T>(client: ClickHouseClient, query: string, query_params: Record<string, unknown>): Promise<T[]> {
  const result = await client.query({ query, query_params, format: 'JSONEachRow' });
  return result.json<T>();
}

/**
 * The email of a lead id, if some browser of the site ever gave it. A scored lead's stored scores carry its email,
 * found by their order key (site_id, lead_id); any other id (a lead the scorer has not reached yet, a bot's, one
 * that does not exist) is looked up by hashing every email the site's browsers gave, which takes longer the more
 * there are. A lead's stored scores and identity rows are erased together.
 */
async function emailOfLead(client: ClickHouseClient, site: string, id: string): Promise<string | undefined> {
  if (!isLeadId(id)) return undefined;
  const [stored] = await rows<{ email: string }>(
    client,
    `SELECT email FROM lead_scores WHERE site_id = {site:String} AND lead_id = {id:String} AND email != '' LIMIT 1`,
    { site, id },
  );
  if (stored && leadIdOf(stored.email) === id) return stored.email;
  const [found] = await rows<{ email: string }>(
    client,
    `SELECT email FROM identities WHERE site_id = {site:String} AND ${leadIdOfEmailSql('email')} = {id:String} LIMIT 1`,
    { site, id },
  );
  return found?.email;
}

/** The identity rows of the browsers that gave the email `{email:String}` on the site `{site:String}`. */
const GAVE_EMAIL = `site_id = {site:String} AND visitor_id IN (SELECT visitor_id FROM identities WHERE site_id = {site:String} AND email = {email:String})`;

interface BrowserRow {
  visitor_id: string;
  owned: number | boolean;
  /** When another email took the browser over: the first identity row of another email after this one's last. */
  handed_over: string | null;
  /** The other emails the browser gave before this one's last. */
  emails_before: string[];
}

/** Every browser that gave the email, whether it belongs to the email's lead now (browserOwnersSql), and if not since when. */
async function browsersOf(client: ClickHouseClient, site: string, email: string): Promise<BrowserRow[]> {
  return rows<BrowserRow>(
    client,
    `SELECT gave.visitor_id AS visitor_id, owners.lead_email = {email:String} AS owned, gave.handed_over AS handed_over, gave.emails_before AS emails_before
     FROM
     (
         SELECT visitor_id,
             groupArray((ts, event_id, email)) AS given,
             maxIf((ts, event_id), email = {email:String}) AS last_given,
             arrayFilter(r -> r.3 != {email:String} AND (r.1, r.2) > last_given, given) AS after,
             if(empty(after), NULL, arrayMin(arrayMap(r -> r.1, after))) AS handed_over,
             arrayDistinct(arrayMap(r -> r.3, arrayFilter(r -> r.3 != {email:String} AND (r.1, r.2) < last_given, given))) AS emails_before
         FROM identities
         WHERE ${GAVE_EMAIL}
         GROUP BY visitor_id
     ) AS gave
     INNER JOIN (${browserOwnersSql(GAVE_EMAIL)}) AS owners ON owners.visitor_id = gave.visitor_id
     ORDER BY visitor_id`,
    { site, email },
  );
}

const owns = (browser: BrowserRow) => Number(browser.owned) === 1;

/**
 * Finds an identified lead of a site by id: its email, and the browsers whose latest email it is (as scoring counts
 * them). Undefined when no email of the site hashes to it, or when every browser that gave it has given another
 * since: that lead no longer exists (findPerson still finds the person).
 */
export async function findLead(client: ClickHouseClient, site: string, id: string): Promise<LeadIdentity | undefined> {
  const email = await emailOfLead(client, site, id);
  if (!email) return undefined;
  // browsersOf's owners alone: what else it tells of the browsers, only a person's export and erasure need.
  const owned = await rows<{ visitor_id: string }>(
    client,
    `SELECT visitor_id FROM (${browserOwnersSql(GAVE_EMAIL)}) WHERE lead_email = {email:String} ORDER BY visitor_id`,
    { site, email },
  );
  return owned.length > 0 ? { id, email, visitorIds: owned.map((browser) => browser.visitor_id) } : undefined;
}

/** Finds the person who gave the email of a lead id, whether or not their lead still exists: what an export or an erasure covers. */
export async function findPerson(client: ClickHouseClient, site: string, id: string): Promise<Person | undefined> {
  const email = await emailOfLead(client, site, id);
  if (!email) return undefined;
  const browsers = await browsersOf(client, site, email);
  const earlier = [...new Set(browsers.flatMap((browser) => browser.emails_before))];
  const living = new Set(
    earlier.length === 0
      ? []
      : (
          await rows<{ lead_email: string }>(
            client,
            `SELECT DISTINCT lead_email
             FROM (${browserOwnersSql(`site_id = {site:String} AND visitor_id IN (SELECT visitor_id FROM identities WHERE site_id = {site:String} AND email IN {emails:Array(String)})`)})
             WHERE lead_email IN {emails:Array(String)}`,
            { site, emails: earlier },
          )
        ).map((row) => row.lead_email),
  );
  return {
    id,
    email,
    visitorIds: browsers.filter(owns).map((browser) => browser.visitor_id),
    handedOver: browsers.flatMap((browser) => (!owns(browser) && browser.handed_over ? [{ visitorId: browser.visitor_id, until: isoTime(browser.handed_over) }] : [])),
    leadIds: [id, ...browsers.map((browser) => `v_${browser.visitor_id}`), ...earlier.filter((other) => !living.has(other)).map(leadIdOf)],
  };
}

/** Later than any event: a browser that belongs to the person is theirs to the end. */
const FOREVER = Number.MAX_SAFE_INTEGER;

/**
 * The events that are a person's, and their identity rows (which have the same columns): every event that carries
 * their email; on a browser that belongs to them, its whole history; on one that another email took over, what it
 * did before then. isPersonsRow is the same test for a row outside ClickHouse.
 */
const PERSONS_ROWS = `(email = {email:String} OR (mapContains({until:Map(String, Int64)}, visitor_id) AND toUnixTimestamp64Milli(ts) < {until:Map(String, Int64)}[visitor_id]))`;

/** Per browser of the person, until when (epoch ms) its events are theirs. */
function untilOf(person: Person): Record<string, number> {
  return Object.fromEntries([...person.visitorIds.map((visitor) => [visitor, FOREVER]), ...person.handedOver.map(({ visitorId, until }) => [visitorId, Date.parse(until)])]);
}

/** Whether an event row (one the write-ahead log set aside, say) is the person's, by the test PERSONS_ROWS makes in SQL. */
export function isPersonsRow(site: string, person: Person): (row: Pick<EventRow, 'site_id' | 'visitor_id' | 'ts' | 'email'>) => boolean {
  const until = new Map(Object.entries(untilOf(person)));
  return (row) => row.site_id === site && (String(row.email ?? '').trim().toLowerCase() === person.email || timeOf(String(row.ts)) < (until.get(row.visitor_id) ?? -Infinity));
}

/** The latest answer to each declarative field, across the lead's forms and identify traits (saysNothing left out). */
export async function leadProfile(client: ClickHouseClient, site: string, lead: LeadIdentity): Promise<Record<string, string>> {
  // As scoring merges them: an answer that says nothing ("-", "N/A") is not one, and never hides an earlier answer;
  // of two answers at the same time (a browser whose clock is off has a batch stored at its arrival time), the one
  // with the greater event id, as scoring's merge orders them by (ts, event_id).
  const p = new SqlParams();
  const fields = await rows<{ key: string; latest: string }>(
    client,
    `SELECT key, argMax(value, (ts, event_id)) AS latest
     FROM events FINAL
     ARRAY JOIN mapKeys(props) AS key, mapValues(props) AS value
     WHERE site_id = {site:String} AND has({visitors:Array(String)}, visitor_id) AND type IN ('form', 'identify') AND NOT ${saysNothingSql('value', p)}
     GROUP BY key ORDER BY key`,
    { site, visitors: lead.visitorIds, ...p.values },
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

const personParams = (site: string, person: Person) => ({ site, email: person.email, until: untilOf(person), leads: person.leadIds });

/** Every event of the person (PERSONS_ROWS), newest first. */
export async function personEvents(client: ClickHouseClient, site: string, person: Person) {
  return rows<Record<string, unknown>>(
    client,
    `SELECT * EXCEPT (site_id) FROM events FINAL WHERE site_id = {site:String} AND ${PERSONS_ROWS} ORDER BY ts DESC, event_id`,
    personParams(site, person),
  );
}

/** Every stored score of the person's leads: each snapshot with the profile and company it held, oldest first per lead. */
export async function personStoredScores(client: ClickHouseClient, site: string, person: Person) {
  const stored = await rows<Record<string, unknown> & { reasons: string; signals: string }>(
    client,
    `SELECT * EXCEPT (site_id) FROM lead_scores WHERE site_id = {site:String} AND lead_id IN {leads:Array(String)} ORDER BY lead_id, scored_at`,
    personParams(site, person),
  );
  return stored.map((row) => ({ ...row, reasons: reasonsOf(row), signals: signalsOf(row) }));
}

/** Every alert about the person's leads, with each destination's delivery state and the alert as it was sent. */
export async function personAlerts(client: ClickHouseClient, site: string, person: Person) {
  const alerts = await rows<Record<string, unknown> & { alert: string }>(
    client,
    `SELECT * EXCEPT (site_id) FROM alert_outbox FINAL WHERE site_id = {site:String} AND lead_id IN {leads:Array(String)} ORDER BY created_at, alert_id, destination_id`,
    personParams(site, person),
  );
  return alerts.map((row) => ({ ...row, alert: JSON.parse(row.alert) as unknown }));
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
 * A framework switch replayed keeps out of sight only the boxes and notes its writer kept: a release before 82f1b6f
 * dropped the boxes the new framework lacks, and a switch back then showed none. Replayed as today's release does, a
 * prospect's verdict changed at an upgrade with no one acting.
 */
function keptBy(replayed: QualificationState, change: QualificationChange, written: QualificationState): QualificationState {
  if (change.framework === undefined) return replayed;
  const known: readonly string[] = FRAMEWORKS[replayed.framework];
  const kept = <T>(record: Record<string, T>, writtenRecord: Record<string, T>) =>
    Object.fromEntries(Object.entries(record).filter(([box]) => known.includes(box) || box in writtenRecord));
  return { ...replayed, boxes: kept(replayed.boxes, written.boxes), notes: kept(replayed.notes, written.notes) };
}

/**
 * A lead's rows, oldest first, as the states they make: each row's change applied to the state before it. A row's
 * own state columns are what its writer saw plus its change, which misses a change another collector made at the
 * same moment; they are the state only for the first row (built on nothing) and for rows without a change.
 */
function foldHistory(history: QualificationRow[]): QualificationRecord[] {
  const records: QualificationRecord[] = [];
  for (const row of history) {
    const before = records.at(-1);
    const change = row.change ? (JSON.parse(row.change) as QualificationChange) : undefined;
    const state = before && change ? keptBy(replayQualificationChange(before, change), change, stateOf(row)) : stateOf(row);
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

/** A synchronous mutation (on every replica of a cluster): when it resolves, the rows are gone. */
function deleteWhere(client: Pick<ClickHouseClient, 'command'>, table: string, condition: string, query_params: Record<string, unknown>, cluster: ClusterTarget | undefined) {
  return client.command({
    query: `ALTER TABLE ${mutationTarget(table, cluster)} DELETE WHERE site_id = {site:String} AND ${condition}`,
    query_params,
    clickhouse_settings: { mutations_sync: '2' },
  });
}

/**
 * Deletes events of a site by id, and their identity rows, as eraseLead deletes a person's: those of an erased person
 * that a collector's insert stored behind the erasure's deletions (ingest/erasures.ts).
 */
export async function deleteEvents(client: Pick<ClickHouseClient, 'command'>, site: string, events: Pick<EventRow, 'visitor_id' | 'event_id'>[], cluster?: ClusterTarget): Promise<void> {
  const query_params = { site, visitors: [...new Set(events.map((event) => event.visitor_id))], ids: [...new Set(events.map((event) => event.event_id))] };
  for (const table of ['events', 'identities']) {
    await deleteWhere(client, table, 'visitor_id IN {visitors:Array(String)} AND event_id IN {ids:Array(UUID)}', query_params, cluster);
  }
}

/**
 * Erases a person (findPerson): their events and identity rows (PERSONS_ROWS), and the stored scores, qualification
 * history and alerts of their leads. Another person who shared a browser with them keeps what that browser did as
 * theirs. Synchronous mutations (on every replica of a cluster): when this resolves, the rows are gone.
 */
export async function eraseLead(client: Pick<ClickHouseClient, 'command' | 'insert'>, site: string, person: Person, cluster?: ClusterTarget): Promise<void> {
  const query_params = personParams(site, person);
  // Recorded first: from now on no collector stores an event of theirs that was still on its way (ingest/erasures.ts).
  const record = (at: number) => {
    const erasure = (visitor_id: string, lead_id: string, until: number): ErasureRow => ({ site_id: site, visitor_id, lead_id, until: toClickHouseTime(until), erased_at: toClickHouseTime(at) });
    return client.insert({
      table: 'erasures',
      values: [
        erasure('', leadIdOf(person.email), END_OF_TIME),
        ...person.visitorIds.map((visitor) => erasure(visitor, '', END_OF_TIME)),
        ...person.handedOver.map(({ visitorId, until }) => erasure(visitorId, '', Date.parse(until))),
      ],
      format: 'JSONEachRow',
    });
  };
  const deletions: [string, string][] = [
    ['events', PERSONS_ROWS],
    ['identities', PERSONS_ROWS],
    ['lead_scores', 'lead_id IN {leads:Array(String)}'],
    ['lead_qualifications', 'lead_id IN {leads:Array(String)}'],
    // Alerts carry the person's name, email and company, and the dispatcher would go on sending pending ones.
    ['alert_outbox', 'lead_id IN {leads:Array(String)}'],
  ];
  const deleteAll = async () => {
    for (const [table, condition] of deletions) await deleteWhere(client, table, condition, query_params, cluster);
  };
  await record(Date.now());
  await deleteAll();
  // An event of theirs received while the deletions ran (they were still browsing) was new to the first record, and a
  // collector may have stored it behind the deletions: the erasure ends when they do, so it is recorded and run again.
  // (An insert still on its way after this second pass is taken back by the collector that sent it: erasures.ts.)
  await record(Date.now());
  await deleteAll();
}

/** Qualification rows of several leads, ordered by lead then time, as each lead's folded history. */
function historiesByLead(history: (QualificationRow & { lead_id: string })[]): Map<string, QualificationRecord[]> {
  const byLead = new Map<string, QualificationRow[]>();
  for (const row of history) {
    const leadRows = byLead.get(row.lead_id);
    if (leadRows) leadRows.push(row);
    else byLead.set(row.lead_id, [row]);
  }
  return new Map([...byLead].map(([leadId, leadRows]) => [leadId, foldHistory(leadRows)]));
}

/** The qualification history of each of the person's leads that has one. */
export async function personQualifications(client: ClickHouseClient, site: string, person: Person): Promise<Map<string, QualificationRecord[]>> {
  const history = await rows<QualificationRow & { lead_id: string }>(
    client,
    `SELECT lead_id, ${QUALIFICATION_COLUMNS}
     FROM lead_qualifications WHERE site_id = {site:String} AND lead_id IN {leads:Array(String)}
     ORDER BY lead_id, changed_at, change_id`,
    personParams(site, person),
  );
  return historiesByLead(history);
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
  return new Map([...historiesByLead(history)].map(([leadId, records]) => [leadId, records.at(-1)!]));
}
