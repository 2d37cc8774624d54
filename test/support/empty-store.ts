import { afterAll } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { processDataDir } from './data-dir.ts';

/**
 * The embedded store of this test process, empty, for a file of migration tests (each migrates it up to the
 * migration it tests), closed once the file's tests have run; `rows` reads a query's rows as objects.
 */
export function emptyStore() {
  const client = createStoreClient({ dataDir: processDataDir() });
  afterAll(() => client.close());
  const rows = async (query: string) => (await client.query({ query, format: 'JSONEachRow' })).json<Record<string, unknown>>();
  return { client, rows };
}
