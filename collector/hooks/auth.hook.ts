import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Access } from '../auth/access.ts';
import { requirePageLogin } from '../auth/page-login.ts';
import type { Session } from '../auth/sessions.ts';
import type { HearthUser } from '../auth/users.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Who is asking, from a Bearer token or the `hearth_session` cookie; null when neither is valid. Never null in a
     * route under /api or /dashboard: those requests are refused (or sent to /login) before they get there.
     */
    user: HearthUser | null;
  }
}

const SESSION_COOKIE = 'hearth_session';
/**
 * The session cookie's name: over https, `__Host-` makes browsers refuse it from a sibling subdomain or with a
 * Domain or narrower Path, so nobody can put a session of their own in front of the real one (the first of two
 * same-named cookies wins). The prefix needs Secure, so plain http (a laptop, a LAN) keeps the bare name.
 */
export const sessionCookieName = (request: FastifyRequest): string => (request.protocol === 'https' ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE);
const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const sessions = new WeakMap<FastifyRequest, Session>();

/** The session a request's cookie names, when that is how it authenticated. */
export const sessionOf = (request: FastifyRequest): Session | undefined => sessions.get(request);

/** The raw session cookie's value (sessionCookieName), if the request sent one. */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  // Most requests (every /collect) carry no session: skip parsing their cookies.
  if (!header?.includes(`${SESSION_COOKIE}=`)) return undefined;
  return request.server.parseCookie(header)[sessionCookieName(request)] || undefined;
}

/**
 * Who is asking, for every request: an `Authorization: Bearer` token (the admin token or a configured one), else
 * the session cookie. Then every route under /api needs a user (and the CSRF token for a change made with a
 * cookie), and every page under /dashboard a login. Deciding by the route's declared path, not the raw URL, covers
 * routes any plugin adds there later, and an encoded path (`/%61pi/leads`) cannot slip past.
 */
export function identifyUser(access: Access): onRequestHookHandler {
  // Callback style: every request passes here, each beacon included, and an async hook costs a promise per request
  // (see app.ts); only routes under /api and /dashboard go on to a check.
  return (request, reply, done) => {
    // "Bearer" 1*SP token (RFC 6750). Another scheme is not addressed to Hearth: a reverse proxy's own login (nginx's
    // auth_basic) makes the browser send `Authorization: Basic …` with every request and passes it on, and the
    // session cookie must still count then (and the CSRF check that goes with it).
    const [scheme, token] = (request.headers.authorization ?? '').trim().split(/ +/);
    if (scheme?.toLowerCase() === 'bearer') {
      // A request that shows a token stands or falls by it: a bad token is not rescued by a cookie.
      request.user = (token && access.byToken(token)) || null;
    } else {
      const id = sessionCookie(request);
      const found = id ? access.bySession(id) : undefined;
      request.user = found?.user ?? null;
      if (found) sessions.set(request, found.session);
    }
    const route = request.routeOptions.url ?? '';
    let check: typeof requireUser | undefined;
    if (route.startsWith('/api/')) {
      // Leads are personal data: no copy in a proxy's cache, nor in the browser's, which a shared computer keeps
      // after its user logs out. A route may still say otherwise.
      reply.header('cache-control', 'no-store');
      check = requireUser;
    } else if (route === '/dashboard' || route.startsWith('/dashboard/')) check = requirePageLogin;
    if (!check) return done();
    // A check that answered (401, 403, a redirect to the login) ends the request: done() is not called then.
    check(request, reply).then((answered) => {
      if (!answered) done();
    }, done);
  };
}

/** 401 without a valid token or session; 403 for a change made with a session cookie but without its CSRF token. */
export async function requireUser(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (!request.user) {
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="hearth"')
      .send({ error: 'log in at /login, or send an API token (Authorization: Bearer <token>)', code: 'unauthorized' });
  }
  const session = sessionOf(request);
  // A cross-site page can make the browser send the cookie (SameSite is the first wall) but cannot read the token.
  if (session && CHANGES.has(request.method) && !sameSecret(request.headers['x-csrf-token'], session.csrfToken)) {
    return reply.code(403).send({ error: 'a change made with a session needs the x-csrf-token header that GET /api/session returns', code: 'csrf' });
  }
  return undefined;
}

export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
