import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { BacktestRun } from '../../collector/backtest.ts';
import type { LeadScore } from '../../scoring/compile.ts';
import { defaultRules } from '../../scoring/rules.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { runHearth, startHearthProcess } from '../support/hearth-process.ts';
import { BROWSER_USER_AGENT } from '../support/server.ts';

const ORIGIN = 'https://www.acme.test';
const PAGE_GROUPS = { product: ['/product*'], pricing: ['/pricing*'] };
const MINUTE = 60_000;

const dir = mkdtempSync(join(tmpdir(), 'hearth-backtest-ahead-'));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content, null, 2));
  return path;
}
const CONFIG = file('hearth.config.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: PAGE_GROUPS }] });
/** The site's own rules (the grid), as a file: the backtest must find what the stored scores show. */
const SAME = file('same.json', defaultRules(PAGE_GROUPS));

describe('hearth backtest, events from a clock running ahead', () => {
  it('scores the leads the stored scores show, events a few minutes ahead of the clock included', async () => {
    const dataDir = freshDataDir();
    const hearth = await startHearthProcess(['--config', CONFIG], { HEARTH_DATA_DIR: dataDir });
    try {
      // A laptop whose clock runs two minutes fast: the collector keeps those times (up to five minutes ahead).
      const at = Date.now() + 2 * MINUTE;
      const response = await fetch(`${hearth.url}/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: ORIGIN, 'user-agent': BROWSER_USER_AGENT },
        body: JSON.stringify({
          s: 'acme',
          v: `visitor-${randomUUID().slice(0, 8)}`,
          sid: 'session-ahead-0001',
          e: [
            { i: randomUUID(), n: 'v', t: at, u: `${ORIGIN}/product/` },
            { i: randomUUID(), n: 'v', t: at + 1000, u: `${ORIGIN}/pricing/` },
            { i: randomUUID(), n: 'f', t: at + 10_000, u: `${ORIGIN}/contact/`, k: 'demo-request', p: { email: 'ada@lovelace.test', job_title: 'Head of Sales' } },
          ],
        }),
      });
      expect(response.status).toBe(202);
      const leads = async () => (await (await fetch(`${hearth.url}/api/leads?site=acme&kind=lead`, { headers: { authorization: `Bearer ${hearth.token}` } })).json()) as { total: number };
      await vi.waitFor(async () => expect((await leads()).total).toBe(1), { timeout: 15_000, interval: 200 });
    } finally {
      expect(await hearth.stop()).toBe(0);
    }

    // Head of Sales 20 + pricing 20 + product 5: 45, warm, in the stored scores lists and dashboards read.
    const score = await runHearth(['score', '--config', CONFIG, '--json'], { HEARTH_DATA_DIR: dataDir });
    expect(score.code, score.stderr).toBe(0);
    const stored = (JSON.parse(score.stdout) as LeadScore[]).filter((lead) => lead.kind === 'lead');
    expect(stored.map((lead) => [lead.email, lead.score, lead.temperature])).toEqual([['ada@lovelace.test', 45, 'warm']]);

    // The same rules over the same history: the same lead, the same score, nothing moves.
    const { code, stdout, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', SAME, '--json'], { HEARTH_DATA_DIR: dataDir });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const run = JSON.parse(stdout) as BacktestRun;
    expect(run.report).toMatchObject({
      leads: 1,
      temperatures: { cold: { current: 0, candidate: 0 }, warm: { current: 1, candidate: 1 }, hot: { current: 0, candidate: 0 } },
      moved: 0,
      rescored: 0,
      topMovers: [],
    });
  }, 60_000);
});
