import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from './users.ts';

/**
 * A hook that lets only these roles through: 403 naming the roles needed otherwise. For example
 * `app.post('/api/leads/:id/qualification', { onRequest: requireRole('admin', 'sales') }, …)`: on the request, before
 * its body is read, so that a user without the role hears so whatever the body holds. Authentication itself (401)
 * happens before, in the root's onRequest hook.
 */
export function requireRole(...roles: [Role, ...Role[]]) {
  const needed = roles.length === 1 ? `the ${roles[0]} role` : `one of the roles ${roles.join(', ')}`;
  return async function requireRoleHook(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const user = request.user;
    if (!user) return reply.code(401).header('www-authenticate', 'Bearer realm="hearth"').send({ error: 'log in at /login, or send an API token', code: 'unauthorized' });
    if (roles.includes(user.role)) return undefined;
    return reply.code(403).send({ error: `this needs ${needed}; ${user.name} is ${user.role}`, code: 'forbidden', requiredRoles: roles });
  };
}
