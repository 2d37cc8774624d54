// @vitest-environment node
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventRow } from '../../../collector/ingest/rows.ts';
import { createWalSink, type WalSinkOptions } from '../../../collector/ingest/wal.ts';
import { encodeRecord, type LoggedBatch } from '../../../collector/ingest/wal-records.ts';
import type { ErasureFilter } from '../../../collector/ingest/erasures.ts';

// File system calls of the log made to fail on demand.
const disk = vi.hoisted(() => ({ failFsyncs: 0, failUnlinks: 0, failReads: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fdatasync = (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
    if (disk.failFsyncs > 0) {
      disk.failFsyncs--;
      setImmediate(() => callback(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })));
    } else fs.fdatasync(fd, callback);
  };
  return { ...fs, default: { ...fs, fdatasync }, fdatasync };
});
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const unlink = async (path: string) => {
    if (disk.failUnlinks > 0) {
      disk.failUnlinks--;
      throw Object.assign(new Error(`EACCES: permission denied, unlink '${path}'`), { code: 'EACCES' });
    }
    return fs.unlink(path);
  };
  const open = (async (path: string, flags?: string, mode?: number) => {
    if (disk.failReads && path.endsWith('.wal') && flags === 'r') throw Object.assign(new Error(`EIO: i/o error, open '${path}'`), { code: 'EIO' });
    return fs.open(path, flags, mode);
  }) as typeof fs.open;
  return { ...fs, default: { ...fs, unlink, open }, unlink, open };
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-wal-'));
  Object.assign(disk, { failFsyncs: 0, failUnlinks: 0, failReads: false });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A ClickHouse client that stores nothing and counts the rows inserted, or is down while `failing`. */
function countingClient() {
  const state = { rows: 0, failing: false };
  const exec = async (params: { values: Readable }) => {
    if (state.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:8123');
    const chunks: Buffer[] = [];
    for await (const chunk of params.values) chunks.push(Buffer.from(chunk));
    state.rows += (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[]).length;
    return { stream: Readable.from([]) };
  };
  return Object.assign(state, { client: { exec, insert: async () => {} } as unknown as WalSinkOptions['client'] });
}

const quiet = { info() {}, warn() {}, error() {} };
const row = (title = '') => ({ site_id: 'acme', visitor_id: 'v-00000001', event_id: crypto.randomUUID(), ts: '2026-01-01 00:00:00.000', is_bot: 0, email: '', title }) as EventRow;
const segmentFiles = () => readdirSync(dir).filter((file) => file.endsWith('.wal'));
/** The log's segments as text: what someone who reads the data directory finds of the events. */
const segmentsText = () => segmentFiles().map((file) => readFileSync(join(dir, file), 'latin1')).join('\n');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** What settles first: the promise, or `ms`. */
const within = (promise: Promise<unknown>, ms: number) => Promise.race([promise.then(() => 'settled'), sleep(ms).then(() => 'still waiting')]);

describe('the write-ahead log sink', () => {
  it('says why it cannot drain while it lasts: a segment it cannot read, then inserts ClickHouse refuses', async () => {
    const clickHouse = countingClient();
    const wal = await createWalSink({ dir, client: clickHouse.client, maxBytes: 1 << 20, flushMs: 10, retryCapMs: 20, log: quiet });
    disk.failReads = true;
    await wal.write([row()]);
    await vi.waitFor(() => expect(wal.status()).toMatchObject({ degraded: true, drainError: expect.stringContaining('EIO') }));
    // The segment reads again, and ClickHouse fails: that is what is wrong now.
    clickHouse.failing = true;
    disk.failReads = false;
    await vi.waitFor(() => expect(wal.status()).toMatchObject({ degraded: true, drainError: null, lastError: expect.stringContaining('ECONNREFUSED') }));
    clickHouse.failing = false;
    await wal.drained();
    expect(wal.status()).toMatchObject({ degraded: false, drainError: null, pendingRows: 0 });
    expect(clickHouse.rows).toBe(1);

    // A checkpoint it cannot write (a directory in its place), then inserts ClickHouse refuses: the inserts' failure.
    const checkpoint = join(dir, 'checkpoint.json');
    rmSync(checkpoint);
    mkdirSync(checkpoint);
    await wal.write([row()]);
    await vi.waitFor(() => expect(wal.status()).toMatchObject({ degraded: true, drainError: expect.stringContaining(`checkpoint ${checkpoint}: EISDIR`) }));
    // The directory goes only once an insert has failed: one already on its way would store the rows, and the
    // checkpoint after it, with nothing left to fail.
    clickHouse.failing = true;
    await vi.waitFor(() => expect(wal.status()).toMatchObject({ degraded: true, drainError: null, lastError: expect.stringContaining('ECONNREFUSED') }));
    rmSync(checkpoint, { recursive: true });
    await sleep(50);
    expect(wal.status()).toMatchObject({ degraded: true, drainError: null, lastError: expect.stringContaining('ECONNREFUSED') });
    clickHouse.failing = false;
    await wal.drained();
    expect(wal.status()).toMatchObject({ degraded: false, drainError: null, pendingRows: 0 });
    expect(readdirSync(dir).filter((file) => file.endsWith('.tmp'))).toEqual([]);
    await wal.close();
  });

  it('logs ClickHouse refusing the collector as an error, and a server it cannot reach as a warning', async () => {
    const refusal = Object.assign(new Error('Code: 516. DB::Exception: hearth: Authentication failed (AUTHENTICATION_FAILED)'), { type: 'AUTHENTICATION_FAILED' });
    let fault: Error | undefined = refusal;
    const exec = async () => {
      if (fault) throw fault;
      return { stream: Readable.from([]) };
    };
    const said: string[] = [];
    const log = { info() {}, warn: (_: object, message: string) => void said.push(`warn: ${message}`), error: (_: object, message: string) => void said.push(`error: ${message}`) };
    const wal = await createWalSink({ dir, client: { exec, insert: async () => {} } as unknown as WalSinkOptions['client'], maxBytes: 1 << 20, flushMs: 10, retryCapMs: 20, log });
    await wal.write([row()]);
    await expect.poll(() => said.length).toBeGreaterThan(0);
    // The password rotated under a running collector: an operator must act, as at a start.
    expect(said[0]).toBe('error: ClickHouse refuses the collector (its user, password or database); events stay in the write-ahead log and the insert is retried');
    fault = new Error('connect ECONNREFUSED 127.0.0.1:8123');
    const before = said.length;
    await expect.poll(() => said.length).toBeGreaterThan(before + 1);
    expect(said.at(-1)).toBe('warn: insert into ClickHouse failed; events stay in the write-ahead log and the insert is retried');
    fault = undefined;
    await wal.drained();
    await wal.close();
  });

  it('counts drained rows out once the checkpoint has moved, even if a drained segment cannot be deleted', async () => {
    const clickHouse = countingClient();
    const warnings: string[] = [];
    const log = { ...quiet, warn: (_details: object, message: string) => void warnings.push(message) };
    const wal = await createWalSink({ dir, client: clickHouse.client, maxBytes: 1 << 20, flushMs: 10, segmentBytes: 400, retryCapMs: 20, log });
    clickHouse.failing = true;
    for (let i = 0; i < 10; i++) await wal.write([row()]);
    expect(segmentFiles().length).toBeGreaterThan(2);

    disk.failUnlinks = 1;
    clickHouse.failing = false;
    await wal.drained();
    expect(clickHouse.rows).toBe(10);
    expect(wal.status()).toMatchObject({ pendingRows: 0, pendingBytes: 0, degraded: false });
    // (Inserts tried while ClickHouse was failing warned too, as many as the machine's speed made.)
    const deletions = () => warnings.filter((warning) => !warning.startsWith('insert into ClickHouse failed'));
    expect(deletions()).toEqual([expect.stringContaining('cannot delete')]);
    // With nothing left to drain, the drainer sleeps instead of rewriting the checkpoint (written over in place).
    const written = () => statSync(join(dir, 'checkpoint.json')).mtimeMs;
    const before = written();
    await sleep(200);
    expect(written()).toBe(before);

    // The segment left behind goes at the next checkpoint.
    await wal.write([row()]);
    await wal.drained();
    expect(segmentFiles()).toHaveLength(1);
    expect(wal.status()).toMatchObject({ pendingRows: 0, pendingBytes: 0, segments: 1 });
    expect(deletions()).toHaveLength(1);
    await wal.close();
  });

  it('drains when an insert ends exactly at the end of a segment (the 8 MiB an insert carries at most)', async () => {
    // A segment left by an earlier run, of exactly 8 MiB of records.
    const records: Buffer[] = [];
    let bytes = 0;
    while (8 * 1024 * 1024 - bytes > 100_000) {
      records.push(encodeRecord([row('x'.repeat(60_000))]));
      bytes += records.at(-1)!.length;
    }
    // The last record fills the 8 MiB exactly: a record with a title of n characters takes n bytes more than with one.
    const lastFixedBytes = encodeRecord([row('y')]).length - 1;
    records.push(encodeRecord([row('y'.repeat(8 * 1024 * 1024 - bytes - lastFixedBytes))]));
    writeFileSync(join(dir, 'segment-000000000001.wal'), Buffer.concat(records));
    expect(Buffer.concat(records).length).toBe(8 * 1024 * 1024);

    const clickHouse = countingClient();
    const wal = await createWalSink({ dir, client: clickHouse.client, maxBytes: 1 << 30, flushMs: 10, closeTimeoutMs: 5000, log: quiet });
    expect(await within(wal.drained(), 3000)).toBe('settled');
    expect(clickHouse.rows).toBe(records.length);
    expect(segmentFiles()).toHaveLength(1);
    const closeStarted = Date.now();
    await wal.close();
    expect(Date.now() - closeStarted).toBeLessThan(1000);
  }, 20_000);

  it('says when the oldest event it has not stored yet came, across a restart, until ClickHouse takes it', async () => {
    const clickHouse = countingClient();
    clickHouse.failing = true;
    const options = { dir, client: clickHouse.client, maxBytes: 1 << 20, flushMs: 10, retryCapMs: 20, closeTimeoutMs: 100, log: quiet };
    const first = await createWalSink(options);
    expect(first.status().oldestPendingAt).toBeNull();
    const before = Date.now();
    await first.write([row()]);
    const accepted = first.status().oldestPendingAt!;
    expect(accepted).toBeGreaterThanOrEqual(before);
    expect(accepted).toBeLessThanOrEqual(Date.now());
    await sleep(1_100);
    await first.write([row(), row()]);
    expect(first.status().oldestPendingAt).toBe(accepted);
    await first.close();

    // Replayed after the restart, it is as old as when the first run took it, not as the restart.
    await sleep(1_100);
    const second = await createWalSink(options);
    expect(second.status()).toMatchObject({ pendingRows: 3 });
    expect(second.status().oldestPendingAt).toBeGreaterThanOrEqual(before);
    expect(second.status().oldestPendingAt).toBeLessThanOrEqual(accepted);
    clickHouse.failing = false;
    await second.drained();
    expect(second.status()).toMatchObject({ pendingRows: 0, oldestPendingAt: null });
    await second.close();
  });

  it('takes an event replayed from an older log, which says not when it came, as old as its segment', async () => {
    const payload = Buffer.from(JSON.stringify([row()]));
    const header = Buffer.alloc(12);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(1, 4);
    header.writeUInt32LE(crc32(payload, crc32(header.subarray(0, 8))), 8);
    const segment = join(dir, 'segment-000000000001.wal');
    writeFileSync(segment, Buffer.concat([header, payload]));
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(segment, anHourAgo, anHourAgo);
    const clickHouse = countingClient();
    clickHouse.failing = true;
    const wal = await createWalSink({ dir, client: clickHouse.client, maxBytes: 1 << 20, flushMs: 10, retryCapMs: 20, closeTimeoutMs: 100, log: quiet });
    expect(wal.status()).toMatchObject({ pendingRows: 1, oldestPendingAt: anHourAgo.getTime() });
    clickHouse.failing = false;
    await wal.drained();
    expect(clickHouse.rows).toBe(1);
    await wal.close();
  });

  it('keeps nothing ClickHouse has stored once it stops, and what it has not for the next start', async () => {
    const clickHouse = countingClient();
    const options = { dir, client: clickHouse.client, maxBytes: 1 << 20, flushMs: 10, retryCapMs: 20, closeTimeoutMs: 200, log: quiet };
    const first = await createWalSink(options);
    await first.write([row('Stored before the stop')]);
    await first.drained();
    expect(segmentsText()).toContain('Stored before the stop');
    await first.close();
    expect(segmentsText()).not.toContain('Stored before the stop');

    clickHouse.failing = true;
    const second = await createWalSink(options);
    await second.write([row('Not stored yet')]);
    await second.close();
    expect(segmentsText()).toContain('Not stored yet');
    clickHouse.failing = false;
    const third = await createWalSink(options);
    await third.drained();
    expect(clickHouse.rows).toBe(2);
    await third.close();
    expect(segmentFiles().map((file) => statSync(join(dir, file)).size)).toEqual(segmentFiles().map(() => 0));
  });

  it('deletes the records of a person erased before their events came, once drained, and keeps the others stored', async () => {
    const clickHouse = countingClient();
    // An erasure filter that knows one erased browser: its batches are dropped, as erasures.ts drops them.
    const erased = (batch: LoggedBatch) => batch.visitors.some((visitor) => visitor.visitor_id === 'v-erased01');
    const erasures: ErasureFilter = {
      apply: async (batches) => batches.map((batch) => (erased(batch) ? { events: Buffer.alloc(0), rows: 0, visitors: [], identities: [] } : batch)),
      stored: async () => 0,
      recorded() {},
    };
    const wal = await createWalSink({ dir, client: clickHouse.client, maxBytes: 1 << 20, flushMs: 10, closeTimeoutMs: 200, log: quiet, erasures });
    await wal.write([row('Before anyone was erased')]);
    await wal.drained();
    // Their phone's retry queue, after the erasure: accepted (the 202 says nothing of who was erased), never stored.
    await wal.write([{ ...row('Their late visit'), visitor_id: 'v-erased01' }]);
    await wal.write([row('Someone else')]);
    await wal.drained();
    expect(clickHouse.rows).toBe(2);
    await expect.poll(segmentsText, { timeout: 2000 }).not.toContain('Their late visit');
    // The log goes on.
    await wal.write([row('After')]);
    await wal.drained();
    expect(clickHouse.rows).toBe(3);
    await wal.close();
  });

  it('drains and closes at once after the first write to a new segment fails', async () => {
    const clickHouse = countingClient();
    const record = encodeRecord([row()]).length;
    const wal = await createWalSink({ dir, client: clickHouse.client, maxBytes: 1 << 20, flushMs: 10, segmentBytes: record, closeTimeoutMs: 5000, log: quiet });
    await wal.write([row()]);
    await wal.drained();
    disk.failFsyncs = 1;
    // Nothing was acknowledged: a 503 the sender retries, not a 500.
    await expect(wal.write([row()])).rejects.toMatchObject({ statusCode: 503, code: 'log_unwritable', message: 'the write-ahead log cannot be written (EIO); retry later' });
    expect(segmentFiles()).toHaveLength(2);
    expect(await within(wal.drained(), 1000)).toBe('settled');
    expect(clickHouse.rows).toBe(1);
    const closeStarted = Date.now();
    await wal.close();
    expect(Date.now() - closeStarted).toBeLessThan(1000);
  });

  it('says once that the disk fails while it refuses batch after batch, and once that it takes writes again', async () => {
    const said: string[] = [];
    const log = { info: (_: object, message: string) => said.push(message), warn: (_: object, message: string) => said.push(message), error: (_: object, message: string) => said.push(message) };
    const wal = await createWalSink({ dir, client: countingClient().client, maxBytes: 1 << 20, flushMs: 10, log });
    disk.failFsyncs = 20;
    for (let n = 0; n < 20; n++) await expect(wal.write([row()])).rejects.toMatchObject({ code: 'log_unwritable' });
    await wal.write([row()]);
    await wal.drained();
    await wal.close();
    // On a full disk, a line at every refused batch (hundreds a second) filled the disk the logs share, if it was that one.
    expect(said.filter((message) => /write-ahead log/.test(message))).toEqual([
      'cannot append to the write-ahead log; events are refused (503) until it can be written again',
      'the write-ahead log can be written again; events are accepted',
    ]);
  });
});
