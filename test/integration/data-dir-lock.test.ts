import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../collector/store/data-dir-lock.ts';
import { spawnClickHouseHttp } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { startHearthProcess } from '../support/hearth-process.ts';

// Over HTTP to ClickHouse, a collector's data directory holds its write-ahead log, which a second collector on the
// same directory would drain and delete under the first: the events the first acknowledged were lost.
const configFile = join(mkdtempSync(join(tmpdir(), 'hearth-config-')), 'hearth.config.json');
writeFileSync(configFile, JSON.stringify({ sites: [{ id: 'acme', origins: ['https://www.acme.test'] }] }));

describe('a collector’s data directory over HTTP to ClickHouse', () => {
  it('is refused to a second collector while the first runs, and taken over from one that is gone', { timeout: 120_000 }, async () => {
    const clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir() });
    const dataDir = freshDataDir();
    const env = { CLICKHOUSE_URL: clickhouse.url, HEARTH_DATA_DIR: dataDir };
    try {
      const first = await startHearthProcess(['--config', configFile], env);
      await expect(startHearthProcess(['--config', configFile], env)).rejects.toThrow(
        `hearth exited with 2 before starting:\nhearth: HEARTH_DATA_DIR ${dataDir} is in use by another Hearth process (pid `,
      );
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
      expect(await first.stop()).toBe(0);
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);

      // Left by a collector killed with -9, whose pid no process has now.
      writeFileSync(join(dataDir, LOCK_FILE), '2147483646\n');
      const after = await startHearthProcess(['--config', configFile], env);
      expect((await fetch(`${after.url}/healthz`)).status).toBe(200);
      expect(await after.stop()).toBe(0);
    } finally {
      await clickhouse.stop();
    }
  });
});
