import type { FastifyPluginAsync } from 'fastify';
import type { HearthConfig } from '../config/schema.ts';
import { toProblems } from '../config/issues.ts';
import { originMatcher } from './origins.ts';
import { batchToRows } from './rows.ts';
import type { EventSink } from './sink.ts';
import { wireBatchSchema } from './wire.ts';

export interface CollectOptions {
  config: HearthConfig;
  sink: EventSink;
}

/** `POST /collect`: validate a batch, check its site and origin, store it, answer 202. */
export const collectRoutes: FastifyPluginAsync<CollectOptions> = async (app, { config, sink }) => {
  const originAllowedFor = new Map(config.sites.map((site) => [site.id, originMatcher(site.origins)]));

  // sendBeacon posts text/plain (no CORS preflight); the body is still JSON.
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400, code: 'invalid_json' }));
    }
  });

  app.post('/collect', async (request, reply) => {
    const parsed = wireBatchSchema.safeParse(request.body, { reportInput: true });
    if (!parsed.success) {
      return reply.code(400).send({ error: 'the batch is invalid', code: 'invalid_batch', problems: toProblems(parsed.error) });
    }
    const batch = parsed.data;
    const originAllowed = originAllowedFor.get(batch.s);
    if (!originAllowed) return reply.code(403).send({ error: `unknown site "${batch.s}"`, code: 'unknown_site' });
    const origin = request.headers.origin;
    // Server-side senders (no Origin header) are allowed; browsers always send Origin on a POST.
    if (origin !== undefined && !originAllowed(origin)) {
      return reply.code(403).send({ error: `origin ${origin} is not allowed for site "${batch.s}"`, code: 'origin_not_allowed' });
    }
    await sink.write(batchToRows(batch, Date.now()));
    return reply.code(202).send({ accepted: batch.e.length });
  });
};
