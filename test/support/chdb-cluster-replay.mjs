// Runs SQL statements in an embedded ClickHouse (chDB) that knows one cluster, a single shard whose one replica is
// itself, so cluster DDL runs there with its Distributed tables and its copies through them (only replication and
// ON CLUSTER's distributed queue are left out by the caller). A child process: chDB holds one session per process.
// Usage: node chdb-cluster-replay.mjs DIR CLUSTER < statements.json → { results: [[...rows] | { error }] } on stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'chdb';

const [dir, cluster] = process.argv.slice(2);
// tcp_port tells ClickHouse that 127.0.0.1:9000 is this server: the replica is local, and nothing is sent over a network.
writeFileSync(
  join(dir, 'cluster.xml'),
  `<clickhouse><tcp_port>9000</tcp_port><remote_servers><${cluster}><shard><replica><host>127.0.0.1</host><port>9000</port></replica></shard></${cluster}></remote_servers></clickhouse>`,
);
const session = new Session(join(dir, 'data'), { connectionArgs: [`--config-file=${join(dir, 'cluster.xml')}`] });
const results = [];
for (const statement of JSON.parse(readFileSync(0, 'utf8'))) {
  try {
    const text = String(session.query(statement, 'JSONEachRow') ?? '').trim();
    results.push(text ? text.split('\n').map((line) => JSON.parse(line)) : []);
  } catch (err) {
    results.push({ error: String(err.message ?? err).split('\n')[0] });
  }
}
session.cleanup?.();
process.stdout.write(JSON.stringify({ results }));
