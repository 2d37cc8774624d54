import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../collector/config/load.ts';
import { startServer, type RunningServer } from '../../collector/server.ts';
import { processDataDir } from '../support/data-dir.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, TEST_TOKEN, wireEvent } from '../support/server.ts';
import { startHttpReceiver, waitFor, type HttpReceiver } from '../support/alerts.ts';

// A collector stopped (SIGTERM) while a receiver takes its time to answer an alert: the send in flight is let finish
// and recorded, where it was cut off at the shutdown's end and sent again at the next start (twice in a Slack channel).
// On the embedded store alone: the HTTP pass's test server starts a ClickHouse of its own with each collector.
const SECRET = 'whsec_' + Buffer.from('a-test-signing-key-of-32-bytes!!').toString('base64');
const ANSWER_AFTER_MS = 6000;
const start = () =>
  startServer({
    config: parseConfig(
      {
        server: { host: '127.0.0.1', port: 0 },
        sites: [{ id: 'acme', origins: [SITE_ORIGIN], alerts: { destinations: [{ type: 'webhook', id: 'crm', url: `${receiver.url}/hooks/hearth`, secret: SECRET }] } }],
      },
      'test config',
    ),
    store: { dataDir: processDataDir() },
    adminToken: TEST_TOKEN,
  });
let receiver: HttpReceiver;
let server: RunningServer | undefined;
beforeAll(async () => {
  receiver = await startHttpReceiver();
  receiver.respond = async () => {
    await new Promise((resolve) => setTimeout(resolve, ANSWER_AFTER_MS));
    return { status: 204 };
  };
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

describe('a shutdown while an alert is being sent', () => {
  it('waits for the receiver\'s answer and records it: the next start does not send the alert again', async () => {
    server = await start();
    const visitor = newVisitor();
    await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', p: { 'email  email': `ada.${visitor}@lovelace.test` } })] });
    await drained(server);
    await waitFor(() => receiver.requests.length >= 1, 15_000, 'the alert reaching the receiver');
    const stopping = Date.now();
    await server.close();
    expect(Date.now() - stopping).toBeGreaterThan(ANSWER_AFTER_MS - 1500);

    server = await start();
    const { body } = await getJson(server, '/api/alerts?site=acme');
    const alert = body.alerts.find((listed: { lead: { email: string } }) => listed.lead.email === `ada.${visitor}@lovelace.test`);
    expect(alert).toMatchObject({ status: 'delivered' });
    // Time for the new start's dispatcher to look at its outbox, and find nothing due.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(receiver.requests).toHaveLength(1);
  }, 60_000);
});
