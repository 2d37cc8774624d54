import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../collector/app.ts';
import { parseConfig } from '../../collector/config/load.ts';
import { createStoreClient } from '../../collector/store/client.ts';
import { migrate } from '../../collector/store/migrate.ts';
import { processDataDir } from '../support/data-dir.ts';
import { SITE_ORIGIN, TEST_TOKEN } from '../support/server.ts';

let client: ClickHouseClient;
let app: FastifyInstance;
let url: string;
const logLines: string[] = [];

beforeAll(async () => {
  client = createStoreClient({ dataDir: processDataDir() });
  await migrate(client);
  const sink = { write: async () => {}, close: async () => {}, drained: async () => {}, status: () => ({ pendingRows: 0, pendingBytes: 0, clickHouseReachable: true, lastError: null, degraded: false, full: false }) };
  const config = parseConfig({ sites: [{ id: 'acme', origins: [SITE_ORIGIN] }] }, 'test config');
  // The most an operator can ask to be logged.
  const logger = { level: 'trace', stream: { write: (line: string) => void logLines.push(line) } };
  app = await buildApp({ config, client, sink, adminToken: TEST_TOKEN, logger });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await client?.close();
});

it('logs a request the HTTP parser refuses by its error alone, even at trace level: not the bytes, with their cookie and token', async () => {
  // A browser whose cookies outgrew 16 KB sends its session cookie with them.
  const answer = await fetch(`${url}/api/leads?site=acme&q=ada%40lovelace.test`, {
    headers: { authorization: 'Bearer SECRET-TOKEN-IN-THE-REQUEST', cookie: `__Host-hearth_session=SECRET-SESSION-ID; padding=${'x'.repeat(17_000)}` },
  });
  expect(answer.status).toBe(431);
  await expect.poll(() => logLines.some((line) => line.includes('unreadable request'))).toBe(true);
  const line = logLines.find((one) => one.includes('unreadable request'))!;
  expect(JSON.parse(line)).toMatchObject({ code: 'HPE_HEADER_OVERFLOW' });
  // Pino wrote the error's rawPacket, the request as it came, as a list of its bytes: a 51 KB line.
  expect(line).not.toContain('rawPacket');
  expect(line.length).toBeLessThan(500);
  for (const secret of ['SECRET-TOKEN', 'SECRET-SESSION', 'lovelace']) expect(logLines.join('\n')).not.toContain(secret);
});
