import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import type { HearthConfig } from '../config/schema.ts';

export interface CollectRateLimits {
  /** Counted before the body is read, so a flood from one address costs no parsing. */
  perIp: onRequestHookHandler;
  /** Counted once the body names a configured site; unknown sites get no counter (they are refused anyway). */
  perSite: preHandlerHookHandler;
}

const MINUTE_MS = 60_000;

function tooMany(reply: FastifyReply, retryAfterSeconds: number, limit: 'per_ip' | 'per_site', error: string) {
  return reply.code(429).header('retry-after', String(retryAfterSeconds)).send({ error, code: 'rate_limited', limit });
}

/** The two limits of POST /collect (config `limits`), as hooks; @fastify/rate-limit keeps the counters. */
export async function collectRateLimits(app: FastifyInstance, config: HearthConfig): Promise<CollectRateLimits> {
  // Counters live in memory, one window per minute, in a bounded LRU; several collectors each count their own.
  await app.register(rateLimit, { global: false });
  const { requestsPerMinutePerIp, requestsPerMinutePerSite } = config.limits;
  const siteIds = new Set(config.sites.map((site) => site.id));
  // The library's default key is the client address (request.ip, which honours server.trustProxy), IPv6 by /64.
  const countAddress = app.createRateLimit({ max: requestsPerMinutePerIp, timeWindow: MINUTE_MS });
  const countSite = app.createRateLimit({
    max: requestsPerMinutePerSite,
    timeWindow: MINUTE_MS,
    keyGenerator: (request) => siteNamedBy(request.body) ?? '',
  });

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
      if (site === undefined || !siteIds.has(site)) return done();
      countSite(request).then((count) => {
        if (count.isAllowed || !count.isExceeded) return done();
        tooMany(reply, count.ttlInSeconds, 'per_site', `site "${site}" sent more than ${count.max} requests this minute; retry in ${count.ttlInSeconds} s`);
      }, done);
    },
  };
}

function siteNamedBy(body: unknown): string | undefined {
  const site = typeof body === 'object' && body !== null ? (body as { s?: unknown }).s : undefined;
  return typeof site === 'string' ? site : undefined;
}
