import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * For pages: a browser without a session is sent to `/login?next=<its path>` and comes back there after logging
 * in. A hook (onRequest or preHandler). Every route under /dashboard gets it automatically (hooks/auth.hook.ts);
 * add it to pages served elsewhere.
 */
export async function requirePageLogin(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (request.user) return undefined;
  if (request.method === 'GET' || request.method === 'HEAD') {
    return reply.header('cache-control', 'no-store').redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
  }
  return reply.code(401).send({ error: 'log in at /login first', code: 'unauthorized' });
}
