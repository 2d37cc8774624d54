import { createHash, randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Alert } from '../../scoring/alerts/alert.ts';
import { alertAsSent } from '../../scoring/alerts/formats.ts';
import { identitiesSql, leadIdOfEmailSql, ownerOf, type GivenEmail, type SharedVisit } from '../../scoring/compile.ts';
import { reasonsOf, signalsOf, type StoredScore } from '../../scoring/snapshots.ts';
import { saysNothingSql, withTitleStandIn } from '../../scoring/normalize.ts';
import { isoTime, ONE_LEAD, SqlParams, timeOf, toClickHouseTime } from '../../scoring/sql.ts';
import { END_OF_TIME, type ErasureRow } from '../ingest/erasures.ts';
import type { EventRow } from '../ingest/rows.ts';
import { browserVisitorId } from '../ingest/wire.ts';
import { localTable, quoteName, type ClusterTarget } from '../store/cluster-ddl.ts';
import { queryRows as rows } from '../store/client.ts';
import { rebuildVisitDays } from '../store/visit-days.ts';
import { FRAMEWORKS, replayQualificationChange, type QualificationChange, type QualificationState } from '../../scoring/qualification.ts';

/** A lead's id: `l_` and the start of the SHA-256 of its email, stable, and not the email itself. */
export function leadIdOf(email: string): string {
  return 'l_' + createHash('sha256').update(email).digest('hex').slice(0, 20);
}

/** Whether `id` has the shape of a lead id (leadIdOf); any other is no lead's. */
export const isLeadId = (id: string) => /^l_[0-9a-f]{20}$/.test(id);

/** The browser (visitor id) of an anonymous visitor's id, `v_<visitor id>` as /api/leads lists it (leads.ts); undefined for any other id. */
export const visitorOfId = (id: string) => /^v_([\w-]{8,64})$/.exec(id)?.[1];

/**
 * A lead id as the API is given it, with a `v_` id's browser named as /collect stored it: `v_` and the value of a
 * hearth_vid cookie that a framework quoted or URL-encoded is the visitor whose id is derived from that value, and `v_`
 * and localStorage's hearth_vid (visitor, session and time) the visitor of its first part (browserVisitorId).
 */
export const storedLeadId = (id: string) => (id.startsWith('v_') ? `v_${browserVisitorId(id.slice(2))}` : id);

export interface LeadIdentity {
  id: string;
  email: string;
  /** The browsers (visitor ids) with visits of the lead's, as its score counts them (scoring/compile.ts ownerSql). */
  visitorIds: string[];
  /**
   * Of those browsers, the ones that gave other emails too (a shared computer), each with the visits (session ids)
   * that are the lead's. A browser not named here is the lead's throughout.
   */
  sharedVisits: Record<string, string[]>;
  /**
   * Of those shared browsers, the emails given in the lead's visits there that have no visit of their own on it (a
   * mistyped email put right in the same visit, whose person may have visits on other browsers): the rows carrying
   * them in its visits are its, as its score counts them. Left behind by an erasure, such a row made the browser that
   * email's, and everything it did after.
   */
  putRight: Record<string, string[]>;
}

/**
 * A person, as their export and erasure select what is theirs (docs/api.md, "Erase a person"): their lead, whose browsers
 * may all have gone to other emails since, and the rest of what is stored about them; or an anonymous visitor
 * (findVisitor): its browser, with `email` ''.
 */
export interface Person extends LeadIdentity {
  /**
   * The shared browsers whose latest visits are another email's, each with the time (ISO 8601) the first of those
   * visits after this person's last began: what an export tells of when the browser went to someone else.
   */
  handedOver: { visitorId: string; until: string }[];
  /**
   * The leads their stored scores, qualifications and alerts are under: their own, the anonymous visitors their
   * browsers were before their first email (on a shared browser, when its first identified visit is theirs), and those
   * of the other emails their browsers gave that have no visit left (an email they corrected in the same visit).
   */
  leadIds: string[];
  /** Those other emails (theirs: no visit is another person's under them), whose events and identity rows are theirs too. */
  formerEmails: string[];
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
    ONE_LEAD,
  );
  if (stored && leadIdOf(stored.email) === id) return stored.email;
  const [found] = await rows<{ email: string }>(
    client,
    `SELECT email FROM identities WHERE site_id = {site:String} AND ${leadIdOfEmailSql('email')} = {id:String} LIMIT 1`,
    { site, id },
  );
  return found?.email;
}

/** The visits (browser and session) in which the email of a lead id (`l_…`) was given on a site, whoever holds them now. */
export async function visitsGivingLead(client: ClickHouseClient, site: string, id: string): Promise<SharedVisit[]> {
  if (!isLeadId(id)) return [];
  return rows<SharedVisit>(
    client,
    `SELECT DISTINCT visitor_id, session_id FROM identities WHERE site_id = {site:String} AND ${leadIdOfEmailSql('email')} = {id:String}
     ORDER BY visitor_id, session_id`,
    { site, id },
  );
}

/**
 * When the person of a lead id (`l_…`) or of an anonymous visitor's (`v_…`, stored form) was erased, as `erasures`
 * recorded it (kept 90 days), or undefined: what tells a repeated erasure or export from a mistyped id.
 */
export async function erasedAt(client: ClickHouseClient, site: string, id: string): Promise<string | undefined> {
  const visitor = visitorOfId(id) ?? '';
  const lead = isLeadId(id) ? id : '';
  if (!visitor && !lead) return undefined;
  const [found] = await rows<{ at: string }>(
    client,
    `SELECT max(erased_at) AS at FROM erasures
     WHERE site_id = {site:String} AND ((lead_id = {lead:String} AND lead_id != '') OR (visitor_id = {visitor:String} AND visitor_id != '' AND session_id = ''))
     HAVING count() > 0`,
    { site, lead, visitor },
  );
  return found && isoTime(found.at);
}

/**
 * What was erased on a site since a time, for a CRM's sync to erase its copy too: the people (their lead ids) and the
 * anonymous browsers (`v_…`: those of an erased person, and the visitors erased as such), each with when it was last
 * erased, oldest first. The erasures are kept 90 days.
 */
export async function erasedSince(client: ClickHouseClient, site: string, since: string): Promise<{ id: string; erasedAt: string }[]> {
  const found = await rows<{ id: string; at: string }>(
    client,
    `SELECT if(lead_id != '', lead_id, concat('v_', visitor_id)) AS id, max(erased_at) AS at FROM erasures
     WHERE site_id = {site:String} AND (lead_id != '' OR session_id = '')
     GROUP BY id HAVING at >= {since:DateTime64(3, 'UTC')} ORDER BY at, id`,
    { site, since },
  );
  return found.map((row) => ({ id: row.id, erasedAt: isoTime(row.at) }));
}

/** Whose visits a browser's are, for each of some emails: the lead's visitorIds, sharedVisits and handedOver. */
interface Visits {
  visitorIds: string[];
  sharedVisits: Record<string, string[]>;
  handedOver: { visitorId: string; until: string }[];
  /** The browsers whose anonymous visits (before their first email) are the lead's, as the first identified visit's owner. */
  anonymousOf: string[];
  /** Person.putRight. */
  putRight: Record<string, string[]>;
  /** Of its browsers, those seen in automated visits alone (unless the rules count bots). */
  automated: string[];
}

/**
 * The visits of each of `emails` on the site's browsers, shared out as scoring does (ownerSql): a browser that gave
 * one email is that email's throughout; one that gave several has its visits listed and given to their owners. The
 * emails automated browsers gave count only when the site's rules count bots (`countBots`), as in scoring, or on a
 * browser where no one else gave one (a lead seen only through a bot, unscored, still has its page).
 */
async function visitsOf(client: ClickHouseClient, site: string, emails: string[], countBots: boolean): Promise<Map<string, Visits>> {
  const theirs = 'site_id = {site:String} AND visitor_id IN (SELECT visitor_id FROM identities WHERE site_id = {site:String} AND email IN {emails:Array(String)})';
  // Unless the rules count bots, a browser's rows from automated visits count only when it has no other.
  const browsers = await rows<{ visitor_id: string; given: [string, string, string, string][]; automated?: number }>(
    client,
    countBots
      ? `${identitiesSql(theirs)}
     ORDER BY visitor_id`
      : `SELECT visitor_id, arraySort(if(countIf(is_bot = 0) > 0, groupArrayIf(given_row, is_bot = 0), groupArray(given_row))) AS given, countIf(is_bot = 0) = 0 AS automated
     FROM (SELECT visitor_id, is_bot, (ts, event_id, email, session_id) AS given_row FROM identities WHERE ${theirs})
     GROUP BY visitor_id ORDER BY visitor_id`,
    { site, emails },
    ONE_LEAD,
  );
  const found = new Map(emails.map((email): [string, Visits] => [email, { visitorIds: [], sharedVisits: {}, handedOver: [], anonymousOf: [], putRight: {}, automated: [] }]));
  const givenOf = new Map<string, GivenEmail[]>();
  for (const browser of browsers) {
    const given = browser.given.map(([ts, eventId, email, sessionId]) => ({ at: timeOf(ts), eventId, email, sessionId }));
    const gave = new Set(given.map((row) => row.email));
    if (browser.automated) for (const email of gave) found.get(email)?.automated.push(browser.visitor_id);
    if (gave.size > 1) givenOf.set(browser.visitor_id, given);
    else {
      const lead = found.get(given[0]!.email);
      lead?.visitorIds.push(browser.visitor_id);
      lead?.anonymousOf.push(browser.visitor_id);
    }
  }
  if (givenOf.size === 0) return found;
  const visits = await rows<{ visitor_id: string; session_id: string; started: string }>(
    client,
    `SELECT visitor_id, session_id, min(ts) AS started FROM events
     WHERE site_id = {site:String} AND visitor_id IN {visitors:Array(String)}
     GROUP BY visitor_id, session_id ORDER BY visitor_id, started, session_id`,
    { site, visitors: [...givenOf.keys()] },
    ONE_LEAD,
  );
  const owners = visits.map((visit) => ({ ...visit, at: timeOf(visit.started), owner: ownerOf(givenOf.get(visit.visitor_id)!, visit.session_id, timeOf(visit.started)) }));
  for (const [visitor, given] of givenOf) {
    const ofBrowser = owners.filter((visit) => visit.visitor_id === visitor);
    const first = ofBrowser[0]?.owner;
    if (first !== undefined) found.get(first)?.anonymousOf.push(visitor);
    for (const email of new Set(given.map((row) => row.email))) {
      const lead = found.get(email);
      const theirs = ofBrowser.filter((visit) => visit.owner === email);
      if (!lead || theirs.length === 0) continue;
      lead.visitorIds.push(visitor);
      lead.sharedVisits[visitor] = theirs.map((visit) => visit.session_id);
      const sessions = new Set(lead.sharedVisits[visitor]);
      const putRight = new Set(given.filter((row) => sessions.has(row.sessionId) && ofBrowser.every((visit) => visit.owner !== row.email)).map((row) => row.email));
      if (putRight.size > 0) lead.putRight[visitor] = [...putRight].sort();
      const next = ofBrowser.find((visit) => visit.at > theirs.at(-1)!.at && visit.owner !== email);
      if (next) lead.handedOver.push({ visitorId: visitor, until: isoTime(next.started) });
    }
  }
  for (const lead of found.values()) lead.visitorIds.sort();
  return found;
}

/**
 * Finds an identified lead of a site by id: its email, and the browsers with visits of its (as scoring counts them).
 * Undefined when no email of the site hashes to it, or when none of the visits of the browsers that gave it is its:
 * that lead no longer exists (findPerson still finds the person).
 */
export async function findLead(client: ClickHouseClient, site: string, id: string, countBots = false, storedEmail?: string): Promise<LeadIdentity | undefined> {
  // An email read already (storedLeadIdentity) is the lead's when it hashes to its id.
  const email = storedEmail !== undefined && leadIdOf(storedEmail) === id ? storedEmail : await emailOfLead(client, site, id);
  if (!email) return undefined;
  const { visitorIds, sharedVisits, putRight, automated } = (await visitsOf(client, site, [email], countBots)).get(email)!;
  // A browser seen in automated visits alone is the lead's when it has no other (a lead seen only through a bot has its
  // page); beside a person's own browser, it is none of the lead's, as its score counts none of its events.
  const human = visitorIds.filter((visitor) => !automated.includes(visitor));
  const kept = human.length > 0 ? human : visitorIds;
  const ofKept = (byBrowser: Record<string, string[]>) => Object.fromEntries(Object.entries(byBrowser).filter(([visitor]) => kept.includes(visitor)));
  return kept.length > 0 ? { id, email, visitorIds: kept, sharedVisits: ofKept(sharedVisits), putRight: ofKept(putRight) } : undefined;
}

/**
 * A lead as its latest stored score has it (the latest of its snapshots, newest first, that is a lead's): its email and
 * the browsers whose visits were its when it was last scored, which are nearly always its browsers now (findLead
 * says). Undefined for a lead with no stored score.
 */
export function storedLeadIdentity(id: string, snapshots: Pick<StoredScore, 'kind' | 'email' | 'visitor_ids' | 'shared_visits'>[]): LeadIdentity | undefined {
  const row = snapshots.find((snapshot) => snapshot.kind === 'lead');
  if (!row || leadIdOf(row.email) !== id) return undefined;
  const sharedVisits: Record<string, string[]> = {};
  for (const visit of row.shared_visits) (sharedVisits[visit.visitor_id] ??= []).push(visit.session_id);
  // Emails put right are not stored with a score: a lead with some is read again once findLead has found them.
  return { id, email: row.email, visitorIds: row.visitor_ids, sharedVisits, putRight: {} };
}

/** Whether two finds of a lead name the same browsers and, of the shared ones, the same visits and emails put right, in any order. */
export function sameLeadIdentity(a: LeadIdentity, b: LeadIdentity): boolean {
  const sorted = (byBrowser: Record<string, string[]>) => JSON.stringify(Object.entries(byBrowser).map(([visitor, values]) => [visitor, [...values].sort()]).sort());
  return a.email === b.email && JSON.stringify([...a.visitorIds].sort()) === JSON.stringify([...b.visitorIds].sort()) && sorted(a.sharedVisits) === sorted(b.sharedVisits) && sorted(a.putRight) === sorted(b.putRight);
}

/** Finds the person who gave the email of a lead id, whether or not their lead still exists: what an export or an erasure covers. */
export async function findPerson(client: ClickHouseClient, site: string, id: string, countBots = false): Promise<Person | undefined> {
  const email = await emailOfLead(client, site, id);
  if (!email) return undefined;
  // The other emails their browsers gave: a lead of one that has no visit left (a mistyped email they put right in
  // the same visit) is theirs too, with the stored scores it left.
  const others = await rows<{ email: string }>(
    client,
    `SELECT DISTINCT email FROM identities
     WHERE site_id = {site:String} AND email != {email:String}
       AND visitor_id IN (SELECT visitor_id FROM identities WHERE site_id = {site:String} AND email = {email:String})`,
    { site, email },
  );
  const visits = await visitsOf(client, site, [email, ...new Set(others.map((row) => row.email))], countBots);
  const { anonymousOf, ...theirs } = visits.get(email)!;
  const gone = [...visits].filter(([other, lead]) => other !== email && lead.visitorIds.length === 0).map(([other]) => other);
  // A browser whose other emails have no visit on it (their own, mistyped and put right in the same visit) is theirs
  // throughout, as a browser that gave one email is: its visits yet to arrive too (a retry queue's), which an erasure
  // of the visits listed would let back in.
  const othersOn = new Set([...visits].flatMap(([other, lead]) => (other === email ? [] : lead.visitorIds)));
  theirs.sharedVisits = Object.fromEntries(Object.entries(theirs.sharedVisits).filter(([visitor]) => othersOn.has(visitor)));
  // The anonymous visitor a browser was is the person's whose visits its anonymous history is: on a shared browser,
  // the first identified visit's.
  return { id, email, ...theirs, leadIds: [id, ...anonymousOf.sort().map((visitor) => `v_${visitor}`), ...gone.map(leadIdOf)], formerEmails: gone.sort() };
}

/**
 * Finds an anonymous visitor (`v_<visitor id>`) as a person its page, an export or an erasure covers: the browser's whole
 * history, its stored scores and alerts. A browser that gave an email is no anonymous visitor any more: its visits, the
 * anonymous ones included, are the identified leads' (findPerson), whose ids and emails are answered instead
 * (`identifiedAs`), for the caller to name rather than show or erase half a person. Undefined when the site has no
 * such visitor.
 */
export async function findVisitor(client: ClickHouseClient, site: string, id: string): Promise<{ person: Person } | { identifiedAs: { id: string; email: string }[] } | undefined> {
  const visitor = visitorOfId(id);
  if (!visitor) return undefined;
  const given = await rows<{ email: string }>(
    client,
    `SELECT DISTINCT email FROM identities WHERE site_id = {site:String} AND visitor_id = {visitor:String}`,
    { site, visitor },
    ONE_LEAD,
  );
  if (given.length > 0) return { identifiedAs: given.map((row) => ({ id: leadIdOf(row.email), email: row.email })).sort((a, b) => (a.id < b.id ? -1 : 1)) };
  // Its events, or the stored scores they left (events ClickHouse has expired since, before the scores' own time).
  const seen = await rows<{ seen: number }>(
    client,
    `SELECT 1 AS seen FROM events WHERE site_id = {site:String} AND visitor_id = {visitor:String} LIMIT 1
     UNION ALL
     SELECT 1 AS seen FROM lead_scores WHERE site_id = {site:String} AND lead_id = {id:String} LIMIT 1`,
    { site, visitor, id },
    ONE_LEAD,
  );
  if (seen.length === 0) return undefined;
  return { person: { id, email: '', visitorIds: [visitor], sharedVisits: {}, handedOver: [], leadIds: [id], formerEmails: [], putRight: {} } };
}

/** The emails that make rows a person's: theirs and their former ones; none for an anonymous visitor (an '' would pick every anonymous row). */
const emailsOf = (person: Person) => [person.email, ...person.formerEmails].filter((email) => email !== '');

/**
 * The rows (events, or identity rows, which have the same columns) of the lead's visits: every row of a browser that
 * is the lead's throughout, and of a shared one the rows of its visits; of those that carry an email, the ones `theirs`
 * says are theirs: not an automated browser's (its person's). isPersonsRow makes the same test outside ClickHouse.
 */
const leadRows = (theirs: string) => `(has({visitors:Array(String)}, visitor_id) AND (NOT mapContains({visits:Map(String, Array(String))}, visitor_id) OR has({visits:Map(String, Array(String))}[visitor_id], session_id))
    AND (email = '' OR ${theirs}))`;
/** A row's email is one of the person's. */
const THEIR_EMAIL = 'lower(trimBoth(email)) IN {emails:Array(String)}';
/**
 * The same, by the emails' lead ids (`email_leads`): for an erasure's deletions, whose text ClickHouse keeps after they
 * ran (system.mutations, and a file beside the table's data), which would keep the erased email in clear.
 */
const THEIR_EMAIL_BY_LEAD_ID = `${leadIdOfEmailSql('lower(trimBoth(email))')} IN {email_leads:Array(String)}`;
/** A row in the lead's visits carries an email put right there (LeadIdentity.putRight, by lead id: no email in clear). */
const PUT_RIGHT = `has({put_right:Map(String, Array(String))}[visitor_id], ${leadIdOfEmailSql('lower(trimBoth(email))')})`;
/** The rows of the lead's visits that are its, as its score counts them: its timeline and counts, with the rows of emails it put right there. */
const visitRows = (theirEmail: string) => leadRows(`${theirEmail} OR ${PUT_RIGHT}`);
const LEAD_ROWS = visitRows(THEIR_EMAIL);
/** Of those, the ones of its own emails: the answers it gave, as its score reads them (not a mistyped email's). */
const OWN_ROWS = leadRows(THEIR_EMAIL);
/** Rows the API returns as they are (a lead's events, an export) give their times in ISO 8601 UTC (`2026-03-02T09:15:00.000Z`), as the rest of the API does. */
const ISO_TIMES = { date_time_output_format: 'iso' } as const;
/**
 * The lead's browsers, read first: with FINAL, ClickHouse moves no filter to PREWHERE by itself, and read every column
 * of the granules around their rows before dropping the others' rows. Both columns are in the sorting key, so the
 * copies of one event are kept or dropped together, as FINAL needs; LEAD_ROWS then picks the lead's rows among them.
 */
const LEAD_BROWSERS = 'PREWHERE site_id = {site:String} AND visitor_id IN {visitors:Array(String)}';
const leadParams = (site: string, lead: LeadIdentity, emails = [lead.email]) => ({
  site,
  emails,
  visitors: lead.visitorIds,
  visits: lead.sharedVisits,
  put_right: Object.fromEntries(Object.entries(lead.putRight).map(([visitor, put]) => [visitor, put.map(leadIdOf)])),
});

/** The rows that are a person's: every event that carries their email (or a former one), and those of their visits. */
const personsRows = (theirEmail: string) => `(${theirEmail} OR ${visitRows(theirEmail)})`;
const PERSONS_ROWS = personsRows(THEIR_EMAIL);

/** The email an event row carried, as identities hold it ('' for none), as THEIR_EMAIL reads it in SQL. */
export const carriedEmail = (row: { email?: unknown }) => String(row.email ?? '').trim().toLowerCase();

/** Whether an event row (one the write-ahead log set aside, say) is the person's, by the test PERSONS_ROWS makes in SQL. */
export function isPersonsRow(site: string, person: Person): (row: Pick<EventRow, 'site_id' | 'visitor_id' | 'session_id' | 'email'>) => boolean {
  const browsers = new Set(person.visitorIds);
  const emails = new Set(emailsOf(person));
  return (row) => {
    const email = carriedEmail(row);
    const inTheirVisits = browsers.has(row.visitor_id) && (person.sharedVisits[row.visitor_id]?.includes(row.session_id) ?? true);
    return row.site_id === site && (emails.has(email) || (inTheirVisits && (email === '' || (person.putRight[row.visitor_id]?.includes(email) ?? false))));
  };
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
     ${LEAD_BROWSERS}
     WHERE site_id = {site:String} AND ${OWN_ROWS} AND type IN ('form', 'identify') AND NOT ${saysNothingSql('value', p)}
     GROUP BY key ORDER BY key`,
    { ...leadParams(site, lead), ...p.values },
  );
  return withTitleStandIn(Object.fromEntries(fields.map((field) => [field.key, field.latest])));
}

/**
 * The lead's latest events, newest first, with the engaged time the snippet sends in pieces (one every 15 s of
 * attention, and one when the page is left) added to the page view it follows: a page view's `engaged_ms` is its
 * engaged time in all, its `scroll_depth` the deepest its pieces reached (the snippet sends the depth with them), and
 * its pieces are not listed, so a five-minute read of the pricing page is one event, not
 * twenty that fill the timeline. A piece belongs to the latest view of its page (path) in its visit, at its time or
 * before (a view comes before a piece of the same millisecond); one with no such view is listed as it is, unless it
 * is under a second (a tab shown and left at once says nothing, and a hundred of them filled the timeline).
 */
export async function leadEvents(client: ClickHouseClient, site: string, lead: LeadIdentity, limit: number) {
  return rows<Record<string, unknown>>(
    client,
    `SELECT * EXCEPT (view, pieces, deepest)
       REPLACE (if(type = 'pageview', engaged_ms + pieces, engaged_ms) AS engaged_ms, if(type = 'pageview', greatest(scroll_depth, deepest), scroll_depth) AS scroll_depth)
     FROM (
       SELECT *,
         sumIf(engaged_ms, type = 'engagement') OVER visit_of_view AS pieces,
         maxIf(scroll_depth, type = 'engagement') OVER visit_of_view AS deepest
       FROM (
         SELECT * EXCEPT (site_id),
           countIf(type = 'pageview') OVER (PARTITION BY visitor_id, session_id, path ORDER BY ts, type != 'pageview', event_id ROWS UNBOUNDED PRECEDING) AS view
         FROM events FINAL
         ${LEAD_BROWSERS}
         WHERE site_id = {site:String} AND ${LEAD_ROWS}
       )
       WINDOW visit_of_view AS (PARTITION BY visitor_id, session_id, path, view)
     )
     WHERE type != 'engagement' OR (view = 0 AND engaged_ms >= 1000)
     ORDER BY ts DESC, event_id LIMIT {limit:UInt32}`,
    { ...leadParams(site, lead), limit },
    { ...ONE_LEAD, ...ISO_TIMES },
  );
}

/** A stored event as the lead's page lists it: its columns but the site. */
type ListedEvent = Omit<EventRow, 'site_id' | 'props'> & { props: Record<string, string> };

/** A lead's counts of events and page views, and the times of its first and last event (`null` with none). */
interface LeadTotals {
  events: number;
  pageviews: number;
  first: string | null;
  last: string | null;
}

/**
 * How many of a lead's rows its page reads at once, newest first: every row of nearly every lead, whose events it then
 * lists as leadEvents does, without its window query (a third of the page's time).
 */
export const TIMELINE_ROWS = 500;

/**
 * The lead's latest `limit` events as leadEvents lists them, and its counts of events and page views and the times of
 * its first and last event (`null` with none), from one read of its latest rows that counts them all: as the lists
 * count them (leadActivity), a lead seen only through automated browsers included. The events from leadEvents when
 * the rows read do not tell them (rarely: see listedEvents).
 */
export async function leadTimeline(client: ClickHouseClient, site: string, lead: LeadIdentity, limit: number): Promise<{ events: Record<string, unknown>[]; totals: LeadTotals }> {
  const read = await rows<ListedEvent & { all_rows: string | number; all_views: string | number; all_first: string }>(
    client,
    `SELECT * EXCEPT (site_id), count() OVER () AS all_rows, countIf(type = 'pageview') OVER () AS all_views, min(ts) OVER () AS all_first
     FROM events FINAL
     ${LEAD_BROWSERS}
     WHERE site_id = {site:String} AND ${LEAD_ROWS}
     ORDER BY ts DESC, event_id LIMIT {take:UInt32}`,
    { ...leadParams(site, lead), take: TIMELINE_ROWS },
    { ...ONE_LEAD, ...ISO_TIMES },
  );
  const [latest] = read;
  const totals = latest ? { events: Number(latest.all_rows), pageviews: Number(latest.all_views), first: latest.all_first, last: latest.ts } : { events: 0, pageviews: 0, first: null, last: null };
  // The counts left out of the events listed: at most `limit` of them, not every row read.
  const listed = listedEvents(read, limit, read.length < TIMELINE_ROWS)?.map(({ all_rows: _rows, all_views: _views, all_first: _first, ...row }) => row);
  return { events: listed ?? (await leadEvents(client, site, lead, limit)), totals };
}

/**
 * The first `limit` events as leadEvents lists them, from a lead's rows newest first (ts, then event_id as ClickHouse
 * orders it): each engagement piece added to the latest view of its page in its visit at its time or before (a view
 * before a piece of the same millisecond, two views of one millisecond in event_id order), the pieces of none listed
 * from a second. From the latest rows alone (`whole` false): those after the oldest millisecond read, which may have
 * rows left out, are all there, each view with its pieces; undefined when a piece among them may have its view in the
 * rows not read, or when they hold fewer than `limit` events.
 */
function listedEvents<Row extends ListedEvent>(newestFirst: Row[], limit: number, whole = true): Row[] | undefined {
  const cut = whole ? undefined : newestFirst.at(-1)?.ts;
  const known = cut === undefined ? newestFirst : newestFirst.filter((row) => row.ts > cut);
  // Oldest first within a visit's page: the read's order reversed, but a view before the pieces of its millisecond.
  const order = known.map((row, i) => ({ row, i }));
  order.sort((a, b) => (a.row.ts < b.row.ts ? -1 : a.row.ts > b.row.ts ? 1 : Number(a.row.type !== 'pageview') - Number(b.row.type !== 'pageview') || a.i - b.i));
  const views = new Map<string, Row>();
  const folded = new Map<Row, Row>();
  const orphans = new Set<Row>();
  for (const { row } of order) {
    const page = `${row.visitor_id}\u0000${row.session_id}\u0000${row.path}`;
    if (row.type === 'pageview') views.set(page, row);
    if (row.type !== 'engagement') continue;
    const view = views.get(page);
    if (!view) {
      if (row.engaged_ms >= 1000) orphans.add(row);
      continue;
    }
    // A copy of the view as listed, its pieces added: the rows read stay as ClickHouse gave them.
    const into = folded.get(view) ?? folded.set(view, { ...view }).get(view)!;
    into.engaged_ms += row.engaged_ms;
    into.scroll_depth = Math.max(into.scroll_depth, row.scroll_depth);
  }
  const listed: Row[] = [];
  for (const row of known) {
    if (listed.length === limit) return listed;
    if (row.type === 'engagement' && !orphans.has(row)) continue;
    if (row.type === 'engagement' && !whole) return undefined;
    listed.push(folded.get(row) ?? row);
  }
  return whole || listed.length === limit ? listed : undefined;
}

const personParams = (site: string, person: Person) => ({ ...leadParams(site, person, emailsOf(person)), leads: person.leadIds });

/** Every event of the person (PERSONS_ROWS), newest first. */
export async function personEvents(client: ClickHouseClient, site: string, person: Person) {
  return rows<Record<string, unknown>>(
    client,
    `SELECT * EXCEPT (site_id) FROM events FINAL WHERE site_id = {site:String} AND ${PERSONS_ROWS} ORDER BY ts DESC, event_id`,
    personParams(site, person),
    ISO_TIMES,
  );
}

/** Every stored score of the person's leads: each snapshot with the profile and company it held, oldest first per lead. */
export async function personStoredScores(client: ClickHouseClient, site: string, person: Person) {
  const stored = await rows<Record<string, unknown> & { reasons: string; signals: string }>(
    client,
    `SELECT * EXCEPT (site_id) FROM lead_scores WHERE site_id = {site:String} AND lead_id IN {leads:Array(String)} ORDER BY lead_id, scored_at`,
    personParams(site, person),
    ISO_TIMES,
  );
  return stored.map((row) => ({ ...row, reasons: reasonsOf(row), signals: signalsOf(row).map((signal) => ({ ...signal, at: isoTime(signal.at) })) }));
}

/** Every alert about the person's leads, with each destination's delivery state and the alert as it was sent. */
export async function personAlerts(client: ClickHouseClient, site: string, person: Person) {
  const alerts = await rows<Record<string, unknown> & { alert: string }>(
    client,
    `SELECT * EXCEPT (site_id) FROM alert_outbox FINAL WHERE site_id = {site:String} AND lead_id IN {leads:Array(String)} ORDER BY created_at, alert_id, destination_id`,
    personParams(site, person),
    ISO_TIMES,
  );
  return alerts.map((row) => ({ ...row, alert: alertAsSent(JSON.parse(row.alert) as Alert) }));
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
    ONE_LEAD,
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

/**
 * Gives the leads that carry on from leads that are no more (an email put right in the visit that gave it: its visits
 * are the corrected email's lead now) the qualification history of the lead they replace, when they have none of their
 * own yet: the boxes sales ticked, the owner they assigned and who did what, when, follow the person, where the old
 * lead's page is a 404 pointing to the new one. Each row is copied as it was written, under the new lead's id.
 */
export async function carryQualificationsOver(client: ClickHouseClient, site: string, moves: { from: string; to: string }[]): Promise<void> {
  if (moves.length === 0) return;
  const qualified = new Set(
    (
      await rows<{ lead_id: string }>(
        client,
        'SELECT DISTINCT lead_id FROM lead_qualifications WHERE site_id = {site:String} AND lead_id IN {leads:Array(String)}',
        { site, leads: moves.flatMap(({ from, to }) => [from, to]) },
      )
    ).map((row) => row.lead_id),
  );
  for (const { from, to } of moves) {
    if (!qualified.has(from) || qualified.has(to)) continue;
    await client.command({
      query: `INSERT INTO lead_qualifications (site_id, lead_id, ${QUALIFICATION_COLUMNS}, change_id)
              SELECT site_id, {to:String}, ${QUALIFICATION_COLUMNS}, toString(generateUUIDv4())
              FROM lead_qualifications WHERE site_id = {site:String} AND lead_id = {from:String}`,
      query_params: { site, from, to },
    });
    qualified.add(to);
  }
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
 * Deletes the qualification history of a site's leads a retention has forgotten: no stored score of theirs is left
 * (those go `retentionDays` after the lead was last seen, as its identity rows do) and sales changed nothing of it
 * within those days. Sales' notes (a phone number, why the budget froze) would otherwise outlive every other trace of
 * the person, out of reach of an export or an erasure, which find a lead by those. Returns the leads' ids.
 */
export async function forgetQualifications(client: ClickHouseClient, site: string, retentionDays: number, cluster?: ClusterTarget): Promise<string[]> {
  const forgotten = await rows<{ lead_id: string }>(
    client,
    `SELECT lead_id FROM lead_qualifications WHERE site_id = {site:String}
     GROUP BY lead_id
     HAVING max(changed_at) < now64(3, 'UTC') - toIntervalDay({days:UInt32})
        AND lead_id NOT IN (
          -- Read by their order key: the stored scores of the qualified leads only, not the site's every snapshot.
          SELECT lead_id FROM lead_scores
          WHERE site_id = {site:String} AND lead_id IN (SELECT lead_id FROM lead_qualifications WHERE site_id = {site:String}))`,
    { site, days: retentionDays },
  );
  const leads = forgotten.map((row) => row.lead_id);
  if (leads.length > 0) await deleteWhere(client, 'lead_qualifications', 'lead_id IN {leads:Array(String)}', { site, leads }, cluster);
  return leads;
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
  await rebuildVisitDays(client, site, query_params.visitors, (table, condition, params) => deleteWhere(client, table, condition, params, cluster));
}

/**
 * Erases a person (findPerson): their events and identity rows (PERSONS_ROWS), and the stored scores, qualification
 * history and alerts of their leads. Another person who shared a browser with them keeps what that browser did as
 * theirs. Synchronous mutations (on every replica of a cluster): when this resolves, the rows are gone.
 */
export async function eraseLead(client: Pick<ClickHouseClient, 'command' | 'insert' | 'query'>, site: string, person: Person, cluster?: ClusterTarget): Promise<void> {
  // No email in the deletions' text (THEIR_EMAIL_BY_LEAD_ID): browser ids and lead ids, as `erasures` keeps.
  const { emails, ...params } = personParams(site, person);
  const query_params = { ...params, email_leads: emails.map((email) => leadIdOf(email.trim().toLowerCase())) };
  // Recorded first: from now on no collector stores an event of theirs that was still on its way (ingest/erasures.ts).
  const record = (at: number) => {
    const erasure = (visitor_id: string, session_id: string, lead_id: string): ErasureRow => ({
      site_id: site,
      visitor_id,
      session_id,
      lead_id,
      until: toClickHouseTime(END_OF_TIME),
      erased_at: toClickHouseTime(at),
    });
    return client.insert({
      table: 'erasures',
      values: [
        ...emailsOf(person).map((email) => erasure('', '', leadIdOf(email))),
        // A browser that was theirs throughout, or their visits of one they shared: the others' visits are kept.
        ...person.visitorIds.flatMap((visitor) => (person.sharedVisits[visitor] ?? ['']).map((session) => erasure(visitor, session, ''))),
      ],
      format: 'JSONEachRow',
    });
  };
  const deletions: [string, string][] = [
    ['events', personsRows(THEIR_EMAIL_BY_LEAD_ID)],
    ['identities', personsRows(THEIR_EMAIL_BY_LEAD_ID)],
    ['lead_scores', 'lead_id IN {leads:Array(String)}'],
    ['lead_qualifications', 'lead_id IN {leads:Array(String)}'],
    // Alerts carry the person's name, email and company, and the dispatcher would go on sending pending ones.
    ['alert_outbox', 'lead_id IN {leads:Array(String)}'],
  ];
  const deleteAll = async () => {
    for (const [table, condition] of deletions) await deleteWhere(client, table, condition, query_params, cluster);
  };
  // The browsers whose visits lose events, for the dashboards' rollup: theirs, and those they gave their email on,
  // which the identity map holds (a row per event that gave an email, by browser: a sliver of the events).
  const gaveEmailOn = emails.length
    ? await rows<{ visitor_id: string }>(client, `SELECT DISTINCT visitor_id FROM identities WHERE site_id = {site:String} AND ${THEIR_EMAIL_BY_LEAD_ID}`, query_params)
    : [];
  const browsers = [...new Set([...person.visitorIds, ...gaveEmailOn.map((row) => row.visitor_id)])];
  await record(Date.now());
  await deleteAll();
  // An event of theirs received while the deletions ran (they were still browsing) was new to the first record, and a
  // collector may have stored it behind the deletions: the erasure ends when they do, so it is recorded and run again.
  // (An insert still on its way after this second pass is taken back by the collector that sent it: erasures.ts.)
  await record(Date.now());
  await deleteAll();
  await rebuildVisitDays(client, site, browsers, (table, condition, params) => deleteWhere(client, table, condition, params, cluster));
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
