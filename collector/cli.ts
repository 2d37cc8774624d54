import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { ConfigError, loadConfig } from './config/load.ts';
import { configSchema, type HearthConfig } from './config/schema.ts';
import { startServer } from './server.ts';
import { hashPasswordCommand, loginLines, newTokenCommand } from './auth/auth.cli.ts';
import { createStoreClient, describeStore, storeOptionsFromEnv, type StoreOptions } from './store/client.ts';
import { prepareStore, withStorageConfig } from './store/prepare.ts';
import { generateHistory } from './demo/history.ts';
import { scoreOfSnapshot } from './api/scores.ts';
import { storedLeadPage } from '../scoring/snapshots.ts';
import { insertEvents } from './ingest/sink.ts';
import { createScorer } from './scorer.ts';
import { backtestSite, formatBacktest, loadRulesFile } from './backtest.ts';

const USAGE = `Usage: hearth <command> [options]

Commands:
  start     run the collector, the API and the demo site (if configured) in one process
  migrate   apply pending ClickHouse migrations and exit
  score     rescore every lead (the stored scores lists and dashboards read), then print a site's leads with their
            score, temperature, stage and top reasons (--json for all)
  backtest  score the site's history with a rules file next to its current rules: temperatures, movements,
            MQL volume, precision and recall against sales' verdicts (--json for machines)
  schema    print the JSON Schema of hearth.config.json (for editors)
  hash-password  read a password (typed, or from stdin) and print its hash for the config's "users"
  new-token [--name NAME] [--role admin|marketing|sales]
            print a new API token and the hash to put in the config's "tokens"
  demo      write a realistic synthetic history of the demo site into the store (hearth must not be running
            on the same HEARTH_DATA_DIR: the embedded engine allows one process per data directory)

Options:
  --config FILE   the config file (default: hearth.config.json)
  --port N        listen on port N (default: the config's server.port, else 8787; 0 picks a free port)
  --host HOST     listen on HOST (default: the config's server.host, else 127.0.0.1)
  demo: --visitors N (default 2000), --days N (default 90), --seed N (default 1), --site ID (default: the first)
  backtest: --rules FILE (required; the shape of a site's "rules" in the config), --since DATE (only leads seen
            and behaviour since then, e.g. 2026-03-01 or 2026-03-01T09:00:00Z), --limit N (leads that move most
            to list, default 10, all with --json)

Environment:
  HEARTH_DATA_DIR       where embedded data lives (default: .hearth)
  HEARTH_ADMIN_TOKEN    the API's bearer token (default: a new random token each start, printed)
  HEARTH_USERS          users as a JSON array of {"name", "role", "passwordHash"}; adds to or replaces the config's
  CLICKHOUSE_URL        use a ClickHouse server instead of the embedded engine
  CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE
  CLICKHOUSE_CLUSTER    run migrations as ON CLUSTER DDL for this cluster (overrides storage.cluster)
  HEARTH_WAL_MAX_MB     undelivered events kept on disk while ClickHouse is down, before 503 (default: 1024)
  HEARTH_WAL_FLUSH_ROWS, HEARTH_WAL_FLUSH_MS
                        move the log into ClickHouse at this many rows or after this long (default: 10000, 1000)
  LOG_LEVEL             fatal, error, warn, info (default), debug`;

class UsageError extends Error {}
/** The store cannot do what a command asks: the message says why, without a stack. */
class StoreError extends Error {}

function readOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      visitors: { type: 'string' },
      days: { type: 'string' },
      seed: { type: 'string' },
      site: { type: 'string' },
      json: { type: 'boolean' },
      limit: { type: 'string' },
      rules: { type: 'string' },
      since: { type: 'string' },
    },
    strict: true,
  });
  const integer = (flag: string, text: string | undefined, min: number, max: number) => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!(Number.isInteger(value) && value >= min && value <= max)) throw new UsageError(`--${flag} expects a whole number from ${min} to ${max}, got "${text}"`);
    return value;
  };
  // A date is UTC midnight; a time needs its zone, so the same command means the same moment everywhere.
  const date = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const value = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text) ? new Date(text) : undefined;
    if (!value || Number.isNaN(value.getTime())) throw new UsageError(`--${flag} expects a date such as 2026-03-01 or 2026-03-01T09:00:00Z, got "${text}"`);
    return value;
  };
  return {
    configFile: values.config ?? 'hearth.config.json',
    configGiven: values.config !== undefined,
    port: integer('port', values.port, 0, 65535),
    host: values.host,
    help: values.help,
    visitors: integer('visitors', values.visitors, 1, 10_000_000),
    days: integer('days', values.days, 1, 3650),
    seed: integer('seed', values.seed, 0, 2 ** 31),
    site: values.site,
    json: values.json ?? false,
    limit: integer('limit', values.limit, 1, 1_000_000),
    rulesFile: values.rules,
    since: date('since', values.since),
  };
}

async function start(args: string[]): Promise<void> {
  const options = readOptions(args);
  const config: HearthConfig = loadConfig(options.configFile);
  if (options.port !== undefined) config.server.port = options.port;
  if (options.host !== undefined) config.server.host = options.host;
  const store = withStorageConfig(storeOptionsFromEnv(), config.storage);
  const server = await startServer({
    config,
    store,
    adminToken: process.env.HEARTH_ADMIN_TOKEN,
    logger: { level: process.env.LOG_LEVEL || 'info' },
  });
  const site = config.sites[0]!.id;
  const lines = [
    `Hearth is running at ${server.url}`,
    config.serveDemoSite ? `  demo site   ${server.url}/demo/` : undefined,
    `  dashboard   ${server.url}/dashboard`,
    ...loginLines(server.url, server.firstAdmin),
    `  snippet     <script async src="${server.url}/hearth.js" data-site="${site}"></script>`,
    `  leads API   curl -H "Authorization: Bearer ${server.adminToken}" "${server.url}/api/leads?site=${site}"`,
    server.adminTokenGenerated ? '              (a token made for this run; set HEARTH_ADMIN_TOKEN to choose your own)' : undefined,
    `  data        ${describeStore(store)}`,
  ];
  process.stdout.write(lines.filter(Boolean).join('\n') + '\n');
  const stop = (signal: string) => {
    server.app.log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

type SiteCommand = (context: {
  options: ReturnType<typeof readOptions>;
  config: HearthConfig;
  site: HearthConfig['sites'][number];
  store: StoreOptions;
  client: ClickHouseClient;
}) => Promise<void>;

/** Runs a command on one site (`--site`, else the config's first) with the store open, closing it after. */
async function withSite(args: string[], command: SiteCommand): Promise<void> {
  const options = readOptions(args);
  const config = loadConfig(options.configFile);
  const site = config.sites.find((candidate) => candidate.id === (options.site ?? config.sites[0]!.id));
  if (!site) throw new UsageError(`--site: no site "${options.site}" in ${options.configFile}`);
  const store = withStorageConfig(storeOptionsFromEnv(), config.storage);
  const client = createStoreClient(store);
  try {
    await command({ options, config, site, store, client });
  } finally {
    await client.close();
  }
}

const writeDemoHistory: SiteCommand = async ({ options, config, site, store, client }) => {
  await prepareStore(client, store, config.storage?.retentionDays);
  const started = Date.now();
  const visitors = options.visitors ?? 2000;
  const rows = generateHistory({
    site: site.id,
    origin: `http://${config.server.host}:${config.server.port}`,
    visitors,
    days: options.days ?? 90,
    seed: options.seed ?? 1,
    now: Date.now(),
  });
  // Large inserts: the store writes one part per insert.
  for (let start = 0; start < rows.length; start += 100_000) await insertEvents(client, rows.slice(start, start + 100_000));
  await refreshStoredScores(config, store, client);
  const leads = new Set(rows.filter((row) => row.email).map((row) => row.email)).size;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`wrote ${rows.length} events of ${visitors} visitors (${leads} leads) for site "${site.id}" in ${seconds} s to ${describeStore(store)}`);
};

/**
 * Rescores every lead of every site into lead_scores, as a running collector does at start (alerts are left to it).
 * Unlike a collector, it gives up at the first failure: a command should end with the reason, not retry forever.
 */
async function refreshStoredScores(config: HearthConfig, store: StoreOptions, client: ClickHouseClient): Promise<void> {
  const scorer = createScorer({ config, client, log: { warn() {} }, drained: async () => {}, dashboardUrl: () => '', giveUpOnFailure: true });
  try {
    await scorer.settled();
  } catch (err) {
    if ((err as { type?: string }).type === 'UNKNOWN_TABLE') {
      throw new StoreError(`${describeStore(store)} holds no Hearth tables yet: run \`hearth migrate\` or \`hearth start\` first`);
    }
    throw new StoreError(`cannot rescore the leads in ${describeStore(store)}: ${(err as Error).message}`);
  } finally {
    await scorer.close();
  }
}

const printScores: SiteCommand = async ({ options, config, site, store, client }) => {
  await refreshStoredScores(config, store, client);
  // The stored scores just written, as lists and dashboards show them: only the leads printed leave ClickHouse (a
  // large site has a million), and the site is not scored a second time to print them. --json alone prints all.
  const limit = options.limit ?? (options.json ? 2 ** 32 - 1 : 50);
  const scores = (await storedLeadPage(client, site.id, { sort: 'score', offset: 0, limit })).rows.map(scoreOfSnapshot);
  if (options.json) return console.log(JSON.stringify(scores, null, 2));
  const rows = scores.map((lead) => [
    String(lead.score).padStart(5),
    lead.temperature.padEnd(4),
    (lead.stage || '-').padEnd(4),
    (lead.email || lead.lead_id).slice(0, 40).padEnd(40),
    lead.reasons.slice(0, 3).map((reason) => `${reason.rule} ${reason.points > 0 ? '+' : ''}${Math.round(reason.points)}`).join(', '),
  ]);
  console.log(['score', 'temp', 'stage', 'lead'.padEnd(40), 'top reasons'].join('  '));
  for (const row of rows) console.log(row.join('  '));
};

const printBacktest: SiteCommand = async ({ options, site, client }) => {
  if (!options.rulesFile) throw new UsageError('backtest needs --rules FILE: a JSON file shaped like a site\'s "rules" in the config');
  const now = new Date();
  if (options.since && options.since >= now) throw new UsageError(`--since ${options.since.toISOString()} is not in the past`);
  const candidate = loadRulesFile(options.rulesFile, site);
  const run = await backtestSite(client, site, candidate, { rulesFile: options.rulesFile, since: options.since, now, top: options.limit ?? (options.json ? Infinity : 10) });
  console.log(options.json ? JSON.stringify(run, null, 2) : formatBacktest(run));
};

/** `hearth migrate` reads the config's `storage` section when a config file is given or present, and runs without one. */
async function runMigrations(configFile: string, configGiven: boolean): Promise<void> {
  const config = configGiven || existsSync(configFile) ? loadConfig(configFile) : undefined;
  const store = withStorageConfig(storeOptionsFromEnv(), config?.storage);
  const client = createStoreClient(store);
  try {
    const { applied, retention } = await prepareStore(client, store, config?.storage?.retentionDays);
    console.log(applied.length ? `applied ${applied.join(', ')} to ${describeStore(store)}` : `${describeStore(store)} is up to date`);
    for (const statement of retention) console.log(`retention: ${statement}`);
  } finally {
    await client.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        await start(rest);
        return 0;
      case 'migrate': {
        const options = readOptions(rest);
        await runMigrations(options.configFile, options.configGiven);
        return 0;
      }
      case 'score':
        await withSite(rest, printScores);
        return 0;
      case 'backtest':
        await withSite(rest, printBacktest);
        return 0;
      case 'demo':
        await withSite(rest, writeDemoHistory);
        return 0;
      case 'schema':
        console.log(JSON.stringify(z.toJSONSchema(configSchema, { io: 'input' }), null, 2));
        return 0;
      case 'hash-password':
        return await hashPasswordCommand();
      case 'new-token':
        return newTokenCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`hearth: ${err.message}`);
      return 2;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`hearth: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof StoreError) {
      console.error(`hearth: ${err.message}`);
      return 1;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`hearth: the port is already in use; pass --port N to choose another`);
      return 1;
    }
    console.error(`hearth: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}
