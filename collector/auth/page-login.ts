import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie } from '../hooks/auth.hook.ts';

/** What `/login?session=` says of a page that did not know the browser's session. */
export const UNKNOWN_SESSION = 'unknown';

/**
 * For pages: a browser without a session is sent to `/login?next=<its path>` and comes back there after logging
 * in. A hook (onRequest or preHandler). Every route under /dashboard gets it automatically (hooks/auth.hook.ts);
 * add it to pages served elsewhere.
 */
export async function requirePageLogin(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (request.user) return undefined;
  if (request.method === 'GET' || request.method === 'HEAD') {
    // A session cookie this collector does not know: the session ended, or it is another collector's (behind a load
    // balancer that does not keep a browser on one): the login page says which, rather than sending it straight back.
    const ended = sessionCookie(request) === undefined ? '' : `&session=${UNKNOWN_SESSION}`;
    return reply.header('cache-control', 'no-store').redirect(`/login?next=${encodeURIComponent(request.url)}${ended}`, 303);
  }
  return reply.code(401).send({ error: 'log in at /login first', code: 'unauthorized' });
}
