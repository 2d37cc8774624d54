import { randomBytes } from 'node:crypto';
import { brotliCompressSync, constants, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { newVisitor, SITE_ORIGIN, startTestServer, storedEvents, TEST_TOKEN, wireEvent } from '../support/server.ts';

// Server-side senders (a backend calling identify, a proxy, a mobile app) compress their bodies: /collect takes
// gzip, deflate and br, under the same 64 KB cap once decompressed.
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { requestsPerMinutePerIp: 1_000_000, requestsPerMinutePerSite: 1_000_000 } });
});
afterAll(() => server.close());

async function send(body: Buffer | string, encoding: string | null, contentType = 'application/json') {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (encoding !== null) headers['content-encoding'] = encoding;
  const response = await fetch(`${server.url}/collect`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

/** The collector still answers, and still stores a plain batch, after whatever came before. */
async function expectServing() {
  const visitor = newVisitor();
  const response = await send(JSON.stringify({ s: 'acme', v: visitor, e: [wireEvent()] }), null, 'text/plain');
  expect(response.status, response.text).toBe(202);
  expect(await storedEvents(server, visitor)).toHaveLength(1);
}

const batchFor = (visitor: string) => ({
  s: 'acme',
  v: visitor,
  e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, ti: 'Pricing' }), wireEvent({ n: 'i', em: 'ada@acme.test' })],
});
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const brotli = (bytes: Buffer) => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_LGWIN]: 24 } });

describe('compressed bodies on POST /collect', () => {
  it.each([
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotli],
    ['GZip', gzipSync],
    ['identity', (bytes: Buffer) => bytes],
  ] as const)('stores a batch sent with Content-Encoding: %s', async (encoding, compress) => {
    const visitor = newVisitor();
    const batch = batchFor(visitor);
    const response = await send(compress(json(batch)), encoding);
    expect(response.status, response.text).toBe(202);
    expect(response.body).toEqual({ accepted: 2 });
    const rows = await storedEvents(server, visitor);
    expect(rows.map((row) => row.event_id).sort()).toEqual(batch.e.map((event) => event.i).sort());
    expect(rows.find((row) => row.type === 'pageview')).toMatchObject({ path: '/pricing', title: 'Pricing' });
  });

  it('takes a compressed text/plain body too', async () => {
    const visitor = newVisitor();
    expect((await send(gzipSync(json(batchFor(visitor))), 'gzip', 'text/plain')).status).toBe(202);
    expect(await storedEvents(server, visitor)).toHaveLength(2);
  });

  // 50 MB of gzip fits in 48 KB, 64 MB of brotli in under 100 bytes: both pass the cap on what comes over the wire.
  it.each([
    ['a gzip bomb', 'gzip', () => gzipSync(Buffer.alloc(50_000_000, ' '))],
    ['a brotli bomb', 'br', () => brotli(Buffer.alloc(64_000_000, ' '))],
    ['a deflate bomb', 'deflate', () => deflateSync(Buffer.alloc(50_000_000, ' '))],
    ['a valid batch over 64 KB once decompressed', 'gzip', () => gzipSync(json({ ...batchFor(newVisitor()), e: [wireEvent({ ti: 'x'.repeat(70_000) })] }))],
  ])('answers 413 to %s, and keeps serving', async (_name, encoding, body) => {
    const compressed = body();
    expect(compressed.length).toBeLessThan(64 * 1024);
    const response = await send(compressed, encoding);
    expect(response.status, response.text).toBe(413);
    expect(response.body).toEqual({ error: 'the body is larger than 64 KB once decompressed', code: 'body_too_large' });
    await expectServing();
  });

  it('answers 413 to a compressed body over 64 KB before decompressing it', async () => {
    const response = await send(gzipSync(randomBytes(70 * 1024)), 'gzip');
    expect(response.status, response.text).toBe(413);
    expect(response.body).toEqual({ error: 'the body is larger than 64 KB', code: 'body_too_large' });
    await expectServing();
  });

  it.each([
    ['plain JSON labelled gzip', 'gzip', () => json(batchFor(newVisitor()))],
    ['a truncated gzip body', 'gzip', () => gzipSync(randomBytes(2000)).subarray(0, 1000)],
    ['gzip labelled deflate', 'deflate', () => gzipSync(json(batchFor(newVisitor())))],
    ['raw deflate without its zlib header', 'deflate', () => deflateRawSync(json(batchFor(newVisitor())))],
    ['a truncated brotli body', 'br', () => brotli(randomBytes(2000)).subarray(0, 1000)],
    ['an empty gzip body', 'gzip', () => Buffer.alloc(0)],
  ])('answers 400 invalid_encoding to %s, and keeps serving', async (_name, encoding, body) => {
    const response = await send(body(), encoding);
    expect(response.status, response.text).toBe(400);
    const error = `the body is not valid ${encoding} data (Content-Encoding: ${encoding})`;
    expect(response.body).toEqual({ error, code: 'invalid_encoding', problems: [{ path: '(root)', message: error }] });
    await expectServing();
  });

  it('answers 400 invalid_json to a well-compressed body that is not JSON', async () => {
    const response = await send(gzipSync('{"s": "acme", "v":'), 'gzip');
    expect(response.status, response.text).toBe(400);
    expect(response.body.code).toBe('invalid_json');
  });

  it.each(['zstd', 'compress', 'gzip, br', 'constructor', 'toString'])('answers 415 unsupported_encoding to Content-Encoding: %s, and keeps serving', async (encoding) => {
    const response = await send(gzipSync(json(batchFor(newVisitor()))), encoding);
    expect(response.status, response.text).toBe(415);
    expect(response.body).toEqual({ error: `Content-Encoding "${encoding}" is not supported: send the body as is, or in one of gzip, deflate or br`, code: 'unsupported_encoding' });
    await expectServing();
  });

  it('counts refused compressed bodies by reason in /metrics', async () => {
    const scrape = async () => (await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text());
    const sample = (text: string, reason: string) => {
      const series = `hearth_collect_rejected_total{reason="${reason}"} `;
      const line = text.split('\n').find((candidate) => candidate.startsWith(series));
      if (!line) throw new Error(`no sample for ${reason}`);
      return Number(line.slice(series.length));
    };
    const before = await scrape();
    await send(Buffer.from('not gzip'), 'gzip');
    await send(Buffer.from('{}'), 'zstd');
    await send(gzipSync(Buffer.alloc(1_000_000, ' ')), 'gzip');
    const after = await scrape();
    const delta = (reason: string) => sample(after, reason) - sample(before, reason);
    expect(delta('invalid_encoding')).toBe(1);
    expect(delta('unsupported_encoding')).toBe(1);
    expect(delta('body_too_large')).toBe(1);
    expect(delta('other')).toBe(0);
  });
});
