import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../collector/auth/passwords.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { startHearthProcess } from '../support/hearth-process.ts';
import { BROWSER_USER_AGENT, newVisitor, wireEvent } from '../support/server.ts';

const ORIGIN = 'https://acme.test';
const TOKEN = 'audit-test-admin-token-0123456789';

/**
 * `hearth start` with site acme and the admin ada (password "ada-erases-on-request"), and `extra` in its config, at the
 * level it logs at by default (the tests' processes log warnings only).
 */
async function startWithAda(extra: Record<string, unknown> = {}) {
  const config = join(mkdtempSync(join(tmpdir(), 'hearth-audit-')), 'hearth.config.json');
  const passwordHash = await hashPassword('ada-erases-on-request', { N: 2 ** 10, r: 8, p: 1 });
  writeFileSync(config, JSON.stringify({ sites: [{ id: 'acme', origins: [ORIGIN] }], users: [{ name: 'ada', role: 'admin', passwordHash }], ...extra }));
  return startHearthProcess(['--config', config], { HEARTH_DATA_DIR: freshDataDir(), HEARTH_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'info' });
}

describe("the log's record of who did what", () => {
  it('names who logged in, who was refused, and who exported or erased whom, by ids only', async () => {
    const hearth = await startWithAda();
    try {
      const login = (name: string, password: string) =>
        fetch(`${hearth.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) }).then((response) => response.status);
      expect(await login('ada', 'not-her-password')).toBe(401);
      // A password typed in the name field is not written down.
      expect(await login('hunter2-secret-typed-as-name', 'x')).toBe(401);
      expect(await login('ada', 'ada-erases-on-request')).toBe(200);

      const visitor = newVisitor();
      const email = `grace.${visitor}@hopper.test`;
      const form = wireEvent({ n: 'f', u: `${ORIGIN}/contact`, k: 'demo-request', p: { email } });
      const sent = await fetch(`${hearth.url}/collect`, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'text/plain', 'user-agent': BROWSER_USER_AGENT }, body: JSON.stringify({ s: 'acme', v: visitor, e: [form] }) });
      expect(sent.status).toBe(202);
      const api = (path: string, method = 'GET') => fetch(`${hearth.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      // The browser is an anonymous visitor (v_…) from its events until its identity row is stored a moment after them.
      let id: string | undefined;
      for (let tries = 0; !id?.startsWith('l_') && tries < 100; tries++) {
        id = ((await (await api(`/api/leads?site=acme&visitor=${visitor}`)).json()) as { leads: { id: string }[] }).leads[0]?.id;
        if (!id?.startsWith('l_')) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(id).toMatch(/^l_/);
      expect((await api(`/api/leads/${id}/export?site=acme`)).status).toBe(200);
      expect((await api('/api/leads.csv?site=acme')).status).toBe(200);
      expect((await api(`/api/leads/${id}?site=acme`, 'DELETE')).status).toBe(200);
      // The process's output comes through a pipe: its last line a moment after the answer.
      for (let tries = 0; !hearth.output().includes(`erased ${id}`) && tries < 50; tries++) await new Promise((resolve) => setTimeout(resolve, 50));

      const audit = hearth
        .output()
        .split('\n')
        .flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : []))
        .filter((line) => line.audit)
        .map(({ audit: kind, outcome, user, exported, erased, csv, rows, msg }) => ({ kind, outcome, user, exported, erased, csv, rows, msg }));
      expect(audit).toEqual([
        { kind: 'login', outcome: 'refused', user: 'ada', msg: 'login refused: wrong password for ada' },
        { kind: 'login', outcome: 'refused', user: null, msg: 'login refused: wrong name' },
        { kind: 'login', outcome: 'ok', user: 'ada', msg: 'ada logged in' },
        { kind: 'export', user: 'admin-token', exported: id, msg: `admin-token exported ${id}` },
        { kind: 'export', user: 'admin-token', csv: 'leads', rows: 1, msg: 'admin-token exported 1 leads as CSV' },
        { kind: 'erasure', user: 'admin-token', erased: id, msg: `admin-token erased ${id}` },
      ].map((line) => ({ outcome: undefined, exported: undefined, erased: undefined, csv: undefined, rows: undefined, ...line })));
      expect(hearth.output()).not.toContain('hunter2');
      expect(hearth.output()).not.toContain(email);
    } finally {
      await hearth.stop();
    }
  });

  it("says once when a name's login attempts are locked out, not at each refused attempt, nor never", async () => {
    const hearth = await startWithAda({ limits: { loginAttemptsPerUser: 2, loginAttemptsPerIp: 100 } });
    try {
      const login = (name: string, password: string) =>
        fetch(`${hearth.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) }).then((response) => response.status);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push(await login('ada', `guess-${i}`));
      // Someone guessing a name that is no user's is named no more than in a refused login.
      for (let i = 0; i < 4; i++) statuses.push(await login('hunter2-typed-as-name', `guess-${i}`));
      expect(statuses).toEqual([401, 401, 429, 429, 429, 429, 401, 401, 429, 429]);
      const locked = () =>
        hearth
          .output()
          .split('\n')
          .flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : []))
          .filter((line) => line.outcome === 'locked')
          .map(({ audit, limit, user, msg }) => ({ audit, limit, user, msg }));
      for (let tries = 0; locked().length < 2 && tries < 50; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(locked()).toEqual([
        { audit: 'login', limit: 'per_user', user: 'ada', msg: 'login attempts for ada refused for 15 min: more than 2 in 15 min' },
        { audit: 'login', limit: 'per_user', user: null, msg: 'login attempts for a name that is no user refused for 15 min: more than 2 in 15 min' },
      ]);
      expect(hearth.output()).not.toContain('hunter2');
    } finally {
      await hearth.stop();
    }
  });

  it("logs a user's lockout even after a flood of addresses' lockouts filled what is logged one by one", async () => {
    const hearth = await startWithAda({ server: { trustProxy: true }, limits: { loginAttemptsPerUser: 3, loginAttemptsPerIp: 1 } });
    try {
      const login = (name: string, from: string) =>
        fetch(`${hearth.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': from }, body: JSON.stringify({ name, password: 'a guess' }) }).then((response) => response.status);
      // 1,100 addresses (IPv6 gives anyone as many), each locked out at its second attempt.
      for (let start = 0; start < 1100; start += 50) {
        await Promise.all(Array.from({ length: 50 }, async (_, i) => {
          const from = `10.9.${(start + i) >> 8}.${(start + i) & 255}`;
          await login(`nobody-${start + i}`, from);
          expect(await login(`nobody-${start + i}`, from)).toBe(429);
        }));
      }
      const statuses: number[] = [];
      for (let i = 1; i <= 5; i++) statuses.push(await login('ada', `10.7.2.${i}`));
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const lockedAda = () => hearth.output().split('\n').filter((line) => line.includes('"outcome":"locked"') && line.includes('"user":"ada"'));
      for (let tries = 0; lockedAda().length < 1 && tries < 50; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(lockedAda()).toHaveLength(1);
    } finally {
      await hearth.stop();
    }
  });
});
