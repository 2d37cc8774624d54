import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { HearthConfig } from '../config/schema.ts';
import { toProblems } from '../config/issues.ts';
import { requireBearerToken } from '../hooks/auth.hook.ts';
import { leadRoutes } from './lead.routes.ts';
import { listLeads } from './leads.ts';
import { judgeQualification } from '../../scoring/qualification.ts';
import { currentQualifications } from './lead-store.ts';
import { scoreAccounts } from '../../scoring/accounts.ts';
import { lifecycleOf, presentScore, rulesOf, scoreSite } from './scores.ts';
import { siteParam } from './site-query.ts';

export interface ApiOptions {
  config: HearthConfig;
  client: ClickHouseClient;
  adminToken: string;
  /** Resolves once every accepted event is stored in ClickHouse. */
  drained: () => Promise<void>;
}

/** `/api/*`: read access for people and machines holding the admin token. */
export const apiRoutes: FastifyPluginAsync<ApiOptions> = async (app, { config, client, adminToken, drained }) => {
  app.addHook('onRequest', requireBearerToken(adminToken));
  await app.register(leadRoutes, { config, client, drained });

  const leadsQuery = z.object({
    site: siteParam(config),
    temperature: z.enum(['cold', 'warm', 'hot']).optional(),
    stage: z.enum(['TOFU', 'MOFU', 'BOFU']).optional(),
    kind: z.enum(['lead', 'visitor']).optional(),
    lifecycle: z.enum(['visitor', 'lead', 'mql', 'prospect', 'disqualified']).optional(),
    owner: z.string().max(200).optional(),
    sort: z.enum(['score', 'recent']).default('score'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).default(0),
    visitor: z.string().max(64).optional(),
    /** Automated browsers are left out of scores and lists unless asked for (`bots=include`) or the rules count them. */
    bots: z.enum(['exclude', 'include']).default('exclude'),
  });

  const accountsQuery = z.object({
    site: siteParam(config),
    temperature: z.enum(['cold', 'warm', 'hot']).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  });

  app.get('/api/accounts', async (request, reply) => {
    const parsed = accountsQuery.safeParse(request.query, { reportInput: true });
    if (!parsed.success) return reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems: toProblems(parsed.error) });
    const site = config.sites.find((candidate) => candidate.id === parsed.data.site)!;
    const accounts = scoreAccounts(await scoreSite(client, site), rulesOf(site).thresholds).filter(
      (account) => !parsed.data.temperature || account.temperature === parsed.data.temperature,
    );
    return { site: site.id, total: accounts.length, accounts: accounts.slice(0, parsed.data.limit) };
  });

  // Scores come from raw events and the site's rules at every call, so a rule change rescores history.
  app.get('/api/leads', async (request, reply) => {
    const parsed = leadsQuery.safeParse(request.query, { reportInput: true });
    if (!parsed.success) return reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems: toProblems(parsed.error) });
    const query = parsed.data;
    const site = config.sites.find((candidate) => candidate.id === query.site)!;
    const [allScores, qualifications] = await Promise.all([
      scoreSite(client, site, query.visitor ? [query.visitor] : undefined, { countBots: query.bots === 'include' }),
      currentQualifications(client, site.id),
    ]);
    const verdicts = new Map([...qualifications].map(([leadId, state]) => [leadId, judgeQualification(state, site.qualification)]));
    const verdictOf = (leadId: string) => verdicts.get(leadId);
    const scores = allScores.filter(
      (score) =>
        (!query.temperature || score.temperature === query.temperature) &&
        (!query.stage || score.stage === query.stage) &&
        (!query.kind || score.kind === query.kind) &&
        (!query.lifecycle || lifecycleOf(score, verdictOf(score.lead_id)) === query.lifecycle) &&
        (query.owner === undefined || (verdictOf(score.lead_id)?.owner ?? '') === query.owner) &&
        (!query.visitor || score.visitor_ids.includes(query.visitor)),
    );
    if (query.sort === 'recent') scores.sort((a, b) => b.last_seen.localeCompare(a.last_seen) || a.lead_id.localeCompare(b.lead_id));
    const page = scores.slice(query.offset, query.offset + query.limit);
    const activity = new Map((await listLeads(client, { site: site.id, limit: page.length || 1, ids: page.map((score) => score.lead_id) })).map((lead) => [lead.id, lead]));
    const leads = page.flatMap((score) => {
      const lead = activity.get(score.lead_id);
      return lead ? [{ ...lead, ...presentScore(score, verdictOf(score.lead_id)) }] : [];
    });
    return { site: site.id, total: scores.length, leads };
  });
};
