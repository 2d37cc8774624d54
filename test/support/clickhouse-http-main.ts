import { parseArgs } from 'node:util';
import { startClickHouseHttp } from './clickhouse-http.ts';

// The child-process entry of clickhouse-http.ts: `--data-dir DIR [--port N] [--user U] [--password P]`.
const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    port: { type: 'string', default: '0' },
    user: { type: 'string', default: 'default' },
    password: { type: 'string', default: '' },
  },
});
if (!values['data-dir']) {
  console.error('usage: clickhouse-http-main --data-dir DIR [--port N] [--user U] [--password P]');
  process.exit(2);
}

const server = await startClickHouseHttp({ dataDir: values['data-dir'], port: Number(values.port), username: values.user, password: values.password });
console.log(`listening on ${server.url}`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// The parent keeps our stdin open; if it dies without stopping us, stdin ends and we do not outlive it.
process.stdin.once('end', stop);
process.stdin.resume();
