import type { FastifyPluginAsync } from 'fastify';
import type { HearthConfig } from '../config/schema.ts';
import { requireUser } from '../hooks/auth.hook.ts';
import type { HearthMetrics } from '../metrics.ts';

export interface MetricsOptions {
  config: HearthConfig;
  metrics: HearthMetrics;
}

/**
 * `GET /metrics` in Prometheus text format. It needs an API token (or a login) unless `metrics.public` is set:
 * counts of leads' traffic and the process's internals are not for the open internet, and the bind address alone
 * does not tell (behind a proxy, 127.0.0.1 is everyone).
 */
export const metricsRoute: FastifyPluginAsync<MetricsOptions> = async (app, { config, metrics }) => {
  if (!config.metrics.public) app.addHook('onRequest', requireUser);
  app.get('/metrics', async (request, reply) => {
    // They count every site's traffic, by site id: not for a login limited to some sites.
    if (!config.metrics.public && request.user?.sites) return reply.code(403).send({ error: `the metrics cover every site, and ${request.user.name} has some only`, code: 'site_forbidden' });
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
