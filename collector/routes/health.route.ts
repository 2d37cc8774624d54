import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsync } from 'fastify';

/** `GET /healthz`: the process answers. `GET /readyz`: it can also reach ClickHouse. */
export const healthRoutes: FastifyPluginAsync<{ client: ClickHouseClient }> = async (app, { client }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ping = await client.ping();
    if (ping.success) return { status: 'ready' };
    return reply.code(503).send({ status: 'unavailable', error: `ClickHouse is unreachable: ${ping.error.message}` });
  });
};
