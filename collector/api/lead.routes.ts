import { setMaxListeners } from 'node:events';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  changedFields,
  emptyQualification,
  fieldsOfChange,
  judgeQualification,
  mergeQualificationChange,
  qualificationChangeSchema,
  qualificationProblems,
  sameQualification,
  type QualificationPolicy,
  type QualificationVerdict,
} from '../../scoring/qualification.ts';
import type { HearthConfig, SiteConfig } from '../config/schema.ts';
import type { ClusterTarget } from '../store/cluster-ddl.ts';
import { currentSnapshots, leadSnapshots, type StoredScore } from '../../scoring/snapshots.ts';
import { saysNothing, withTitleStandIn } from '../../scoring/normalize.ts';
import { isoTime, timeOf } from '../../scoring/sql.ts';
import { toProblems, type Problem } from '../config/issues.ts';
import { requireRole } from '../auth/roles.ts';
import { bodyless, noBody } from '../hooks/no-body.hook.ts';
import {
  appendQualification,
  erasedAt,
  eraseLead,
  findLead,
  findPerson,
  findVisitor,
  isLeadId,
  carriedEmail,
  isPersonsRow,
  leadTimeline,
  leadProfile,
  personAlerts,
  personEvents,
  personQualifications,
  personStoredScores,
  qualificationHistory,
  sameLeadIdentity,
  storedLeadIdentity,
  type LeadIdentity,
  type Person,
  storedLeadId,
  visitorOfId,
  visitsGivingLead,
} from './lead-store.ts';
import { presentScore, rulesOf, scoreOfSnapshot, scoreSite, siteCountsBots, standingOf, UNSCORED } from './scores.ts';
import type { LeadScore, SharedVisit } from '../../scoring/compile.ts';
import { siteParam } from './site-query.ts';
import type { EventRow } from '../ingest/rows.ts';
import type { SetAsideEvent } from '../ingest/wal.ts';

export interface LeadRouteOptions {
  config: HearthConfig;
  client: ClickHouseClient;
  /** Resolves once every accepted event is in ClickHouse: an erasure must not be undone by the log draining later. */
  drained: () => Promise<void>;
  /** Runs `fn` with no rescoring round in flight or starting: one would write back the scores of a person being erased. */
  holdingScores: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Has these browsers' leads rescored soon (the scorer's noteStored); nothing without a scorer. */
  rescoreVisitors: (site: string, visitors: string[]) => void;
  /** Deletes from the write-ahead log's files every record already stored, and the set-aside events `erased` picks. */
  purgeEventLog?: ((erased: (row: EventRow) => boolean) => Promise<void>) | undefined;
  /** The events this collector's log set aside in rejected.ndjson as ClickHouse refused them, those `picks` picks: an export lists the person's. */
  setAsideEvents?: ((picks: (row: EventRow) => boolean) => Promise<SetAsideEvent[]>) | undefined;
  cluster?: ClusterTarget | undefined;
  /** How long an erasure or an export waits for the log to drain before a 503 (DRAIN_WAIT_MS). */
  drainWaitMs?: number | undefined;
}

/**
 * How long an erasure or an export waits for the events accepted before it to be stored in ClickHouse and rescored.
 * Past it, ClickHouse is not taking the write-ahead log's events (down, or refusing inserts): a 503 to retry, with
 * nothing done, rather than a request held until the client or a proxy in front of the collector gives up (30–60 s).
 */
const DRAIN_WAIT_MS = 20_000;

/**
 * Once a shutdown begins, how much longer an erasure or an export waits for the log: less than the 5 s a shutdown gives
 * the requests in flight (server.ts) before it closes the log under them, so it is answered a 503 to retry in time.
 */
const SHUTDOWN_DRAIN_WAIT_MS = 3500;

/**
 * Waits for `drained()`, at most `waitMs`, and at most SHUTDOWN_DRAIN_WAIT_MS once `stopping` is aborted (a shutdown);
 * past it, or when the log closes first, a 503 `store_unavailable` that says `nothingDone`.
 */
async function untilDrained(drained: () => Promise<void>, waitMs: number, nothingDone: string, stopping: AbortSignal): Promise<void> {
  const waiting = drained();
  let timer: NodeJS.Timeout | undefined;
  let shorten = () => {};
  const outcome = await new Promise<'stored' | 'late' | 'stopping'>((resolve) => {
    waiting.then(() => resolve('stored'), () => resolve('stopping'));
    const deadline = Date.now() + waitMs;
    timer = setTimeout(resolve, waitMs, 'late');
    shorten = () => {
      if (deadline - Date.now() <= SHUTDOWN_DRAIN_WAIT_MS) return;
      clearTimeout(timer);
      timer = setTimeout(resolve, SHUTDOWN_DRAIN_WAIT_MS, 'stopping');
    };
    if (stopping.aborted) shorten();
    else stopping.addEventListener('abort', shorten, { once: true });
  });
  clearTimeout(timer);
  stopping.removeEventListener('abort', shorten);
  if (outcome === 'stored') return;
  const error =
    outcome === 'late'
      ? `the events accepted before this request are not stored in ClickHouse after ${waitMs / 1000} s: ClickHouse is not taking the write-ahead log's events (down, or refusing inserts); ${nothingDone}, retry later`
      : `the collector is shutting down before the events accepted before this request reached ClickHouse; ${nothingDone}, retry shortly`;
  throw Object.assign(new Error(error), { statusCode: 503, code: 'store_unavailable' });
}

/**
 * How long an erasure may run, at most, that another collector began before an export read the person: an erasure
 * recorded since that long before the export began is taken to have run while it read (a few seconds each; a minute
 * with sixty at once), unless an event of the person's came after it (they came back).
 */
const ERASURE_RUNS_MS = 5 * 60_000;

/** One lead: its profile and activity, its qualification by sales, its export and its erasure. */
export const leadRoutes: FastifyPluginAsync<LeadRouteOptions> = async (app, { config, client, drained, holdingScores, rescoreVisitors, purgeEventLog, setAsideEvents, cluster, drainWaitMs = DRAIN_WAIT_MS }) => {
  // `?site=` and nothing else: a parameter these routes do not take is named in a 400, not ignored (an erasure with a
  // `dryRun=1` it does not know of would erase for real).
  const query = z.strictObject({ site: siteParam(config) });
  const policies = new Map(config.sites.map((site) => [site.id, site.qualification]));
  // Aborted when the app starts closing (a shutdown): an erasure or export waiting for the log stops waiting in time.
  const stopping = new AbortController();
  // Every export and erasure waiting for the log listens to it: more than ten at once are not a leak.
  setMaxListeners(Infinity, stopping.signal);
  app.addHook('preClose', async () => stopping.abort());
  const countsBots = (site: string) => siteCountsBots(config, site);

  /**
   * Parses `?site=` and finds the lead (findLead), or the person (findPerson: also one whose browsers have all gone to
   * other emails, for an export or an erasure; findVisitor for an anonymous visitor's `v_` id); otherwise answers
   * 400/404 (409 for a `v_` id whose browser gave an email since: the leads to export or erase instead) and returns
   * undefined.
   */
  async function resolve(request: { query: unknown; params: unknown }, reply: FastifyReply): Promise<{ site: string; lead: LeadIdentity } | undefined>;
  async function resolve(request: { query: unknown; params: unknown }, reply: FastifyReply, person: 'person'): Promise<{ site: string; lead: Person } | undefined>;
  async function resolve(request: { query: unknown; params: unknown }, reply: FastifyReply, person?: 'person'): Promise<{ site: string; lead: LeadIdentity } | undefined> {
    const site = siteOf(request, reply);
    if (site === undefined) return;
    const id = storedLeadId((request.params as { id: string }).id);
    if (person && visitorOfId(id)) return visitorAsPerson(site, id, reply);
    // The qualification's routes: an anonymous visitor is no one's to qualify.
    if (visitorOfId(id)) {
      if (!(await answeredErased(reply, site, id))) reply.code(404).send({ error: `"${id}" is an anonymous visitor's id: only an identified lead (an l_ id) has a qualification`, code: 'lead_not_found' });
      return;
    }
    const lead = await (person ? findPerson : findLead)(client, site, id, countsBots(site));
    if (!lead) {
      if (!person) await lostLead(reply, site, id);
      else if (!(await answeredErased(reply, site, id))) notFound(reply, site, id);
      return;
    }
    return { site, lead };
  }

  /**
   * The 404 of a lead id findLead does not find, naming the leads that hold its visits now when it is one that is no
   * more (successorsOf): what the lead page answers, its qualification's routes answer too, so a CRM's sync or a
   * bookmark that posts a checklist to the old id learns where the lead, and the checklist it carried, went.
   */
  async function lostLead(reply: FastifyReply, site: string, id: string) {
    const replacedBy = await successorsOf(client, site, id);
    if (replacedBy.length === 0 && (await answeredErased(reply, site, id))) return;
    return notFound(reply, site, id, replacedBy.length > 0 ? replacedBy : undefined);
  }

  const sayErased = (reply: FastifyReply, site: string, id: string, at: string) =>
    reply.code(404).send({ error: `the person of "${id}" on site "${site}" was erased at ${at}: nothing of theirs is kept`, code: 'already_erased', erasedAt: at });

  /**
   * The 404 of a person an erasure recorded since ERASURE_RUNS_MS before `since` (when the reads began) took while they
   * were read, unless the latest of their events was received after it (they came back).
   */
  async function erasedDuring(reply: FastifyReply, site: string, id: string, since: number, latestReceived: number): Promise<boolean> {
    const at = await erasedAt(client, site, id);
    if (at === undefined || Date.parse(at) < since - ERASURE_RUNS_MS || latestReceived >= Date.parse(at)) return false;
    sayErased(reply, site, id, at);
    return true;
  }

  /**
   * The 404 of a person erased (erasedAt): an erasure sent again (a client that timed out), an export, or a CRM's sync
   * reading the lead after one says so, rather than "no such lead" as for a mistyped id. False when there was no such
   * erasure, or when an erased browser came back since: what it sent after is an anonymous visitor's, kept
   * (`cameBack`: whether it did, when the caller looked already).
   */
  async function answeredErased(reply: FastifyReply, site: string, id: string, cameBack?: boolean): Promise<boolean> {
    const at = await erasedAt(client, site, id);
    if (at === undefined || (visitorOfId(id) && (cameBack ?? (await findVisitor(client, site, id)) !== undefined))) return false;
    sayErased(reply, site, id, at);
    return true;
  }

  /**
   * An anonymous visitor as a person to export or erase (findVisitor). One whose browser gave an email since is the
   * identified lead's now, anonymous visits included: a 409 names the leads to export or erase instead, rather than
   * take half of a person (their browser's history without the events their email carries elsewhere).
   */
  async function visitorAsPerson(site: string, id: string, reply: FastifyReply): Promise<{ site: string; lead: Person } | undefined> {
    const found = await findVisitor(client, site, id);
    if (!found) {
      if (await answeredErased(reply, site, id, false)) return;
      reply.code(404).send({ error: `no anonymous visitor "${id}" on site "${site}"`, code: 'lead_not_found' });
      return;
    }
    if ('person' in found) return { site, lead: found.person };
    reply.code(409).send({
      error: `the browser of visitor "${id}" gave an email since: it is the identified lead ${found.identifiedAs.map((lead) => lead.id).join(', ')}, to export or erase instead`,
      code: 'visitor_identified',
      leadIds: found.identifiedAs.map((lead) => lead.id),
    });
  }

  /**
   * Parses `?site=`, then waits for the events accepted before the request to be stored and rescored (untilDrained):
   * a person whose first events are still in the write-ahead log is found only then. Answers 400 on a bad site.
   */
  async function siteOnceDrained(request: { query: unknown }, reply: FastifyReply, nothingDone: string): Promise<string | undefined> {
    const site = siteOf(request, reply);
    if (site !== undefined) await untilDrained(drained, drainWaitMs, nothingDone, stopping.signal);
    return site;
  }

  /** Parses `?site=`; otherwise answers 400 and returns undefined. */
  function siteOf(request: { query: unknown }, reply: FastifyReply): string | undefined {
    const parsed = query.safeParse(request.query, { reportInput: true });
    if (parsed.success) return parsed.data.site;
    reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems: toProblems(parsed.error) });
  }

  /**
   * The 404 of a lead id; with `replacedBy`, that of a lead that is no more, or of an anonymous visitor whose browser
   * gave an email since, naming the leads that hold its visits now.
   */
  const notFound = (reply: FastifyReply, site: string, id: string, replacedBy?: { id: string; email: string }[]) => {
    const visitor = visitorOfId(id) !== undefined;
    const holders = replacedBy?.map((lead) => `${lead.id}${lead.email ? ` (${lead.email})` : ''}`).join(', ');
    return reply.code(404).send(
      replacedBy
        ? {
            error: visitor
              ? `the browser of visitor "${id}" on site "${site}" gave an email since: its visits belong to ${holders} now`
              : `lead "${id}" on site "${site}" is no more: its visits belong to ${holders} now`,
            code: 'lead_not_found',
            replacedBy,
          }
        : { error: visitor ? `no anonymous visitor "${id}" on site "${site}"` : `no identified lead "${id}" on site "${site}"`, code: 'lead_not_found' },
    );
  };

  /**
   * Qualification changes run one at a time per lead: each reads the current state, merges, and appends a row with
   * its change, and answers with the state it made. Several collectors behind a load balancer may still append at
   * once, building on the same state: both changes are kept, as the current state is every change replayed in order
   * (lead-store's foldHistory); only the answer to the second misses the first. An erasure of the person takes its
   * turn among them, so no change that found the lead before it lands after it.
   */
  const changing = new Map<string, Promise<unknown>>();
  function oneAtATime<T>(key: string, change: () => Promise<T>): Promise<T> {
    const run = (changing.get(key) ?? Promise.resolve()).then(change);
    const settled = run.catch(() => undefined);
    changing.set(key, settled);
    void settled.then(() => {
      if (changing.get(key) === settled) changing.delete(key);
    });
    return run;
  }

  const currentQualification = (site: string, leadId: string) => qualificationOf(client, policies.get(site)!, site, leadId);

  /**
   * The erasures under way on this collector, by `site/id` of each id of the person (its lead ids, its browsers' `v_`
   * ids): a read of the person waits for the erasure to end, then finds them gone (404 already_erased), where it read a
   * half-erased person (an export with the scores, notes and alerts but no events, a lead page with a score and no
   * events). An erasure another collector runs is caught after the reads (erasedDuring).
   */
  const erasing = new Map<string, Promise<unknown>>();
  const erasureOver = async (site: string, id: string) => {
    await erasing.get(`${site}/${id}`);
  };

  app.get('/api/leads/:id', async (request, reply) => {
    const site = siteOf(request, reply);
    if (site === undefined) return;
    const id = storedLeadId((request.params as { id: string }).id);
    await erasureOver(site, id);
    // The lead is found within, beside the reads that need its id alone.
    const page = await leadPage(client, config.sites.find((candidate) => candidate.id === site)!, id);
    // An alert's link, or a bookmark, to a lead whose visits went to another email given later in the same visit (a
    // mistyped email put right): the 404 leads on to where they are now.
    if (page && !page.replacedBy) return page;
    if (!page && (await answeredErased(reply, site, id))) return;
    return notFound(reply, site, id, page?.replacedBy);
  });

  app.get('/api/leads/:id/qualification', async (request, reply) => {
    const found = await resolve(request, reply);
    if (!found) return;
    const { verdict, history } = await currentQualification(found.site, found.lead.id);
    return qualificationAsSent(verdict, history);
  });

  // Sales qualify leads; marketing only reads them.
  app.post('/api/leads/:id/qualification', { onRequest: requireRole('admin', 'sales') }, async (request, reply) => {
    const found = await resolve(request, reply);
    if (!found) return;
    // The config says which framework makes a prospect: a checklist of another one would let a shorter list do. Named
    // beside the body's other problems, the boxes being read in the site's framework, the only one a change may have.
    const { framework } = policies.get(found.site)!;
    const sent = typeof request.body === 'object' && request.body !== null && !Array.isArray(request.body) ? (request.body as Record<string, unknown>) : undefined;
    const problems: Problem[] = [];
    // As the pages write it ("MEDDICC") or as the config does.
    const named = sent?.framework;
    if (named !== undefined && (typeof named !== 'string' || named.toLowerCase() !== framework)) {
      problems.push({ path: 'framework', message: `expected "${framework}": this site qualifies leads under ${framework.toUpperCase()} (its qualification.framework in the config), got ${JSON.stringify(named)}` });
    }
    // Read without its framework, said above: the schema would check the boxes against it a second time; nor with
    // the qualification it was made from (basedOn), which is no change.
    const { framework: _named, basedOn, ...rest } = sent ?? {};
    if (basedOn !== undefined && basedOn !== null && (typeof basedOn !== 'string' || Number.isNaN(Date.parse(basedOn)))) {
      problems.push({ path: 'basedOn', message: `expected the changedAt of the qualification the change was made from, or null for a lead that had none (got ${JSON.stringify(basedOn)})` });
    }
    // No body is a change of nothing; a body of `null` is a body that is no change, refused like `[]` or `42`.
    const change = qualificationChangeSchema.safeParse(sent ? rest : request.body === undefined ? {} : request.body, { reportInput: true });
    if (!change.success) problems.push(...toProblems(change.error));
    return oneAtATime(`${found.site}/${found.lead.id}`, async () => {
      // An erasure may have run while this change waited its turn: its row would bring back what was erased (notes
      // are about the person), under the lead id the same email gives again.
      if (!(await findLead(client, found.site, found.lead.id, countsBots(found.site)))) return lostLead(reply, found.site, found.lead.id);
      const { policy, history, verdict } = await currentQualification(found.site, found.lead.id);
      const current = history.at(-1);
      // As the site's framework reads it (judgeQualification), a checklist kept under the one it had before included:
      // a change that leaves it as it reads is no change, and the site's framework alone makes no line.
      const before = { ...(current ?? emptyQualification(policy)), framework };
      // What is wrong against the lead's state (boxes of no BANT box, a reason for a lead not disqualified) is named
      // with the rest, the body read as sent where the schema refused it: one answer says all there is to put right,
      // and nothing is saved.
      const refused = qualificationProblems(before, change.success ? change.data : rest);
      if (problems.length || !change.success) {
        const all = [...problems, ...(refused?.problems ?? [])];
        const error = change.success && all.length === 1 ? all[0]!.message : 'invalid qualification';
        return reply.code(400).send({ error, code: 'invalid_qualification', problems: all });
      }
      if (refused) return reply.code(400).send({ error: refused.message, code: 'invalid_qualification', problems: refused.problems });
      // Whether it changed anything or not, the answer is what GET answers: the verdict, who last changed it, the history.
      const unchanged = qualificationAsSent(verdict, history);
      // A change of nothing ({}) leaves no line in the history.
      if (Object.keys(change.data).length === 0) return unchanged;
      // Stored with the site's framework, as a replay reads a change's boxes in the framework it names.
      const applied = { ...change.data, framework };
      // Checked above (qualificationProblems): merged without checking it again.
      const next = mergeQualificationChange(before, applied);
      // Nor does one that leaves the qualification as it stands (Save pressed again, a box ticked that was): the
      // history lists what changed. It was checked above all the same, so a wrong box is refused either way.
      if (sameQualification(next, before)) return unchanged;
      // Made from a qualification someone else has changed since, in a field this change sets (two reps on one lead, a
      // page loaded before the other's save), and changing it (the same note or a requalification made twice changes
      // nothing, above): refused, naming what they changed, where it replaced their note or took the lead from them
      // without a word. Fields neither touched merge as ever; sent again with the current changedAt as its basedOn,
      // the change replaces theirs.
      if (typeof basedOn === 'string' || basedOn === null) {
        // The time of a version this lead's checklist had (a CRM whose clock runs ahead, or another lead's, would
        // turn the check off).
        if (basedOn !== null && !history.some((record) => Date.parse(record.changedAt) === Date.parse(basedOn))) {
          const latest = verdict.changedAt === null ? 'it has none yet: send null' : `its latest is ${JSON.stringify(verdict.changedAt)}`;
          return reply.code(400).send({ error: 'invalid qualification', code: 'invalid_qualification', problems: [{ path: 'basedOn', message: `not the changedAt of a version of this lead's checklist (${latest}; got ${JSON.stringify(basedOn)})` }] });
        }
        const since = basedOn === null ? -Infinity : Date.parse(basedOn);
        const mine = new Set(fieldsOfChange(change.data));
        const conflicts = history.flatMap((record, i) =>
          Date.parse(record.changedAt) > since && record.changedBy !== request.user!.name
            ? changedFields(i > 0 ? history[i - 1]! : emptyQualification(policy), record)
                .filter((field) => mine.has(field))
                .map((field) => ({ field, changedBy: record.changedBy, changedAt: record.changedAt }))
            : [],
        );
        if (conflicts.length > 0) {
          const who = [...new Set(conflicts.map((conflict) => conflict.changedBy || 'someone'))].join(' and ');
          const fields = [...new Set(conflicts.map((conflict) => conflict.field))].join(', ');
          return reply.code(409).send({
            error: `not saved: ${who} changed ${fields} since the qualification this change was made from; send it again with basedOn ${JSON.stringify(verdict.changedAt)} to replace it`,
            code: 'qualification_conflict',
            conflicts,
            current: unchanged,
          });
        }
      }
      // The history is ordered by time alone: a change in the same millisecond as the last (or after a clock step
      // back) is stamped just after it, so the latest row is always the one built on all the others.
      const at = Math.max(Date.now(), current ? Date.parse(current.changedAt) + 1 : 0);
      await appendQualification(client, found.site, found.lead.id, { state: next, change: applied }, request.user!.name, at);
      // The history read above with the line just written: what GET would read now, without reading it again.
      const written = { ...next, changedBy: request.user!.name, changedAt: new Date(at).toISOString() };
      return qualificationAsSent(judgeQualification(written, policy), [...history, written]);
    });
  });

  // Everything stored about the person, selected as an erasure selects it (lead-store's findPerson and eraseLead).
  app.get('/api/leads/:id/export', async (request, reply) => {
    // An export without them would miss what the person did last, or the person themselves, just arrived.
    if (!(await siteOnceDrained(request, reply, 'nothing was exported'))) return;
    const site = siteOf(request, reply);
    if (site === undefined) return;
    await erasureOver(site, storedLeadId((request.params as { id: string }).id));
    const readFrom = Date.now();
    const found = await resolve(request, reply, 'person');
    if (!found) return;
    const { lead: person } = found;
    const [events, rejected, qualifications, storedScores, alerts] = await Promise.all([
      personEvents(client, site, person),
      // Picked as the erasure drops them from rejected.ndjson (isPersonsRow).
      setAsideEvents?.(isPersonsRow(site, person)) ?? [],
      personQualifications(client, site, person),
      personStoredScores(client, site, person),
      personAlerts(client, site, person),
    ]);
    // Erased by another collector while these were read: part of them may be gone already, and the rest soon. Not a
    // person who came back since (an event received after the erasure): what is read then is theirs after it.
    const latestReceived = Math.max(-Infinity, ...events.map((event) => (typeof event.received_at === 'string' ? timeOf(event.received_at) : -Infinity)));
    if (await erasedDuring(reply, site, person.id, readFrom, latestReceived)) return;
    const qualificationHistory = [...qualifications].flatMap(([leadId, records]) => records.map((record) => ({ leadId, ...ownerOrNull(record) })));
    reply.header('content-disposition', `attachment; filename="hearth-${person.id}.json"`);
    // An anonymous visitor has no email: `null`, as a field of no value reads, rather than an empty text.
    const who = { kind: person.email ? 'lead' : 'visitor', ...person, email: person.email || null };
    // Their profile from their own events: leadProfile reads only the browsers that are theirs now, and misses the forms
    // they filled on a browser someone else has taken over since (all of them, for a person whose lead is gone).
    request.log.info({ audit: 'export', user: request.user!.name, site, exported: person.id }, `${request.user!.name} exported ${person.id}`);
    return { exportedAt: new Date().toISOString(), site, ...who, profile: profileOf(events, person.email), events, rejectedEvents: rejectedEventsOf(rejected), qualificationHistory, storedScores, alerts };
  });

  // Erasing a person cannot be undone: admins only.
  app.delete('/api/leads/:id', { onRequest: [bodyless, requireRole('admin')], preHandler: noBody }, async (request, reply) => {
    // Events still in the write-ahead log would come back after the erasure: let them land first, then see what is
    // the person's. Nothing is erased before they have (an erasure must not half-run).
    if (!(await siteOnceDrained(request, reply, 'nothing was erased'))) return;
    const first = await resolve(request, reply, 'person');
    if (!first) return;
    // After the qualification changes already waiting on this lead, before those still to come (oneAtATime).
    const person = await oneAtATime(`${first.site}/${first.lead.id}`, () => holdingScores(async () => {
      const found = await resolve(request, reply, 'person');
      if (!found) return;
      const erasure = eraseLead(client, found.site, found.lead, cluster);
      const ids = [found.lead.id, ...found.lead.leadIds, ...found.lead.visitorIds.map((visitor) => `v_${visitor}`)].map((id) => `${found.site}/${id}`);
      const over = erasure.catch(() => {});
      for (const id of ids) erasing.set(id, over);
      void over.then(() => {
        for (const id of ids) if (erasing.get(id) === over) erasing.delete(id);
      });
      await erasure;
      // The log still holds the records it stored, the person's among them, and the refused events it set aside.
      await purgeEventLog?.(isPersonsRow(found.site, found.lead));
      // The others who shared a computer with them: the visits left on it are theirs again to share out.
      rescoreVisitors(found.site, Object.keys(found.lead.sharedVisits));
      return found.lead;
    }));
    if (!person) return;
    // Who erased whom, for the record: by ids (a lead id is a hash of the email), the person's data being gone.
    request.log.info({ audit: 'erasure', user: request.user!.name, site: first.site, erased: person.id, leadIds: person.leadIds, visitorIds: person.visitorIds }, `${request.user!.name} erased ${person.id}`);
    return reply.code(200).send({ erased: person.id, visitorIds: person.visitorIds, handedOver: person.handedOver, leadIds: person.leadIds });
  });
};

/** A qualification's state as the API answers it: an unassigned lead's `owner` is `null`, as the lists, the lead page and webhooks say it. */
const ownerOrNull = <State extends { owner: string }>(state: State) => ({ ...state, owner: state.owner || null });

/** A qualification and its history as its routes, the lead page and the export answer them (ownerOrNull). */
const qualificationAsSent = <Verdict extends { owner: string }, State extends { owner: string }>(verdict: Verdict, history: readonly State[]) => ({
  ...ownerOrNull(verdict),
  history: history.map(ownerOrNull),
});

/**
 * A lead's qualification by sales: its history, and where it stands under the site's policy, with who changed it last
 * and when: `null` for a lead never qualified, where the fields were left out and a reader had to guess they were not.
 */
async function qualificationOf(client: ClickHouseClient, policy: QualificationPolicy, site: string, leadId: string) {
  const history = await qualificationHistory(client, site, leadId);
  const last = history.at(-1);
  const verdict = { ...judgeQualification(last ?? emptyQualification(policy), policy), changedBy: last?.changedBy ?? null, changedAt: last?.changedAt ?? null };
  return { policy, history, verdict };
}

/** The lead's stored score (kept current by the scorer), or computed from raw events when there is none yet. */
async function storedOrLiveScore(client: ClickHouseClient, site: SiteConfig, lead: LeadIdentity, latest: StoredScore | undefined): Promise<LeadScore | undefined> {
  if (latest && latest.kind !== 'gone') return scoreOfSnapshot(latest);
  return (await scoreSite(client, site, lead.visitorIds)).find((candidate) => candidate.lead_id === lead.id);
}

/** The lead page's timeline: its latest events, this many. */
const RECENT_EVENTS = 100;

/**
 * What `GET /api/leads/:id` answers: the lead findLead finds, its profile, score, reasons and signals, qualification,
 * recent events and score over time; `{ replacedBy }` for a lead that is gone, naming the leads that hold its visitors
 * now; undefined when there is no such lead. The profile is the one its score was
 * computed from (the latest answer to each field, as scoring merges them); only a lead with no score (seen only
 * through automated browsers, unless the rules count bots) has it read from its events; the current score and the
 * score over time are one read, which also names the browsers whose events are read beside findLead's look. An
 * anonymous visitor's `v_` id, as the lists give it, is answered by visitorPage.
 */
export async function leadPage(client: ClickHouseClient, site: SiteConfig, id: string) {
  if (visitorOfId(id)) return visitorPage(client, site, id);
  if (!isLeadId(id)) return undefined;
  const qualificationRead = qualificationOf(client, site.qualification, site.id, id);
  // Left unread when there is no such lead, and failing then with no one to hear it.
  qualificationRead.catch(() => {});
  // Its events are read from the browsers its latest score counted while findLead looks up whose browsers are the
  // lead's now; read again in the rare case they are not the same (a browser someone else has taken over since).
  // One more than the page shows, to say whether older events are left out (they are in the export).
  const snapshots = await leadSnapshots(client, site.id, id);
  const known = storedLeadIdentity(id, snapshots);
  const early = known && leadTimeline(client, site.id, known, RECENT_EVENTS + 1);
  early?.catch(() => {});
  const lead = await findLead(client, site.id, id, rulesOf(site).countBots, known?.email);
  if (!lead) {
    // The visits in which its email was given say whose they are now (a mistyped email put right).
    const replacedBy = await successorsOf(client, site.id, id);
    return replacedBy.length ? { replacedBy } : undefined;
  }
  // With its counts of events and page views, as the lists give them, over the events the page lists.
  const theirs = early && sameLeadIdentity(known, lead) ? early : leadTimeline(client, site.id, lead, RECENT_EVENTS + 1);
  const [timeline, qualification] = await Promise.all([theirs, qualificationRead]);
  const score = await storedOrLiveScore(client, site, lead, snapshots[0]);
  const profile = score ? score.profile : await leadProfile(client, site.id, lead);
  // The emails it put right are its events' business, not the page's (an export names them).
  const { putRight: _putRight, ...identity } = lead;
  return { ...identity, kind: 'lead', ...activityOf(timeline, score, profile, qualification.verdict), qualification: qualificationAsSent(qualification.verdict, qualification.history), ...timelineOf(timeline, snapshots) };
}

/**
 * The page of an anonymous visitor (`v_<visitor id>`, findVisitor): as a lead's, from its browser's events and stored
 * scores, with no email and no qualification (an anonymous visitor is no one's to qualify: `qualification` is `null`);
 * the profile is what its forms without an email gave. A browser that gave an email since is that lead's now, its
 * anonymous visits included: `{ replacedBy }` names the leads (every email given on it), as for a lead that is no more.
 */
async function visitorPage(client: ClickHouseClient, site: SiteConfig, id: string) {
  const found = await findVisitor(client, site.id, id);
  if (!found) return undefined;
  if ('identifiedAs' in found) return { replacedBy: found.identifiedAs };
  const { person } = found;
  const [snapshots, timeline] = await Promise.all([leadSnapshots(client, site.id, id), leadTimeline(client, site.id, person, RECENT_EVENTS + 1)]);
  const score = await storedOrLiveScore(client, site, person, snapshots[0]);
  const profile = score ? score.profile : await leadProfile(client, site.id, person);
  const { id: visitorId, email, visitorIds, sharedVisits } = person;
  return { id: visitorId, email, visitorIds, sharedVisits, kind: 'visitor', ...activityOf(timeline, score, profile, undefined), qualification: null, ...timelineOf(timeline, snapshots) };
}

type Timeline = Awaited<ReturnType<typeof leadTimeline>>;

/**
 * A lead's counts of events and page views, as the lists give them, over the events its page lists, first and last
 * seen, profile and score (reasons and signals, or UNSCORED: a lead seen only through an automated browser has no score
 * unless the rules count bots).
 */
function activityOf({ totals }: Timeline, score: LeadScore | undefined, profile: Record<string, string>, verdict: QualificationVerdict | undefined) {
  // As the list shows the lead: when it was first and last seen (as its score counts its visits; with no score, its
  // first and last events, as bots=include lists it).
  const seen = score ? { firstSeen: isoTime(score.first_seen), lastSeen: isoTime(score.last_seen) } : { firstSeen: totals.first, lastSeen: totals.last };
  return { events: totals.events, pageviews: totals.pageviews, ...seen, profile, ...(score ? presentScore(score, verdict) : { ...standingOf(undefined, verdict), ...UNSCORED }) };
}

/**
 * A lead's latest events (one more read than shown says whether older ones are left out: they are in the export), and
 * its score over time from its snapshots: one point per visible change. A snapshot that records other rules alone (an
 * upgrade, a rules change that moved nothing for this lead) repeats the point before it. A point whose rules are not
 * those of the snapshot before it says so: the score moved because the rules changed (and maybe also because of what the
 * lead did since), which a salesperson reading the chart would otherwise take for the lead's doing.
 */
function timelineOf({ events: read }: Timeline, snapshots: StoredScore[]) {
  const history = snapshots
    .filter((snapshot) => snapshot.kind !== 'gone')
    .reverse()
    .map((point, i, all) => ({ ...point, rulesChanged: i > 0 && otherRules(all[i - 1]!.rules_hash, point.rules_hash) }))
    .filter((point, i, all) => i === 0 || point.score !== all[i - 1]!.score || point.temperature !== all[i - 1]!.temperature || point.stage !== all[i - 1]!.stage);
  return {
    recentEvents: read.slice(0, RECENT_EVENTS),
    olderEvents: read.length > RECENT_EVENTS,
    scoreHistory: history.map((point) => ({ at: isoTime(point.scored_at), score: point.score, temperature: point.temperature, stage: point.stage || null, rulesChanged: point.rulesChanged })),
  };
}

/** Whether two snapshots were scored under different rules; a snapshot of a release that recorded none ('') says nothing. */
const otherRules = (before: string, after: string) => before !== '' && after !== '' && before !== after;

/**
 * The leads that hold a lead's visits now, when none is its own any more: the visits in which its email was given (a
 * mistyped email put right in the same visit), each held by the lead whose stored score has that browser throughout or
 * that visit among its shared ones, so another person on a shared computer is not named. None for a lead erased (no
 * identity row is left) or never seen.
 */
async function successorsOf(client: ClickHouseClient, site: string, id: string): Promise<{ id: string; email: string }[]> {
  const visits = await visitsGivingLead(client, site, id);
  if (visits.length === 0) return [];
  const holders = await currentSnapshots(client, site, { leadIds: [], visitors: [...new Set(visits.map((visit) => visit.visitor_id))] });
  const holds = ({ visitor_ids, shared_visits }: StoredScore, visit: SharedVisit) => {
    const shared = shared_visits.filter((held) => held.visitor_id === visit.visitor_id);
    return visitor_ids.includes(visit.visitor_id) && (shared.length === 0 || shared.some((held) => held.session_id === visit.session_id));
  };
  return holders
    .filter((row) => row.kind !== 'gone' && row.lead_id !== id && visits.some((visit) => holds(row, visit)))
    .map((row) => ({ id: row.lead_id, email: row.email }));
}

/**
 * The person's events ClickHouse refused, as an export lists them beside the stored ones: the same columns (times in
 * ISO 8601 UTC, no site), with when the collector set each aside and ClickHouse's reason; newest first, as `events`.
 */
function rejectedEventsOf(setAside: SetAsideEvent[]) {
  // A line written by hand, or by an older release, may lack a time: left as it is rather than fail the export.
  const iso = (text: string) => (typeof text === 'string' && text !== '' ? isoTime(text) : text);
  return setAside
    .map(({ at, error, row: { site_id: _site, ...row } }) => ({ ...row, ts: iso(row.ts), received_at: iso(row.received_at), rejectedAt: at, reason: error }))
    .sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0));
}

/**
 * As leadProfile and scoring: the latest answer to each declarative field among these events' forms and identify calls
 * (saysNothing left out), but those that carried another email than `email` (a former one's: someone else's in the same
 * visit, or their own mistyped, which the corrected form answers again).
 */
function profileOf(newestFirst: Record<string, unknown>[], email: string): Record<string, string> {
  const profile = new Map<string, { value: string; ts: unknown }>();
  for (const event of newestFirst) {
    if (event.type !== 'form' && event.type !== 'identify') continue;
    const carried = carriedEmail(event);
    if (carried !== '' && carried !== email) continue;
    for (const [key, value] of Object.entries(event.props as Record<string, string>)) {
      // Events come by time, newest first, then by event id upwards (personEvents): of answers at the same time
      // the last one wins, the one with the greatest event id, as in scoring's merge and the lead page's profile.
      if (!saysNothing(value) && (!profile.has(key) || profile.get(key)!.ts === event.ts)) profile.set(key, { value, ts: event.ts });
    }
  }
  return withTitleStandIn(Object.fromEntries([...profile].map(([key, { value }]) => [key, value] as const).sort(([a], [b]) => (a < b ? -1 : 1))));
}
