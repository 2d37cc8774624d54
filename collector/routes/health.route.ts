import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsync } from 'fastify';
import type { SinkStatus } from '../ingest/sink.ts';

export interface HealthOptions {
  client: ClickHouseClient;
  ingestStatus: () => SinkStatus;
}

/**
 * `GET /healthz`: the process answers. `GET /readyz`: it accepts events; `degraded` while ClickHouse is failing
 * and events wait in the write-ahead log, 503 once that log is full and events are refused.
 */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { client, ingestStatus }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ping = await client.ping();
    const ingest = ingestStatus();
    const backlog = { pendingRows: ingest.pendingRows, pendingBytes: ingest.pendingBytes };
    const clickHouseProblem = !ping.success ? `ClickHouse is unreachable: ${ping.error.message}` : ingest.degraded ? `inserts into ClickHouse fail: ${ingest.lastError}` : null;
    if (ingest.full) {
      const error = `the write-ahead log is full, so events are refused until ClickHouse catches up${clickHouseProblem ? ` (${clickHouseProblem})` : ''}`;
      return reply.code(503).send({ status: 'unavailable', error, ...backlog });
    }
    if (clickHouseProblem) return { status: 'degraded', error: `${clickHouseProblem}; events are kept in the write-ahead log`, ...backlog };
    return { status: 'ready' };
  });
};
