import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { countedRows, IMPORTED_TABLES } from '../../collector/store/import.ts';
import { spawnClickHouseHttp } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { runHearth, startHearthProcess } from '../support/hearth-process.ts';

const DEMO_CONFIG = 'test/fixtures/hearth.demo.json';

describe('hearth import', () => {
  it('moves an embedded store to a ClickHouse server whole: its leads, their scores, qualifications and erasures', async () => {
    // An embedded store as a site that ran on it leaves it: a history, a lead qualified, a person erased.
    const embedded = freshDataDir();
    const demo = await runHearth(['demo', '--config', DEMO_CONFIG, '--visitors', '300', '--seed', '11'], { HEARTH_DATA_DIR: embedded, CLICKHOUSE_URL: '' });
    expect(demo.code, demo.stderr).toBe(0);
    const before = await startHearthProcess(['--config', DEMO_CONFIG], { HEARTH_DATA_DIR: embedded, CLICKHOUSE_URL: '' });
    const api = (hearth: { url: string; token: string }, path: string, init: RequestInit = {}) =>
      fetch(`${hearth.url}${path}`, { ...init, headers: { authorization: `Bearer ${hearth.token}`, 'content-type': 'application/json', ...init.headers } });
    let leads: { id: string; email: string; score: number }[];
    try {
      leads = ((await (await api(before, '/api/leads?site=demo&limit=1000')).json()) as { leads: typeof leads }).leads;
      expect((await api(before, `/api/leads/${leads[0]!.id}/qualification?site=demo`, { method: 'POST', body: JSON.stringify({ owner: 'sam', notes: { budget: 'Q3' } }) })).status).toBe(200);
      expect((await api(before, `/api/leads/${leads[1]!.id}?site=demo`, { method: 'DELETE', headers: { 'content-type': '' } })).status).toBe(200);
    } finally {
      expect(await before.stop()).toBe(0);
    }

    const clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir() });
    try {
      const server = { CLICKHOUSE_URL: clickhouse.url, HEARTH_DATA_DIR: freshDataDir() };
      const imported = await runHearth(['import', '--config', DEMO_CONFIG, '--from', embedded], server);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toMatch(new RegExp(`^copied erasures [\\d,]+, events [\\d,]+, identities [\\d,]+, lead_scores [\\d,]+, lead_qualifications 1, alert_outbox [\\d,]+ rows into ClickHouse at ${new URL(clickhouse.url).origin}, database default: start the collectors`, 'm'));
      const client = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url });
      try {
        for (const table of ['events', 'identities', 'lead_scores', 'erasures'] as const) expect(await countedRows(client, table), table).toBeGreaterThan(0);
      } finally {
        await client.close();
      }
      // A second import would mix two histories: refused, the first copy left as it is.
      const again = await runHearth(['import', '--config', DEMO_CONFIG, '--from', embedded], server);
      expect([again.code, again.stderr]).toEqual([2, expect.stringMatching(/^hearth: ClickHouse at .* already holds [\d,]+ events: hearth import copies into a database that holds none/)]);

      // The collectors on the server: the same leads and scores, the qualification, and the erased person still gone.
      const after = await startHearthProcess(['--config', DEMO_CONFIG], server);
      try {
        const moved = ((await (await api(after, '/api/leads?site=demo&limit=1000')).json()) as { leads: typeof leads }).leads;
        expect(moved.map(({ id, score }) => [id, score])).toEqual(leads!.filter((lead) => lead.id !== leads![1]!.id).map(({ id, score }) => [id, score]));
        expect(await (await api(after, `/api/leads/${leads![0]!.id}/qualification?site=demo`)).json()).toMatchObject({ owner: 'sam', notes: { budget: 'Q3' } });
        expect(await (await api(after, `/api/leads/${leads![1]!.id}?site=demo`)).json()).toMatchObject({ code: 'already_erased' });
      } finally {
        expect(await after.stop()).toBe(0);
      }
    } finally {
      await clickhouse.stop();
    }
  });

  it('names what it needs: --from, a ClickHouse server to copy into, and an embedded store to copy', async () => {
    const none = await runHearth(['import'], { CLICKHOUSE_URL: '' });
    expect([none.code, none.stderr]).toEqual([2, expect.stringContaining('--from DIR is required')]);
    const embedded = await runHearth(['import', '--from', freshDataDir()], { CLICKHOUSE_URL: '' });
    expect([embedded.code, embedded.stderr]).toEqual([2, expect.stringContaining('hearth import copies into the ClickHouse server CLICKHOUSE_URL names')]);
    const empty = freshDataDir();
    const nothing = await runHearth(['import', '--from', empty], { CLICKHOUSE_URL: 'http://127.0.0.1:9' });
    expect([nothing.code, nothing.stderr]).toEqual([1, `hearth: nothing is stored in ${empty}: the embedded store ${join(empty, 'clickhouse')} does not exist (--from names the HEARTH_DATA_DIR Hearth ran with)\n`]);
    expect(IMPORTED_TABLES).toContain('erasures');
  });
});
