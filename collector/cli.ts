import { accessSync, constants, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants as osConstants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ClickHouseError, createClient, type ClickHouseClient } from '@clickhouse/client';
import { isRecord, type Rules } from '../scoring/rules.ts';
import { ConfigError, loadConfig, parseConfig, readJsonFile, refuseUnrunnablePatterns } from './config/load.ts';
import { rulePatterns } from '../scoring/patterns.ts';
import { configJsonSchema, type HearthConfig, type SiteConfig } from './config/schema.ts';
import { startServer, type RunningServer } from './server.ts';
import { publicUrl } from './config/public-url.ts';
import { DEMO_SITE_ID, hearthVersion, packageRoot } from './paths.ts';
import { hashPasswordCommand, loginLines, newTokenCommand } from './auth/auth.cli.ts';
import { createStoreClient, describeStore, isUnreachable, storeOptionsFromEnv, withUrlParts, type StoreOptions } from './store/client.ts';
import { clusterTarget, prepareStore, sayWaiting, withStorageConfig } from './store/prepare.ts';
import { MigrationRefused, migrationScript, readMigrations, unappliedMigrations } from './store/migrate.ts';
import { eventExpired, freshRetentionStatements } from './store/retention.ts';
import { copyStore, countedRows, IMPORTED_TABLES } from './store/import.ts';
import { createWalSink } from './ingest/wal.ts';
import { erasureFilter } from './ingest/erasures.ts';
import { historySlices } from './demo/history.ts';
import { listedLeads, rulesOf, scoreOfSnapshot, sitePatterns } from './api/scores.ts';
import { currentQualifications } from './api/lead-store.ts';
import { judgeQualification } from '../scoring/qualification.ts';
import { storedLeadPage } from '../scoring/snapshots.ts';
import { weightiestReasons } from '../scoring/labels.ts';
import { insertEvents } from './ingest/sink.ts';
import { createScorer } from './scorer.ts';
import { createAlertDispatcher } from '../scoring/alerts/index.ts';
import { backtestSite, formatBacktest, loadRulesFile, writes, type Candidate } from './backtest.ts';

/** Said after `config file …/hearth.config.json does not exist` when no --config was given. */
const NO_CONFIG_HINT =
  '\n(with no --config, hearth reads hearth.config.json in the current directory: write one as docs/configuration.md shows, ' +
  'or give --config FILE; `npm start` runs the demo site\'s, test/fixtures/hearth.demo.json)';

/** pino's levels, which `hearth start` logs at. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const USAGE = `Usage: hearth <command> [options]

Commands:
  start     run the collector, the API and the demo site (if configured) in one process
  migrate   apply pending ClickHouse migrations and exit (--print: print them all as SQL, ON CLUSTER DDL for a
            cluster, and apply nothing)
  score     rescore every lead (the stored scores lists and dashboards read), then print a site's identified leads
            with their score, temperature, stage and top reasons (--json for all)
  backtest  score the site's history with a rules file next to its current rules: temperatures, movements,
            MQL volume, precision and recall against sales' verdicts (--json for machines)
  schema    print the JSON Schema of hearth.config.json (for editors)
  rules     print a site's scoring rules as JSON (its own, else the default grid over its page groups), in the shape
            of a site's "rules" and of backtest's --rules FILE: where to start editing them
  hash-password  read a password (typed, or from stdin) and print its hash for the config's "users"
  new-token [--name NAME] [--role admin|marketing|sales]
            print a new API token and the hash to put in the config's "tokens" (by default my-machine, marketing)
  demo      write a realistic synthetic history of the demo site into the store (hearth must not be running
            on the same HEARTH_DATA_DIR: the embedded engine allows one process per data directory)
  import    copy an embedded store (--from DIR, the HEARTH_DATA_DIR it ran with, Hearth stopped) into the ClickHouse
            server CLICKHOUSE_URL names, which holds no events yet: to move from the embedded default to a server
  help [COMMAND], --version  this text (one command's part); Hearth's version

Options (a command refuses the ones it does not take):
  --config FILE   the config file (default: hearth.config.json); start, migrate, score, backtest, demo, rules, import
  start: --port N (default: the config's server.port, else 8787; 0 picks a free port), --host HOST (default: the
            config's server.host, else 127.0.0.1)
  score: --site ID (needed when the config has several sites), --json, --limit N (leads to print, default 50, all with --json)
  demo: --visitors N (default 2000), --days N (default 90), --seed N (default 1), --site ID (needed when the config
            has several sites, but for the demo site it serves)
  backtest: --rules FILE (required; the shape of a site's "rules" in the config), --since DATE (only leads seen
            and behaviour since then, e.g. 2026-03-01 or 2026-03-01T09:00:00Z: a time with its zone), --limit N
            (leads that move most to list, default 10, all with --json), --site ID (needed when the config has
            several sites), --json
  rules: --site ID (needed when the config has several sites)
  import: --from DIR (required: the data directory of the embedded store to copy)

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
  HEARTH_SEND_ALERTS    false: this collector records alerts and never sends them (default: true; with a
                        ClickHouse server, one collector at a time sends, the others taking over if it stops)
  HEARTH_RESCORE_SLICE_LEADS
                        a full rescoring works in slices of about this many leads (default: 100000)
  LOG_LEVEL             ${LOG_LEVELS.join(', ')} (default: info)`;

/**
 * `hearth <command> --help`: the command's own lines of the usage (what it does, its options) and the environment for
 * the commands that open the store; `hearth help` has them all.
 */
function commandUsage(command: Command | 'new-token'): string {
  const lines = USAGE.split('\n');
  // A line of the usage with the lines under it that carry it on (indented past the names).
  const entry = (starts: string) => {
    const at = lines.findIndex((line) => line.startsWith(starts));
    if (at < 0) return [];
    const end = lines.findIndex((line, i) => i > at && !/^ {12}\S/.test(line));
    return lines.slice(at, end < 0 ? undefined : end);
  };
  const store = command !== 'new-token' && opensStore(command);
  const options = [...(command !== 'new-token' && takesConfig(command) ? entry('  --config FILE') : []), ...entry(`  ${command}: `)];
  const environment = store ? lines.slice(lines.indexOf('Environment:')) : [];
  return [
    `Usage: hearth ${command}${options.length ? ' [options]' : ''}`,
    '',
    ...entry(`  ${command} `),
    ...(options.length ? ['', 'Options:', ...options] : []),
    ...(environment.length ? ['', ...environment] : []),
    '',
    '(hearth help lists every command)',
  ].join('\n');
}

class UsageError extends Error {}
/** A command refused for what the store holds: the reason alone (exit 2), which no option of the command's would mend. */
class RefusedError extends Error {}
/** The store cannot do what a command asks: the message says why, without a stack. */
class StoreError extends Error {}

/** The options each command takes (besides --help): any other is refused, not ignored. */
const COMMAND_OPTIONS = {
  start: ['config', 'port', 'host'],
  migrate: ['config', 'print'],
  score: ['config', 'site', 'json', 'limit'],
  backtest: ['config', 'site', 'json', 'limit', 'rules', 'since'],
  demo: ['config', 'site', 'visitors', 'days', 'seed'],
  schema: [],
  rules: ['config', 'site'],
  'hash-password': [],
  import: ['config', 'from'],
} as const;
type Command = keyof typeof COMMAND_OPTIONS;
const takesConfig = (command: Command) => (COMMAND_OPTIONS[command] as readonly string[]).includes('config');
/** The commands that open the store: those that take a config (start, migrate, score, backtest, demo), but rules. */
const opensStore = (command: Command) => command !== 'rules' && takesConfig(command);

/**
 * A day, or a moment as RFC 3339 writes it (`t` and `z` in either case, any fraction of a second, a space for the `T`,
 * which RFC 3339 allows for readability and `date --rfc-3339` prints), or without seconds. The zone is optional here
 * only so that a time without one is refused saying what it lacks.
 */
const DATE = /^(\d{4}-\d{2}-\d{2})(?:([Tt ])(\d{2}:\d{2})(?:(:\d{2})(?:\.\d+)?)?([Zz]|([+-])(\d{2}):(\d{2}))?)?$/;

/** parseArgs keeps the last of a repeated option: `--site a --site b` would run on b alone, without a word. */
function refuseRepeats(tokens: ReturnType<typeof parseArgs>['tokens'] = []): void {
  const given = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (given.has(token.name)) throw new UsageError(`--${token.name} is given twice; give it once`);
    given.add(token.name);
  }
}

/** The reason and the commands there are, last on the screen (the whole usage after it scrolled it away), as for a bad option. */
function unknownCommand(command: string, hint = ''): number {
  const commands = [...Object.keys(COMMAND_OPTIONS), 'new-token', 'help', 'version'].join(', ');
  console.error(`hearth: unknown command "${command}"${hint}; the commands are ${commands}\n(hearth help lists every command's options)`);
  return 2;
}

function readOptions(command: Command, given: string[]) {
  // "--limit -5": parseArgs takes a value starting with a dash for an option; joined, its own check names it.
  const args: string[] = [];
  for (let i = 0; i < given.length; i++) args.push(/^--\w+$/.test(given[i]!) && /^-\d/.test(given[i + 1] ?? '') ? `${given[i]}=${given[++i]}` : given[i]!);
  const { values, tokens } = parseArgs({
    args,
    tokens: true,
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
      print: { type: 'boolean' },
      from: { type: 'string' },
    },
    strict: true,
  });
  refuseRepeats(tokens);
  const taken: readonly string[] = COMMAND_OPTIONS[command];
  for (const [flag, value] of Object.entries(values)) {
    if (flag === 'help') continue;
    if (!taken.includes(flag)) {
      const takes = taken.length ? `it takes ${taken.map((name) => `--${name}`).join(', ')}` : 'it takes none';
      throw new UsageError(`--${flag} is not an option of "hearth ${command}" (${takes})`);
    }
  }
  const text = (flag: 'config' | 'host' | 'site' | 'rules' | 'from') => {
    if (values[flag] === '') throw new UsageError(`--${flag} needs a value, got ""`);
    return values[flag];
  };
  // Plain decimal digits only: Number() would also read "", " 5", "0x10" and "1e3".
  const integer = (flag: string, text: string | undefined, min: number, max: number) => {
    if (text === undefined) return undefined;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(value >= min && value <= max)) throw new UsageError(`--${flag} expects a whole number from ${min} to ${max}, got "${text}"`);
    return value;
  };
  // A date is UTC midnight; a time needs its zone, so the same command means the same moment everywhere.
  const date = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const match = DATE.exec(text);
    if (!match) throw new UsageError(`--${flag} expects a date such as 2026-03-01 or 2026-03-01T09:00:00Z, got "${text}"`);
    const [, day, separator, minute, second, zone, sign, offsetHours, offsetMinutes] = match;
    // Said as such: a time without its zone is the mistake to expect (it reads as the author's local time), and the
    // general message would send them to the date such a text already is.
    if (separator && !zone) throw new UsageError(`--${flag} "${text}" has a time but no zone: add Z for UTC or an offset such as +02:00 (${text}Z)`);
    // With a T, the form ECMAScript's Date reads by its standard rather than by each engine's guess.
    const value = new Date(separator ? `${day}T${text.slice(day!.length + 1)}` : text);
    // A month, hour or second past its end that Date does not roll over (2026-13-01, a leap second's :60).
    if (Number.isNaN(value.getTime())) throw new UsageError(`--${flag}: "${text}" is not a real date or time`);
    // Date rolls impossible fields over (February 30 is March 2, 24:00 the next day): written back in the text's own
    // zone, the moment must read as the text does.
    const offset = sign ? (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) : 0;
    const back = new Date(value.getTime() + offset * 60_000).toISOString();
    if (back.slice(0, 10) !== day || (minute && back.slice(11, 16) !== minute) || (second && back.slice(16, 19) !== second)) {
      throw new UsageError(`--${flag}: "${text}" is not a real date or time (it would be read as ${value.toISOString()})`);
    }
    return value;
  };
  return {
    configFile: text('config') ?? 'hearth.config.json',
    configGiven: values.config !== undefined,
    port: integer('port', values.port, 0, 65535),
    host: text('host'),
    help: values.help ?? false,
    visitors: integer('visitors', values.visitors, 1, 10_000_000),
    days: integer('days', values.days, 1, 3650),
    seed: integer('seed', values.seed, 0, 2 ** 31),
    site: text('site'),
    json: values.json ?? false,
    limit: integer('limit', values.limit, 1, 1_000_000),
    rulesFile: text('rules'),
    since: date('since', values.since),
    print: values.print ?? false,
    from: text('from'),
  };
}
type Options = ReturnType<typeof readOptions>;

/**
 * The environment a command reads is checked before anything is opened, so that a bad value is named with the
 * variable rather than surfacing as a stack from the logger, the file system or the ClickHouse client.
 */
function logLevelFromEnv(): string {
  const level = process.env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(`LOG_LEVEL expects one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return level;
}

/** The shortest admin token taken: it opens everything. */
const MIN_ADMIN_TOKEN = 12;

/**
 * HEARTH_ADMIN_TOKEN, when set (empty: a new random one each start). Its surrounding whitespace is no part of it (a
 * secret file's newline); one it cannot work with is refused rather than taken silently: a token a Bearer header
 * cannot carry (a space or a control character inside), or one short enough to guess.
 */
function adminTokenFromEnv(): string | undefined {
  const token = process.env.HEARTH_ADMIN_TOKEN?.trim();
  if (!token) return undefined;
  if (!/^[\x21-\x7e]+$/.test(token)) throw new ConfigError('HEARTH_ADMIN_TOKEN holds a space or a character an Authorization header cannot carry; use letters, digits and punctuation, e.g. from `openssl rand -base64 24`');
  if (token.length < MIN_ADMIN_TOKEN) throw new ConfigError(`HEARTH_ADMIN_TOKEN is ${token.length} ${token.length === 1 ? 'character' : 'characters'} long; use at least ${MIN_ADMIN_TOKEN}, e.g. from \`openssl rand -base64 24\``);
  return token;
}

/**
 * The store the environment and the config's `storage` name. `usesDataDir`: the command writes under HEARTH_DATA_DIR
 * even with a ClickHouse server (the write-ahead log, sessions).
 */
function storeFromEnv(storage: HearthConfig['storage'], usesDataDir: boolean, configFile?: string, printOnly = false): StoreOptions {
  const fromEnv = storeOptionsFromEnv();
  if (fromEnv.url) {
    // As it was given: fromEnv's has its user, password and database taken out.
    checkClickHouseUrl(process.env.CLICKHOUSE_URL!);
    checkGivenOnce(process.env.CLICKHOUSE_URL!);
  } else {
    checkNoServerSettings();
  }
  if (usesDataDir || !fromEnv.url) checkDataDir(fromEnv.dataDir, fromEnv.url ? fromEnv.dataDir : join(fromEnv.dataDir, 'clickhouse'));
  return withStorageConfig(fromEnv, storage, configFile && resolve(configFile), { printOnly });
}

/**
 * A user, password or database for a ClickHouse server with no CLICKHOUSE_URL (unset, or lost on the way: a `sudo`,
 * a unit file that sets only some): the command would run on the embedded store, writing events and scores where
 * the operator does not look, without a word.
 */
function checkNoServerSettings(): void {
  const given = ['CLICKHOUSE_USER', 'CLICKHOUSE_PASSWORD', 'CLICKHOUSE_DATABASE'].filter((variable) => process.env[variable]);
  if (given.length === 0) return;
  const names = given.join(', ').replace(/, (?=[^,]+$)/, ' and ');
  throw new ConfigError(
    `${names} ${given.length === 1 ? 'is' : 'are'} set but CLICKHOUSE_URL is not: they are for a ClickHouse server, and without its URL Hearth uses its embedded ClickHouse (chDB). Set CLICKHOUSE_URL to the server (https://clickhouse.example.com:8443), or unset ${names} for the embedded store`,
  );
}

/** A database or user given in CLICKHOUSE_URL and in its own variable, differently: the URL's would win without a word. */
function checkGivenOnce(text: string): void {
  // The parts the URL carries, read as the store reads them.
  const inUrl = withUrlParts({ dataDir: '', url: text });
  for (const [variable, given, what] of [
    ['CLICKHOUSE_DATABASE', inUrl.database, 'database'],
    ['CLICKHOUSE_USER', inUrl.username, 'user'],
  ] as const) {
    const set = process.env[variable];
    if (given && set && given !== set) throw new ConfigError(`CLICKHOUSE_URL names the ${what} "${given}" and ${variable} "${set}": give it once`);
  }
  // Neither password is shown.
  const password = process.env.CLICKHOUSE_PASSWORD;
  if (inUrl.password && password && inUrl.password !== password) throw new ConfigError('CLICKHOUSE_URL holds a password and CLICKHOUSE_PASSWORD another one: give it once');
}

/**
 * A CLICKHOUSE_URL as it may be shown: a password, whatever it holds, masked. Between the user's ":" and the last
 * "@": a password may hold "/" (openssl rand -base64 makes some), "@", "?" or "#" left unescaped, a user an "@"
 * (ops@corp.com). A URL with no "@" after a ":" is shown as it is.
 */
function maskedUrl(text: string): string {
  const parts = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@([^@]*)$/is.exec(text);
  const colon = parts ? parts[2]!.indexOf(':') : -1;
  return parts && colon >= 0 ? `${parts[1]}${parts[2]!.slice(0, colon + 1)}***@${parts[3]}` : text;
}

/** What to do with a password a URL cannot carry as it is. */
const ESCAPE_PASSWORD = 'write a "@", "/", "?", "#" or "%" of the password as %40, %2F, %3F, %23 or %25, or give the password in CLICKHOUSE_PASSWORD';

function checkClickHouseUrl(text: string): void {
  // The URL may carry a password: it is not repeated.
  const shown = maskedUrl(text);
  // A URL shown masked carries a password, which may be what breaks it.
  const hint = shown !== text ? ` (${ESCAPE_PASSWORD})` : '';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`CLICKHOUSE_URL expects a URL such as https://clickhouse.example.com:8443, got "${shown}"${hint}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`CLICKHOUSE_URL expects an http:// or https:// URL, got "${shown}"`);
  // An "@" after the host is a password's, unescaped after a "/", "?" or "#" of it (a URL for ClickHouse has no use for a
  // "#"; a query parameter's value, name=a@b, may hold one): the URL parses, a piece of the password or the user taken for
  // the host and the rest for the database, which the start-up line and every retry's log then printed.
  if (url.pathname.includes('@') || /^\?[^=]*@/.test(url.search) || url.hash !== '') {
    throw new ConfigError(`CLICKHOUSE_URL "${shown}" holds an "@" or a "#" after its host: ${ESCAPE_PASSWORD}`);
  }
  // What else the client reads from the URL (its ?parameters): a client is made, and dropped unused, to ask it.
  try {
    void createClient({ url: text }).close();
  } catch (err) {
    throw new ConfigError(`CLICKHOUSE_URL "${shown}": ${(err as Error).message}${hint}`);
  }
}

/** Whether `path` is a symbolic link (false when a file is in its way: ENOTDIR). */
function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The data directory, or the deepest folder the command makes in it, must be creatable: no file in the way, writable. */
function checkDataDir(dataDir: string, deepest: string): void {
  const problem = (path: string, what: string) => new ConfigError(`HEARTH_DATA_DIR: ${path === dataDir ? '' : `cannot use ${dataDir}: `}${what}`);
  for (let path = deepest; ; path = dirname(path)) {
    if (existsSync(path)) {
      if (!statSync(path).isDirectory()) throw problem(path, `${path} is a file, not a directory`);
      try {
        accessSync(path, constants.W_OK);
      } catch {
        throw problem(path, `cannot write to ${path}`);
      }
      // What the system says may be written to may still refuse a folder (/proc, to root): one made and removed says.
      if (path !== deepest) {
        const probe = join(path, `.hearth-probe-${process.pid}`);
        try {
          mkdirSync(probe);
          rmdirSync(probe);
        } catch (err) {
          throw problem(path, `cannot make a folder in ${path} (${(err as NodeJS.ErrnoException).code})`);
        }
      }
      return;
    }
    // A link to nothing (a missing mount): the folder cannot be made through it.
    if (isLink(path)) throw problem(path, `${path} is a link to ${readlinkSync(path)}, which does not exist`);
    if (dirname(path) === path) return;
  }
}

/**
 * Listens on the server's host and port for a moment, so that an address the server cannot take is named with where
 * it was set, rather than ending the start with a stack after the store was opened.
 */
async function checkListen(host: string, port: number, given: (key: 'host' | 'port') => string): Promise<void> {
  const probe = createServer();
  const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    probe.once('error', resolve);
    probe.listen({ host, port }, () => probe.close(() => resolve(undefined)));
  });
  if (!err) return;
  const shown = /^[\w.:-]+$/.test(host) ? (host.includes(':') ? `[${host}]` : host) : JSON.stringify(host);
  const where = `cannot listen on ${shown}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      throw new StoreError(`${where} (${given('port')}): the port is already in use; choose another with --port N`);
    case 'EACCES':
      throw new StoreError(`${where} (${given('port')}): ${port < 1024 ? 'a port below 1024 needs privileges' : 'permission denied'}; choose another with --port N`);
    case 'EADDRNOTAVAIL':
      throw new StoreError(`${where} (${given('host')}): ${host} is not an address of this machine`);
    case 'ENOTFOUND':
      throw new StoreError(`${where} (${given('host')}): no such host`);
    default:
      throw new StoreError(`${where} (${given('host')}): ${err.message}`);
  }
}

/**
 * Whether a TZ is one the embedded ClickHouse cannot load, which it names only on its own line of stderr: a POSIX rule
 * ("GMT-3", "UTC+2", "EST5EDT,M3.2.0,M11.1.0") or an unknown name, which Node's time zones refuse too, or a known name
 * in other letters' case ("europe/paris"), which Node takes and ClickHouse does not. A path (":/etc/localtime") loads.
 */
function unloadableTimeZone(tz: string | undefined): boolean {
  if (!tz || tz.startsWith(':')) return false;
  try {
    const known = new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
    return known !== tz && known.toLowerCase() === tz.toLowerCase();
  } catch {
    return true;
  }
}

/**
 * ClickHouse unreachable (refused, unknown host, timed out, TLS) or refusing the command (authentication, unknown
 * database, …): a StoreError that names the store and the reason, else undefined. The embedded store held by another
 * process has its own message (main).
 */
function storeFailure(err: unknown, store: StoreOptions, doing: string): StoreError | undefined {
  if (!(err instanceof Error) || err instanceof StoreError || err.name === 'ChdbConnectionError') return undefined;
  if (err instanceof MigrationRefused) return new StoreError(`cannot ${doing} ${describeStore(store)}: ${err.message}`);
  const code = String((err as NodeJS.ErrnoException).code ?? '');
  const tls = /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(code) || code === 'EPROTO';
  const network = store.url !== undefined && (isUnreachable(err) || tls);
  if (!(err instanceof ClickHouseError) && !network) return undefined;
  // OpenSSL's "wrong version number": an https:// URL to a server that answers plain HTTP there.
  if (tls && /wrong version number|WRONG_VERSION_NUMBER/.test(`${code} ${err.message}`)) {
    return new StoreError(`cannot ${doing} ${describeStore(store)}: the server does not answer TLS at this address (OpenSSL: wrong version number); use http:// if it speaks plain HTTP there, or the port of its HTTPS interface (8443 by default)`);
  }
  return new StoreError(`cannot ${doing} ${describeStore(store)}: ${err.message}`);
}

/**
 * A failure of a command on the store, explained when it can be: storeFailure's, and over HTTP, when the server that
 * answered is no ClickHouse (another service on the port, a proxy's error page, a Hearth collector), which the client
 * reports as an error of no kind (an empty message, a page of HTML, a JSON body), or a TypeError from reading the
 * answer as ClickHouse's: its GET /ping, which answers "Ok." from ClickHouse, says so.
 */
async function explainedStoreFailure(err: unknown, store: StoreOptions, doing: string): Promise<unknown> {
  const known = storeFailure(err, store, doing);
  if (known || !store.url || !(err instanceof Error) || err instanceof StoreError || err instanceof ConfigError || err instanceof UsageError) return known ?? err;
  const notClickHouse = await notClickHouseAt(store.url);
  return notClickHouse ? new StoreError(`cannot ${doing} ${describeStore(store)}: ${notClickHouse}`) : err;
}

/** Why the server at a URL is no ClickHouse (its answer to GET /ping is not "Ok."), or undefined when it is, or cannot be asked. */
async function notClickHouseAt(url: string): Promise<string | undefined> {
  let answer: { status: number; text: string };
  try {
    const response = await fetch(new URL('/ping', url), { signal: AbortSignal.timeout(5_000) });
    answer = { status: response.status, text: (await response.text()).trim() };
  } catch {
    return undefined;
  }
  if (answer.status === 200 && answer.text === 'Ok.') return undefined;
  const body = answer.text ? `, ${JSON.stringify(answer.text.length > 80 ? `${answer.text.slice(0, 80)}…` : answer.text)}` : ', no body';
  return `the server there does not answer as ClickHouse does (GET /ping: HTTP ${answer.status}${body}, where ClickHouse says "Ok."); CLICKHOUSE_URL must be the address of ClickHouse's HTTP interface (port 8123, or 8443 over https)`;
}

/**
 * SIGINT and SIGTERM as bin/hearth.cjs takes them while the CLI loads, when their default action would kill the
 * process: the first met, and the release of its listener once a command has its own. Released before, the last
 * listener would take with it a signal met and not yet handled.
 */
export interface LoadSignals {
  first(): NodeJS.Signals | undefined;
  release(): void;
}

/**
 * Calls `stop` at the first SIGINT or SIGTERM, at once for one met while the CLI loaded. A second one ends the process
 * at once (Ctrl-C twice), `atOnce` said first, by the signal itself (a shell reports 128 + its number).
 */
function onStopSignals(loading: LoadSignals | undefined, stop: (signal: NodeJS.Signals) => void, atOnce: () => string): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`hearth: ${signal} again: ${atOnce()}\n`);
      // Ended by the signal's own action, which a shell reports as 128 + its number: process.exit would first run the
      // embedded engine's exit handlers while its threads still work, and that crashed it (a segfault, 2 tries in 5).
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      // Should the signal not end it (a handler added meanwhile), the code it stands for.
      setTimeout(() => process.exit(128 + osConstants.signals[signal]), 1000).unref();
      return;
    }
    stopping = true;
    stop(signal);
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  loading?.release();
  const first = loading?.first();
  if (first) handle(first);
}

async function start(options: Options, loading: LoadSignals | undefined): Promise<void> {
  // Before anything is opened: a stop during the start (the wait for ClickHouse, the migrations, the log's opening)
  // ends it at its next safe point and closes what it opened, dropping the migration lock it holds, where the
  // signal's default action killed it there and then, the lock left to hold the next collector back a minute.
  const stopping = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  let server: RunningServer | undefined;
  const closeAndExit = (running: RunningServer, signal: NodeJS.Signals) => {
    running.app.log.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  onStopSignals(
    loading,
    (signal) => {
      stoppedBy = signal;
      if (server) return closeAndExit(server, signal);
      process.stderr.write(`hearth: ${signal} during the start: it stops at its next safe point and closes what it opened\n`);
      stopping.abort(new Error(`stopped by ${signal} during the start`));
    },
    () => 'exiting at once, without finishing the shutdown: the write-ahead log is replayed at the next start, and a migration lock this collector holds stays until the next one takes it over (60 s)',
  );
  const level = logLevelFromEnv();
  const adminToken = adminTokenFromEnv();
  const { path, raw } = readJsonFile(options.configFile, 'config');
  const config: HearthConfig = parseConfig(raw, path);
  if (options.port !== undefined) config.server.port = options.port;
  if (options.host !== undefined) config.server.host = options.host;
  const store = storeFromEnv(config.storage, true, options.configFile);
  // Before the store is migrated and the first admin made (its password is printed only once the server listens).
  const given = (key: 'host' | 'port') =>
    options[key] !== undefined ? `--${key}` : isRecord(raw) && isRecord(raw.server) && raw.server[key] !== undefined ? `server.${key} in ${path}` : `the default ${key}`;
  await checkListen(config.server.host, config.server.port, given);
  server = await startServer({ config, store, adminToken, logger: { level }, configFile: path, stop: stopping.signal }).catch(async (err: unknown) => {
    if (stopping.signal.aborted && err === stopping.signal.reason) return undefined;
    throw await explainedStoreFailure(err, store, 'start on');
  });
  if (!server) {
    process.stderr.write(`hearth: stopped by ${stoppedBy} before it listened; what the start had opened is closed\n`);
    process.exit(0);
  }
  const site = config.sites[0]!.id;
  const listening = server.url;
  // Behind a proxy, the address people and pages reach it at (dashboardUrl): a snippet of the listen address loads
  // nothing on a visitor's browser, and an https page refuses an http script.
  const url = publicUrl(config, listening);
  const lines = [
    `Hearth is running at ${listening}${url !== listening ? ` (reached at ${url}, its dashboardUrl)` : ''}`,
    config.serveDemoSite ? `  demo site   ${url}/demo/` : undefined,
    `  dashboard   ${url}/dashboard`,
    ...loginLines(url, server.firstAdmin),
    // Both lines, as the README gives them: without the queue stub, a hearth('identify', …) before the script loads throws.
    `  snippet     <script>window.hearth=window.hearth||function(){(window.hearth.q=window.hearth.q||[]).push(arguments)}</script>`,
    `              <script async src="${url}/hearth.js" data-site="${site}"></script>`,
    // A token the operator chose is theirs to know: printed, it would sit in every log that keeps stdout.
    `  leads API   curl -H "Authorization: Bearer ${server.adminTokenGenerated ? server.adminToken : '$HEARTH_ADMIN_TOKEN'}" "${url}/api/leads?site=${site}"`,
    server.adminTokenGenerated ? '              (a token made for this run; set HEARTH_ADMIN_TOKEN to choose your own)' : undefined,
    // The data directory, which a backup takes whole: over a server, the write-ahead log is still this machine's (a
    // volume of its own in a container).
    store.url ? `  data        ${describeStore(store)}; write-ahead log in ${join(store.dataDir, 'wal')}` : `  data        ${store.dataDir} (embedded ClickHouse in clickhouse/, write-ahead log in wal/)`,
    // Started all the same (store/prepare.ts): said here, where the operator looks, as well as in the log.
    server.storeProblem() ? `  not ready   ${server.storeProblem()}: events are kept in the write-ahead log until the store is prepared` : undefined,
    server.sink.status().full ? `  not ready   the write-ahead log is full from the last run (HEARTH_WAL_MAX_MB): events are refused (503) until ClickHouse takes them` : undefined,
  ];
  process.stdout.write(lines.filter(Boolean).join('\n') + '\n');
  // Stopped once the log was open: the start went on to listen (the first admin's password is in the lines above).
  if (stoppedBy) closeAndExit(server, stoppedBy);
}

type SiteCommand<T = undefined> = (context: {
  options: Options;
  config: HearthConfig;
  site: HearthConfig['sites'][number];
  store: StoreOptions;
  client: ClickHouseClient;
  /** What the command's `check` made of its input. */
  checked: T;
  /** Aborted by a SIGINT or SIGTERM, for a command that stops at a point of its own (demo). */
  stop: AbortSignal;
}) => Promise<void>;

/** The config, and the site a command is for: `--site`, else the config's only one, or `fallback`'s. */
function chooseSite(options: Options, fallback?: (config: HearthConfig) => string | undefined): { config: HearthConfig; site: SiteConfig; raw: unknown } {
  const { path, raw } = readJsonFile(options.configFile, 'config');
  const config = parseConfig(raw, path);
  // Of several sites, the one named: the first, taken silently, rescored one client's site of an agency's three and
  // left the others' signals unrecorded (as the API asks for `site=`, so does the command).
  const chosen = options.site ?? (config.sites.length === 1 ? config.sites[0]!.id : fallback?.(config));
  if (chosen === undefined) throw new UsageError(`--site: ${options.configFile} has ${config.sites.length} sites; choose one: ${config.sites.map((candidate) => `--site ${candidate.id}`).join(', ')}`);
  const site = config.sites.find((candidate) => candidate.id === chosen);
  if (!site) throw new UsageError(`--site: no site "${options.site}" in ${options.configFile}`);
  return { config, site, raw };
}

/**
 * A site's rules as it scores with them, every default filled in, for the config to take back as they are: but the
 * re-arm mark of "became hot" where the config leaves it to the hot threshold (written out, it would no longer follow
 * a change of `thresholds.hot`).
 */
function rulesAsWritten({ config, site, raw }: { config: HearthConfig; site: SiteConfig; raw: unknown }) {
  const rules = rulesOf(site);
  if (writes(writtenRules(raw, config.sites.indexOf(site)), 'signals.hotRearmBelow')) return rules;
  const { hotRearmBelow: _derived, ...signals } = rules.signals;
  return { ...rules, signals };
}

/** The rules of the config's `index`th site as the file writes them (before defaults), when it writes any. */
const writtenRules = (raw: unknown, index: number): unknown => (isRecord(raw) && Array.isArray(raw.sites) && isRecord(raw.sites[index]) ? raw.sites[index].rules : undefined);

/**
 * Runs a command on one site (`--site`, else the config's only one, or `fallback`'s) with the store open, closing it after. `check`
 * reads and refuses the command's own input first: the embedded store admits one process, so a bad file is named
 * even while `hearth start` holds it.
 */
async function withSite<T = undefined>(options: Options, command: SiteCommand<T>, check?: (site: SiteConfig, config: HearthConfig, raw: unknown) => T, fallback?: (config: HearthConfig) => string | undefined, stop: AbortSignal = new AbortController().signal): Promise<void> {
  const { config, site, raw } = chooseSite(options, fallback);
  const checked = check?.(site, config, raw) as T;
  const store = storeFromEnv(config.storage, false, options.configFile);
  // A command that reads what is stored (score, backtest) never makes an empty store where there was none: a mistyped
  // HEARTH_DATA_DIR ('~/data' quoted, which is no home directory) was left behind as a new directory.
  if (command !== writeDemoHistory && !store.url && !existsSync(join(store.dataDir, 'clickhouse'))) {
    const tilde = /^~/.test(process.env.HEARTH_DATA_DIR ?? '') ? ' (a quoted ~ is not the home directory)' : '';
    throw new StoreError(
      `nothing is stored in ${store.dataDir}${tilde}: the embedded store ${join(store.dataDir, 'clickhouse')} does not exist. Set HEARTH_DATA_DIR to the directory \`hearth start\` uses, or run \`hearth start\` or \`hearth demo\` there first`,
    );
  }
  const client = createStoreClient(store);
  try {
    // A store an earlier release wrote (an upgrade before `hearth migrate` or `start`): its tables lack what this one
    // reads, and the scoring query's 4 KB was quoted back with ClickHouse's "Unknown expression identifier".
    if (command !== writeDemoHistory) {
      const pending = await unappliedMigrations(client);
      if (pending.length > 0) throw new StoreError(`${describeStore(store)} has migrations not applied yet (${pending.join(', ')}): run \`hearth migrate\` or \`hearth start\`, which applies them, first`);
    }
    await command({ options, config, site, store, client, checked, stop });
  } catch (err) {
    throw await explainedStoreFailure(err, store, 'use');
  } finally {
    await client.close();
  }
}

/** A URL's host as `hearth start` prints it: a wildcard address names this machine, an IPv6 address is in brackets. */
function hostForPeople(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '::1') return 'localhost';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** `hearth demo` writes its history this many visitors at a time; it and `hearth import` say how far they got at most this often. */
const DEMO_SLICE = 2000;
const PROGRESS_MS = 5000;

const writeDemoHistory: SiteCommand = async ({ options, config, site, store, client, stop }) => {
  await prepareStore(client, store, config.storage?.retentionDays);
  // Made-up visitors and leads in a real site would sit in every figure, list and MQL count, and could only be taken
  // out one lead at a time: only into the demo site (of a config that serves it) or a site that holds nothing yet. A
  // config that serves the demo site may hold real sites too.
  if (!(config.serveDemoSite && site.id === DEMO_SITE_ID)) {
    const result = await client.query({ query: 'SELECT count() AS events FROM events WHERE site_id = {site:String}', query_params: { site: site.id }, format: 'JSONEachRow' });
    const [{ events: held } = { events: 0 }] = await result.json<{ events: string | number }>();
    if (Number(held) > 0) {
      const hasDemoSite = config.serveDemoSite && config.sites.some((candidate) => candidate.id === DEMO_SITE_ID);
      const why = hasDemoSite
        ? `is not the demo site ("${DEMO_SITE_ID}", which ${options.configFile} serves)`
        : config.serveDemoSite
          ? `${options.configFile} has no demo site (a site "${DEMO_SITE_ID}", which the demo site's pages send to)`
          : `${options.configFile} does not serve the demo site`;
      throw new RefusedError(
        `site "${site.id}" already holds ${counted(Number(held), 'event')}, and ${why}: a made-up history would mix with them in every figure and list. Write it into a store of its own (HEARTH_DATA_DIR=another directory), a site with no events, or ${hasDemoSite ? `the demo site (--site ${DEMO_SITE_ID})` : 'use the demo config'}`,
      );
    }
  }
  const started = Date.now();
  const visitors = options.visitors ?? 2000;
  const history = {
    site: site.id,
    origin: `http://${hostForPeople(config.server.host)}:${config.server.port}`,
    visitors,
    days: options.days ?? 90,
    seed: options.seed ?? 1,
    now: Date.now(),
  };
  // Generated and inserted a slice at a time, so memory stays flat however many visitors: 2,000 visitors are about
  // 37,000 rows, still large inserts (the store writes one part per insert).
  let events = 0;
  let leads = 0;
  let written = 0;
  // Made older than storage.retentionDays: the events table's TTL drops them as they are inserted.
  const retentionDays = config.storage?.retentionDays;
  let expired = 0;
  // A large history takes minutes (30,000 visitors: ~2.5): what it is doing is said every few seconds, never silent.
  console.log(`writing ${counted(history.days, 'day')} of ${counted(visitors, 'visitor')} for site "${site.id}"…`);
  let said = Date.now();
  for (const rows of historySlices(history, DEMO_SLICE)) {
    // Stopped (Ctrl-C): at the end of a slice, each visitor written whole; those written are scored below all the same.
    if (stop.aborted) break;
    // Each slice holds its visitors' whole history: their identities are as old as their latest visit, as a collector
    // would have kept them (else a retention would expire at once the leads who gave their email long ago).
    await insertEvents(client, rows, { wholeHistory: true });
    events += rows.length;
    if (retentionDays !== undefined) expired += rows.filter((row) => eventExpired(retentionDays, row, history.now)).length;
    written = Math.min(visitors, written + DEMO_SLICE);
    // A lead's email carries its visitor's number: no two slices share one.
    leads += new Set(rows.filter((row) => row.email).map((row) => row.email)).size;
    if (Date.now() - said >= PROGRESS_MS && written < visitors) {
      console.log(`  ${formatCount(written)} of ${counted(visitors, 'visitor')} written (${counted(events, 'event')})`);
      said = Date.now();
    }
  }
  console.log(`scoring ${counted(leads, 'lead')}…`);
  await refreshStoredScores(config, store, client);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const kept = expired > 0 ? `; ${counted(expired, 'event')} older than storage.retentionDays (${retentionDays}) not kept` : '';
  if (stop.aborted) {
    // Their leads are scored: lists and figures hold them whole. A site other than the demo site takes no second run.
    const again = config.serveDemoSite && site.id === DEMO_SITE_ID ? 'run it again to write them all (those written are not written twice)' : `site "${site.id}" holds them now, so \`hearth demo\` writes no more into it: a whole history needs a store of its own (HEARTH_DATA_DIR=another directory)`;
    console.error(`hearth: stopped by ${stop.reason} after writing ${formatCount(written)} of ${counted(visitors, 'visitor')} (${counted(events, 'event')}, ${counted(leads, 'lead')}, scored) for site "${site.id}" to ${describeStore(store)}${kept}; ${again}`);
    return;
  }
  console.log(`wrote ${counted(events, 'event')} of ${counted(visitors, 'visitor')} (${counted(leads, 'lead')}) for site "${site.id}" in ${seconds} s to ${describeStore(store)}${kept}`);
};

/** The error to show when a command reads a store that was never migrated, else undefined. */
function missingTables(err: unknown, store: StoreOptions): StoreError | undefined {
  if ((err as { type?: string }).type !== 'UNKNOWN_TABLE') return undefined;
  return new StoreError(`${describeStore(store)} holds no Hearth tables yet: run \`hearth migrate\` or \`hearth start\` first`);
}

/**
 * Rescores every lead of the config's sites into lead_scores, as a running collector does at start. Unlike a collector, it
 * gives up at the first failure: a command should end with the reason, not retry forever.
 *
 * `alerts`: the buying signals that are news are recorded in the alert outbox, as a collector records them, and the
 * next `hearth start` sends them. Without it (a demo's synthetic leads) they are not: the stored scores say they were
 * seen, so no alert is ever sent for them.
 */
async function refreshStoredScores(config: HearthConfig, store: StoreOptions, client: ClickHouseClient, { alerts = false } = {}): Promise<void> {
  const quiet = { info() {}, warn() {}, error() {} };
  // Never started: nothing is sent from here.
  const outbox = alerts && config.sites.some((site) => site.alerts) ? createAlertDispatcher({ client, config, log: quiet }) : undefined;
  const { host, port } = config.server;
  const scorer = createScorer({
    config,
    client,
    log: quiet,
    drained: async () => {},
    onAlerts: outbox && (async (news) => void (await outbox.enqueue(news))),
    // Where the collector would listen, as its alerts link when no dashboardUrl is configured.
    dashboardUrl: () => publicUrl(config, `http://${host.includes(':') ? `[${host}]` : host}:${port}`),
    giveUpOnFailure: true,
    cluster: clusterTarget(store),
  });
  try {
    await scorer.settled();
  } catch (err) {
    const missing = missingTables(err, store);
    if (missing) throw missing;
    const explained = await explainedStoreFailure(err, store, 'rescore the leads in');
    throw explained !== err ? explained : new StoreError(`cannot rescore the leads in ${describeStore(store)}: ${(err as Error).message}`);
  } finally {
    await scorer.close();
    await outbox?.close();
  }
}

/** Refuses a config whose rules hold a pattern ClickHouse cannot compile, naming the file and the pattern's path. */
const checkConfigPatterns = (client: ClickHouseClient, options: Options, config: HearthConfig) =>
  refuseUnrunnablePatterns(client, resolve(options.configFile), 'config', config.sites.flatMap(sitePatterns));

const printScores: SiteCommand = async ({ options, config, site, store, client }) => {
  await checkConfigPatterns(client, options, config);
  // The site printed alone: another site's scores and alerts are left to its own collector (or `hearth score --site`),
  // under the config it runs with; a config edited for one client site is not another's.
  await refreshStoredScores({ ...config, sites: [site] }, store, client, { alerts: true });
  // The stored scores just written, as lists and dashboards show them: only the leads printed leave ClickHouse (a
  // large site has a million), and the site is not scored a second time to print them. --json alone prints all.
  const limit = options.limit ?? (options.json ? 2 ** 32 - 1 : 50);
  // The identified leads, as the leads list shows them (anonymous visitors have scores too, but no one to call).
  const page = await storedLeadPage(client, site.id, { sort: 'score', kind: 'lead', offset: 0, limit });
  const scores = page.rows.map(scoreOfSnapshot);
  if (options.json) {
    // As GET /api/leads lists them, with the profile and what scoring read from it.
    const qualifications = await currentQualifications(client, site.id);
    const verdictOf = (leadId: string) => {
      const state = qualifications.get(leadId);
      return state && judgeQualification(state, site.qualification);
    };
    const listed = await listedLeads(client, site, scores, verdictOf);
    const leads = scores.map((score, i) => ({ ...listed[i]!, profile: score.profile, seniority: score.seniority || null, country: score.country || null, companySizeMin: score.company_size_min }));
    return console.log(JSON.stringify({ site: site.id, total: page.total, leads }, null, 2));
  }
  // As wide as the longest email shown: a cut address looks like another, real one.
  const width = Math.max(4, ...scores.map((lead) => lead.email.length));
  const rows = scores.map((lead) => [
    String(lead.score).padStart(5),
    lead.temperature.padEnd(4),
    (lead.stage || '-').padEnd(5),
    lead.email.padEnd(width),
    // Points as the API gives them, to two decimals: rounded to whole points, two reasons of 14.5 read "+15, +15" beside
    // a score of 29.
    weightiestReasons(lead.reasons).map((reason) => `${reason.rule} ${reason.points > 0 ? '+' : ''}${reason.points}`).join(', '),
  ]);
  // In a terminal narrower than a row, the reasons are cut to fit, never the email: a wrapped row put its reasons under
  // the next one's score. Piped (a file, less -S), rows are whole.
  const columns = process.stdout.isTTY ? process.stdout.columns : undefined;
  const fitted = (line: string) => (columns && line.length > columns ? `${line.slice(0, Math.max(columns - 1, width + 22))}…` : line);
  console.log(fitted(['score', 'temp', 'stage', 'lead'.padEnd(width), 'top reasons'].join('  ')));
  for (const row of rows) console.log(fitted(row.join('  ')));
  const more = scores.length < page.total ? `, the ${formatCount(scores.length)} best shown (--limit N for more)` : '';
  console.log(`${counted(page.total, 'lead')} on site "${site.id}"${more}`);
};

const formatCount = (n: number) => n.toLocaleString('en-US');
/** "1 lead", "2,000 leads". */
const counted = (n: number, one: string) => `${formatCount(n)} ${n === 1 ? one : `${one}s`}`;

/** The candidate rules, read and checked before the store is opened. */
function backtestRules(options: Options, site: SiteConfig, config: HearthConfig, raw: unknown): { candidate: Candidate; rulesFile: string; now: Date } {
  if (!options.rulesFile) throw new UsageError('backtest needs --rules FILE: a JSON file shaped like a site\'s "rules" in the config');
  const now = new Date();
  if (options.since && options.since >= now) throw new UsageError(`--since ${options.since.toISOString()} is not in the past`);
  // What the file leaves out is the site's current rules: a mistake in how the two meet is named in the config too.
  const index = config.sites.indexOf(site);
  const rulesInConfig = { file: resolve(options.configFile), path: `sites[${index}].rules`, written: writtenRules(raw, index) };
  return { candidate: loadRulesFile(options.rulesFile, site, rulesInConfig), rulesFile: options.rulesFile, now };
}

const printBacktest: SiteCommand<ReturnType<typeof backtestRules>> = async ({ options, config, site, store, client, checked: { candidate, rulesFile, now } }) => {
  await refuseUnrunnablePatterns(client, resolve(rulesFile), 'rules', rulePatterns(candidate.rules));
  await checkConfigPatterns(client, options, config);
  const top = options.limit ?? (options.json ? Infinity : 10);
  const run = await backtestSite(client, site, candidate, { rulesFile, since: options.since, now, top }).catch((err: unknown) => {
    throw missingTables(err, store) ?? err;
  });
  console.log(options.json ? JSON.stringify(run, null, 2) : formatBacktest(run));
};

/**
 * `hearth migrate` reads the config's `storage` section when a config file is given or present, and runs without one.
 * SIGINT or SIGTERM stops it between two migrations, never within one (migrate.ts `stop`), the migration lock dropped:
 * it says what it applied and what is left, and exits with the signal's code. A second signal ends it at once.
 */
async function runMigrations(configFile: string, configGiven: boolean, loading: LoadSignals | undefined, print: boolean): Promise<number> {
  const config = configGiven || existsSync(configFile) ? loadConfig(configFile) : undefined;
  const store = storeFromEnv(config?.storage, false, configFile, print);
  if (print) {
    // Read, not run: nothing is opened.
    const cluster = clusterTarget(store);
    console.log(`-- What \`hearth migrate\` runs on ${describeStore(store)} when it holds none of Hearth's tables.\n`);
    console.log(migrationScript(readMigrations(), cluster, freshRetentionStatements(config?.storage?.retentionDays, cluster)));
    return 0;
  }
  // Without a config nothing says how long events are kept: the TTL an earlier start set stays.
  const retentionDays = config ? config.storage?.retentionDays : 'unchanged';
  // Signals are taken from here, before the store is opened (bin/hearth.cjs keeps one met before).
  const stopping = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  /** What runs now; the migrations not recorded when it read the ledger, and those it has applied since. */
  let step: string | undefined;
  let pending: string[] | undefined;
  const applied: string[] = [];
  onStopSignals(
    loading,
    (signal) => {
      stoppedBy = signal;
      const after = step ? `once ${step} is done (a migration is never cut part-way)` : 'before its first migration';
      process.stderr.write(`hearth: ${signal}: stopping ${after}; ${signal} again exits at once\n`);
      stopping.abort(new Error(`stopped by ${signal}`));
    },
    () => {
      const cut = step ? `${step} is cut part-way, and the next run starts it again from its first statement; ` : '';
      return `exiting at once: ${cut}${store.url ? 'a migration lock it holds stays until the next `hearth migrate` or collector takes it over (60 s)' : 'nothing else is left behind'}`;
    },
  );
  const client = createStoreClient(store);
  try {
    const prepared = await prepareStore(client, store, retentionDays, {
      onWait: sayWaiting,
      stop: stopping.signal,
      onStep: (next) => (step = next),
      onPending: (names) => (pending = names),
      onApplied: (name) => void applied.push(name),
    }).catch(async (err: unknown) => {
      if (stopping.signal.aborted && err === stopping.signal.reason) return undefined;
      throw await explainedStoreFailure(err, store, 'migrate');
    });
    if (!prepared) {
      const left = [
        ...(pending ? pending.filter((name) => !applied.includes(name)) : ['the migrations not yet applied']),
        ...(retentionDays === 'unchanged' ? [] : ['the retention TTL']),
      ];
      const done = applied.length ? `after applying ${applied.join(', ')} to` : 'before applying any migration to';
      console.error(`hearth: stopped by ${stoppedBy} ${done} ${describeStore(store)}; left: ${left.join(', ')} (run \`hearth migrate\` again to apply them)`);
      return 128 + osConstants.signals[stoppedBy!];
    }
    console.log(prepared.applied.length ? `applied ${prepared.applied.join(', ')} to ${describeStore(store)}` : `${describeStore(store)} is up to date`);
    for (const statement of prepared.retention) console.log(`retention: ${statement}`);
    return 0;
  } finally {
    await client.close();
  }
}

/**
 * `hearth import --from DIR`: the embedded store of DIR (Hearth stopped there), what its write-ahead log still held
 * stored first, copied into the ClickHouse server of CLICKHOUSE_URL, migrated first, which must hold no events: a
 * store moves from the embedded default to a server whole, its people erased kept out, its scores' history, sales'
 * qualifications and alerts with it.
 */
async function importEmbeddedStore(options: Options, loading: LoadSignals | undefined): Promise<number> {
  const config = options.configGiven || existsSync(options.configFile) ? loadConfig(options.configFile) : undefined;
  if (!options.from) throw new UsageError('--from DIR is required: the data directory of the embedded store to copy (the HEARTH_DATA_DIR Hearth ran with there)');
  const from = resolve(options.from);
  const target = storeFromEnv(config?.storage, false, options.configFile);
  if (!target.url) throw new ConfigError('hearth import copies into the ClickHouse server CLICKHOUSE_URL names: set it (and CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE) as the collectors will run with it');
  if (!existsSync(join(from, 'clickhouse'))) throw new StoreError(`nothing is stored in ${from}: the embedded store ${join(from, 'clickhouse')} does not exist (--from names the HEARTH_DATA_DIR Hearth ran with)`);
  const stopping = new AbortController();
  onStopSignals(
    loading,
    (signal) => {
      process.stderr.write(`hearth: ${signal}: stopping after the rows being copied; ${signal} again exits at once\n`);
      stopping.abort(signal);
    },
    () => 'exiting at once: the server holds part of the copy',
  );
  const sourceStore = { dataDir: from };
  const source = createStoreClient(sourceStore);
  const server = createStoreClient(target);
  const where = describeStore(target);
  let copying = false;
  try {
    // The source at this release's schema, so both sides have the same columns; what its log kept (a kill -9) stored.
    await prepareStore(source, sourceStore, 'unchanged').catch(async (err: unknown) => {
      throw await explainedStoreFailure(err, sourceStore, 'use');
    });
    const wal = await createWalSink({ dir: join(from, 'wal'), client: source, maxBytes: Number.MAX_SAFE_INTEGER, log: { info() {}, warn() {}, error() {} }, erasures: erasureFilter(source) });
    const kept = wal.status().pendingRows;
    if (kept > 0) console.log(`storing the ${counted(kept, 'event')} the write-ahead log of ${from} kept…`);
    await wal.drained();
    await wal.close();
    await prepareStore(server, target, config ? config.storage?.retentionDays : 'unchanged').catch(async (err: unknown) => {
      throw await explainedStoreFailure(err, target, 'migrate');
    });
    const held = await countedRows(server, 'events');
    if (held > 0) throw new RefusedError(`${where} already holds ${counted(held, 'event')}: hearth import copies into a database that holds none, where two histories cannot mix (a new CLICKHOUSE_DATABASE, or the one a stopped import began: drop it and import again)`);
    console.log(`copying ${from} into ${where}…`);
    copying = true;
    let said = Date.now();
    const copied = await copyStore(source, server, {
      stop: stopping.signal,
      onProgress: ({ table, rows, of }) => {
        if (Date.now() - said < PROGRESS_MS) return;
        console.log(`  ${table}: ${formatCount(rows)} of ${counted(of, 'row')}`);
        said = Date.now();
      },
    });
    console.log(`copied ${IMPORTED_TABLES.map((table) => `${table} ${formatCount(copied[table])}`).join(', ')} rows into ${where}: start the collectors with CLICKHOUSE_URL set as here (docs/operations.md)`);
    return 0;
  } catch (err) {
    if (stopping.signal.aborted && err === stopping.signal.reason) {
      console.error(`hearth: stopped by ${stopping.signal.reason}${copying ? `: ${where} holds part of the copy; drop its tables (or the database) and import again` : ' before copying anything'}`);
      return 128 + osConstants.signals[stopping.signal.reason as NodeJS.Signals];
    }
    throw await explainedStoreFailure(err, target, 'import into');
  } finally {
    await Promise.all([source.close(), server.close()]);
  }
}

/** Refuses what follows a command that takes nothing more (`hearth --version extra`), as the other commands do. */
function strayArgument(rest: string[], command: string): void {
  if (rest[0] !== undefined) throw new UsageError(`"hearth ${command}" takes no "${rest[0]}"`);
}

export async function main(argv: string[], loading?: LoadSignals): Promise<number> {
  const [command, ...rest] = argv;
  // `hearth start`, `migrate`, `demo`, `import` and `score` take the signals over: all but `score` stop as they would a
  // moment later, `score` says what it leaves; the other commands write nothing, and leave the signals their default
  // action.
  if (command !== 'start' && command !== 'migrate' && command !== 'demo' && command !== 'score' && command !== 'import') {
    const first = loading?.first();
    if (first) {
      console.error(`hearth: stopped by ${first} before it began`);
      return 128 + osConstants.signals[first];
    }
    loading?.release();
  }
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      // `hearth help backtest` as `hearth backtest --help`; help on a command there is not says so, as `hearth nope` does.
      const about = command === 'help' ? rest[0] : undefined;
      strayArgument(rest.slice(about === undefined ? 0 : 1), command ?? 'help');
      if (about !== undefined && (Object.hasOwn(COMMAND_OPTIONS, about) || about === 'new-token')) console.log(commandUsage(about as Command | 'new-token'));
      else if (about === undefined || ['help', 'version'].includes(about)) console.log(USAGE);
      else return unknownCommand(about);
      return 0;
    }
    if (command === '--version' || command === '-v' || command === 'version') {
      strayArgument(rest, command);
      console.log(hearthVersion());
      return 0;
    }
    if (command === 'new-token') {
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(commandUsage('new-token'));
        return 0;
      }
      // Read by newTokenCommand, whose parseArgs would make the token for the last --name alone: refused as elsewhere.
      refuseRepeats(parseArgs({ args: rest, tokens: true, strict: false }).tokens);
      return newTokenCommand(rest);
    }
    if (!Object.hasOwn(COMMAND_OPTIONS, command)) {
      return unknownCommand(command, command.startsWith('-') ? ` (options go after the command: hearth start ${command} …)` : '');
    }
    const options = readOptions(command as Command, rest);
    if (options.help) {
      console.log(commandUsage(command as Command));
      return 0;
    }
    // Only `hearth start` logs, but a LOG_LEVEL set wrong for it is named by every command that opens the store: the
    // first of a deployment (`hearth migrate`, say), rather than after it.
    if (opensStore(command as Command)) logLevelFromEnv();
    switch (command as Command) {
      case 'start':
        await start(options, loading);
        return 0;
      case 'migrate':
        return await runMigrations(options.configFile, options.configGiven, loading, options.print);
      case 'score':
        // Rescoring cannot stop part-way: a stop ends it, saying what it leaves.
        onStopSignals(
          loading,
          (signal) => {
            process.stderr.write(`hearth: stopped by ${signal} while storing scores: the leads it stored have their new scores, the others those of before, until the next \`hearth score\` or \`hearth start\` rescores them all\n`);
            process.removeAllListeners(signal);
            process.kill(process.pid, signal);
          },
          () => 'exiting at once',
        );
        await withSite(options, printScores);
        return 0;
      case 'backtest':
        await withSite(options, printBacktest, (site, config, raw) => backtestRules(options, site, config, raw));
        return 0;
      case 'demo': {
        const stopping = new AbortController();
        onStopSignals(
          loading,
          (signal) => {
            process.stderr.write(`hearth: ${signal}: stopping once the visitors being written are, then scoring those written; ${signal} again exits at once\n`);
            stopping.abort(signal);
          },
          () => 'exiting at once: the visitors written so far stay, their leads scored at the next `hearth score` or `hearth start`',
        );
        // The demo site, of a config that serves it among others.
        await withSite(options, writeDemoHistory, undefined, (config) => (config.serveDemoSite && config.sites.some((candidate) => candidate.id === DEMO_SITE_ID) ? DEMO_SITE_ID : undefined), stopping.signal);
        return stopping.signal.aborted ? 128 + osConstants.signals[stopping.signal.reason as NodeJS.Signals] : 0;
      }
      case 'schema':
        console.log(JSON.stringify(configJsonSchema(), null, 2));
        return 0;
      case 'rules':
        console.log(JSON.stringify(rulesAsWritten(chooseSite(options)), null, 2));
        return 0;
      case 'hash-password':
        return await hashPasswordCommand();
      case 'import':
        return await importEmbeddedStore(options, loading);
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RefusedError) {
      // No --config, and no hearth.config.json where it was run: where to start from.
      const none = !rest.includes('--config') && !rest.some((arg) => arg.startsWith('--config=')) && /[/\\]hearth\.config\.json does not exist$/.test(err.message);
      console.error(`hearth: ${err.message}${none ? NO_CONFIG_HINT : ''}`);
      return 2;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      // The reason alone, last on the screen; the whole usage would scroll it away.
      console.error(`hearth: ${(err as Error).message}\n(hearth help lists every command's options)`);
      return 2;
    }
    if (err instanceof StoreError) {
      console.error(`hearth: ${err.message}`);
      return 1;
    }
    // The embedded engine locks its directory: one process at a time (chDB prints its own reason just before).
    if ((err as Error | undefined)?.name === 'ChdbConnectionError') {
      const path = /for path '(.*)'/.exec((err as Error).message)?.[1] ?? 'HEARTH_DATA_DIR';
      // The engine also refuses to start on a TZ it cannot load (chDB's own line above says so): no process holds anything.
      if (unloadableTimeZone(process.env.TZ)) {
        console.error(
          `hearth: cannot open the embedded store in ${path}: the embedded ClickHouse cannot load the time zone TZ=${process.env.TZ}; set TZ to a name of the tz database as it is written there (Europe/Paris, Etc/GMT-3, UTC), or unset it`,
        );
        return 1;
      }
      console.error(
        `hearth: cannot open the embedded store in ${path}: another process holds it, most likely a running \`hearth start\` (one process per data directory); stop it first, or set HEARTH_DATA_DIR to another directory`,
      );
      return 1;
    }
    // A full disk: the message says which and what to do (a write deep in a library says neither).
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
      console.error(`hearth: ${/\bHEARTH_DATA_DIR\b/.test((err as Error).message) ? (err as Error).message : `no room left on the disk: ${(err as Error).message}`}`);
      return 1;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`hearth: the port is already in use; pass --port N to choose another`);
      return 1;
    }
    // A file or directory that cannot be used (a system call's error, whose message names it): the reason, not a stack.
    if (typeof (err as NodeJS.ErrnoException).syscall === 'string') {
      console.error(`hearth: ${(err as Error).message}`);
      return 1;
    }
    console.error(`hearth: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}
