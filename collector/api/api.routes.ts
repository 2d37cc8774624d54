import type { ClickHouseClient } from '@clickhouse/client';
import compress from '@fastify/compress';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { HearthConfig } from '../config/schema.ts';
import type { ClusterTarget } from '../store/cluster-ddl.ts';
import { quoted, toProblems } from '../config/issues.ts';
import { leadRoutes, type LeadRouteOptions } from './lead.routes.ts';
import { alertRoutes } from './alerts.routes.ts';
import { dashboardApiRoutes } from './dashboard.routes.ts';
import { LEAD_SORTS, storedLeadPage, type LeadCursor, type ListSort, type StoredLeadQuery } from '../../scoring/snapshots.ts';
import { judgeQualification, type QualificationVerdict } from '../../scoring/qualification.ts';
import type { LeadScore } from '../../scoring/compile.ts';
import { currentQualifications, erasedSince } from './lead-store.ts';
import { accounts as siteAccounts } from './dashboard-queries.ts';
import { lifecycleOf, listedLeads, rulesOf, scoreOfSnapshot, scoreSite } from './scores.ts';
import { anyCase, siteParam, wholeNumber } from './site-query.ts';
import { browserVisitorId } from '../ingest/wire.ts';
import { timeOf, toClickHouseTime } from '../../scoring/sql.ts';
import { unlessIssuesAt } from '../../scoring/checks.ts';
import { sameOwner } from '../../scoring/labels.ts';
import type { HearthMetrics } from '../metrics.ts';
import { fewAtOnce } from '../few-at-once.ts';

export interface ApiOptions {
  config: HearthConfig;
  client: ClickHouseClient;
  /** Resolves once every accepted event is stored in ClickHouse and rescored. */
  drained: () => Promise<void>;
  holdingScores: LeadRouteOptions['holdingScores'];
  rescoreVisitors: LeadRouteOptions['rescoreVisitors'];
  /** The write-ahead log's purge (ingest/wal.ts), when the sink is one: an erasure runs it so no record of the person stays on disk. */
  purgeEventLog?: LeadRouteOptions['purgeEventLog'];
  setAsideEvents?: LeadRouteOptions['setAsideEvents'];
  cluster?: ClusterTarget | undefined;
  /** Where each answer's time is counted (hearth_api_request_duration_seconds). */
  metrics?: Pick<HearthMetrics, 'apiAnswered'> | undefined;
  /** The alert dispatcher, woken when a dead letter is retried through the API. */
  alerts?: { wake(): void } | undefined;
  drainWaitMs?: LeadRouteOptions['drainWaitMs'];
  /** Who logs in; the owner fields suggest the sales and admins among them. */
  users: { name: string; role: string }[];
}

/** `/api/*`: leads and accounts for people who logged in and machines with a token (hooks/auth.hook.ts checks both
 * for every route under /api; a role is required where a route says so). */
export const apiRoutes: FastifyPluginAsync<ApiOptions> = async (app, { config, client, drained, holdingScores, rescoreVisitors, purgeEventLog, setAsideEvents, cluster, alerts, drainWaitMs, users, metrics }) => {
  // Once answered (its body sent): what a dashboard's panel or a CRM's page cost, by the route's pattern.
  if (metrics) app.addHook('onResponse', async (request, reply) => metrics.apiAnswered(request.method, request.routeOptions.url ?? '', reply.statusCode, reply.elapsedTime / 1000));
  // `?limit=1&limit=2` arrives as a list, which a schema would call "NaN" or "not a string". No route here takes a
  // repeated parameter (lists are comma-separated), so every route under /api says so first, before its own checks.
  app.addHook('preValidation', async (request, reply) => {
    const problems = repeatedParameters(request.query);
    if (problems.length) return reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems });
  });

  // A login or a token limited to some sites (users[].sites, tokens[].sites) reads and changes those alone, and learns
  // no other site's name: an agency's client sees its own site. A site left out is its only one, when it has one.
  app.addHook('preValidation', async (request, reply) => {
    const allowed = request.user?.sites;
    if (!allowed || request.routeOptions.url === '/api/dashboard/sites') return;
    const query = request.query as Record<string, unknown>;
    if (query.site === undefined) {
      if (allowed.length === 1) return void (query.site = allowed[0]);
      return reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems: [{ path: 'site', message: `choose a site: ${allowed.join(', ')}` }] });
    }
    if (typeof query.site === 'string' && allowed.includes(query.site)) return;
    return reply.code(403).send({ error: `${request.user!.name} has no site "${String(query.site)}": its sites are ${allowed.join(', ')}`, code: 'site_forbidden' });
  });

  // Lists are large (a CRM's sync reads 1,000 leads a page: 786 KB of JSON on the demo site, 92 KB compressed), so the
  // answers under /api are compressed when the client accepts it, off the event loop (zlib's thread pool); small ones
  // (an error, a qualification) are not worth it.
  await app.register(compress, { encodings: ['br', 'gzip'], threshold: 8 * 1024 });

  await app.register(leadRoutes, { config, client, drained, holdingScores, rescoreVisitors, purgeEventLog, setAsideEvents, cluster, drainWaitMs });
  await app.register(alertRoutes, { config, client, alerts });
  await app.register(dashboardApiRoutes, { config, client, users });

  // Strict, as the dashboards' lists are: a misspelt or unsupported filter (`tempreature=hot`, `minScore=60`) would
  // otherwise be dropped, and the whole list answered as though it were filtered.
  const leadsQuery = z
    .strictObject({
      site: siteParam(config),
      temperature: anyCase(['cold', 'warm', 'hot']).optional(),
      stage: anyCase(['TOFU', 'MOFU', 'BOFU']).optional(),
      kind: anyCase(['lead', 'visitor']).optional(),
      lifecycle: anyCase(['visitor', 'lead', 'mql', 'prospect', 'disqualified']).optional(),
      owner: z.string().max(200).optional(),
      sort: z.enum([...LEAD_SORTS, 'id']).default('score'),
      limit: wholeNumber({ min: 1, max: 1000 }).default(100),
      offset: wholeNumber({ min: 0 }).default(0),
      /** Only the leads whose score or qualification changed since (a sync's last `asOf`). */
      changedSince: z.iso
        .datetime({ offset: true, message: 'expected a time with its zone, as `asOf` gives it (2026-12-06T17:45:00.000Z)' })
        .transform((text) => Date.parse(text))
        .optional(),
      // The hearth_vid cookie's value as it is, quoted or URL-encoded by a framework too (/collect stored it so), or
      // localStorage's: browserVisitorId.
      visitor: z.string().min(1, { message: "expected a visitor id (the browser's hearth_vid), not an empty value" }).max(1024).transform(browserVisitorId).optional(),
      /** Automated browsers are left out of scores and lists unless asked for (`bots=include`) or the rules count them. */
      bots: z.enum(['exclude', 'include']).default('exclude'),
      /**
       * The leads after the last one of a page (its `next`): a lead that moves does not shift the others, which are
       * listed once; by id (a key that never changes) every lead is.
       */
      after: cursorParam.optional(),
    })
    .superRefine((query, ctx) => {
      if (!query.after) return;
      if (query.after.sort !== query.sort) ctx.addIssue({ code: 'custom', path: ['after'], message: `a cursor of the list sorted by ${query.after.sort}: give sort=${query.after.sort} with it` });
      if (query.offset > 0) ctx.addIssue({ code: 'custom', path: ['offset'], message: 'give offset or after, not both' });
    }, unlessIssuesAt(['after'], ['sort'], ['offset']))
    .superRefine((query, ctx) => {
      // Scores computed on the spot have no time they changed.
      if (query.changedSince !== undefined && (query.bots === 'include' || query.visitor !== undefined)) {
        ctx.addIssue({ code: 'custom', path: ['changedSince'], message: `reads the stored scores: not with ${query.visitor !== undefined ? 'visitor' : 'bots=include'}` });
      }
    }, unlessIssuesAt(['changedSince'], ['bots'], ['visitor']));

  const accountsQuery = z.strictObject({
    site: siteParam(config),
    temperature: anyCase(['cold', 'warm', 'hot']).optional(),
    limit: wholeNumber({ min: 1, max: 1000 }).default(100),
    offset: wholeNumber({ min: 0 }).default(0),
  });

  app.get('/api/accounts', async (request, reply) => {
    const parsed = accountsQuery.safeParse(request.query, { reportInput: true });
    if (!parsed.success) return reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems: toProblems(parsed.error) });
    const site = config.sites.find((candidate) => candidate.id === parsed.data.site)!;
    const accounts = (await siteAccounts(client, site)).filter(
      (account) => !parsed.data.temperature || account.temperature === parsed.data.temperature,
    );
    return { site: site.id, total: accounts.length, offset: parsed.data.offset, accounts: accounts.slice(parsed.data.offset, parsed.data.offset + parsed.data.limit) };
  });

  // Lists read the stored scores (lead_scores), which the scorer keeps current as batches land and rescores in full
  // at start and hourly. Counting automated browsers, or one visitor's lead, is computed from raw events on the spot.
  // A whole site's so is a full rescoring held in memory (at 300,000 visitors: 16 s and 2 GB more, each): one at a
  // time, two waiting, the others a 503 busy to retry (two at once took 37 s each and the collector to 5 GB).
  const siteScoringsAtOnce = fewAtOnce(1, 2);
  app.get('/api/leads', async (request, reply) => {
    const parsed = leadsQuery.safeParse(request.query, { reportInput: true });
    if (!parsed.success) return reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems: toProblems(parsed.error) });
    const query = parsed.data;
    // What the next sync gives as changedSince: a rescoring may be writing scores it began computing a little before.
    const asOf = new Date(Date.now() - AS_OF_MARGIN_MS).toISOString();
    const site = config.sites.find((candidate) => candidate.id === query.site)!;
    const live = query.bots === 'include' || query.visitor !== undefined;
    const qualifications = await currentQualifications(client, site.id);
    const verdicts = new Map([...qualifications].map(([leadId, state]) => [leadId, judgeQualification(state, site.qualification)]));
    const verdictOf = (leadId: string) => verdicts.get(leadId);
    let page: LeadScore[];
    let total: number;
    let next: LeadCursor | null;
    let erased: { id: string; erasedAt: string }[] | undefined;
    const busy = () => reply.code(503).header('retry-after', '10').send({ error: 'lists counting automated browsers (bots=include) are being computed; try again in a few seconds', code: 'busy' });
    if (live && !query.visitor && siteScoringsAtOnce.full) return busy();
    if (live) {
      const scoring = () => scoreSite(client, site, query.visitor ? [query.visitor] : undefined, { countBots: query.bots === 'include' });
      // A whole site's waits its turn; a client that gives up meanwhile leaves it: no one would read it.
      const inTurn = () => {
        const gone = new AbortController();
        reply.raw.once('close', () => reply.raw.writableFinished || gone.abort(new Error('the client left')));
        return siteScoringsAtOnce.run(scoring, gone.signal).catch((err: unknown) => {
          if (gone.signal.aborted) return undefined;
          throw err;
        });
      };
      const computed = await (query.visitor ? scoring() : inTurn());
      // Answered all the same (no one reads it), as a handler must.
      if (!computed) return busy();
      const scores = computed.filter(
        (score) =>
          (!query.temperature || score.temperature === query.temperature) &&
          (!query.stage || score.stage === query.stage) &&
          (!query.kind || score.kind === query.kind) &&
          (!query.lifecycle || lifecycleOf(score, verdictOf(score.lead_id)) === query.lifecycle) &&
          (query.owner === undefined || (score.kind === 'lead' && sameOwner(verdictOf(score.lead_id)?.owner ?? '', query.owner))) &&
          (!query.visitor || score.visitor_ids.includes(query.visitor)),
      );
      // The list's order, as ClickHouse sorts the stored scores: by the key (descending), then by id.
      const keyOf = (score: LeadScore) =>
        query.sort === 'id' ? '' : query.sort === 'recent' ? score.last_seen : query.sort === 'score' ? score.score : Math.round(score[query.sort] * 100);
      const before = (a: LeadScore, key: string | number, leadId: string) => keyOf(a) > key || (keyOf(a) === key && a.lead_id < leadId);
      scores.sort((a, b) => (before(a, keyOf(b), b.lead_id) ? -1 : 1));
      const after = query.after;
      const afterKey = (key: string) => (query.sort === 'recent' || query.sort === 'id' ? key : Number(key));
      const rest = after ? scores.filter((score) => !before(score, afterKey(after.key), after.leadId) && score.lead_id !== after.leadId) : scores;
      page = rest.slice(query.offset, query.offset + query.limit);
      total = scores.length;
      const last = page.at(-1);
      next = rest.length > query.offset + query.limit && last ? { key: String(keyOf(last)), leadId: last.lead_id } : null;
    } else {
      const since = query.changedSince;
      const changedSince = since === undefined ? undefined : { at: toClickHouseTime(since), qualified: [...qualifications].flatMap(([leadId, state]) => (Date.parse(state.changedAt) >= since ? [leadId] : [])) };
      // The people erased since come with every page: a sync erases its copy of them too (they are in no list).
      const [stored, erasures] = await Promise.all([
        storedLeadPage(client, site.id, { ...storedFilters(query, verdicts), changedSince, sort: query.sort, offset: query.offset, limit: query.limit, after: query.after }),
        changedSince ? erasedSince(client, site.id, changedSince.at) : undefined,
      ]);
      erased = erasures;
      page = stored.rows.map(scoreOfSnapshot);
      total = stored.total;
      next = stored.next;
    }
    const leads = await listedLeads(client, site, page, verdictOf, query.bots === 'include' || rulesOf(site).countBots);
    return { site: site.id, total, leads, next: next && cursorText({ sort: query.sort, ...next }), asOf, ...(erased && { erased }) };
  });
};

/**
 * The list's filters as conditions on stored scores. Lifecycle and owner come from sales' qualifications (few
 * leads): a qualified lead is a prospect or disqualified whatever its score, the others are visitors, leads or
 * MQLs by kind, temperature and demo request (lifecycleOf).
 */
function storedFilters(
  query: { temperature?: LeadScore['temperature'] | undefined; stage?: LeadScore['stage'] | undefined; kind?: LeadScore['kind'] | undefined; lifecycle?: string | undefined; owner?: string | undefined },
  verdicts: Map<string, QualificationVerdict>,
): Omit<StoredLeadQuery, 'sort' | 'offset' | 'limit'> {
  const ids = (keep: (verdict: QualificationVerdict) => boolean) => [...verdicts].flatMap(([id, verdict]) => (keep(verdict) ? [id] : []));
  const nothing = { leadIds: [] };
  const filters: Omit<StoredLeadQuery, 'sort' | 'offset' | 'limit'> = { temperature: query.temperature, stage: query.stage || undefined, kind: query.kind };
  const except: string[] = [];
  if (query.lifecycle === 'disqualified') filters.leadIds = ids((verdict) => verdict.disqualified);
  else if (query.lifecycle === 'prospect') filters.leadIds = ids((verdict) => verdict.prospect);
  else if (query.lifecycle) {
    // Visitors, leads and MQLs are the leads sales have not decided on, by kind, then (leads) marketing-qualified
    // or not: a cold lead who asked for a demo is an MQL, so `temperature` stays a filter of its own.
    except.push(...ids((verdict) => verdict.disqualified || verdict.prospect));
    const kind = query.lifecycle === 'visitor' ? 'visitor' : 'lead';
    if (query.kind && query.kind !== kind) return nothing;
    filters.kind = kind;
    if (query.lifecycle !== 'visitor') filters.marketingQualified = query.lifecycle === 'mql';
  }
  if (query.owner === '') {
    // The leads sales have not taken: an anonymous visitor is no one's to take.
    if (query.kind === 'visitor' || query.lifecycle === 'visitor') return nothing;
    filters.kind = 'lead';
    except.push(...ids((verdict) => verdict.owner !== ''));
  } else if (query.owner !== undefined) {
    const wanted = query.owner;
    const owned = new Set(ids((verdict) => sameOwner(verdict.owner, wanted)));
    filters.leadIds = (filters.leadIds ?? [...owned]).filter((id) => owned.has(id));
  }
  return { ...filters, exceptLeadIds: except };
}

/** A problem for each parameter of the query string given more than once, quoting (the start of) its first values. */
function repeatedParameters(query: unknown): { path: string; message: string }[] {
  return Object.entries(query as Record<string, unknown>).flatMap(([name, values]) =>
    Array.isArray(values)
      ? [{ path: name, message: `given ${values.length} times: give it once (got ${values.slice(0, 3).map((value) => quoted(String(value))).join(', ')}${values.length > 3 ? ', ...' : ''})` }]
      : [],
  );
}

/**
 * How far before an answer its `asOf` is: a rescoring dates the scores it writes by when it began computing them, a few
 * seconds before (a slice of a large site's full pass, under a minute), so a sync that asks from `asOf` may get a lead
 * again, never miss one.
 */
const AS_OF_MARGIN_MS = 5 * 60_000;

type SortedCursor = LeadCursor & { sort: ListSort };

/**
 * The cursor `next` gives and `after=` takes, readable as the alerts' is (alerts.routes.ts): the list's sort, its page's
 * last lead's key (the score, when it was last seen in epoch milliseconds, or the fit or engagement part in hundredths of
 * a point) and id. Clients pass it back as it is.
 */
const cursorText = ({ sort, key, leadId }: SortedCursor) => `${sort}.${sort === 'recent' ? timeOf(key) : key}.${leadId}`;
const cursorParam = z
  .string()
  .regex(/^(?:score\.-?\d{1,10}|recent\.\d{1,13}|(?:fit|engagement)\.-?\d{1,15}|id\.)\.[lv]_[\w-]{1,100}$/, { message: 'expected the "next" of a page of this list, as it was given' })
  // A score is a 32-bit integer where the page is read (storedLeadPage): one beyond would wrap around there.
  .refine((text) => !text.startsWith('score.') || Math.abs(Number(text.split('.')[1])) <= 2 ** 31 - 1, {
    message: 'expected the "next" of a page of this list, as it was given',
    abort: true,
  })
  .transform((text): SortedCursor => {
    // A lead id has no dot: the text is three parts.
    const [sort, key, leadId] = text.split('.') as [ListSort, string, string];
    return { sort, key: sort === 'recent' ? toClickHouseTime(Number(key)) : key, leadId };
  });
