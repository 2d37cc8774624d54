import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { getJson, newVisitor, postBatch, startTestServer, storedEvents, wireEvent } from '../support/server.ts';

// The write-ahead log's disk made full on demand: its writes and fsyncs fail with ENOSPC, as a real full disk's do.
const disk = vi.hoisted(() => ({ full: false, checkpointFails: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const noSpace = (call: string) => Object.assign(new Error(`ENOSPC: no space left on device, ${call}`), { code: 'ENOSPC', syscall: call });
  const writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
    if (disk.full) throw noSpace('write');
    return (fs.writeSync as (...a: unknown[]) => number)(...args);
  }) as typeof fs.writeSync;
  const fdatasync = (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
    if (disk.full) setImmediate(() => callback(noSpace('fdatasync')));
    else fs.fdatasync(fd, callback);
  };
  return { ...fs, default: { ...fs, writeSync, fdatasync }, writeSync, fdatasync };
});
// The checkpoint's writes made to fail with an I/O error (a failing sector), the segments' left alone.
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open = (async (...args: Parameters<typeof fs.open>) => {
    const handle = await fs.open(...args);
    if (!String(args[0]).endsWith('checkpoint.json')) return handle;
    const write = handle.write.bind(handle) as (...a: unknown[]) => Promise<unknown>;
    return Object.assign(handle, {
      write: (...a: unknown[]) => (disk.checkpointFails ? Promise.reject(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' })) : write(...a)),
    });
  }) as typeof fs.open;
  return { ...fs, default: { ...fs, open }, open };
});

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  disk.full = false;
  await server?.close();
});

/** What /readyz answers anyone (no token). */
const readiness = () => getJson(server, '/readyz', null);
const batch = () => ({ s: 'acme', v: newVisitor(), e: [wireEvent()] });

describe('GET /readyz while the write-ahead log cannot be written', () => {
  it('answers 503 while /collect refuses every event, and ready again once the disk can be written, with no event needed to find out', async () => {
    expect(await readiness()).toMatchObject({ status: 200, body: { status: 'ready' } });

    disk.full = true;
    const refused = await postBatch(server, batch());
    expect(refused).toMatchObject({ status: 503, body: { code: 'log_unwritable' } });
    // A load balancer stops sending events to this collector…
    expect(await readiness()).toMatchObject({ status: 503, body: { status: 'unavailable', error: expect.stringContaining('write-ahead log cannot be written (ENOSPC)') } });
    // …and keeps it out for as long as the disk stays full.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await readiness()).status).toBe(503);

    // The disk is freed. No event arrives (the load balancer sends none to an unready collector): /readyz finds out alone.
    disk.full = false;
    await expect.poll(async () => (await readiness()).body.status, { timeout: 5_000, interval: 200 }).toBe('ready');
    expect((await postBatch(server, batch())).status).toBe(202);
  });

  it('says degraded, and to an admin why, while the log cannot write its checkpoint; ready again once it can, each event stored once', async () => {
    disk.checkpointFails = true;
    const sent = batch();
    expect((await postBatch(server, sent)).status).toBe(202);
    await expect
      .poll(async () => (await readiness()).body, { timeout: 5_000, interval: 100 })
      .toEqual({ status: 'degraded', error: 'the write-ahead log cannot be read or checkpointed on its disk; events are kept in the write-ahead log' });
    expect((await getJson(server, '/readyz')).body).toMatchObject({ status: 'degraded', detail: expect.stringContaining('EIO'), pendingRows: expect.any(Number), pendingBytes: expect.any(Number), oldestPendingSeconds: expect.any(Number) });
    // Events are still taken meanwhile.
    const later = batch();
    expect((await postBatch(server, later)).status).toBe(202);

    disk.checkpointFails = false;
    await expect.poll(async () => (await readiness()).body.status, { timeout: 10_000, interval: 200 }).toBe('ready');
    expect(await storedEvents(server, sent.v)).toHaveLength(1);
    expect(await storedEvents(server, later.v)).toHaveLength(1);
  });
});

