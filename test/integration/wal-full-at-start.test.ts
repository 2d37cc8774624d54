import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../collector/config/load.ts';
import { batchToRows } from '../../collector/ingest/rows.ts';
import { createWalSink } from '../../collector/ingest/wal.ts';
import { startServer, type RunningServer } from '../../collector/server.ts';
import { processDataDir } from '../support/data-dir.ts';
import { newVisitor, SITE_ORIGIN, TEST_TOKEN, wireEvent } from '../support/server.ts';

let server: RunningServer | undefined;
afterAll(async () => {
  await server?.close();
  delete process.env.HEARTH_WAL_MAX_MB;
});

it('says in its log that the write-ahead log is full from the last run, when it starts so', async () => {
  // The last run filled its 1 MB log while ClickHouse refused every insert.
  const unreachable = { exec: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8123')), insert: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8123')) };
  const quiet = { info() {}, warn() {}, error() {} };
  const last = await createWalSink({ dir: join(processDataDir(), 'wal'), client: unreachable as unknown as ClickHouseClient, maxBytes: 1024 * 1024, log: quiet, retryCapMs: 100, closeTimeoutMs: 200 });
  const visitor = newVisitor();
  let refused = false;
  while (!refused) await last.write(batchToRows({ s: 'acme', v: visitor, e: Array.from({ length: 100 }, () => wireEvent()) as any }, Date.now())).catch(() => (refused = true));
  await last.close();

  process.env.HEARTH_WAL_MAX_MB = '1';
  const lines: string[] = [];
  const config = parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: [{ id: 'acme', origins: [SITE_ORIGIN] }] }, 'test config');
  const logger = { level: 'info', stream: { write: (line: string) => void lines.push(line) } } as unknown as { level: string };
  server = await startServer({ config, store: { dataDir: processDataDir() }, adminToken: TEST_TOKEN, logger });
  // Said before the app's logger existed: it was dropped, and only /readyz's 503 said why every batch was refused.
  const messages = lines.map((line) => JSON.parse(line).msg as string);
  expect(messages).toContain('the write-ahead log is full (HEARTH_WAL_MAX_MB) from the last run: events are refused (503) until ClickHouse takes them');
  expect(messages.indexOf('the write-ahead log is full (HEARTH_WAL_MAX_MB) from the last run: events are refused (503) until ClickHouse takes them')).toBeLessThan(messages.findIndex((message) => message.startsWith('replaying events')));
});
