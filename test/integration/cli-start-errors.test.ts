import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir } from '../support/data-dir.ts';
import { runHearth } from '../support/hearth-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-start-errors-'));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content, null, 2));
  return path;
}
const SITES = [{ id: 'acme', origins: ['https://acme.test'] }];
const CONFIG = file('hearth.config.json', { sites: SITES });
const EMBEDDED = { CLICKHOUSE_URL: '', LOG_LEVEL: 'warn' };

/** The user sees what is wrong, never a stack trace. */
function expectNoStack(stderr: string) {
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('hearth start refusing to start once the store is open', () => {
  it('ends with the reason and exit 2, the embedded engine closed after the work that used it (it crashed the process, exit 139)', async () => {
    // A history to rescore: the start's scorer is at work when the admin file is found damaged.
    const dataDir = freshDataDir();
    const demo = await runHearth(['demo', '--config', CONFIG, '--visitors', '200', '--days', '30'], { ...EMBEDDED, HEARTH_DATA_DIR: dataDir });
    expect(demo.code).toBe(0);
    writeFileSync(join(dataDir, 'admin-user.json'), '{bad');
    for (let run = 0; run < 2; run++) {
      const { code, stderr } = await runHearth(['start', '--config', CONFIG, '--port', '0'], { ...EMBEDDED, HEARTH_DATA_DIR: dataDir });
      expect([code, stderr]).toEqual([2, `hearth: ${join(dataDir, 'admin-user.json')} is damaged; delete it and start again to get a new admin password\n`]);
    }
  });
});

describe('hearth start where it cannot listen', () => {
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  it('names the port in use, before opening the store or making the first admin, whose password would never be shown', async () => {
    const dataDir = freshDataDir();
    const { code, stderr } = await runHearth(['start', '--config', CONFIG, '--port', String(busyPort)], { ...EMBEDDED, HEARTH_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toBe(`hearth: cannot listen on 127.0.0.1:${busyPort} (--port): the port is already in use; choose another with --port N\n`);
    // Made and kept, its password unprinted, the next start would say "with the password printed by the first start".
    expect(existsSync(join(dataDir, 'admin-user.json'))).toBe(false);
    expect(existsSync(join(dataDir, 'clickhouse'))).toBe(false);
  });

  it('names a host that is no address of this machine, or no host at all, and where it was set', async () => {
    const notHere = file('not-here.json', { sites: SITES, server: { host: '192.0.2.1' } });
    const remote = await runHearth(['start', '--config', notHere, '--port', '0'], { ...EMBEDDED, HEARTH_DATA_DIR: freshDataDir() });
    expect(remote.code).toBe(1);
    expect(remote.stderr).toBe(`hearth: cannot listen on 192.0.2.1:0 (server.host in ${notHere}): 192.0.2.1 is not an address of this machine\n`);
    const typo = await runHearth(['start', '--config', CONFIG, '--port', '0', '--host', 'localhost '], { ...EMBEDDED, HEARTH_DATA_DIR: freshDataDir() });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toBe('hearth: cannot listen on "localhost ":0 (--host): no such host\n');
    expectNoStack(remote.stderr + typo.stderr);
  });
});

describe('hearth commands when ClickHouse cannot be reached', () => {
  let closedPort: number;
  beforeAll(async () => {
    // A port that was free a moment ago: nothing answers there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closedPort = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('ends each command but start with the store and the reason, not a stack (start: start-while-clickhouse-down.test.ts)', async () => {
    const env = { CLICKHOUSE_URL: `http://127.0.0.1:${closedPort}`, HEARTH_DATA_DIR: freshDataDir(), LOG_LEVEL: 'warn' };
    const rules = file('rules.json', {});
    for (const args of [
      ['migrate', '--config', CONFIG],
      ['score', '--config', CONFIG],
      ['backtest', '--config', CONFIG, '--rules', rules],
      ['demo', '--config', CONFIG, '--visitors', '5'],
    ]) {
      const { code, stderr } = await runHearth(args, env);
      expect(code, args[0]).toBe(1);
      // One line: the ClickHouse client's own multi-line error log (a stack) no longer comes before it.
      expect(stderr, args[0]).toMatch(new RegExp(`^hearth: cannot .+ ClickHouse at http://127\\.0\\.0\\.1:${closedPort}, database default: connect ECONNREFUSED 127\\.0\\.0\\.1:${closedPort}\\n$`));
    }
  });
});

describe('hearth start with a bad tuning variable', () => {
  it.each([
    ['HEARTH_WAL_MAX_MB', 'abc', 'HEARTH_WAL_MAX_MB expects a size in megabytes (a whole number above 0), got "abc"'],
    ['HEARTH_WAL_FLUSH_ROWS', '1.5', 'HEARTH_WAL_FLUSH_ROWS expects a number of rows (a whole number above 0), got "1.5"'],
    ['HEARTH_WAL_FLUSH_MS', '3000000000', 'HEARTH_WAL_FLUSH_MS expects milliseconds up to 3,600,000, got "3000000000"'],
    ['HEARTH_RESCORE_SLICE_LEADS', '1e3', 'HEARTH_RESCORE_SLICE_LEADS expects a number of leads (a whole number above 0), got "1e3"'],
    ['HEARTH_SEND_ALERTS', 'maybe', 'HEARTH_SEND_ALERTS expects true or false, got "maybe"'],
  ])('refuses %s=%s by name before it opens the store', async (name, value, message) => {
    const dataDir = freshDataDir();
    const { code, stderr } = await runHearth(['start', '--config', CONFIG, '--port', '0'], { ...EMBEDDED, HEARTH_DATA_DIR: dataDir, [name]: value });
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expectNoStack(stderr);
    expect(existsSync(join(dataDir, 'clickhouse'))).toBe(false);
  });
});

describe('rules whose patterns ClickHouse cannot run', () => {
  // RE2 syntax, which the config's check parses, but a program too large for RE2 in ClickHouse: "pattern too large".
  const TOO_LARGE = '^\\pL{1,500}$';
  const badRules = { fit: [{ id: 'industry-word', field: 'industry', pattern: TOO_LARGE, points: 10 }] };

  it('are refused by hearth start, score and backtest, naming the file and the path of the pattern', async () => {
    const config = file('hearth.too-large.json', { sites: [{ id: 'good', origins: ['https://good.test'] }, { ...SITES[0], rules: badRules }] });
    const refusal = (name: string, path: string) =>
      new RegExp(`^hearth: invalid ${name} in ${path.replaceAll('.', '\\.')}:\\n  ${path.replaceAll('.', '\\.')}: ${path === config ? 'sites\\[1\\]\\.rules\\.' : ''}fit\\[0\\]\\.pattern: ClickHouse cannot run this regular expression \\(RE2: pattern too large`);
    const dataDir = freshDataDir();
    const start = await runHearth(['start', '--config', config, '--port', '0'], { ...EMBEDDED, HEARTH_DATA_DIR: dataDir });
    expect(start.code).toBe(2);
    expect(start.stderr).toMatch(refusal('config', config));
    expectNoStack(start.stderr);
    // Scoring the good site: the config is refused for the other's rules all the same.
    const score = await runHearth(['score', '--config', config, '--site', 'good'], { ...EMBEDDED, HEARTH_DATA_DIR: dataDir });
    expect(score.code).toBe(2);
    expect(score.stderr).toMatch(refusal('config', config));
    const candidate = file('too-large.rules.json', badRules);
    const backtest = await runHearth(['backtest', '--config', CONFIG, '--rules', candidate], { ...EMBEDDED, HEARTH_DATA_DIR: dataDir });
    expect(backtest.code).toBe(2);
    expect(backtest.stderr).toMatch(refusal('rules', candidate));
    expectNoStack(backtest.stderr);
  });
});
