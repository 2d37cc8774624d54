import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import type { HearthConfig } from '../config/schema.ts';

export interface CollectRateLimits {
  /** Counted before the body is read, so a flood from one address costs no parsing. */
  perIp: onRequestHookHandler;
  /** Counted once the body names a configured site from one of its origins (or from a server, without Origin): a
   * batch refused for its site or origin is no traffic of that site's, and another site's page must not use up its
   * limit. */
  perSite: preHandlerHookHandler;
  /** Counts a batch that gives an email; false once the address gave more than its limit this minute. */
  identifying(request: FastifyRequest): Promise<boolean>;
}

const MINUTE_MS = 60_000;

function tooMany(reply: FastifyReply, retryAfterSeconds: number, limit: 'per_ip' | 'per_site', error: string) {
  return reply.code(429).header('retry-after', String(retryAfterSeconds)).send({ error, code: 'rate_limited', limit });
}

/** The two limits of POST /collect (config `limits`), as hooks; @fastify/rate-limit keeps the counters. */
export async function collectRateLimits(app: FastifyInstance, config: HearthConfig, sentFromSite: (site: string, origin: string | undefined) => boolean): Promise<CollectRateLimits> {
  // Counters live in memory, one window per minute, in a bounded LRU; several collectors each count their own.
  await app.register(rateLimit, { global: false });
  const { requestsPerMinutePerIp, requestsPerMinutePerSite, identifyingBatchesPerMinutePerIp } = config.limits;
  // The library's default key is the client address (request.ip, which honours server.trustProxy), IPv6 by /64.
  const countAddress = app.createRateLimit({ max: requestsPerMinutePerIp, timeWindow: MINUTE_MS });
  const countSite = app.createRateLimit({
    max: requestsPerMinutePerSite,
    timeWindow: MINUTE_MS,
    keyGenerator: (request) => siteNamedBy(request.body) ?? '',
  });
  const countIdentifying = app.createRateLimit({ max: identifyingBatchesPerMinutePerIp, timeWindow: MINUTE_MS });

  // Callback style (see app.ts): the counters' own promise is the one a beacon pays for. A hook that answered the
  // 429 ends the request without done().
  return {
    perIp(request, reply, done) {
      countAddress(request).then((count) => {
        if (count.isAllowed || !count.isExceeded) return done();
        tooMany(reply, count.ttlInSeconds, 'per_ip', `more than ${count.max} requests a minute from this address; retry in ${count.ttlInSeconds} s`);
      }, done);
    },
    perSite(request, reply, done) {
      const site = siteNamedBy(request.body);
      if (site === undefined || !sentFromSite(site, request.headers.origin)) return done();
      countSite(request).then((count) => {
        if (count.isAllowed || !count.isExceeded) return done();
        tooMany(reply, count.ttlInSeconds, 'per_site', `site "${site}" sent more than ${count.max} requests this minute; retry in ${count.ttlInSeconds} s`);
      }, done);
    },
    async identifying(request) {
      const count = await countIdentifying(request);
      return count.isAllowed || !count.isExceeded;
    },
  };
}

function siteNamedBy(body: unknown): string | undefined {
  const site = typeof body === 'object' && body !== null ? (body as { s?: unknown }).s : undefined;
  return typeof site === 'string' ? site : undefined;
}
