import cookie from '@fastify/cookie';
import type { FastifyInstance } from 'fastify';
import type { HearthConfig } from '../config/schema.ts';
import { identifyUser } from '../hooks/auth.hook.ts';
import { createAccess } from './access.ts';
import { loginRoutes } from './login.route.ts';
import { createSessionStore } from './sessions.ts';
import type { UserEntry } from './users.ts';

export interface AuthOptions {
  config: HearthConfig;
  adminToken: string;
  /** Who may log in; the config's users when absent. */
  users?: UserEntry[] | undefined;
  /** Where sessions survive restarts (`<data dir>/sessions.json`); memory only when absent. */
  sessionsFile?: string | undefined;
}

/**
 * Logins, sessions, tokens and roles. Installed on the root instance, before any route, rather than registered as
 * an encapsulated plugin: `request.user`, the cookie parser and the authentication hook must reach every route,
 * including those other plugins add under /api and /dashboard.
 */
export async function installAuth(app: FastifyInstance, { config, adminToken, users = config.users, sessionsFile }: AuthOptions): Promise<void> {
  const sessions = await createSessionStore({ file: sessionsFile, warn: (details, message) => app.log.warn(details, message) });
  app.addHook('onClose', () => sessions.close());
  const access = createAccess({ adminToken, users, tokens: config.tokens, sessions });
  // Cookies are parsed on demand: only the requests that carry a session pay for it.
  await app.register(cookie, { hook: false });
  app.decorateRequest('user', null);
  app.addHook('onRequest', identifyUser(access));
  await app.register(loginRoutes, { config, access });
}
