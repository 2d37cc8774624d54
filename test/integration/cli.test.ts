import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { readMigrations } from '../../collector/store/migrate.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { runHearth, startHearthProcess } from '../support/hearth-process.ts';

const configDir = mkdtempSync(join(tmpdir(), 'hearth-config-'));
function configFile(name: string, content: unknown): string {
  const file = join(configDir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

describe('hearth CLI', () => {
  it('names the file and the path of each bad config value, and exits 2', async () => {
    const file = configFile('bad.json', {
      sites: [
        { id: 'acme', origins: ['https://www.acme.com/pricing'] },
        { id: 'Acme Corp', origins: [] },
      ],
      server: { port: 'eighty' },
    });
    const { code, stderr } = await runHearth(['start', '--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}: sites[0].origins[0]: expected an origin such as "https://www.example.com" or "http://localhost:*" (scheme and host, no path) (got "https://www.acme.com/pricing")`);
    expect(stderr).toContain(`${file}: sites[1].id: a site id is 1–64 lowercase letters`);
    expect(stderr).toContain(`${file}: sites[1].origins: list at least one origin the site is served from`);
    expect(stderr).toContain(`${file}: server.port: `);
  });

  it('says when the config file is not JSON (at which line and column), is a directory or does not exist', async () => {
    const notJson = configFile('broken.json', '{\n  "sites": [\n    { "id": "acme" "origins": [] }\n  ]\n}\n');
    const broken = await runHearth(['start', '--config', notJson]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toBe(`hearth: ${notJson}:3:20: the config file is not valid JSON: Expected ',' or '}' after property value\n`);
    const missing = await runHearth(['start', '--config', join(configDir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`hearth: config file ${join(configDir, 'nope.json')} does not exist\n`);
    // With no --config (the repository's root holds no hearth.config.json), where to start from.
    const none = await runHearth(['score']);
    expect([none.code, none.stderr.split('\n')]).toEqual([
      2,
      [`hearth: config file ${join(process.cwd(), 'hearth.config.json')} does not exist`, expect.stringMatching(/^\(with no --config, hearth reads hearth\.config\.json in the current directory: write one as docs\/configuration\.md shows/), ''],
    ]);
    const folder = await runHearth(['start', '--config', configDir]);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toBe(`hearth: config file ${configDir} is a directory\n`);
  });

  it('rejects unknown commands and bad flags with the usage', async () => {
    const unknown = await runHearth(['serve']);
    expect(unknown.code).toBe(2);
    // The reason and the commands, last on the screen: not scrolled away by the whole usage.
    expect(unknown.stderr).toBe(
      'hearth: unknown command "serve"; the commands are start, migrate, score, backtest, demo, schema, rules, hash-password, import, new-token, help, version\n(hearth help lists every command\'s options)\n',
    );
    const badPort = await runHearth(['start', '--port', 'abc']);
    // A bad option: the reason, last, not scrolled away by the usage.
    expect(badPort.stderr).toBe(`hearth: --port expects a whole number from 0 to 65535, got "abc"\n(hearth help lists every command's options)\n`);
    const optionFirst = await runHearth(['--config', 'x.json', 'start']);
    expect([optionFirst.code, optionFirst.stderr.split(';')[0]]).toEqual([2, 'hearth: unknown command "--config" (options go after the command: hearth start --config …)']);
    // A command's --help is that command's: what it does, its options, the environment it reads.
    const scoreHelp = await runHearth(['score', '--help']);
    expect([scoreHelp.code, scoreHelp.stdout.split('\n')[0]]).toEqual([0, 'Usage: hearth score [options]']);
    expect(scoreHelp.stdout).toContain('score: --site ID (needed when the config has several sites), --json, --limit N');
    expect(scoreHelp.stdout).toContain('CLICKHOUSE_URL');
    expect(scoreHelp.stdout).not.toContain('--rules');
    const backtestHelp = await runHearth(['backtest', '-h']);
    expect(backtestHelp.stdout).toContain('backtest: --rules FILE (required');
    expect(backtestHelp.stdout).not.toContain('--visitors');
    // `hearth help backtest` is the same help, as git's `help COMMAND`.
    expect(await runHearth(['help', 'backtest'])).toMatchObject({ code: 0, stdout: backtestHelp.stdout });
    // Help on a command there is not says so, as `hearth nope` does, rather than print the usage as if all were well.
    const helpUnknown = await runHearth(['help', 'nope']);
    expect([helpUnknown.code, helpUnknown.stdout, helpUnknown.stderr.split(';')[0]]).toEqual([2, '', 'hearth: unknown command "nope"']);
    expect(await runHearth(['help', 'new-token'])).toMatchObject({ code: 0, stdout: expect.stringContaining('new-token [--name NAME]') });
    const version = await runHearth(['--version']);
    expect([version.code, version.stdout.trim()]).toEqual([0, JSON.parse(readFileSync('package.json', 'utf8')).version]);
    // What these commands do not take is refused, as every other command refuses it, rather than left unsaid.
    for (const [args, said] of [
      [['--version', 'extra'], 'hearth: "hearth --version" takes no "extra"'],
      [['help', 'score', 'extra'], 'hearth: "hearth help" takes no "extra"'],
      [['--help', '--json'], 'hearth: "hearth --help" takes no "--json"'],
    ] as const) {
      const stray = await runHearth([...args]);
      expect([stray.code, stray.stdout, stray.stderr.split('\n')[0]]).toEqual([2, '', said]);
    }
  });

  it('prints a JSON Schema of the config for editors', async () => {
    const { code, stdout } = await runHearth(['schema']);
    expect(code).toBe(0);
    const schema = JSON.parse(stdout);
    expect(schema.properties.sites.items.required).toEqual(['id', 'origins']);
    // A rules list left out is the grid's, not empty: the editor must not say `[]`.
    const fit = schema.properties.sites.items.properties.rules.properties.fit;
    expect(fit.default).toBeUndefined();
    expect(fit.description).toContain("the default grid's fit (`hearth rules` prints it");
    expect(schema.properties.sites.items.properties.rules.properties.engagement.description).toContain("the default grid's engagement, over the site's page groups (");
  });

  it('migrates an empty data directory, then finds it up to date', async () => {
    const env = { HEARTH_DATA_DIR: freshDataDir() };
    const first = await runHearth(['migrate'], env);
    expect(first.stdout).toContain(`applied ${readMigrations().map((migration) => migration.name).join(', ')} to embedded ClickHouse (chDB)`);
    const second = await runHearth(['migrate'], env);
    expect(second.stdout).toContain('is up to date');
  });

  it('prints the migrations as SQL without opening the store, which run by hand leave the store up to date', async () => {
    const env = { HEARTH_DATA_DIR: freshDataDir() };
    const printed = await runHearth(['migrate', '--print'], env);
    expect([printed.code, printed.stderr]).toEqual([0, '']);
    expect(readdirSync(env.HEARTH_DATA_DIR)).toEqual([]);
    // Run as an operator pastes it into clickhouse-client, statement by statement.
    const statements = printed.stdout.split(/;\n/).map((text) => text.replace(/^--.*$/gm, '').trim()).filter(Boolean);
    expect(statements.filter((statement) => statement.startsWith('INSERT INTO hearth_migrations'))).toHaveLength(readMigrations().length);
    const client = createStoreClient({ dataDir: env.HEARTH_DATA_DIR });
    try {
      for (const statement of statements) await client.command({ query: statement });
    } finally {
      await client.close();
    }
    expect((await runHearth(['migrate'], env)).stdout).toContain('is up to date');
  });

  it("prints a cluster's ON CLUSTER migrations with no server to name yet, as before a deployment", async () => {
    const env = { HEARTH_DATA_DIR: freshDataDir(), CLICKHOUSE_CLUSTER: 'prod' };
    const printed = await runHearth(['migrate', '--print'], env);
    expect([printed.code, printed.stderr]).toEqual([0, '']);
    expect(printed.stdout).toContain("-- What `hearth migrate` runs on ClickHouse cluster prod, database default when it holds none of Hearth's tables.");
    expect(printed.stdout).toContain("CREATE TABLE IF NOT EXISTS events ON CLUSTER prod AS events_local");
    expect(readdirSync(env.HEARTH_DATA_DIR)).toEqual([]);
    // Applying them still needs the cluster's server.
    const applied = await runHearth(['migrate'], env);
    expect([applied.code, applied.stderr]).toEqual([2, 'hearth: CLICKHOUSE_CLUSTER ("prod") needs CLICKHOUSE_URL: the embedded engine is a single server, not a cluster\n']);
  });

  it('says that a running `hearth start` holds the embedded store, rather than a stack, when another command opens it', async () => {
    const dataDir = freshDataDir();
    const config = configFile('held.json', { sites: [{ id: 'acme', origins: ['https://acme.test'] }] });
    const hearth = await startHearthProcess(['--config', config], { HEARTH_DATA_DIR: dataDir });
    try {
      const { code, stderr } = await runHearth(['score', '--config', config], { HEARTH_DATA_DIR: dataDir });
      expect(code).toBe(1);
      expect(stderr).toContain(`hearth: cannot open the embedded store in ${dataDir}/clickhouse: another process holds it`);
      expect(stderr).not.toContain('    at ');
    } finally {
      await hearth.stop();
    }
  });

  it('says a TZ the embedded engine cannot load is the reason it does not open, not another process', async () => {
    const config = configFile('tz.json', { sites: [{ id: 'acme', origins: ['https://acme.test'] }] });
    for (const tz of ['GMT-3', 'europe/paris']) {
      const dataDir = freshDataDir();
      const { code, stderr } = await runHearth(['migrate', '--config', config], { HEARTH_DATA_DIR: dataDir, TZ: tz });
      expect(code).toBe(1);
      expect(stderr).toContain(`hearth: cannot open the embedded store in ${dataDir}/clickhouse: the embedded ClickHouse cannot load the time zone TZ=${tz}; set TZ to a name of the tz database`);
      expect(stderr).not.toContain('another process');
    }
    // A name the engine loads, whatever Node calls it.
    const loaded = await runHearth(['migrate', '--config', config], { HEARTH_DATA_DIR: freshDataDir(), TZ: 'CET' });
    expect(loaded.stderr).not.toContain('cannot open the embedded store');
  });

  it('leaves the retention a config set when `hearth migrate` runs without one', async () => {
    const env = { HEARTH_DATA_DIR: freshDataDir() };
    const withRetention = configFile('retention.json', { sites: [{ id: 'acme', origins: ['https://acme.test'] }], storage: { retentionDays: 30 } });
    const first = await runHearth(['migrate', '--config', withRetention], env);
    expect(first.stdout).toContain('retention: ALTER TABLE events MODIFY TTL toDateTime(ts) + INTERVAL 30 DAY');
    // No config file: nothing says how long events are kept, so the TTL stays (it was removed: events kept for ever).
    const bare = await runHearth(['migrate'], env);
    expect(bare.code).toBe(0);
    expect(bare.stdout).not.toContain('retention:');
    const again = await runHearth(['migrate', '--config', withRetention], env);
    expect(again.stdout).not.toContain('retention:');
  });

  it('starts, prints where to find everything, and stops cleanly on SIGTERM', async () => {
    const hearth = await startHearthProcess(['--config', configFile('ok.json', { sites: [{ id: 'acme', origins: ['https://acme.test'] }] })]);
    expect(hearth.output()).toContain(`<script async src="${hearth.url}/hearth.js" data-site="acme"></script>`);
    // The operator chose the token (HEARTH_ADMIN_TOKEN): it is named, never printed into the logs.
    expect(hearth.output()).toContain('Authorization: Bearer $HEARTH_ADMIN_TOKEN');
    expect(hearth.output()).not.toContain(hearth.token);
    expect(hearth.output()).toContain(`  data        ${hearth.dataDir} (embedded ClickHouse in clickhouse/, write-ahead log in wal/)\n`);
    expect((await fetch(`${hearth.url}/readyz`)).status).toBe(200);
    expect(await hearth.stop()).toBe(0);
  });

  it('prints the public address (dashboardUrl) in the lines people copy, behind a proxy', async () => {
    const hearth = await startHearthProcess(['--config', configFile('proxied.json', { dashboardUrl: 'https://hearth.acme.test/', sites: [{ id: 'acme', origins: ['https://acme.test'] }] })]);
    try {
      const output = hearth.output();
      expect(output).toContain(`Hearth is running at ${hearth.url} (reached at https://hearth.acme.test, its dashboardUrl)\n`);
      expect(output).toContain('  dashboard   https://hearth.acme.test/dashboard\n');
      expect(output).toContain('<script async src="https://hearth.acme.test/hearth.js" data-site="acme"></script>');
      expect(output).toContain('"https://hearth.acme.test/api/leads?site=acme"');
      expect(output.split('\n').filter((line) => line.includes(hearth.url))).toEqual([`Hearth is running at ${hearth.url} (reached at https://hearth.acme.test, its dashboardUrl)`]);
    } finally {
      await hearth.stop();
    }
  });

  it('says at start which sites the store holds data of that the configuration no longer has', { timeout: 90_000 }, async () => {
    const dataDir = freshDataDir();
    const [acme, beta] = [{ id: 'acme', origins: ['https://acme.test'] }, { id: 'beta', origins: ['https://beta.test'] }];
    const both = await startHearthProcess(['--config', configFile('both.json', { sites: [acme, beta] })], { HEARTH_DATA_DIR: dataDir });
    try {
      const body = { s: 'beta', v: 'v0123456789abcdef01234567', e: [{ i: '6d3c4b5a-1e2f-4a3b-8c7d-0e1f2a3b4c5d', t: Date.now(), n: 'f', u: 'https://beta.test/contact', k: 'contact', p: { email: 'bo@beta.test' } }] };
      const sent = await fetch(`${both.url}/collect`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'https://beta.test', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0.0.0 Safari/537.36' }, body: JSON.stringify(body) });
      expect(sent.status).toBe(202);
      const leads = async () => (await (await fetch(`${both.url}/api/leads?site=beta`, { headers: { authorization: `Bearer ${both.token}` } })).json()) as { leads: unknown[] };
      await expect.poll(async () => (await leads()).leads.length, { timeout: 20_000 }).toBe(1);
      expect(both.output()).not.toContain('which the configuration no longer has');
    } finally {
      await both.stop();
    }
    // A site of which only sales' qualifications are left: retention expires every other table's rows, not those.
    const store = createStoreClient({ dataDir });
    try {
      await store.insert({ table: 'lead_qualifications', values: [{ site_id: 'gamma', lead_id: 'l_0123456789abcdef0123', framework: 'bant', owner: 'sam', changed_at: '2026-01-05 10:00:00.000' }], format: 'JSONEachRow' });
    } finally {
      await store.close();
    }
    const alone = await startHearthProcess(['--config', configFile('acme-alone.json', { sites: [acme] })], { HEARTH_DATA_DIR: dataDir });
    try {
      const said = 'the store holds data of site \\"beta\\", which the configuration no longer has: it is kept, out of every page, list and export; put the site back under the same id to see, export or erase its people (docs/configuration.md, Removing a site)';
      await expect.poll(() => alone.output(), { timeout: 20_000 }).toContain(said);
      await expect.poll(() => alone.output(), { timeout: 20_000 }).toContain('the store holds data of site \\"gamma\\", which the configuration no longer has');
      expect(alone.output()).not.toContain('site \\"acme\\", which');
    } finally {
      await alone.stop();
    }
  });
});
