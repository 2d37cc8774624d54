import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshDataDir } from '../support/data-dir.ts';
import { runHearth, startHearthProcess, type HearthProcess } from '../support/hearth-process.ts';
import { BROWSER_USER_AGENT } from '../support/server.ts';

// `hearth score` rescores into the stored scores, which say which buying signals were seen: what it finds new is
// recorded in the alert outbox for the next `hearth start` to send, as a collector does, not used up unsent.
const ORIGIN = 'https://www.acme.test';
const dir = mkdtempSync(join(tmpdir(), 'hearth-score-alerts-'));
const config = (name: string, rules: Record<string, unknown> = {}) => {
  const file = join(dir, name);
  // Nothing listens there: an alert stays pending, as while a destination is down.
  const crm = { type: 'webhook', id: 'crm', url: 'http://127.0.0.1:9/hooks/hearth', secret: 'whsec_' + Buffer.from('a-test-signing-key-of-32-bytes!!').toString('base64') };
  writeFileSync(file, JSON.stringify({ sites: [{ id: 'acme', origins: [ORIGIN], rules, alerts: { destinations: [crm] } }] }));
  return file;
};
const get = async (hearth: HearthProcess, path: string) =>
  (await fetch(`${hearth.url}${path}`, { headers: { authorization: `Bearer ${hearth.token}` } })).json() as Promise<any>;

describe('hearth score and buying-signal alerts', () => {
  it('alerts nobody for what a rules change alone finds, and alerts the lead it made hot at its next visit', { timeout: 120_000 }, async () => {
    const dataDir = freshDataDir();
    const email = `grace.${randomUUID().slice(0, 8)}@initech.test`;
    const visitor = `v${randomUUID().replaceAll('-', '')}`.slice(0, 24);
    const send = (hearth: { url: string }, event: Record<string, unknown>) =>
      fetch(`${hearth.url}/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: ORIGIN, 'user-agent': BROWSER_USER_AGENT },
        body: JSON.stringify({ s: 'acme', v: visitor, e: [{ i: randomUUID(), t: Date.now(), ...event }] }),
      });
    // A CEO's form: 30 points, warm under the grid's thresholds.
    const first = await startHearthProcess(['--config', config('warm.json')], { HEARTH_DATA_DIR: dataDir });
    try {
      const sent = await send(first, { n: 'f', u: `${ORIGIN}/contact`, k: 'newsletter', p: { 'email email email': email, 'job_title  ': 'CEO' } });
      expect(sent.status).toBe(202);
      await expect.poll(async () => (await get(first, '/api/leads?site=acme')).leads.map((lead: { email: string; temperature: string }) => `${lead.email} ${lead.temperature}`), { timeout: 20_000 }).toEqual([`${email} warm`]);
    } finally {
      await first.stop();
    }

    // Thresholds lowered: `hearth score` finds the CEO hot, which is the rules' news, not hers: no alert.
    const hotter = config('hot.json', { thresholds: { warm: 10, hot: 25 } });
    const scored = await runHearth(['score', '--config', hotter], { HEARTH_DATA_DIR: dataDir });
    expect(scored.code, scored.stderr).toBe(0);
    expect(scored.stdout).toMatch(new RegExp(`\\s30\\s+hot\\s.*${email.replaceAll('.', '\\.')}`));

    const second = await startHearthProcess(['--config', hotter], { HEARTH_DATA_DIR: dataDir });
    const alerted = async () => (await get(second, '/api/alerts?site=acme')).alerts.map((alert: { signal: string; lead: { email: string } }) => `${alert.signal} ${alert.lead.email}`);
    try {
      expect(await alerted()).toEqual([]);
      // Her next visit, hot: news for sales.
      expect((await send(second, { n: 'v', u: `${ORIGIN}/about` })).status).toBe(202);
      await expect.poll(alerted, { timeout: 20_000 }).toEqual([`hot ${email}`]);
    } finally {
      await second.stop();
    }
  });

  it('rescores only the site --site names, leaving the config\'s other sites to their own rules and collector', { timeout: 120_000 }, async () => {
    const dataDir = freshDataDir();
    const BETA = 'https://www.beta.test';
    const twoSites = (name: string, rules: Record<string, unknown> = {}) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify({ sites: [{ id: 'acme', origins: [ORIGIN], rules }, { id: 'beta', origins: [BETA], rules }] }));
      return file;
    };
    const lead = { acme: `ada.${randomUUID().slice(0, 8)}@initech.test`, beta: `bo.${randomUUID().slice(0, 8)}@globex.test` };
    const first = await startHearthProcess(['--config', twoSites('two.json')], { HEARTH_DATA_DIR: dataDir });
    try {
      for (const [site, origin] of [['acme', ORIGIN], ['beta', BETA]] as const) {
        const body = { s: site, v: `v${randomUUID().replaceAll('-', '')}`.slice(0, 24), e: [{ i: randomUUID(), t: Date.now(), n: 'f', u: `${origin}/contact`, k: 'contact', p: { email: lead[site], job_title: 'CEO' } }] };
        const sent = await fetch(`${first.url}/collect`, { method: 'POST', headers: { 'content-type': 'text/plain', origin, 'user-agent': BROWSER_USER_AGENT }, body: JSON.stringify(body) });
        expect(sent.status).toBe(202);
        await expect.poll(async () => (await get(first, `/api/leads?site=${site}`)).leads.map((found: { temperature: string }) => found.temperature), { timeout: 20_000 }).toEqual(['warm']);
      }
    } finally {
      await first.stop();
    }
    // Both sites' thresholds lowered in the file, acme's scored: its CEO is hot from this run; beta's from its next start.
    const hotter = twoSites('two-hot.json', { thresholds: { warm: 10, hot: 25 } });
    const scoredFrom = Date.now();
    const scored = await runHearth(['score', '--config', hotter, '--site', 'acme'], { HEARTH_DATA_DIR: dataDir });
    expect(scored.code, scored.stderr).toBe(0);
    const scoredUntil = Date.now();
    const second = await startHearthProcess(['--config', hotter], { HEARTH_DATA_DIR: dataDir });
    try {
      const rulesChangedAt = async (site: string): Promise<[number, string][]> => {
        const [found] = (await get(second, `/api/leads?site=${site}`)).leads as { id: string }[];
        const detail = await get(second, `/api/leads/${found!.id}?site=${site}`);
        return detail.scoreHistory.filter((point: { rulesChanged: boolean }) => point.rulesChanged).map((point: { at: string; temperature: string }) => [Date.parse(point.at), point.temperature]);
      };
      expect((await rulesChangedAt('acme')).map(([at, temperature]) => [at >= scoredFrom && at <= scoredUntil, temperature])).toEqual([[true, 'hot']]);
      await expect.poll(async () => (await rulesChangedAt('beta')).map(([at, temperature]) => [at > scoredUntil, temperature]), { timeout: 20_000 }).toEqual([[true, 'hot']]);
    } finally {
      await second.stop();
    }
  });
});
