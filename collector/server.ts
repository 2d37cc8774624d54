import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { HearthConfig } from './config/schema.ts';
import { clickHouseSink } from './ingest/sink.ts';
import { createStoreClient, type StoreOptions } from './store/client.ts';
import { migrate } from './store/migrate.ts';

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
  url: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  close(): Promise<void>;
}

/** Migrates the store, builds the app and listens on the configured host and port. */
export async function startServer({ config, store, adminToken, logger = false }: ServerOptions): Promise<RunningServer> {
  const client = createStoreClient(store);
  await migrate(client);
  const sink = clickHouseSink(client);
  const token = adminToken || randomBytes(18).toString('base64url');
  const app = await buildApp({ config, client, sink, adminToken: token, logger });
  const address = await app.listen({ host: config.server.host, port: config.server.port });
  let closing: Promise<void> | undefined;
  return {
    app,
    client,
    url: address.replace('[::1]', 'localhost'),
    adminToken: token,
    adminTokenGenerated: !adminToken,
    close() {
      closing ??= (async () => {
        await app.close();
        await sink.close();
        await client.close();
      })();
      return closing;
    },
  };
}
