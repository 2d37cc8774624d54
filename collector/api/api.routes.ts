import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { HearthConfig } from '../config/schema.ts';
import { toProblems } from '../config/issues.ts';
import { requireBearerToken } from '../hooks/auth.hook.ts';
import { listLeads } from './leads.ts';

export interface ApiOptions {
  config: HearthConfig;
  client: ClickHouseClient;
  adminToken: string;
}

/** `/api/*`: read access for people and machines holding the admin token. */
export const apiRoutes: FastifyPluginAsync<ApiOptions> = async (app, { config, client, adminToken }) => {
  app.addHook('onRequest', requireBearerToken(adminToken));
  const siteIds = config.sites.map((site) => site.id);

  const leadsQuery = z.object({
    site: z
      .string()
      .optional()
      .transform((site, ctx) => {
        const chosen = site ?? (siteIds.length === 1 ? siteIds[0] : undefined);
        if (chosen && siteIds.includes(chosen)) return chosen;
        ctx.addIssue({ code: 'custom', message: site ? `unknown site; configured sites: ${siteIds.join(', ')}` : `choose a site: ${siteIds.join(', ')}` });
        return z.NEVER;
      }),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    visitor: z.string().max(64).optional(),
  });

  app.get('/api/leads', async (request, reply) => {
    const parsed = leadsQuery.safeParse(request.query, { reportInput: true });
    if (!parsed.success) return reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems: toProblems(parsed.error) });
    return { site: parsed.data.site, leads: await listLeads(client, parsed.data) };
  });
};
