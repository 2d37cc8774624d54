import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listLeads } from '../../collector/api/leads.ts';
import { buildApp } from '../../collector/app.ts';
import { parseConfig } from '../../collector/config/load.ts';
import { batchToRows, type EventRow } from '../../collector/ingest/rows.ts';
import { createWalSink, REJECTED_FILE, type WalSinkOptions } from '../../collector/ingest/wal.ts';
import { encodeRecord } from '../../collector/ingest/wal-records.ts';
import { createStoreClient } from '../../collector/store/client.ts';
import { migrate } from '../../collector/store/migrate.ts';
import { processDataDir } from '../support/data-dir.ts';
import { newVisitor, SITE_ORIGIN, wireEvent } from '../support/server.ts';

let client: ClickHouseClient;
beforeAll(async () => {
  client = createStoreClient({ dataDir: processDataDir() });
  await migrate(client);
});
afterAll(() => client.close());

const quiet = { info() {}, warn() {}, error() {} };
const newWalDir = () => {
  const dir = join(processDataDir(), 'wal-tests', randomUUID());
  mkdirSync(dir, { recursive: true });
  return dir;
};
const segmentFiles = (dir: string) => readdirSync(dir).filter((file) => file.endsWith('.wal')).sort();

/** The body of an insert the sink sends through `exec`, read, and a stream of it to pass on. */
async function readInsert(params: Parameters<ClickHouseClient['exec']>[0]) {
  const chunks: Buffer[] = [];
  for await (const chunk of (params as { values: Readable }).values) chunks.push(Buffer.from(chunk));
  const body = Buffer.concat(chunks);
  return { rows: (JSON.parse(body.toString('utf8')) as unknown[]).length, params: { ...params, values: Readable.from([body]) } };
}

/** A ClickHouse client whose inserts can be made to fail, and that remembers the size of each insert that landed. */
function flakyClient() {
  const state = { failing: false, insertedBatchSizes: [] as number[] };
  const fail = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8123'));
  const exec = (async (params) => {
    if (state.failing) return fail();
    const { rows, params: sent } = await readInsert(params);
    const result = await client.exec(sent);
    state.insertedBatchSizes.push(rows);
    return result;
  }) as ClickHouseClient['exec'];
  const insert = ((params) => (state.failing ? fail() : client.insert(params))) as ClickHouseClient['insert'];
  return Object.assign(state, { client: { exec, insert } });
}

const openWal = (options: Partial<WalSinkOptions> & Pick<WalSinkOptions, 'dir'>) =>
  createWalSink({ client, maxBytes: 64 * 1024 * 1024, log: quiet, retryCapMs: 100, closeTimeoutMs: 500, ...options });

const rowsOf = (visitor: string, events = 3): EventRow[] =>
  batchToRows({ s: 'acme', v: visitor, e: Array.from({ length: events }, () => wireEvent()) as any }, Date.now());

async function storedIdCounts(visitor: string, { final = true } = {}): Promise<Record<string, number>> {
  const result = await client.query({
    query: `SELECT event_id, count() AS copies FROM events ${final ? 'FINAL' : ''} WHERE visitor_id = {visitor:String} GROUP BY event_id`,
    query_params: { visitor },
    format: 'JSONEachRow',
  });
  return Object.fromEntries((await result.json<{ event_id: string; copies: string }>()).map((row) => [row.event_id, Number(row.copies)]));
}
const onceEach = (rows: EventRow[]) => Object.fromEntries(rows.map((row) => [row.event_id, 1]));

describe('write-ahead log sink', () => {
  it('stores every acknowledged write in ClickHouse exactly once, in large inserts', async () => {
    const clickHouse = flakyClient();
    const wal = await openWal({ dir: newWalDir(), client: clickHouse.client });
    const visitor = newVisitor();
    const batches = Array.from({ length: 100 }, () => rowsOf(visitor, 50));
    await Promise.all(batches.map((rows) => wal.write(rows)));
    await wal.drained();
    expect(await storedIdCounts(visitor, { final: false })).toEqual(onceEach(batches.flat()));
    expect(clickHouse.insertedBatchSizes.reduce((sum, size) => sum + size, 0)).toBe(5000);
    expect(Math.max(...clickHouse.insertedBatchSizes)).toBeGreaterThanOrEqual(1000);
    expect(wal.status()).toMatchObject({ pendingRows: 0, pendingBytes: 0, degraded: false, full: false });
    await wal.close();
  });

  it('commits writes that arrive together with one fsync', async () => {
    const wal = await openWal({ dir: newWalDir() });
    const visitor = newVisitor();
    const before = wal.status().fsyncs;
    const batches = Array.from({ length: 200 }, () => rowsOf(visitor, 1));
    await Promise.all(batches.map((rows) => wal.write(rows)));
    const fsyncs = wal.status().fsyncs - before;
    expect(fsyncs).toBeGreaterThanOrEqual(1);
    expect(fsyncs).toBeLessThanOrEqual(10);
    await wal.drained();
    expect(await storedIdCounts(visitor)).toEqual(onceEach(batches.flat()));
    await wal.close();
  });

  it('inserts a lone event within flushMs, unasked', async () => {
    const wal = await openWal({ dir: newWalDir(), flushMs: 200 });
    const visitor = newVisitor();
    const rows = rowsOf(visitor, 1);
    await wal.write(rows);
    await expect.poll(() => storedIdCounts(visitor), { timeout: 5000, interval: 50 }).toEqual(onceEach(rows));
    await wal.close();
  });

  it('replays a log written in the earlier layout (a JSON array of rows per record)', async () => {
    const dir = newWalDir();
    const visitor = newVisitor();
    const rows = rowsOf(visitor, 2).map((row, index) => ({ ...row, email: index === 0 ? 'Ada@Example.com' : '' }));
    const payload = Buffer.from(JSON.stringify(rows));
    const header = Buffer.alloc(12);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(rows.length, 4);
    header.writeUInt32LE(crc32(payload, crc32(header.subarray(0, 8))), 8);
    writeFileSync(join(dir, 'segment-000000000001.wal'), Buffer.concat([header, payload]));

    const wal = await openWal({ dir });
    expect(wal.status().recovered).toMatchObject({ rows: 2, tornBytes: 0 });
    await wal.drained();
    expect(await storedIdCounts(visitor)).toEqual(onceEach(rows));
    const identities = await client.query({ query: 'SELECT email FROM identities FINAL WHERE visitor_id = {visitor:String}', query_params: { visitor }, format: 'JSONEachRow' });
    expect(await identities.json()).toEqual([{ email: 'ada@example.com' }]);
    await wal.close();
  });

  it.each([
    ['cut short', (record: Buffer) => record.subarray(0, record.length - 7)],
    ['with a bad checksum', (record: Buffer) => Buffer.concat([record.subarray(0, 20), Buffer.alloc(record.length - 20)])],
  ])('ignores a record %s at the tail after a crash, and replays everything before it', async (_name, tear) => {
    const dir = newWalDir();
    const down = flakyClient();
    down.failing = true;
    const first = await openWal({ dir, client: down.client, closeTimeoutMs: 50 });
    const visitor = newVisitor();
    const acknowledged = [rowsOf(visitor), rowsOf(visitor)];
    for (const rows of acknowledged) await first.write(rows);
    await first.close();
    const lastSegment = join(dir, segmentFiles(dir).at(-1)!);
    const neverAcknowledged = rowsOf(visitor);
    appendFileSync(lastSegment, tear(encodeRecord(neverAcknowledged)));

    const second = await openWal({ dir });
    expect(second.status().recovered).toMatchObject({ rows: 6, tornBytes: expect.any(Number) });
    expect(second.status().recovered.tornBytes).toBeGreaterThan(0);
    await second.drained();
    expect(await storedIdCounts(visitor)).toEqual(onceEach(acknowledged.flat()));
    const later = rowsOf(visitor);
    await second.write(later);
    await second.drained();
    expect(await storedIdCounts(visitor)).toEqual(onceEach([...acknowledged, later].flat()));
    await second.close();
  });

  it('keeps acknowledging while ClickHouse fails, reports degraded, then stores everything exactly once', async () => {
    const clickHouse = flakyClient();
    clickHouse.failing = true;
    const wal = await openWal({ dir: newWalDir(), client: clickHouse.client, flushMs: 20, segmentBytes: 4096 });
    const visitor = newVisitor();
    const batches = Array.from({ length: 30 }, () => rowsOf(visitor));
    for (const rows of batches) await wal.write(rows);
    await expect.poll(() => wal.status().degraded).toBe(true);
    expect(wal.status()).toMatchObject({ pendingRows: 90, clickHouseReachable: false, lastError: 'connect ECONNREFUSED 127.0.0.1:8123', full: false });
    expect(wal.status().segments).toBeGreaterThan(3);

    clickHouse.failing = false;
    await wal.drained();
    expect(wal.status()).toMatchObject({ pendingRows: 0, degraded: false, clickHouseReachable: true, segments: 1 });
    expect(await storedIdCounts(visitor, { final: false })).toEqual(onceEach(batches.flat()));
    await wal.close();
  });

  it('reports degraded while an insert has waited more than 10 s for ClickHouse (a server that hangs), and ready once it is stored', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const exec = (async (params) => {
      const { params: sent } = await readInsert(params);
      await held;
      return client.exec(sent);
    }) as ClickHouseClient['exec'];
    const wal = await openWal({ dir: newWalDir(), client: { exec, insert: client.insert.bind(client) } as ClickHouseClient, flushMs: 20 });
    const visitor = newVisitor();
    const rows = rowsOf(visitor);
    await wal.write(rows);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(wal.status()).toMatchObject({ pendingRows: 3, degraded: false, slowInsertMs: null });
    const now = Date.now();
    const later = vi.spyOn(Date, 'now').mockReturnValue(now + 11_000);
    try {
      expect(wal.status()).toMatchObject({ pendingRows: 3, degraded: true, slowInsertMs: expect.any(Number) });
      expect(wal.status().slowInsertMs).toBeGreaterThan(10_000);
    } finally {
      later.mockRestore();
    }
    release();
    await wal.drained();
    expect(wal.status()).toMatchObject({ pendingRows: 0, degraded: false, slowInsertMs: null });
    expect(await storedIdCounts(visitor, { final: false })).toEqual(onceEach(rows));
    await wal.close();
  });

  it('is full from the start when the log it replays leaves no room, as it was when it stopped', async () => {
    const clickHouse = flakyClient();
    clickHouse.failing = true;
    const dir = newWalDir();
    const first = await openWal({ dir, client: clickHouse.client, maxBytes: 16 * 1024, flushMs: 20 });
    let refused = false;
    while (!refused) await first.write(rowsOf(newVisitor())).catch(() => (refused = true));
    expect(first.status().full).toBe(true);
    await first.close();

    const said: string[] = [];
    const log = { info: () => {}, warn: (_: object, message: string) => said.push(message), error: () => {} };
    const second = await openWal({ dir, client: clickHouse.client, maxBytes: 16 * 1024, flushMs: 20, log });
    expect(second.status().full).toBe(true);
    expect(said).toContain('the write-ahead log is full (HEARTH_WAL_MAX_MB) from the last run: events are refused (503) until ClickHouse takes them');
    clickHouse.failing = false;
    await second.drained();
    expect(second.status()).toMatchObject({ full: false, pendingBytes: 0 });
    await second.close();
  });

  it('drains at once when half full, whatever the flush interval: a small quota never fills while ClickHouse waits', async () => {
    const wal = await openWal({ dir: newWalDir(), maxBytes: 64 * 1024, flushMs: 60_000, flushRows: 1_000_000 });
    const visitor = newVisitor();
    while (wal.status().pendingBytes < 32 * 1024) await wal.write(rowsOf(visitor, 20));
    await expect.poll(() => wal.status().pendingRows, { timeout: 5_000 }).toBe(0);
    await wal.close();
  });

  it('stays full for small batches too once it refuses, until there is room for a large one: no 503 and 200 by turns', async () => {
    const clickHouse = flakyClient();
    clickHouse.failing = true;
    const said: string[] = [];
    const log = { info: (_: object, message: string) => said.push(message), warn: (_: object, message: string) => said.push(message), error: () => {} };
    const wal = await openWal({ dir: newWalDir(), client: clickHouse.client, maxBytes: 64 * 1024, flushMs: 20, log });
    const visitor = newVisitor();
    const large = () => rowsOf(visitor, 100);
    let refused = false;
    while (!refused) await wal.write(large()).catch(() => (refused = true));
    // A batch of one event would still fit in what is left: refused all the same, and the log still says full.
    const states: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      states.push(await wal.write(rowsOf(visitor, 1)).then(() => 'accepted', (err: { code?: string }) => err.code), wal.status().full);
      states.push(await wal.write(large()).then(() => 'accepted', (err: { code?: string }) => err.code), wal.status().full);
    }
    expect(states).toEqual(Array(6).fill(['log_full', true]).flat());
    expect(said.filter((message) => /full|room again/.test(message))).toEqual(['the write-ahead log is full (HEARTH_WAL_MAX_MB): events are refused (503) until ClickHouse takes them']);
    clickHouse.failing = false;
    await wal.drained();
    expect(wal.status().full).toBe(false);
    await wal.write(rowsOf(visitor));
    expect(said.filter((message) => /full|room again/.test(message))).toHaveLength(2);
    await wal.close();
  });

  it('refuses writes with 503 log_full at the quota, and accepts again once ClickHouse drains the log', async () => {
    const clickHouse = flakyClient();
    clickHouse.failing = true;
    const said: string[] = [];
    const log = { info: (_: object, message: string) => said.push(message), warn: (_: object, message: string) => said.push(message), error: () => {} };
    const wal = await openWal({ dir: newWalDir(), client: clickHouse.client, maxBytes: 16 * 1024, flushMs: 20, log });
    const visitor = newVisitor();
    const acknowledged: EventRow[][] = [];
    let refusal: unknown;
    while (!refusal) {
      const rows = rowsOf(visitor);
      await wal.write(rows).then(() => acknowledged.push(rows), (err) => (refusal = err));
    }
    // The refusals an operator learns of from the log: once when they start (a second refused batch says nothing).
    await wal.write(rowsOf(visitor)).catch(() => {});
    expect(said.filter((message) => message.includes('full'))).toEqual(['the write-ahead log is full (HEARTH_WAL_MAX_MB): events are refused (503) until ClickHouse takes them']);
    expect(refusal).toMatchObject({ statusCode: 503, code: 'log_full', message: expect.stringContaining('write-ahead log is full') });
    expect(wal.status().full).toBe(true);
    expect(wal.status().pendingBytes).toBeLessThanOrEqual(16 * 1024);

    clickHouse.failing = false;
    await wal.drained();
    expect(wal.status().full).toBe(false);
    const afterRecovery = rowsOf(visitor);
    await wal.write(afterRecovery);
    expect(said.at(-1)).toBe('the write-ahead log has room again; events are accepted');
    await wal.drained();
    expect(await storedIdCounts(visitor)).toEqual(onceEach([...acknowledged, afterRecovery].flat()));
    await wal.close();
  });

  it('counts a batch inserted twice (stored, then a crash before the checkpoint) once', async () => {
    // Keep both copies on disk so the test shows readers ignore the duplicate, not that a merge removed it.
    await client.command({ query: 'SYSTEM STOP MERGES events' });
    try {
      let crashes = 1;
      const insertThenLoseTheAnswer = (async (params) => {
        const result = await client.exec(params);
        if (crashes-- > 0) throw new Error('socket hang up');
        return result;
      }) as ClickHouseClient['exec'];
      const wal = await openWal({ dir: newWalDir(), client: { exec: insertThenLoseTheAnswer, insert: client.insert.bind(client) } });
      const visitor = newVisitor();
      const rows = rowsOf(visitor, 4);
      await wal.write(rows);
      await wal.drained();
      await wal.close();
      expect(await storedIdCounts(visitor, { final: false })).toEqual(Object.fromEntries(rows.map((row) => [row.event_id, 2])));
      expect(await storedIdCounts(visitor)).toEqual(onceEach(rows));
      const [lead] = await listLeads(client, { site: 'acme', limit: 10, visitor });
      expect(lead).toMatchObject({ events: 4 });
    } finally {
      await client.command({ query: 'SYSTEM START MERGES events' });
    }
  });

  it('drains on close, and what it could not drain is replayed on the next start', async () => {
    const visitor = newVisitor();
    const lazy = await openWal({ dir: newWalDir(), flushMs: 60_000 });
    const drainedOnClose = rowsOf(visitor);
    await lazy.write(drainedOnClose);
    await lazy.close();
    expect(await storedIdCounts(visitor)).toEqual(onceEach(drainedOnClose));

    const dir = newWalDir();
    const down = flakyClient();
    down.failing = true;
    const stuck = await openWal({ dir, client: down.client, closeTimeoutMs: 200 });
    const leftOnDisk = rowsOf(visitor);
    await stuck.write(leftOnDisk);
    const closeStarted = Date.now();
    await stuck.close();
    expect(Date.now() - closeStarted).toBeLessThan(2000);
    await expect(stuck.write(rowsOf(visitor))).rejects.toMatchObject({ statusCode: 503, code: 'shutting_down' });

    const next = await openWal({ dir });
    expect(next.status().recovered).toMatchObject({ rows: 3, tornBytes: 0 });
    await next.drained();
    expect(await storedIdCounts(visitor)).toEqual(onceEach([...drainedOnClose, ...leftOnDisk]));
    await next.close();
  });
});

describe('purging the write-ahead log (an erasure)', () => {
  it('stores and deletes every record written so far, the segment being written too, and goes on logging and replaying', async () => {
    const dir = newWalDir();
    const clickHouse = flakyClient();
    // Nothing drains on its own for a minute: the purge moves the records into ClickHouse itself.
    const wal = await openWal({ dir, client: clickHouse.client, flushMs: 60_000 });
    const visitor = newVisitor();
    const erased = rowsOf(visitor);
    await wal.write(erased);
    const onDisk = () => segmentFiles(dir).map((file) => readFileSync(join(dir, file), 'latin1')).join('');
    expect(onDisk()).toContain(erased[0]!.event_id);

    await wal.purge();
    expect(await storedIdCounts(visitor)).toEqual(onceEach(erased));
    expect(onDisk()).not.toContain(visitor);
    expect(wal.status()).toMatchObject({ pendingRows: 0, segments: 1 });

    // Written after the purge while ClickHouse is down: kept, and replayed by the next start, once.
    clickHouse.failing = true;
    const kept = rowsOf(visitor);
    await wal.write(kept);
    await wal.close();
    const next = await openWal({ dir });
    expect(next.status().recovered).toMatchObject({ rows: 3, tornBytes: 0 });
    await next.drained();
    expect(await storedIdCounts(visitor, { final: false })).toEqual(onceEach([...erased, ...kept]));
    await next.close();
  });
});

describe('what the write-ahead log keeps on disk', () => {
  it('deletes the segment being written once ClickHouse holds all it has, within the hour, on a site too quiet to fill it', async () => {
    const dir = newWalDir();
    const wal = await openWal({ dir, expireEveryMs: 200 });
    const visitor = newVisitor();
    const rows = rowsOf(visitor);
    await wal.write(rows);
    await wal.drained();
    const onDisk = () => segmentFiles(dir).map((file) => readFileSync(join(dir, file), 'latin1')).join('');
    // In ClickHouse, and no longer on the collector's disk: the form answers a segment holds, in clear, go with it.
    expect(await storedIdCounts(visitor)).toEqual(onceEach(rows));
    await expect.poll(onDisk, { timeout: 5000 }).not.toContain(visitor);
    // Logging goes on in a new segment, replayed as ever.
    await wal.write(rowsOf(visitor));
    expect(onDisk()).toContain(visitor);
    await wal.close();
  });
});

describe('/collect and /readyz over the write-ahead log', () => {
  it('answer 202 and degraded while ClickHouse fails, 503 log_full once the log is full, and recover', async () => {
    const clickHouse = flakyClient();
    const wal = await openWal({ dir: newWalDir(), client: clickHouse.client, maxBytes: 16 * 1024, flushMs: 20 });
    const config = parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: [{ id: 'acme', origins: [SITE_ORIGIN] }] }, 'test config');
    const app = await buildApp({ config, client, sink: wal, adminToken: 'test-admin-token' });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const visitor = newVisitor();
    const post = async () => {
      const response = await fetch(`${url}/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: SITE_ORIGIN },
        body: JSON.stringify({ s: 'acme', v: visitor, e: [wireEvent(), wireEvent()] }),
      });
      return { status: response.status, body: (await response.json()) as any, retryAfter: response.headers.get('retry-after') };
    };
    const readiness = async () => {
      const response = await fetch(`${url}/readyz`);
      return { status: response.status, body: (await response.json()) as any };
    };
    try {
      expect(await readiness()).toEqual({ status: 200, body: { status: 'ready' } });
      clickHouse.failing = true;
      expect((await post()).status).toBe(202);
      await expect.poll(async () => (await readiness()).body.status).toBe('degraded');
      expect(await readiness()).toMatchObject({
        status: 200,
        // What ClickHouse said is for the log and an admin (readiness.test.ts), not for anyone who asks.
        body: { error: 'inserts into ClickHouse fail; events are kept in the write-ahead log' },
      });

      let refused: Awaited<ReturnType<typeof post>> | undefined;
      for (let attempt = 0; attempt < 200 && !refused; attempt++) {
        const response = await post();
        if (response.status !== 202) refused = response;
      }
      expect(refused).toMatchObject({ status: 503, retryAfter: '5', body: { code: 'log_full', error: expect.stringContaining('write-ahead log is full') } });
      expect(await readiness()).toMatchObject({ status: 503, body: { status: 'unavailable', error: expect.stringContaining('write-ahead log is full') } });

      clickHouse.failing = false;
      await wal.drained();
      expect(await readiness()).toEqual({ status: 200, body: { status: 'ready' } });
      expect((await post()).status).toBe(202);
    } finally {
      await app.close();
      await wal.close();
    }
  });
});

describe('an event ClickHouse refuses', () => {
  it('is set aside in rejected.ndjson with the reason, and everything around it is stored', async () => {
    const dir = newWalDir();
    const wal = await openWal({ dir });
    const visitor = newVisitor();
    const good = rowsOf(visitor, 9);
    // Half an emoji (a lone surrogate) is JSON that ClickHouse cannot parse: a real refusal, not an outage.
    const poison = { ...rowsOf(visitor, 1)[0]!, title: 'Pricing \ud83d' };
    // It arrives in the middle of a batch: the batch's other rows are stored all the same.
    await wal.write(good.slice(0, 4));
    await wal.write([good[4]!, poison, good[5]!]);
    await wal.write(good.slice(6));
    await wal.drained();
    expect(await storedIdCounts(visitor)).toEqual(onceEach(good));
    const rejected = readFileSync(join(dir, REJECTED_FILE), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(rejected).toHaveLength(1);
    expect(rejected[0].row.event_id).toBe(poison.event_id);
    expect(rejected[0].error).toMatch(/surrogate/);
    expect(wal.status()).toMatchObject({ rejectedRows: 1, degraded: false, pendingRows: 0 });
    // What people typed is in the log's files: readable by the collector's user alone, whatever the umask.
    const modes = readdirSync(dir).filter((name) => /\.(wal|ndjson)$/.test(name)).map((name) => [name, (statSync(join(dir, name)).mode & 0o777).toString(8)]);
    expect(modes.length).toBeGreaterThan(1);
    expect(modes.filter(([, mode]) => mode !== '600')).toEqual([]);
    await wal.close();
  });

  it('is dropped from rejected.ndjson once storage.retentionDays has expired it, by its time as the events TTL goes: at start, then as it ages', async () => {
    const dir = newWalDir();
    const day = 24 * 60 * 60_000;
    // A page view of `daysAgo` days ago (a browser's retry queue, or a replayed log), with half an emoji ClickHouse refuses.
    const refusedFrom = (daysAgo: number) => {
      const at = Date.now() - daysAgo * day;
      return { ...batchToRows({ s: 'acme', v: newVisitor(), e: [wireEvent({ t: at })] as any }, at)[0]!, title: 'Pricing \ud83d' };
    };
    const lines = () => readFileSync(join(dir, REJECTED_FILE), 'utf8').trim().split('\n');
    const eventIds = () => lines().map((line) => (line.endsWith('}') ? JSON.parse(line).row.event_id : line));

    const [old, recent, fresh, late] = [refusedFrom(31), refusedFrom(29), refusedFrom(1), refusedFrom(45)];
    const cut = '{"at":"2026-01-0';

    // Kept forever without a retention, as the tables are, across restarts.
    const keeping = await openWal({ dir });
    await keeping.write([old, recent]);
    await keeping.drained();
    await keeping.close();
    // A line cut short by a crash mid-append says nothing of its age: it stays, and the next refused event is a line of its own.
    appendFileSync(join(dir, REJECTED_FILE), cut);
    const restarted = await openWal({ dir });
    await restarted.write([fresh]);
    await restarted.drained();
    await restarted.close();
    expect(eventIds()).toEqual([old.event_id, recent.event_id, cut, fresh.event_id]);

    // With 30 days, the 31-day-old event goes as the log opens; the 29-day-old one stays until it is 30 days old.
    const wal = await openWal({ dir, retentionDays: 30, expireEveryMs: 50 });
    expect(eventIds()).toEqual([recent.event_id, cut, fresh.event_id]);
    expect(lines()[0]).toContain('surrogate');
    // One refused while it runs, already past the retention (received after an outage), goes at the next round.
    await wal.write([late]);
    await wal.drained();
    expect(wal.status().rejectedRows).toBe(1);
    await expect.poll(eventIds).toEqual([recent.event_id, cut, fresh.event_id]);
    expect((statSync(join(dir, REJECTED_FILE)).mode & 0o777).toString(8)).toBe('600');
    await wal.close();
  });
});
