import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_TIMEOUT_MS } from '../../collector/app.ts';
import { parseConfig } from '../../collector/config/load.ts';
import { startServer, type RunningServer } from '../../collector/server.ts';
import { processDataDir } from '../support/data-dir.ts';
import { SITE_ORIGIN, startTestServer, TEST_TOKEN } from '../support/server.ts';

// A client that sends part of a request, then nothing: one such client holding thousands of sockets ran the process
// out of file descriptors, every route silent (security QA). The time a request has is shortened here to a second.
let server: RunningServer;
beforeAll(async () => {
  const config = parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: [{ id: 'acme', origins: [SITE_ORIGIN] }] }, 'test config');
  server = await startServer({ config, store: { dataDir: processDataDir() }, adminToken: TEST_TOKEN, requestTimeoutMs: 1000 });
});
afterAll(() => server?.close());

/** Sends `head` on a raw connection and nothing more; resolves with what came back once the server closes it. */
function stalled(head: string): Promise<{ answer: string; ms: number }> {
  const { port } = new URL(server.url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(head));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ answer, ms: Date.now() - started }));
  });
}

describe('a client that never finishes its request', () => {
  it('gets a 408 and its connection closed once its time is up, a beacon and a login alike, and the others are served meanwhile', async () => {
    const beacon = stalled(`POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${SITE_ORIGIN}\r\nContent-Type: text/plain\r\nContent-Length: 60000\r\n\r\n{"s":"acme"`);
    const login = stalled('POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    for (const { answer, ms } of await Promise.all([beacon, login])) {
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      // A second to send it, checked every half second.
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(4000);
    }
  });
});

describe('the time a request has', () => {
  it('is 30 s by default', async () => {
    await server.close();
    server = await startTestServer();
    expect(REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(server.app.server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    // Node enforces neither when the headers may take longer than the whole request.
    expect(server.app.server.headersTimeout).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS);
  });
});
