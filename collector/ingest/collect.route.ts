import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsync } from 'fastify';
import type { HearthConfig } from '../config/schema.ts';
import { toProblems } from '../config/issues.ts';
import { collectRateLimits } from '../hooks/rate-limit.hook.ts';
import { countRejections } from '../hooks/rejections.hook.ts';
import type { HearthMetrics } from '../metrics.ts';
import { originMatcher } from './origins.ts';
import { retimedEvents } from './retimed.ts';
import { batchToRows } from './rows.ts';
import type { EventSink } from './sink.ts';
import { describeUserAgent } from './user-agent.ts';
import { replaceLoneSurrogates } from './well-formed.ts';
import { wireBatchSchema } from './wire.ts';

export interface CollectOptions {
  config: HearthConfig;
  client: Pick<ClickHouseClient, 'query'>;
  sink: EventSink;
  metrics: HearthMetrics;
}

/** `POST /collect`: within the rate limits, validate a batch, check its site and origin, store it with what its
 * User-Agent says, answer 202. */
export const collectRoutes: FastifyPluginAsync<CollectOptions> = async (app, { config, client, sink, metrics }) => {
  const originAllowedFor = new Map(config.sites.map((site) => [site.id, originMatcher(site.origins)]));
  const retimed = retimedEvents(client, () => sink.status().clickHouseReachable);
  const limits = await collectRateLimits(app, config);
  app.addHook('onSend', countRejections(metrics));

  // sendBeacon posts text/plain (no CORS preflight); the body is JSON either way, and both go through Fastify's
  // JSON parser, which refuses `__proto__` and `constructor.prototype` keys.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (request, body, done) => {
    parseJson(request, body as string, (err, parsed) => {
      if (err) done(Object.assign(new Error('the body is not valid JSON, or holds a "__proto__" or "constructor.prototype" key'), { statusCode: 400, code: 'invalid_json' }));
      else done(null, parsed);
    });
  });

  app.post('/collect', { onRequest: limits.perIp, preHandler: limits.perSite }, async (request, reply) => {
    const parsed = wireBatchSchema.safeParse(request.body, { reportInput: true });
    if (!parsed.success) {
      return reply.code(400).send({ error: 'the batch is invalid', code: 'invalid_batch', problems: toProblems(parsed.error) });
    }
    const batch = replaceLoneSurrogates(parsed.data);
    const originAllowed = originAllowedFor.get(batch.s);
    if (!originAllowed) return reply.code(403).send({ error: `unknown site "${batch.s}"`, code: 'unknown_site' });
    const origin = request.headers.origin;
    // Server-side senders (no Origin header) are allowed; browsers always send Origin on a POST.
    if (origin !== undefined && !originAllowed(origin)) {
      return reply.code(403).send({ error: `origin ${origin} is not allowed for site "${batch.s}"`, code: 'origin_not_allowed' });
    }
    const receivedAt = Date.now();
    const rows = batchToRows(batch, receivedAt, { userAgent: describeUserAgent(request.headers['user-agent']), retimed: await retimed.lookUp(batch, receivedAt) });
    await sink.write(rows);
    retimed.remember(batch, receivedAt, rows);
    metrics.accepted(batch.e.length);
    return reply.code(202).send({ accepted: batch.e.length });
  });
};
