import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Both live under the run's temporary root, which the global setup (temp-root.ts) removes when the run ends.

let dir: string | undefined;

/** This test process's own data directory (chDB binds one per process). */
export function processDataDir(): string {
  dir ??= mkdtempSync(join(tmpdir(), 'hearth-test-'));
  return dir;
}

/** A fresh directory for a child process (a spawned `hearth start`). */
export const freshDataDir = (): string => mkdtempSync(join(tmpdir(), 'hearth-child-'));
