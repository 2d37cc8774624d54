import { describe, expect, it } from 'vitest';
import { freshDataDir } from '../support/data-dir.ts';
import { runHearth, startHearthProcess } from '../support/hearth-process.ts';

describe('hearth demo', () => {
  it('writes a synthetic history that the leads API then shows', async () => {
    const dataDir = freshDataDir();
    const demo = await runHearth(['demo', '--config', 'test/fixtures/hearth.demo.json', '--visitors', '300', '--seed', '3'], { HEARTH_DATA_DIR: dataDir });
    expect(demo.stderr).toBe('');
    const [, events, leads] = /wrote (\d+) events of 300 visitors \((\d+) leads\) for site "demo"/.exec(demo.stdout) ?? [];
    expect(Number(events)).toBeGreaterThan(3000);

    const hearth = await startHearthProcess(['--config', 'test/fixtures/hearth.demo.json'], { HEARTH_DATA_DIR: dataDir });
    try {
      const response = await fetch(`${hearth.url}/api/leads?site=demo&limit=1000`, { headers: { authorization: `Bearer ${hearth.token}` } });
      const body = (await response.json()) as { leads: { kind: string }[] };
      expect(body.leads.filter((lead) => lead.kind === 'lead').length).toBe(Number(leads));
    } finally {
      await hearth.stop();
    }
  });

  it('names a bad flag value', async () => {
    const { code, stderr } = await runHearth(['demo', '--config', 'test/fixtures/hearth.demo.json', '--visitors', 'many']);
    expect(code).toBe(2);
    expect(stderr).toContain('--visitors expects a whole number from 1 to 10000000, got "many"');
  });
});
