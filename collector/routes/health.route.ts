import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsync } from 'fastify';
import { SLOW_INSERT_MS, type SinkStatus } from '../ingest/sink.ts';
import { eventsTableWithin, isEmbedded, pingWithin, refusesTheCollector } from '../store/client.ts';

export interface HealthOptions {
  client: ClickHouseClient;
  ingestStatus: () => SinkStatus;
  /** Why the store is not prepared yet (ClickHouse unreachable since the start); null once it is. */
  storeProblem?: (() => string | null) | undefined;
}

// A ClickHouse that does not answer at all (hung, or a network that drops packets) would hold the ping for the
// client's 30 s request timeout, far past a load balancer's health-check timeout (1–5 s), which would then take every
// collector out of rotation while they can still accept events into the log. Past this, it counts as unreachable:
// /readyz still answers 200 degraded, so a slow ping costs nothing but the word.
const PING_TIMEOUT_MS = 500;

/**
 * `GET /healthz`: the process answers. `GET /readyz`: it accepts events; `degraded` while ClickHouse is failing, or
 * the log cannot be drained for a fault of its own disk, and events wait in the write-ahead log, 503 once that log is
 * full or its disk cannot be written, and events are refused.
 *
 * Both are open to anyone (load balancers call them without a login), so they say what state ingest is in and why
 * in general terms only: what ClickHouse itself said (its version, hosts, users, paths) goes to the log, and to an
 * admin's request as `detail`.
 */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { client, ingestStatus, storeProblem = () => null }) => {
  // A load balancer polls every few seconds: log a detail when it changes, not at each poll.
  let lastLogged: string | null = null;
  // The embedded engine has no login, and a busy one kept the question below waiting behind the dashboards' queries.
  const asksForTables = !isEmbedded(client);

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    // A server answers a ping without a login: one that refuses the collector (its password rotated, its database
    // dropped), or whose database lost Hearth's tables, answered it while every API request failed, and a quiet site's
    // log had nothing to fail on. So it is also asked, as the collector, for the events table; only a refusal or a
    // missing table count, as the ping and the inserts tell the rest.
    const [ping, tables] = await Promise.all([pingWithin(client, PING_TIMEOUT_MS), asksForTables ? eventsTableWithin(client, PING_TIMEOUT_MS) : undefined]);
    const refusal = tables && !tables.answered && refusesTheCollector(tables.error) ? tables.error : undefined;
    const ingest = ingestStatus();
    // How long the oldest of those events has waited, in whole seconds (0 when none waits).
    const waited = ingest.oldestPendingAt ? Math.max(0, Math.floor((Date.now() - ingest.oldestPendingAt) / 1000)) : 0;
    const backlog = { pendingRows: ingest.pendingRows, pendingBytes: ingest.pendingBytes, oldestPendingSeconds: waited };
    const unprepared = storeProblem();
    const [clickHouseProblem, detail] = !ping.success
      ? ['ClickHouse is unreachable', ping.error.message]
      : refusal
      ? ['ClickHouse refuses the collector (its user, password or database)', refusal.message]
      : unprepared
        ? ['the store is not prepared yet', unprepared]
        : tables?.answered && !tables.exists
        ? ["the collector's database has no events table (dropped and made again?): `hearth migrate` makes Hearth's tables", 'EXISTS TABLE events: 0']
        : ingest.drainError
        ? ['the write-ahead log cannot be read or checkpointed on its disk', ingest.drainError]
        : ingest.slowInsertMs
        ? [`ClickHouse is slow to store events (an insert has waited ${Math.floor(ingest.slowInsertMs / 1000)} s)`, `an insert has waited more than ${SLOW_INSERT_MS / 1000} s for ClickHouse`]
        : ingest.degraded
        ? ['inserts into ClickHouse fail', ingest.lastError ?? '']
        : [null, null];
    if (detail !== lastLogged) {
      if (detail) request.log.warn({ detail, ...backlog }, `readiness: ${clickHouseProblem}`);
      lastLogged = detail;
    }
    // The backlog's counts are a site's traffic, which polling them while ClickHouse is down would give anyone (as
    // /metrics, behind a login, does): for an admin's request, with what ClickHouse said.
    const admin = request.user?.role === 'admin';
    const forAdmin = { ...(admin ? backlog : {}), ...(detail && admin ? { detail } : {}) };
    // Every event is refused (503 log_unwritable) whatever ClickHouse does; the log says which file failed and how.
    if (ingest.diskError) {
      const error = `the write-ahead log cannot be written (${ingest.diskError}), so events are refused until its disk can be written again`;
      return reply.code(503).send({ status: 'unavailable', error, ...forAdmin });
    }
    if (ingest.full) {
      // Every batch is refused until the log has room for a large one again (wal.ts).
      const error = `the write-ahead log is full, so events are refused until ClickHouse catches up${clickHouseProblem ? ` (${clickHouseProblem})` : ''}`;
      return reply.code(503).send({ status: 'unavailable', error, ...forAdmin });
    }
    if (clickHouseProblem) return { status: 'degraded', error: `${clickHouseProblem}; events are kept in the write-ahead log`, ...forAdmin };
    return { status: 'ready' };
  });
};
