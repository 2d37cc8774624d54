import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { clusterStatements, type ClusterTarget } from '../../collector/store/cluster-ddl.ts';
import { readMigrations } from '../../collector/store/migrate.ts';
import { retentionStatements } from '../../collector/store/retention.ts';
import { processDataDir } from '../support/data-dir.ts';

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
    const generated = [
      ...readMigrations().flatMap((migration) => migration.statements.flatMap((statement) => clusterStatements(statement, target, { source: migration.name }))),
      ...retentionStatements(null, 30, target),
      ...retentionStatements('toDateTime(ts) + toIntervalDay(30)', undefined, target),
    ];
    expect(generated.length).toBeGreaterThan(readMigrations().length);
    for (const statement of generated) {
      const text = await formatted(statement);
      // A copy between tables runs once, through the Distributed tables; every other statement runs on each node.
      if (statement.startsWith('INSERT')) expect(text, statement).toMatch(/^INSERT INTO \w+\s+SETTINGS parallel_distributed_insert_select = 2, [^\n]*\nSELECT /);
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
