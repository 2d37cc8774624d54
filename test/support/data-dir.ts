import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | undefined;

/** This test process's own data directory (chDB binds one per process), removed when the process exits. */
export function processDataDir(): string {
  if (!dir) {
    const created = mkdtempSync(join(tmpdir(), 'hearth-test-'));
    process.once('exit', () => rmSync(created, { recursive: true, force: true }));
    dir = created;
  }
  return dir;
}

/** A fresh directory for a child process (a spawned `hearth start`), removed when this process exits. */
export function freshDataDir(): string {
  const created = mkdtempSync(join(tmpdir(), 'hearth-child-'));
  process.once('exit', () => rmSync(created, { recursive: true, force: true }));
  return created;
}
