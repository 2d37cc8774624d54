import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, loadConfig } from './config/load.ts';
import { configSchema, type HearthConfig } from './config/schema.ts';
import { startServer } from './server.ts';
import { createStoreClient, describeStore, storeOptionsFromEnv } from './store/client.ts';
import { migrate } from './store/migrate.ts';

const USAGE = `Usage: hearth <command> [options]

Commands:
  start     run the collector, the API and the demo site (if configured) in one process
  migrate   apply pending ClickHouse migrations and exit
  schema    print the JSON Schema of hearth.config.json (for editors)

Options:
  --config FILE   the config file (default: hearth.config.json)
  --port N        listen on port N (default: the config's server.port, else 8787; 0 picks a free port)
  --host HOST     listen on HOST (default: the config's server.host, else 127.0.0.1)

Environment:
  HEARTH_DATA_DIR       where embedded data lives (default: .hearth)
  HEARTH_ADMIN_TOKEN    the API's bearer token (default: a new random token each start, printed)
  CLICKHOUSE_URL        use a ClickHouse server instead of the embedded engine
  CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE
  HEARTH_WAL_MAX_MB     undelivered events kept on disk while ClickHouse is down, before 503 (default: 1024)
  LOG_LEVEL             fatal, error, warn, info (default), debug`;

class UsageError extends Error {}

function readOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new UsageError(`--port expects a port number from 0 to 65535, got "${values.port}"`);
  }
  return { configFile: values.config ?? 'hearth.config.json', port, host: values.host, help: values.help };
}

async function start(args: string[]): Promise<void> {
  const options = readOptions(args);
  const config: HearthConfig = loadConfig(options.configFile);
  if (options.port !== undefined) config.server.port = options.port;
  if (options.host !== undefined) config.server.host = options.host;
  const store = storeOptionsFromEnv();
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

async function runMigrations(): Promise<void> {
  const store = storeOptionsFromEnv();
  const client = createStoreClient(store);
  try {
    const applied = await migrate(client);
    console.log(applied.length ? `applied ${applied.join(', ')} to ${describeStore(store)}` : `${describeStore(store)} is up to date`);
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
      case 'migrate':
        readOptions(rest);
        await runMigrations();
        return 0;
      case 'schema':
        console.log(JSON.stringify(z.toJSONSchema(configSchema, { io: 'input' }), null, 2));
        return 0;
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
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`hearth: the port is already in use; pass --port N to choose another`);
      return 1;
    }
    console.error(`hearth: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}
