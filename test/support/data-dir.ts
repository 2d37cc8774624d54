import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Both live under the run's temporary root, which the global setup (temp-root.ts) removes when the run ends.

let dir: string | undefined;

/**
 * This test process's own data directory (chDB binds one per process). `migrated`: made, if it is not yet, as a copy
 * of the store the run's global setup migrated (temp-root.ts), for servers and stores whose tests are not about
 * migrating; otherwise empty.
 */
export function processDataDir({ migrated = false } = {}): string {
  if (dir) return dir;
  dir = mkdtempSync(join(tmpdir(), 'hearth-test-'));
  if (migrated) copyMigratedEngine(join(dir, 'clickhouse'));
  return dir;
}

/** A fresh directory for a child process (a spawned `hearth start`); `migrated` as processDataDir's. */
export function freshDataDir({ migrated = false } = {}): string {
  const fresh = mkdtempSync(join(tmpdir(), 'hearth-child-'));
  if (migrated) copyMigratedEngine(join(fresh, 'clickhouse'));
  return fresh;
}

/** A fresh directory for the ClickHouse HTTP test server's engine (its chDB path), holding a copy of the migrated store. */
export function migratedEngineDir(): string {
  const fresh = mkdtempSync(join(tmpdir(), 'hearth-engine-'));
  copyMigratedEngine(fresh);
  return fresh;
}

/** The migrated store's engine files into `to`: `<data dir>/clickhouse`, where `hearth` keeps them, or an engine's path. */
function copyMigratedEngine(to: string): void {
  const template = process.env.HEARTH_TESTS_MIGRATED_STORE;
  // The engine's links (data/ to store/) are relative: kept as they are, a copy's point into the copy.
  if (template) cpSync(join(template, 'clickhouse'), to, { recursive: true, verbatimSymlinks: true });
}
