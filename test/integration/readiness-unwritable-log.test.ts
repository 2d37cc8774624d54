import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { getJson, newVisitor, postBatch, startTestServer, wireEvent } from '../support/server.ts';

// The write-ahead log's disk made full on demand: its writes and fsyncs fail with ENOSPC, as a real full disk's do.
const disk = vi.hoisted(() => ({ full: false }));
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
});
