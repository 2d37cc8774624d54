import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { HearthProcess } from './hearth-process.ts';

/** A config file with one site, for collectors and `hearth migrate` runs against a test ClickHouse server. */
export function oneSiteConfigFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'hearth-config-')), 'hearth.config.json');
  writeFileSync(file, JSON.stringify({ sites: [{ id: 'acme', origins: ['https://www.acme.test'] }] }));
  return file;
}

/** What the tests of a stopped migration read of the store, through the client `clientOf` gives at the time. */
export function storeTables(clientOf: () => ClickHouseClient | undefined) {
  const rows = async <T>(query: string) => (await clientOf()!.query({ query, format: 'JSONEachRow' })).json<T>();
  const tables = async () => (await rows<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name')).map((row) => row.name);
  /** The versions the ledger records (none before it exists). */
  const recorded = async () =>
    (await tables()).includes('hearth_migrations') ? (await rows<{ version: number }>('SELECT version FROM hearth_migrations ORDER BY version')).map((row) => Number(row.version)) : [];
  return { rows, tables, recorded };
}

/** What a collector's /readyz says: ready, degraded… */
export async function readiness(hearth: HearthProcess): Promise<string> {
  const response = await fetch(`${hearth.url}/readyz`, { signal: AbortSignal.timeout(5_000) });
  return ((await response.json()) as { status: string }).status;
}
