import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FRAMEWORKS } from '../../scoring/qualification.ts';
import { LEAD_SORTS, sortsByPart } from '../../scoring/snapshots.ts';
import { unlessIssuesAt } from '../../scoring/checks.ts';
import type { Temperature } from '../../scoring/compile.ts';
import { fitsCharacters } from '../../scoring/normalize.ts';
import { roleName, ruleName } from '../../scoring/labels.ts';
import type { HearthConfig, SiteConfig } from '../config/schema.ts';
import { MAX_STORED_URL } from '../ingest/wire.ts';
import { toProblems } from '../config/issues.ts';
import { csvChunks, toCsv } from './csv.ts';
import { fewAtOnce } from '../few-at-once.ts';
import { FUNNEL_STEPS } from './dashboard-figures.ts';
import * as queries from './dashboard-queries.ts';
import type { SitesResponse } from './dashboard-types.ts';
import { rulesOf } from './scores.ts';
import { anyCase, siteParam, wholeNumber } from './site-query.ts';

export interface DashboardApiOptions {
  config: HearthConfig;
  client: ClickHouseClient;
  /** Who logs in (the config's users, HEARTH_USERS, the first-start admin): the sales and admins may own leads. */
  users: { name: string; role: string; sites?: string[] | undefined }[];
}

/** The longest period one view covers: a daily series of a year stays a few hundred points. */
const MAX_DAYS = 366;
const DAY_MS = 86_400_000;
const today = () => new Date().toISOString().slice(0, 10);

/**
 * The days a period may cover, the period before it (which its figures are compared with) included. The store's
 * times (DateTime64) hold 1900 to 2299 and a query also reads the day after `to`: these years leave a margin.
 */
const FIRST_DAY = '1970-01-01';
const LAST_DAY = '2200-12-31';

function isCalendarDay(text: string): boolean {
  const time = Date.parse(`${text}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(time) && new Date(time).toISOString().startsWith(text);
}

/** What is wrong with a day given, if anything. */
function dayProblem(text: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return 'expected a day as YYYY-MM-DD';
  if (!isCalendarDay(text)) return 'not a calendar day';
  if (text < FIRST_DAY || text > LAST_DAY) return `expected a day from ${FIRST_DAY} to ${LAST_DAY}`;
  return undefined;
}

const isoDate = z.string().superRefine((text, ctx) => {
  const problem = dayProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: text });
});

/** `?from=&to=`: UTC days, both included; the last 30 days up to today by default. */
const periodFields = { from: isoDate.optional(), to: isoDate.optional() };

type Days = { from?: string | undefined; to?: string | undefined };

/**
 * The days asked for, the missing ones filled in: up to today, 30 days long. A period runs up to today at most: the days
 * to come hold nothing yet, and compared with as many past days every figure would read as a fall.
 */
function daysOf(query: Days): { from: string; to: string } {
  const to = query.to === undefined || query.to > today() ? today() : query.to;
  return { from: query.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 29 * DAY_MS).toISOString().slice(0, 10), to };
}

function checkPeriod(query: Days, ctx: z.RefinementCtx) {
  // A bad day has its own issue already.
  if ((query.from !== undefined && dayProblem(query.from)) || (query.to !== undefined && dayProblem(query.to))) return;
  const { from, to } = daysOf(query);
  if (from > today()) ctx.addIssue({ code: 'custom', path: ['from'], message: `the period starts after today (${today()}): nothing has happened in it yet`, input: query.from });
  else if (from > to) ctx.addIssue({ code: 'custom', path: ['from'], message: `the period starts after it ends (to is ${to})`, input: query.from });
  else if ((Date.parse(to) - Date.parse(from)) / DAY_MS + 1 > MAX_DAYS) ctx.addIssue({ code: 'custom', path: ['from'], message: `a view covers at most ${MAX_DAYS} days`, input: query.from });
  else {
    const previousFrom = queries.periodInfo(queries.periodOf(from, to)).previousFrom;
    if (previousFrom < FIRST_DAY) {
      const message = `the period before this one, which it is compared with, would start on ${previousFrom}: periods run from ${FIRST_DAY} to ${LAST_DAY}`;
      // A from left out was taken from to: the parameter the caller gave is the one to change.
      ctx.addIssue({ code: 'custom', path: [query.from === undefined ? 'to' : 'from'], message, input: query.from ?? query.to });
    }
  }
}

const resolvePeriod = (query: Days) => {
  const { from, to } = daysOf(query);
  return queries.periodOf(from, to);
};

const temperatures = z
  .string()
  .transform((text) => text.toLowerCase().split(',').filter(Boolean))
  .pipe(z.array(z.enum(['cold', 'warm', 'hot'], { message: 'expected cold, warm or hot (several separated by commas)' })).min(1, { message: 'expected cold, warm or hot (several separated by commas), not an empty value' }));

/**
 * An account as GET /api/dashboard/accounts names it (scoring/accounts.ts): a work email's domain, or `company:` and the
 * declared company's words (lower case, single spaces, in any script: company:яндекс).
 */
const accountId = z
  .string()
  .max(300)
  .toLowerCase()
  .regex(/^(?:company:\S+(?: \S+)*|(?!company:)[^\s@]+)$/u, { message: 'expected an account as the accounts list names it: an email domain (acme.example) or company:NAME (company:acme)' });

const contentRef = z
  .string()
  .max(2100)
  .regex(/^(page|download|webinar):.+$/, { message: 'expected page:PATH, download:ASSET or webinar:FORM' })
  .transform((text) => {
    const colon = text.indexOf(':');
    return { kind: text.slice(0, colon) as 'page' | 'download' | 'webinar', item: text.slice(colon + 1) };
  });

/**
 * The marketing and sales dashboards' data: KPIs, series and panels for a site over a period (`?site=&from=&to=`), and
 * lead lists with the filters every panel drills down with, as JSON or CSV. Authentication applies as for all of /api.
 */
export const dashboardApiRoutes: FastifyPluginAsync<DashboardApiOptions> = async (app, { config, client, users }) => {
  const sitesById = new Map(config.sites.map((site) => [site.id, site]));
  // The owner field stays free text (a CRM's owners need no login here), but suggests these: a typo in an owner
  // would send its email alerts to an address nobody reads.
  const owners = users.filter((user) => user.role === 'sales' || user.role === 'admin');
  // To a login limited to some sites, its sites alone, and the owners who work on one of them (or on every site).
  const ownersFor = (sites: string[] | undefined) =>
    owners
      .filter((user) => !sites || !user.sites || user.sites.some((site) => sites.includes(site)))
      .map((user) => user.name)
      .sort();
  const periodQuery = z.object({ site: siteParam(config), ...periodFields }).strict().superRefine(checkPeriod);

  /**
   * One computation for the same view asked for while it is computed: five people opening the marketing page at once
   * ran its seven panels' queries five times over, on two cores (2.9 s for each of them, against 0.7 s for one). A
   * view's figures are the same for everyone who may see them; the answer is shared, never changed after.
   */
  const computing = new Map<string, Promise<unknown>>();
  function shared<T>(request: FastifyRequest, query: { siteConfig: SiteConfig }, compute: () => Promise<T>): Promise<T> {
    const key = `${request.routeOptions.url} ${JSON.stringify({ ...query, siteConfig: undefined })}`;
    let answer = computing.get(key) as Promise<T> | undefined;
    if (!answer) {
      answer = compute().finally(() => computing.delete(key));
      computing.set(key, answer);
    }
    return answer;
  }

  /** Parses the query with `schema`, or answers 400 naming each bad parameter and returns undefined. */
  function parse<T extends z.ZodType<{ site: string }>>(schema: T, query: unknown, reply: FastifyReply): (z.infer<T> & { siteConfig: SiteConfig }) | undefined {
    const parsed = schema.safeParse(query, { reportInput: true });
    if (!parsed.success) {
      reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems: toProblems(parsed.error) });
      return undefined;
    }
    return { ...parsed.data, siteConfig: sitesById.get(parsed.data.site)! };
  }

  app.get('/api/dashboard/sites', async (request): Promise<SitesResponse> => ({
    sites: config.sites.filter((site) => !request.user?.sites || request.user.sites.includes(site.id)).map((site) => ({
      id: site.id,
      name: site.name ?? site.id,
      qualification: { framework: site.qualification.framework, required: site.qualification.required ?? [...FRAMEWORKS[site.qualification.framework]] },
      thresholds: rulesOf(site).thresholds,
      alertDestinations: (site.alerts?.destinations ?? []).map(({ id, type }) => ({ id, type })),
    })),
    frameworks: FRAMEWORKS,
    user: request.user,
    owners: ownersFor(request.user?.sites),
  }));

  app.get('/api/dashboard/summary', async (request, reply) => {
    const query = parse(periodQuery, request.query, reply);
    if (query) return shared(request, query, () => queries.summary(client, query.siteConfig, resolvePeriod(query)));
  });

  app.get('/api/dashboard/timeseries', async (request, reply) => {
    const query = parse(periodQuery, request.query, reply);
    if (query) return shared(request, query, () => queries.timeseries(client, query.siteConfig, resolvePeriod(query)));
  });

  app.get('/api/dashboard/funnel', async (request, reply) => {
    const query = parse(periodQuery, request.query, reply);
    if (query) return shared(request, query, () => queries.funnel(client, query.siteConfig, resolvePeriod(query)));
  });

  app.get('/api/dashboard/sources', async (request, reply) => {
    const query = parse(periodQuery, request.query, reply);
    if (!query) return;
    const period = resolvePeriod(query);
    return { site: query.site, period: queries.periodInfo(period), sources: await shared(request, query, () => queries.sources(client, query.siteConfig, period)) };
  });

  app.get('/api/dashboard/devices', async (request, reply) => {
    const query = parse(periodQuery, request.query, reply);
    if (!query) return;
    const period = resolvePeriod(query);
    return { site: query.site, period: queries.periodInfo(period), ...(await shared(request, query, () => queries.devices(client, query.siteConfig, period))) };
  });

  const contentQuery = z
    .object({ site: siteParam(config), ...periodFields, limit: wholeNumber({ min: 1, max: 100 }).default(10) })
    .strict()
    .superRefine(checkPeriod);
  app.get('/api/dashboard/content', async (request, reply) => {
    const query = parse(contentQuery, request.query, reply);
    if (!query) return;
    const period = resolvePeriod(query);
    return { site: query.site, period: queries.periodInfo(period), ...(await shared(request, query, () => queries.content(client, query.siteConfig, period, query.limit))) };
  });

  app.get('/api/dashboard/pricing', async (request, reply) => {
    const query = parse(periodQuery, request.query, reply);
    if (!query) return;
    const period = resolvePeriod(query);
    return { site: query.site, period: queries.periodInfo(period), ...(await shared(request, query, () => queries.pricing(client, query.siteConfig, period))) };
  });

  const distributionQuery = z
    .object({ site: siteParam(config), ...periodFields, bucket: wholeNumber({ min: 1, max: 100 }).default(10) })
    .strict()
    .superRefine(checkPeriod);
  app.get('/api/dashboard/score-distribution', async (request, reply) => {
    const query = parse(distributionQuery, request.query, reply);
    if (!query) return;
    const period = resolvePeriod(query);
    return { site: query.site, period: queries.periodInfo(period), ...(await shared(request, query, () => queries.scoreDistribution(client, query.siteConfig, period, query.bucket))) };
  });

  // Like GET /api/accounts, from only the identified leads' few columns scoring accounts needs: fast at any size.
  const accountsQuery = z
    .object({ site: siteParam(config), temperature: anyCase(['cold', 'warm', 'hot']).optional(), limit: wholeNumber({ min: 1, max: 1000 }).default(100), offset: wholeNumber({ min: 0 }).default(0) })
    .strict();
  const accountsOf = async (query: { siteConfig: SiteConfig; temperature?: Temperature | undefined }) =>
    (await queries.accounts(client, query.siteConfig)).filter((account) => !query.temperature || account.temperature === query.temperature);
  app.get('/api/dashboard/accounts', async (request, reply) => {
    const query = parse(accountsQuery, request.query, reply);
    if (!query) return;
    const all = await accountsOf(query);
    return { site: query.site, total: all.length, offset: query.offset, accounts: all.slice(query.offset, query.offset + query.limit) };
  });

  // Every account of the temperature (the page shows 100 at a time), as the page lists them.
  const accountsCsvQuery = accountsQuery.omit({ limit: true, offset: true });
  app.get('/api/accounts.csv', async (request, reply) => {
    const query = parse(accountsCsvQuery, request.query, reply);
    if (!query) return;
    const header = ['id', 'name', 'score', 'temperature', 'leads', 'roles', 'roles_counted', 'best_leads'];
    const records = (await accountsOf(query)).map((account) => [
      account.id, account.name, account.score, account.temperature, account.leads, account.personas.map(roleName).join('; '), account.countedPersonas.map(roleName).join('; '),
      account.topLeads.map((lead) => `${lead.email} ${lead.score}`).join('; '),
    ]);
    request.log.info({ audit: 'export', user: request.user!.name, site: query.site, csv: 'accounts', rows: records.length }, `${request.user!.name} exported ${records.length} accounts as CSV`);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="hearth-accounts-${query.site}-${today()}.csv"`)
      .header('cache-control', 'no-store')
      .send(toCsv(header, records));
  });

  // One set of filters for the inbox, every panel's drill-down and the CSV export, so an export is exactly the list.
  const listFields = {
    site: siteParam(config),
    from: isoDate.optional(),
    to: isoDate.optional(),
    temperature: temperatures.optional(),
    lifecycle: anyCase(['lead', 'mql', 'prospect', 'disqualified']).optional(),
    stage: anyCase(['TOFU', 'MOFU', 'BOFU']).optional(),
    funnel: anyCase(FUNNEL_STEPS).optional(),
    // As long as a source can be (a utm_source is kept up to a stored address's characters): the sources panel links each.
    source: z
      .string()
      .min(1)
      .refine((text) => fitsCharacters(text, MAX_STORED_URL), { message: `expected at most ${MAX_STORED_URL} characters` })
      .optional(),
    content: contentRef.optional(),
    // Leads who viewed a pricing page in the period (the pricing panel's leads).
    pricing: z.literal('1', { message: 'pricing takes 1: the leads who viewed a pricing page in the period' }).optional(),
    // Leads who first gave their email in the period (the key figures' new leads).
    new: z.literal('1', { message: 'new takes 1: the leads who first gave their email in the period' }).optional(),
    owner: z.string().max(200).optional(),
    // Any safe integer, passed on as 64 bits like offset (dashboard-queries.ts): none wraps around into another score or page.
    minScore: wholeNumber().optional(),
    maxScore: wholeNumber().optional(),
    q: z.string().min(1).max(200).optional(),
    account: accountId.optional(),
    sort: z.enum(LEAD_SORTS).default('score'),
  };
  /** The drill-downs that only mean something within a period. */
  const WITHIN_PERIOD = ['content', 'pricing', 'new'] as const;
  const checkList = (query: Days & Partial<Record<(typeof WITHIN_PERIOD)[number], unknown>>, ctx: z.RefinementCtx) => {
    if (query.from !== undefined || query.to !== undefined) checkPeriod(query, ctx);
    else {
      for (const key of WITHIN_PERIOD) {
        if (query[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} needs a period: give from, to or both (to is today when left out, from 29 days before to)` });
      }
    }
  };
  // A page's `next` or `previous`, as it was given: the score, when the lead was last seen (epoch ms), in a list sorted
  // by a part of the score that part and its points in hundredths (`fit9000`), and the lead's id.
  const cursor = z
    .string()
    .regex(/^-?\d{1,10}\.\d{1,13}(?:\.(?:fit|engagement)-?\d{1,15})?\.[lv]_[\w-]{1,100}$/, { message: 'expected the "next" or "previous" of a page of this list, as it was given' })
    .transform((text): queries.ListCursor => {
      const parts = text.split('.');
      const [score, lastSeenMs] = parts.map(Number) as [number, number];
      const part = parts.length === 4 ? /^(fit|engagement)(.+)$/.exec(parts[2]!)! : undefined;
      return { score, lastSeenMs, part: part && { of: part[1] as 'fit' | 'engagement', hundredths: Number(part[2]) }, leadId: parts.at(-1)! };
    });
  const listQuery = z
    .object({
      ...listFields,
      limit: wholeNumber({ min: 1, max: 1000 }).default(50),
      offset: wholeNumber({ min: 0 }).default(0),
      after: cursor.optional(),
      before: cursor.optional(),
    })
    .strict()
    .superRefine(checkList)
    .superRefine((query, ctx) => {
      if (query.after && query.before) ctx.addIssue({ code: 'custom', path: ['before'], message: 'give after or before, not both' });
      if ((query.after || query.before) && query.offset > 0) ctx.addIssue({ code: 'custom', path: ['offset'], message: 'give offset or a page edge (after, before), not both' });
      // A list sorted by a part of the score turns on that part too; the others on none.
      const part = sortsByPart(query.sort) ? query.sort : undefined;
      for (const edge of ['after', 'before'] as const) {
        const given = query[edge];
        if (given && given.part?.of !== part) {
          ctx.addIssue({ code: 'custom', path: [edge], message: `the "next" or "previous" of a list sorted otherwise than by ${query.sort}: give it with the sort of its list` });
        }
      }
    }, unlessIssuesAt(['after'], ['before'], ['sort'], ['offset']));
  // Lead exports being made at once, and waiting: the others get a 503 busy to retry.
  const exportsAtOnce = fewAtOnce(2, 4);
  const csvQuery = z
    .object({ ...listFields, limit: wholeNumber({ min: 1, max: 100_000 }).default(100_000) })
    .strict()
    .superRefine(checkList);

  const filtersOf = (query: z.infer<typeof csvQuery> & { offset?: number; after?: queries.ListCursor | undefined; before?: queries.ListCursor | undefined }): queries.LeadFilters => ({
    period: query.from !== undefined || query.to !== undefined ? resolvePeriod(query) : undefined,
    temperatures: query.temperature,
    lifecycle: query.lifecycle,
    stage: query.stage,
    funnel: query.funnel,
    source: query.source,
    content: query.content,
    viewedPricing: query.pricing === '1',
    newInPeriod: query.new === '1',
    owner: query.owner,
    minScore: query.minScore,
    maxScore: query.maxScore,
    // As the stored answers and emails are (NFC): "zoë" typed as z, o, e and a combining diaeresis finds Zoë.
    search: query.q?.normalize('NFC'),
    account: query.account,
    sort: query.sort,
    limit: query.limit,
    offset: query.offset ?? 0,
    after: query.after,
    before: query.before,
  });

  app.get('/api/dashboard/leads', async (request, reply) => {
    const query = parse(listQuery, request.query, reply);
    if (!query) return;
    return { site: query.site, ...(await queries.leadList(client, query.siteConfig, filtersOf(query))) };
  });

  // Every role may export (docs/access.md): whoever may read a list may take it to a spreadsheet.
  app.get('/api/leads.csv', async (request, reply) => {
    const query = parse(csvQuery, request.query, reply);
    if (!query) return;
    // Each holds its list in memory (a 100,000-lead one, hundreds of MB): five at once took the collector to 2.7 GB.
    if (exportsAtOnce.full) return reply.code(503).header('retry-after', '5').send({ error: 'too many exports at once; try again in a few seconds', code: 'busy' });
    const { leads, total } = await exportsAtOnce.run(() => queries.leadList(client, query.siteConfig, filtersOf(query)));
    // The score is fit + engagement + source_points + negative (rounded).
    const header = ['id', 'email', 'name', 'company', 'job_title', 'country', 'score', 'fit', 'engagement', 'source_points', 'negative', 'temperature', 'stage', 'lifecycle', 'owner', 'source', 'top_reasons', 'first_seen', 'last_seen'];
    const recordOf = (lead: (typeof leads)[number]) => [
      lead.id, lead.email, lead.name, lead.company, lead.jobTitle, lead.country, lead.score, lead.fit, lead.engagement, lead.sourcePoints, lead.negative, lead.temperature, lead.stage,
      lead.lifecycle, lead.owner, lead.source, lead.topReasons.map((reason) => `${ruleName(reason.rule)} ${reason.points < 0 ? '' : '+'}${reason.points}`).join('; '), lead.firstSeen, lead.lastSeen,
    ];
    request.log.info({ audit: 'export', user: request.user!.name, site: query.site, csv: 'leads', rows: leads.length }, `${request.user!.name} exported ${leads.length} leads as CSV`);
    // A list longer than the export's limit is cut at it: the file's name says so, where a reader sees it, and a header
    // gives the list's length to a script.
    const cut = leads.length < total ? `-first-${leads.length}-of-${total}` : '';
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="hearth-leads-${query.site}-${today()}${cut}.csv"`)
      .header('cache-control', 'no-store')
      .header('x-total-count', String(total))
      .send(Readable.from(csvChunks(header, leads, recordOf)));
  });
};
