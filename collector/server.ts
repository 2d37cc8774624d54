import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { ConfigError } from './config/load.ts';
import type { HearthConfig } from './config/schema.ts';
import { createWalSink, type WalLogger, type WalSink } from './ingest/wal.ts';
import { createMetrics } from './metrics.ts';
import { createStoreClient, type StoreOptions } from './store/client.ts';
import { prepareStore, withStorageConfig } from './store/prepare.ts';

export interface ServerOptions {
  config: HearthConfig;
  store: StoreOptions;
  /** HEARTH_ADMIN_TOKEN; when absent a random one is made for this run. */
  adminToken?: string | undefined;
  logger?: boolean | { level: string };
}

export interface RunningServer {
  app: FastifyInstance;
  client: ClickHouseClient;
  /** The write-ahead log between /collect and ClickHouse. */
  sink: WalSink;
  url: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  close(): Promise<void>;
}

/** HEARTH_WAL_MAX_MB: how much accepted data may wait on disk for ClickHouse before /collect answers 503. */
function positiveNumberFromEnv(name: string, fallback: number, unit: string, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name];
  if (!text) return fallback;
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0)) throw new ConfigError(`${name} expects ${unit}, got "${text}"`);
  return value;
}

/** Migrates the store, sets its retention, opens the write-ahead log, builds the app and listens on the configured host and port. */
export async function startServer({ config, store: storeOptions, adminToken, logger = false }: ServerOptions): Promise<RunningServer> {
  const store = withStorageConfig(storeOptions, config.storage);
  const client = createStoreClient(store);
  const { retention } = await prepareStore(client, store, config.storage?.retentionDays);
  // The app, which owns the logger, is built around the sink: the sink's lines go to it once it exists.
  let appLog: WalLogger | undefined;
  const metrics = createMetrics();
  const sink = await createWalSink({
    dir: join(store.dataDir, 'wal'),
    client,
    maxBytes: positiveNumberFromEnv('HEARTH_WAL_MAX_MB', 1024, 'a size in megabytes') * 1024 * 1024,
    // When the log is moved into ClickHouse: at this many rows, or after this long. Larger means fewer, bigger inserts.
    flushRows: positiveNumberFromEnv('HEARTH_WAL_FLUSH_ROWS', 1000, 'a number of rows'),
    flushMs: positiveNumberFromEnv('HEARTH_WAL_FLUSH_MS', 1000, 'milliseconds'),
    log: {
      info: (details, message) => appLog?.info(details, message),
      warn: (details, message) => appLog?.warn(details, message),
      error: (details, message) => appLog?.error(details, message),
    },
    onFlush: metrics.flushed,
    onInsertError: metrics.clickHouseFailed,
  });
  const token = adminToken || randomBytes(18).toString('base64url');
  const app = await buildApp({ config, client, sink, adminToken: token, logger, metrics });
  appLog = app.log;
  if (retention.length > 0) app.log.info({ statements: retention }, 'changed how long the events table keeps events (storage.retentionDays)');
  const { recovered } = sink.status();
  if (recovered.tornBytes > 0) app.log.warn({ tornBytes: recovered.tornBytes }, 'ignored a half-written record at the end of the write-ahead log (a crash mid-write; it was never acknowledged)');
  if (recovered.rows > 0) app.log.info({ rows: recovered.rows, bytes: recovered.bytes }, 'replaying events the write-ahead log kept from the last run');
  const address = await app.listen({ host: config.server.host, port: config.server.port });
  let closing: Promise<void> | undefined;
  return {
    app,
    client,
    sink,
    url: address.replace('[::1]', 'localhost'),
    adminToken: token,
    adminTokenGenerated: !adminToken,
    close() {
      closing ??= (async () => {
        // Stop taking requests first, then drain what they wrote (bounded), then let go of ClickHouse.
        await app.close();
        await sink.close();
        await client.close();
      })();
      return closing;
    },
  };
}
