import { execFileSync } from 'node:child_process';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { clusterStatements, type ClusterTarget } from '../../collector/store/cluster-ddl.ts';
import { clusterMigration, readMigrations, type Migration } from '../../collector/store/migrate.ts';
import { retentionStatements } from '../../collector/store/retention.ts';
import { freshDataDir, processDataDir } from '../support/data-dir.ts';

// chDB has no cluster (no remote_servers, no Keeper), so ON CLUSTER and Replicated DDL cannot run here; its parser
// is ClickHouse's, though: formatQuery() parses a statement without running it and fails on what would not parse.
let client: ClickHouseClient;
beforeAll(() => {
  client = createStoreClient({ dataDir: processDataDir() });
});
afterAll(() => client?.close());

const formatted = async (sql: string) => {
  const result = await client.query({ query: 'SELECT formatQuery({sql:String}) AS text', query_params: { sql }, format: 'JSONEachRow' });
  return (await result.json<{ text: string }>())[0]!.text;
};

const target: ClusterTarget = { cluster: 'prod-eu', database: 'hearth' };

describe('cluster DDL, as ClickHouse parses it', () => {
  it('parses every statement generated from every migration file and from the retention setting', async () => {
    const shardingKeys = new Map<string, string>();
    const generated = [
      ...readMigrations().flatMap((migration) => clusterMigration(migration, target, shardingKeys)),
      ...retentionStatements(null, 30, target),
      ...retentionStatements('toDateTime(ts) + toIntervalDay(30)', undefined, target),
    ];
    expect(generated.length).toBeGreaterThan(readMigrations().length);
    for (const statement of generated) {
      const text = await formatted(statement);
      // A copy between tables runs once, through the Distributed tables; every other statement runs on each node.
      if (statement.startsWith('INSERT')) expect(text, statement).toMatch(/^INSERT INTO \w+\s+SETTINGS parallel_distributed_insert_select = 2, [^\n]*\nSELECT\b/);
      else expect(text, statement).toContain('ON CLUSTER `prod-eu`');
    }
  });

  it('reads the engines and the Distributed table the way they were meant', async () => {
    const [local, distributed] = clusterStatements(readMigrations()[0]!.statements[0]!, target, { source: '001_events.sql' }).map(formatted);
    expect(await local).toMatch(/ENGINE = ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/events\/\{uuid\}', '\{replica\}'\)\nPARTITION BY toYYYYMM\(ts\)\nORDER BY \(site_id, visitor_id, ts, event_id\)$/);
    expect(await distributed).toBe(
      "CREATE TABLE IF NOT EXISTS events ON CLUSTER `prod-eu` AS events_local\nENGINE = Distributed('prod-eu', 'hearth', 'events_local', cityHash64(site_id, visitor_id))",
    );
  });

  it('is a check with teeth: what ClickHouse cannot parse fails', async () => {
    await expect(formatted('CREATE TABLE t ON CLUSTER (a UInt8) ENGINE = MergeTree ORDER BY a')).rejects.toThrow(/Syntax error/);
  });
});

describe('cluster DDL, run on a cluster of one node', () => {
  it('rebuilds tables behind their Distributed tables (013 adds the visit to identities, 017 regranulates the stored scores) and keeps every row', () => {
    // The whole DDL as each node runs it, less replication: ON CLUSTER's queue and Replicated engines need a Keeper,
    // which chDB lacks. Its Distributed tables and the copies through them run (test/support/chdb-cluster-replay.mjs).
    const cluster: ClusterTarget = { cluster: 'hearth', database: 'default' };
    const shardingKeys = new Map<string, string>();
    const onOneNode = (migrations: Migration[]) =>
      migrations
        .flatMap((migration) => clusterMigration(migration, cluster, shardingKeys))
        .map((statement) => statement.replaceAll(' ON CLUSTER hearth', '').replace(/Replicated(\w*MergeTree)\('[^']*', '\{replica\}'(?:, )?/, '$1('));
    const migrations = readMigrations();
    const statements = [
      ...onOneNode(migrations.filter((migration) => migration.version < 13)),
      // A lead's form, stored through the Distributed tables as a collector before 013 stored it.
      "INSERT INTO events (site_id, visitor_id, session_id, event_id, ts, received_at, type, email) VALUES ('acme', 'v1', 's1', generateUUIDv4(), now64(3) - INTERVAL 2 DAY, now64(3) - INTERVAL 2 DAY, 'form', 'ada@acme.test')",
      'INSERT INTO identities (site_id, visitor_id, email, ts, event_id, is_bot) SELECT site_id, visitor_id, email, ts, event_id, is_bot FROM events',
      ...onOneNode(migrations.filter((migration) => migration.version >= 13 && migration.version < 17)),
      // Its stored score, which 017 rebuilds with finer granules.
      "INSERT INTO lead_scores (site_id, lead_id, scored_at, kind, email, visitor_ids, score) VALUES ('acme', 'l_1', now64(3) - INTERVAL 1 DAY, 'lead', 'ada@acme.test', ['v1'], 42)",
      ...onOneNode(migrations.filter((migration) => migration.version >= 17)),
      'SELECT lead_id, email, score FROM lead_scores',
      'SELECT visitor_id, email, session_id FROM identities',
      "SELECT table, groupArray((name, type)) AS columns FROM (SELECT table, name, type FROM system.columns WHERE database = currentDatabase() ORDER BY table, position) GROUP BY table",
    ];
    const out = execFileSync(process.execPath, ['test/support/chdb-cluster-replay.mjs', freshDataDir(), cluster.cluster], { input: JSON.stringify(statements), maxBuffer: 64 << 20 });
    const results = (JSON.parse(out.toString()) as { results: ({ error: string } | Record<string, unknown>[])[] }).results;
    expect(results.flatMap((result, i) => ('error' in result ? [`${statements[i]!.slice(0, 80)}: ${result.error}`] : []))).toEqual([]);
    expect(results.at(-3)).toEqual([{ lead_id: 'l_1', email: 'ada@acme.test', score: 42 }]);
    expect(results.at(-2)).toEqual([{ visitor_id: 'v1', email: 'ada@acme.test', session_id: 's1' }]);
    // Every Distributed table has its local table's columns, in its order.
    const columns = new Map((results.at(-1) as { table: string; columns: unknown }[]).map((row) => [row.table, row.columns]));
    const distributed = [...columns.keys()].filter((table) => columns.has(`${table}_local`));
    expect(distributed.sort()).toEqual(['alert_outbox', 'erasures', 'events', 'identities', 'lead_qualifications', 'lead_scores', 'visit_days']);
    for (const table of distributed) expect(columns.get(table), table).toEqual(columns.get(`${table}_local`));
  }, 60_000);
});
