import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { lockDataDir, LOCK_FILE } from '../../../collector/store/data-dir-lock.ts';

// A disk with no block left: the lock's pid cannot be written, whether the file is new or left by a collector killed
// with -9 (its block given back by the truncation, and taken by something else meanwhile).
const disk = vi.hoisted(() => ({ full: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const noSpace = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
    if (disk.full) throw noSpace();
    return (fs.writeSync as (...a: unknown[]) => number)(...args);
  }) as typeof fs.writeSync;
  const writeFileSync = ((...args: Parameters<typeof fs.writeFileSync>) => {
    if (disk.full) throw noSpace();
    return fs.writeFileSync(...args);
  }) as typeof fs.writeFileSync;
  return { ...fs, default: { ...fs, writeSync, writeFileSync }, writeSync, writeFileSync };
});

describe('the lock of a data directory on a full disk', () => {
  it('says the disk is full and what to do, and leaves no empty pid file for the next start to trip on', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hearth-lock-'));
    disk.full = true;
    const message = `the disk of HEARTH_DATA_DIR ${dataDir} is full: no room left to write ${LOCK_FILE} (ENOSPC). Free a little space and start again`;
    expect(() => lockDataDir(dataDir)).toThrow(message);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);

    // Left by a collector killed with -9.
    disk.full = false;
    writeFileSync(join(dataDir, LOCK_FILE), '2147483646\n');
    disk.full = true;
    expect(() => lockDataDir(dataDir)).toThrow(message);

    disk.full = false;
    const release = lockDataDir(dataDir);
    expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  });
});
