import { existsSync, mkdirSync, mkdtempSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { migrate, readMigrations } from '../../collector/store/migrate.ts';
import { spawnClickHouseHttp } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { runHearth, startHearthProcess } from '../support/hearth-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-input-'));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content, null, 2));
  return path;
}
const CONFIG = file('hearth.config.json', { sites: [{ id: 'acme', origins: ['https://acme.test'] }] });
const RULES = file('rules.json', {});
/** The embedded store, whatever the environment running the tests says. */
const EMBEDDED = { CLICKHOUSE_URL: '' };
/** Where a command would write, were it to run despite its bad input. */
const SCRATCH = { ...EMBEDDED, HEARTH_DATA_DIR: freshDataDir() };

/** The user sees one line saying what is wrong, never a stack trace. */
function expectNoStack(stderr: string) {
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('hearth refuses bad command-line input, naming the option and the value', () => {
  it('refuses impossible --since dates rather than rolling them over to the next day or month', async () => {
    for (const [since, readAs] of [
      ['2026-02-30', '2026-03-02T00:00:00.000Z'],
      ['2026-11-31', '2026-12-01T00:00:00.000Z'],
      ['2026-01-01T24:00Z', '2026-01-02T00:00:00.000Z'],
      ['2025-02-29', '2025-03-01T00:00:00.000Z'],
    ]) {
      const { code, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', RULES, '--since', since!], SCRATCH);
      expect(code, since).toBe(2);
      expect(stderr).toContain(`hearth: --since: "${since}" is not a real date or time (it would be read as ${readAs})`);
    }
    for (const since of ['2026-13-01', '2026-06-30T23:59:60Z']) {
      const { code, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', RULES, '--since', since], SCRATCH);
      expect(code, since).toBe(2);
      expect(stderr).toContain(`hearth: --since: "${since}" is not a real date or time\n`);
    }
  });

  it('reads --since as RFC 3339 writes it: t and z in either case, any fraction of a second, a space for the T', async () => {
    // Read, then refused for being in the future: the message gives the moment it was read as.
    for (const [since, readAs] of [
      ['2999-01-01t09:30:00z', '2999-01-01T09:30:00.000Z'],
      ['2999-01-01T09:30:00.123456Z', '2999-01-01T09:30:00.123Z'],
      ['2999-01-01T09:30:00.5+02:00', '2999-01-01T07:30:00.500Z'],
      ['2999-01-01 09:30Z', '2999-01-01T09:30:00.000Z'],
      ['2999-01-01 09:30:00.5-01:30', '2999-01-01T11:00:00.500Z'],
    ]) {
      const { code, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', RULES, '--since', since!], SCRATCH);
      expect(code, since).toBe(2);
      expect(stderr).toContain(`hearth: --since ${readAs} is not in the past`);
    }
    // Checked as a T's is: February 30 with a space is no more a day.
    const rolled = await runHearth(['backtest', '--config', CONFIG, '--rules', RULES, '--since', '2026-02-30 09:00Z'], SCRATCH);
    expect(rolled.stderr).toContain('hearth: --since: "2026-02-30 09:00Z" is not a real date or time (it would be read as 2026-03-02T09:00:00.000Z)');
  });

  it('says that a --since time has no zone, rather than asking for a date it already is', async () => {
    for (const since of ['2026-09-07T13:15', '2026-09-07 13:15', '2026-09-07t13:15:30.25']) {
      const { code, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', RULES, '--since', since], SCRATCH);
      expect(code, since).toBe(2);
      expect(stderr).toContain(`hearth: --since "${since}" has a time but no zone: add Z for UTC or an offset such as +02:00 (${since}Z)\n`);
      expectNoStack(stderr);
    }
    // Anything else is still told what a date looks like.
    const { stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', RULES, '--since', '2026-09-07T13'], SCRATCH);
    expect(stderr).toContain('hearth: --since expects a date such as 2026-03-01 or 2026-03-01T09:00:00Z, got "2026-09-07T13"');
  });

  it('reads plain decimal whole numbers only', async () => {
    const port = await runHearth(['start', '--config', CONFIG, '--port', ''], SCRATCH);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('hearth: --port expects a whole number from 0 to 65535, got ""');
    for (const limit of ['0x10', '1e3', ' 5', '5.0', '-5']) {
      const { code, stderr } = await runHearth(['score', '--config', CONFIG, '--limit', limit], SCRATCH);
      expect(code, limit).toBe(2);
      expect(stderr).toContain(`hearth: --limit expects a whole number from 1 to 1000000, got "${limit}"`);
    }
  });

  it('refuses an option the command does not take, naming both', async () => {
    const score = await runHearth(['score', '--config', CONFIG, '--since', '2026-01-01'], SCRATCH);
    expect(score.code).toBe(2);
    expect(score.stderr).toContain('hearth: --since is not an option of "hearth score" (it takes --config, --site, --json, --limit)');
    const demo = await runHearth(['demo', '--config', CONFIG, '--port', '9000'], SCRATCH);
    expect(demo.code).toBe(2);
    expect(demo.stderr).toContain('hearth: --port is not an option of "hearth demo" (it takes --config, --site, --visitors, --days, --seed)');
    const schema = await runHearth(['schema', '--json']);
    expect(schema.code).toBe(2);
    expect(schema.stderr).toContain('hearth: --json is not an option of "hearth schema" (it takes none)');
  });

  it('refuses an option given twice, which would otherwise run with the last one alone', async () => {
    const { code, stderr } = await runHearth(['score', '--config', CONFIG, '--site', 'acme', '--site', 'beta'], SCRATCH);
    expect(code).toBe(2);
    expect(stderr).toBe("hearth: --site is given twice; give it once\n(hearth help lists every command's options)\n");
    // new-token too: its token would be made for the second name alone, and no token printed is ever shown again.
    const token = await runHearth(['new-token', '--name', 'a', '--name', 'b']);
    expect([token.code, token.stdout, token.stderr]).toEqual([2, '', "hearth: --name is given twice; give it once\n(hearth help lists every command's options)\n"]);
  });
});

describe('hearth and a config of several sites', () => {
  it('asks which site to score or backtest rather than take the first one silently (QA: an agency\'s other sites went unscored)', async () => {
    const agency = file('agency.json', { sites: ['acme', 'globex', 'initech'].map((id) => ({ id, origins: [`https://${id}.test`] })) });
    for (const command of [['score'], ['backtest', '--rules', RULES], ['demo']]) {
      const { code, stderr } = await runHearth([...command, '--config', agency], SCRATCH);
      expect(code, command[0]).toBe(2);
      expect(stderr, command[0]).toContain(`hearth: --site: ${agency} has 3 sites; choose one: --site acme, --site globex, --site initech`);
    }
    const store = { ...EMBEDDED, HEARTH_DATA_DIR: freshDataDir() };
    expect((await runHearth(['migrate', '--config', agency], store)).code).toBe(0);
    const named = await runHearth(['score', '--config', agency, '--site', 'globex', '--json'], store);
    expect([named.code, JSON.parse(named.stdout).site]).toEqual([0, 'globex']);
  });
});

describe('hearth checks its environment before opening anything', () => {
  it('names LOG_LEVEL and the levels allowed, without migrating the store first, whichever command opens it', async () => {
    for (const command of [['start', '--port', '0'], ['migrate'], ['score']]) {
      const dataDir = freshDataDir();
      const { code, stderr } = await runHearth([...command, '--config', CONFIG], { ...EMBEDDED, LOG_LEVEL: 'verbose', HEARTH_DATA_DIR: dataDir });
      expect({ command, code }).toEqual({ command, code: 2 });
      expect(stderr).toBe('hearth: LOG_LEVEL expects one of fatal, error, warn, info, debug, trace, silent, got "verbose"\n');
      expect(existsSync(join(dataDir, 'clickhouse'))).toBe(false);
    }
  });

  it('refuses an admin token too short to be secret, or one a header cannot carry, without opening the store', async () => {
    for (const [token, reason] of [
      ['a', 'HEARTH_ADMIN_TOKEN is 1 character long; use at least 12'],
      ['has a space in it', 'HEARTH_ADMIN_TOKEN holds a space or a character an Authorization header cannot carry'],
    ]) {
      const dataDir = freshDataDir();
      const { code, stderr } = await runHearth(['start', '--config', CONFIG, '--port', '0'], { ...EMBEDDED, HEARTH_ADMIN_TOKEN: token!, HEARTH_DATA_DIR: dataDir });
      expect([code, stderr]).toEqual([2, expect.stringContaining(`hearth: ${reason}`)]);
      expect(existsSync(join(dataDir, 'clickhouse'))).toBe(false);
    }
  });

  it('names HEARTH_DATA_DIR when a file is in the way', async () => {
    const notADirectory = file('not-a-directory', 'a file');
    const start = await runHearth(['start', '--config', CONFIG, '--port', '0'], { ...EMBEDDED, HEARTH_DATA_DIR: notADirectory });
    expect(start.code).toBe(2);
    expect(start.stderr).toBe(`hearth: HEARTH_DATA_DIR: ${notADirectory} is a file, not a directory\n`);
    const inside = await runHearth(['migrate', '--config', CONFIG], { ...EMBEDDED, HEARTH_DATA_DIR: join(notADirectory, 'data') });
    expect(inside.code).toBe(2);
    expect(inside.stderr).toBe(`hearth: HEARTH_DATA_DIR: cannot use ${join(notADirectory, 'data')}: ${notADirectory} is a file, not a directory\n`);
  });

  it('names HEARTH_DATA_DIR when it goes through a link to nothing, or where no folder can be made, rather than failing or hanging', async () => {
    const link = join(freshDataDir(), 'mount');
    symlinkSync(join(freshDataDir(), 'not-mounted'), link);
    const dangling = await runHearth(['migrate', '--config', CONFIG], { ...EMBEDDED, HEARTH_DATA_DIR: join(link, 'data') });
    expect([dangling.code, dangling.stderr]).toEqual([2, `hearth: HEARTH_DATA_DIR: cannot use ${join(link, 'data')}: ${link} is a link to ${readlinkSync(link)}, which does not exist\n`]);
    // /proc takes no folder, even from root, whom the system's access check lets write anywhere.
    const proc = await runHearth(['migrate', '--config', CONFIG], { ...EMBEDDED, HEARTH_DATA_DIR: '/proc/hearth' });
    expect([proc.code, proc.stderr]).toEqual([2, expect.stringMatching(/^hearth: HEARTH_DATA_DIR: cannot use \/proc\/hearth: (cannot make a folder in \/proc \(E[A-Z]+\)|cannot write to \/proc)\n$/)]);
  });

  it('names CLICKHOUSE_URL and what is wrong with it, without repeating its password', async () => {
    const env = { HEARTH_DATA_DIR: freshDataDir() };
    const malformed = await runHearth(['start', '--config', CONFIG, '--port', '0'], { ...env, CLICKHOUSE_URL: 'http://hearth:s3cret@clickhouse host:8123' });
    expect(malformed.code).toBe(2);
    const escape = 'write a "@", "/", "?", "#" or "%" of the password as %40, %2F, %3F, %23 or %25, or give the password in CLICKHOUSE_PASSWORD';
    expect(malformed.stderr).toBe(`hearth: CLICKHOUSE_URL expects a URL such as https://clickhouse.example.com:8443, got "http://hearth:***@clickhouse host:8123" (${escape})\n`);
    // A password may hold "/" (base64 does): hidden all the same.
    const slashed = await runHearth(['migrate', '--config', CONFIG], { ...env, CLICKHOUSE_URL: 'http://ana.b:Sup3r/Secret@clickhouse host:8123' });
    expect(slashed.stderr).toBe(`hearth: CLICKHOUSE_URL expects a URL such as https://clickhouse.example.com:8443, got "http://ana.b:***@clickhouse host:8123" (${escape})\n`);
    // A user with an "@" (an email): the password after it is hidden all the same.
    const emailUser = await runHearth(['migrate', '--config', CONFIG], { ...env, CLICKHOUSE_URL: 'http://ops@corp.com:Sum#mer1@127.0.0.1:8123/hearth' });
    expect([emailUser.code, emailUser.stderr]).toEqual([2, `hearth: CLICKHOUSE_URL expects a URL such as https://clickhouse.example.com:8443, got "http://ops@corp.com:***@127.0.0.1:8123/hearth" (${escape})\n`]);
    // A "@" of it left unescaped before a "/" of it: the URL parses, a piece of the password taken for its host and the
    // rest for the database, which the start printed (and retried for ever, accepting events it never stored).
    const unescaped = await runHearth(['start', '--config', CONFIG, '--port', '0'], { ...env, CLICKHOUSE_URL: 'https://hearth:Tr0ub@dor/42x@ch.example.com:8443/hearth' });
    const unescapedAt = (url: string) => `hearth: CLICKHOUSE_URL "${url}" holds an "@" or a "#" after its host: ${escape}\n`;
    expect([unescaped.code, unescaped.stderr]).toEqual([2, unescapedAt('https://hearth:***@ch.example.com:8443/hearth')]);
    // The same after a "#" or a "?" of it: the user, or a piece of the password, would be the host.
    for (const url of ['http://hearth:2024#Summer@127.0.0.1:8123/hearth', 'http://hearth:2024?Summer@127.0.0.1:8123/hearth']) {
      const refused = await runHearth(['migrate', '--config', CONFIG], { ...env, CLICKHOUSE_URL: url });
      expect([refused.code, refused.stderr]).toEqual([2, unescapedAt('http://hearth:***@127.0.0.1:8123/hearth')]);
    }
    const noScheme = await runHearth(['migrate', '--config', CONFIG], { ...env, CLICKHOUSE_URL: 'clickhouse.example.com:8123' });
    expect(noScheme.code).toBe(2);
    expect(noScheme.stderr).toBe('hearth: CLICKHOUSE_URL expects an http:// or https:// URL, got "clickhouse.example.com:8123"\n');
    const unknownParameter = await runHearth(['score', '--config', CONFIG], { ...env, CLICKHOUSE_URL: 'https://clickhouse.example.com:8443?compresion=1' });
    expect(unknownParameter.code).toBe(2);
    expect(unknownParameter.stderr).toBe('hearth: CLICKHOUSE_URL "https://clickhouse.example.com:8443?compresion=1": Unknown URL parameters: compresion\n');
    // The database or user given in the URL and in its own variable, differently: the URL's won without a word.
    const twice = await runHearth(['migrate', '--config', CONFIG], { ...env, CLICKHOUSE_URL: 'https://clickhouse.example.com:8443/hearth', CLICKHOUSE_DATABASE: 'analytics' });
    expect([twice.code, twice.stderr]).toEqual([2, 'hearth: CLICKHOUSE_URL names the database "hearth" and CLICKHOUSE_DATABASE "analytics": give it once\n']);
    const same = await runHearth(['migrate', '--config', CONFIG], { ...env, CLICKHOUSE_URL: 'https://ops@clickhouse.example.com:8443/', CLICKHOUSE_USER: 'hearth' });
    expect([same.code, same.stderr]).toEqual([2, 'hearth: CLICKHOUSE_URL names the user "ops" and CLICKHOUSE_USER "hearth": give it once\n']);
    const passwords = await runHearth(['migrate', '--config', CONFIG], { ...env, CLICKHOUSE_URL: 'https://hearth:s3cret@clickhouse.example.com:8443/', CLICKHOUSE_PASSWORD: 'other-s3cret' });
    expect([passwords.code, passwords.stderr]).toEqual([2, 'hearth: CLICKHOUSE_URL holds a password and CLICKHOUSE_PASSWORD another one: give it once\n']);
  });

  it('refuses a user, password or database for a server without CLICKHOUSE_URL, rather than writing to the embedded store', async () => {
    const dataDir = freshDataDir();
    const env = { ...EMBEDDED, HEARTH_DATA_DIR: dataDir };
    const start = await runHearth(['start', '--config', CONFIG, '--port', '0'], { ...env, CLICKHOUSE_USER: 'hearth', CLICKHOUSE_PASSWORD: 's3cret' });
    expect([start.code, start.stderr]).toEqual([
      2,
      'hearth: CLICKHOUSE_USER and CLICKHOUSE_PASSWORD are set but CLICKHOUSE_URL is not: they are for a ClickHouse server, and without its URL Hearth uses its embedded ClickHouse (chDB). Set CLICKHOUSE_URL to the server (https://clickhouse.example.com:8443), or unset CLICKHOUSE_USER and CLICKHOUSE_PASSWORD for the embedded store\n',
    ]);
    const score = await runHearth(['score', '--config', CONFIG], { ...env, CLICKHOUSE_DATABASE: 'hearth' });
    expect([score.code, score.stderr]).toEqual([2, expect.stringMatching(/^hearth: CLICKHOUSE_DATABASE is set but CLICKHOUSE_URL is not: /)]);
    // Nothing was opened: no embedded store was made where the operator did not look.
    expect(existsSync(join(dataDir, 'clickhouse'))).toBe(false);
  });
});

describe('hearth backtest on a store that was never migrated', () => {
  it('names the store and `hearth migrate`, like `hearth score`, and reads a real leap day with its zone', async () => {
    const dataDir = freshDataDir();
    // An embedded store that holds nothing yet (its directory made, as a start stopped before migrating leaves it).
    mkdirSync(join(dataDir, 'clickhouse'), { recursive: true });
    const { code, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', RULES, '--since', '2024-02-29T23:30-02:00'], { ...EMBEDDED, HEARTH_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toBe(`hearth: embedded ClickHouse (chDB) in ${dataDir}/clickhouse holds no Hearth tables yet: run \`hearth migrate\` or \`hearth start\` first\n`);
    expectNoStack(stderr);
  });
});

describe('hearth score and backtest on a store an earlier release migrated', () => {
  it('name the migrations not applied yet and `hearth migrate`, not the scoring query ClickHouse could not run', async () => {
    const clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir() });
    try {
      // As a Hearth of before its last two migrations left it: an upgrade, and no `hearth migrate` or `start` since.
      const client = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url });
      const migrations = readMigrations();
      await migrate(client, migrations.slice(0, -2));
      await client.close();
      const pending = migrations.slice(-2).map((migration) => migration.name).join(', ');
      for (const args of [['score', '--config', CONFIG], ['backtest', '--config', CONFIG, '--rules', RULES]]) {
        const { code, stderr } = await runHearth(args, { CLICKHOUSE_URL: clickhouse.url, HEARTH_DATA_DIR: freshDataDir() });
        expect([code, stderr], args[0]).toEqual([1, `hearth: ClickHouse at ${new URL(clickhouse.url).origin}, database default has migrations not applied yet (${pending}): run \`hearth migrate\` or \`hearth start\`, which applies them, first\n`]);
      }
    } finally {
      await clickhouse.stop();
    }
  });
});

describe('hearth score and backtest where nothing was ever stored', () => {
  it('say so and make no store there: a mistyped HEARTH_DATA_DIR (a quoted ~) was left behind as a new directory', async () => {
    const home = freshDataDir();
    mkdirSync(home, { recursive: true });
    for (const args of [['score', '--config', CONFIG], ['backtest', '--config', CONFIG, '--rules', RULES]]) {
      const { code, stderr } = await runHearth(args, { ...EMBEDDED, HEARTH_DATA_DIR: '~/hearth-data' }, undefined, home);
      expect([args[0], code]).toEqual([args[0], 1]);
      expect(stderr).toBe(
        `hearth: nothing is stored in ${home}/~/hearth-data (a quoted ~ is not the home directory): the embedded store ${home}/~/hearth-data/clickhouse does not exist. Set HEARTH_DATA_DIR to the directory \`hearth start\` uses, or run \`hearth start\` or \`hearth demo\` there first\n`,
      );
      expect(existsSync(join(home, '~'))).toBe(false);
    }
  });
});

describe('hearth demo on a server configured for IPv6', () => {
  it('writes pages under a URL a person can open: localhost for ::1 and ::, as `hearth start` prints it', async () => {
    for (const host of ['::', '::1']) {
      const dataDir = freshDataDir();
      const config = file(`ipv6-${host.length}.json`, { server: { host, port: 8787 }, sites: [{ id: 'acme', origins: ['http://localhost:*'] }] });
      const demo = await runHearth(['demo', '--config', config, '--visitors', '50', '--seed', '4'], { ...EMBEDDED, HEARTH_DATA_DIR: dataDir });
      expect(demo.stderr, host).toBe('');
      expect(demo.stdout).toMatch(/wrote [\d,]+ events of 50 visitors \(\d+ leads\) for site "acme"/);
      if (host !== '::1') continue;
      // Listening on IPv4 here: the test needs no IPv6 on the machine, only the stored history.
      const hearth = await startHearthProcess(['--config', config, '--host', '127.0.0.1'], { ...EMBEDDED, HEARTH_DATA_DIR: dataDir });
      try {
        const headers = { authorization: `Bearer ${hearth.token}` };
        const { leads } = (await (await fetch(`${hearth.url}/api/leads?site=acme&kind=lead&limit=1`, { headers })).json()) as { leads: { id: string }[] };
        const lead = (await (await fetch(`${hearth.url}/api/leads/${leads[0]!.id}?site=acme`, { headers })).json()) as { recentEvents: { url: string }[] };
        expect(lead.recentEvents.length).toBeGreaterThan(0);
        for (const event of lead.recentEvents) expect(event.url).toMatch(/^http:\/\/localhost:8787\/demo\//);
      } finally {
        await hearth.stop();
      }
    }
  });
});
