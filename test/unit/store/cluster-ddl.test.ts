import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../collector/config/load.ts';
import { clusterStatements, type ClusterTarget } from '../../../collector/store/cluster-ddl.ts';
import { migrate, readMigrations } from '../../../collector/store/migrate.ts';
import type { ClickHouseClient } from '@clickhouse/client';
import { withMigrationLock } from '../../../collector/store/migration-lock.ts';
import { withStorageConfig } from '../../../collector/store/prepare.ts';
import { retentionStatements, ttlOf } from '../../../collector/store/retention.ts';

const target: ClusterTarget = { cluster: 'hearth', database: 'analytics' };
const transform = (statement: string, shard = true) => clusterStatements(statement, target, { source: '009_test.sql', shard });

describe('cluster DDL from the single-server migration files', () => {
  it('turns the events table into a replicated events_local behind a Distributed events sharded by visitor', () => {
    const [create] = readMigrations()[0]!.statements;
    const [local, distributed, ...more] = transform(create!);
    expect(more).toEqual([]);
    expect(local).toMatch(/^CREATE TABLE IF NOT EXISTS events_local ON CLUSTER hearth\n\(\n {4}site_id {5}LowCardinality\(String\),/);
    expect(local).toContain("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/events/{uuid}', '{replica}')\nPARTITION BY toYYYYMM(ts)\nORDER BY (site_id, visitor_id, ts, event_id)");
    expect(distributed).toBe(
      "CREATE TABLE IF NOT EXISTS events ON CLUSTER hearth AS events_local\nENGINE = Distributed('hearth', 'analytics', 'events_local', cityHash64(site_id, visitor_id))",
    );
  });

  it('alters the local table first, then the Distributed one', () => {
    expect(transform("ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_source LowCardinality(String) DEFAULT ''")).toEqual([
      "ALTER TABLE events_local ON CLUSTER hearth ADD COLUMN IF NOT EXISTS utm_source LowCardinality(String) DEFAULT ''",
      "ALTER TABLE events ON CLUSTER hearth ADD COLUMN IF NOT EXISTS utm_source LowCardinality(String) DEFAULT ''",
    ]);
  });

  it('transforms every statement of every migration file, each DDL ON CLUSTER and each copy through the Distributed tables', () => {
    const shardingKeys = new Map<string, string>();
    for (const migration of readMigrations()) {
      for (const statement of migration.statements) {
        const statements = clusterStatements(statement, target, { source: `${migration.name}.sql`, shardingKeys });
        expect(statements.length, `${migration.name}: ${statement}`).toBeGreaterThan(0);
        for (const out of statements) {
          expect(out).toMatch(/^((CREATE|ALTER|DROP) TABLE (IF (NOT )?EXISTS )?\w+ ON CLUSTER hearth\b|CREATE MATERIALIZED VIEW IF NOT EXISTS \w+ ON CLUSTER hearth TO \w+_local AS\n|EXCHANGE TABLES \w+_local AND \w+_local ON CLUSTER hearth$|CREATE OR REPLACE TABLE \w+ ON CLUSTER hearth AS \w+_local\nENGINE = Distributed\(|INSERT INTO \w+ SETTINGS parallel_distributed_insert_select = 2,)/);
        }
        // Whatever a file creates or alters, the replicated local table changes before the Distributed one; a drop
        // takes the Distributed one first.
        if (statements.length === 2) {
          expect(statements[0]).toMatch(statement.startsWith('DROP') ? /^DROP TABLE (IF EXISTS )?\w+ ON/ : /^\w+ TABLE (IF (NOT )?EXISTS )?\w+_local /);
          expect(statements[1]).toMatch(statement.startsWith('DROP') ? /^DROP TABLE (IF EXISTS )?\w+_local ON/ : /^\w+ TABLE (IF (NOT )?EXISTS )?\w+ ON/);
        }
      }
    }
  });

  it('keeps engine arguments, quotes and comments as written, and shards by the order key before its first time column', () => {
    const [local, distributed] = transform(
      "CREATE TABLE daily_pages (site_id String, day Date, `page path` String, views UInt64, ver UInt32 COMMENT 'a, b (c)')\n" +
        "ENGINE = ReplacingMergeTree(ver) PARTITION BY toYYYYMM(day) ORDER BY (site_id, day, `page path`) SETTINGS index_granularity = 4096",
    );
    expect(local).toBe(
      "CREATE TABLE daily_pages_local ON CLUSTER hearth\n(site_id String, day Date, `page path` String, views UInt64, ver UInt32 COMMENT 'a, b (c)')\n" +
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/daily_pages/{uuid}', '{replica}', ver)\nPARTITION BY toYYYYMM(day) ORDER BY (site_id, day, `page path`) SETTINGS index_granularity = 4096",
    );
    expect(distributed).toContain("Distributed('hearth', 'analytics', 'daily_pages_local', cityHash64(site_id))");
    expect(transform('CREATE TABLE q (site_id String, lead_id String, changed_at DateTime64(3)) ENGINE = MergeTree ORDER BY (site_id, lead_id, changed_at)')[1]).toContain(
      'cityHash64(site_id, lead_id)',
    );
    expect(transform('CREATE TABLE h (hour DateTime, site_id String) ENGINE = SummingMergeTree ORDER BY (toStartOfDay(hour), site_id)')[1]).toContain(
      'cityHash64(toStartOfDay(hour), site_id)',
    );
  });

  it('adds the stored scores\' shared visits (migration 015) to every node\'s local table, then to the Distributed one the dashboards read', () => {
    const migration = readMigrations().find((candidate) => candidate.version === 15);
    const column = 'shared_visits Array(Tuple(visitor_id String, session_id String)) DEFAULT [] AFTER visitor_ids';
    expect(migration?.name).toBe('015_lead_scores_shared_visits');
    expect(migration!.statements.flatMap((statement) => transform(statement))).toEqual([
      `ALTER TABLE lead_scores_local ON CLUSTER hearth ADD COLUMN IF NOT EXISTS ${column}`,
      `ALTER TABLE lead_scores ON CLUSTER hearth ADD COLUMN IF NOT EXISTS ${column}`,
    ]);
  });

  it('sends only column changes to the Distributed table, which has no TTL, indexes or data of its own', () => {
    expect(transform('ALTER TABLE events ADD COLUMN country String, ADD INDEX email_idx email TYPE bloom_filter GRANULARITY 4, MODIFY TTL toDateTime(ts) + INTERVAL 1 YEAR')).toEqual([
      'ALTER TABLE events_local ON CLUSTER hearth ADD COLUMN country String, ADD INDEX email_idx email TYPE bloom_filter GRANULARITY 4, MODIFY TTL toDateTime(ts) + INTERVAL 1 YEAR',
      'ALTER TABLE events ON CLUSTER hearth ADD COLUMN country String',
    ]);
    expect(transform("ALTER TABLE events DELETE WHERE email = 'a@b.c'")).toEqual(["ALTER TABLE events_local ON CLUSTER hearth DELETE WHERE email = 'a@b.c'"]);
  });

  it('keeps the dashboards\' rollup (migration 019) on each node, from the events its shard stores to its own rows', () => {
    const shardingKeys = new Map<string, string>();
    const statements = readMigrations().flatMap((migration) => migration.statements.map((statement) => [migration.name, statement] as const));
    const out = statements.map(([name, statement]) => clusterStatements(statement, target, { source: `${name}.sql`, shardingKeys }));
    const view = out.flat().find((statement) => statement.startsWith('CREATE MATERIALIZED VIEW'))!;
    expect(view).toMatch(/^CREATE MATERIALIZED VIEW IF NOT EXISTS visit_days_of_events ON CLUSTER hearth TO visit_days_local AS\nSELECT site_id, toDate\(ts\) AS day, [^]*\nFROM events_local\nGROUP BY site_id, day, visitor_id, session_id, is_bot, device, browser, os$/);
    // Only the table names change: the rows' expressions are as the file writes them.
    expect(view.replace('visit_days_local', 'visit_days').replace('events_local', 'events').replace(' ON CLUSTER hearth', '')).toBe(statements.find(([, statement]) => statement.startsWith('CREATE MATERIALIZED VIEW'))![1]);
  });

  it('refuses a materialized view it cannot place on each node: a table no statement made, a join, a subquery', () => {
    const shardingKeys = new Map([['events', 'cityHash64(site_id, visitor_id)'], ['rollup', 'cityHash64(site_id)']]);
    const view = (select: string, into = 'rollup') => () => clusterStatements(`CREATE MATERIALIZED VIEW v TO ${into} AS ${select}`, target, { source: '020_test.sql', shardingKeys });
    expect(view('SELECT site_id FROM events', 'elsewhere')).toThrow('020_test.sql: cannot turn this statement into cluster DDL: no statement before this one creates elsewhere as a sharded table');
    expect(view('SELECT site_id FROM elsewhere')).toThrow('no statement before this one creates elsewhere as a sharded table');
    expect(view('SELECT e.site_id FROM events AS e JOIN rollup AS r ON e.site_id = r.site_id')).toThrow('must read one table (one FROM, no JOIN)');
    expect(view('SELECT site_id FROM events WHERE visitor_id IN (SELECT visitor_id FROM rollup)')).toThrow('a subquery in a materialized view is not supported');
    expect(view('SELECT site_id FROM events')()).toEqual(['CREATE MATERIALIZED VIEW v ON CLUSTER hearth TO rollup_local AS\nSELECT site_id FROM events_local']);
  });

  it('drops the Distributed table before the local one', () => {
    expect(transform('DROP TABLE IF EXISTS old_rollup')).toEqual([
      'DROP TABLE IF EXISTS old_rollup ON CLUSTER hearth SYNC',
      'DROP TABLE IF EXISTS old_rollup_local ON CLUSTER hearth SYNC',
    ]);
  });

  it('replicates an unsharded table (the migrations ledger) to every node under one path, with no Distributed table', () => {
    expect(transform('CREATE TABLE IF NOT EXISTS hearth_migrations (version UInt32) ENGINE = MergeTree ORDER BY version', false)).toEqual([
      "CREATE TABLE IF NOT EXISTS hearth_migrations ON CLUSTER hearth\n(version UInt32)\nENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/hearth_migrations', '{replica}')\nORDER BY version",
    ]);
  });

  it('rebuilds a table: each shard copies its local rows, then the local tables swap, the Distributed ones made again in front of them', () => {
    expect(transform("INSERT INTO events_new SELECT * FROM events WHERE event_id NOT IN (SELECT event_id FROM events_new) AND ts > '2026-01-01'")).toEqual([
      "INSERT INTO events_new SETTINGS parallel_distributed_insert_select = 2, distributed_product_mode = 'local', insert_distributed_sync = 1\n" +
        "SELECT * FROM events WHERE event_id NOT IN (SELECT event_id FROM events_new) AND ts > '2026-01-01'",
    ]);
    // A Distributed table keeps the columns it was made with: each is made again with its new local table's, and the
    // key its rows were sharded by, which an exchange after this one knows too.
    const shardingKeys = new Map<string, string>();
    const create = (table: string, key: string) => clusterStatements(`CREATE TABLE ${table} (site_id String, lead_id String, day Date) ENGINE = MergeTree ORDER BY (${key}, day)`, target, { source: '016_x.sql', shardingKeys });
    create('events', 'site_id');
    create('`events new`', 'site_id, lead_id');
    const exchange = () => clusterStatements('EXCHANGE TABLES events AND `events new`', target, { source: '016_x.sql', shardingKeys });
    expect(exchange()).toEqual([
      'EXCHANGE TABLES events_local AND `events new_local` ON CLUSTER hearth',
      "CREATE OR REPLACE TABLE events ON CLUSTER hearth AS events_local\nENGINE = Distributed('hearth', 'analytics', 'events_local', cityHash64(site_id, lead_id))",
      "CREATE OR REPLACE TABLE `events new` ON CLUSTER hearth AS `events new_local`\nENGINE = Distributed('hearth', 'analytics', 'events new_local', cityHash64(site_id))",
    ]);
    expect(exchange()[1]).toContain("'events_local', cityHash64(site_id))");
    expect(() => transform('EXCHANGE TABLES events AND old')).toThrow('009_test.sql: cannot turn this statement into cluster DDL: no statement before this one creates events, so its sharding key is unknown');
  });

  it('quotes a cluster name that is not a plain identifier', () => {
    const [local, distributed] = clusterStatements('CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a', { cluster: 'prod-eu.1', database: 'db' }, { source: 'x.sql' });
    expect(local).toMatch(/^CREATE TABLE t_local ON CLUSTER `prod-eu.1`\n/);
    expect(distributed).toContain("Distributed('prod-eu.1', 'db', 't_local', cityHash64(a))");
  });

  it.each([
    ['CREATE VIEW pages AS SELECT site_id FROM events', 'only CREATE TABLE, ALTER TABLE, DROP TABLE, EXCHANGE TABLES, INSERT … SELECT and CREATE MATERIALIZED VIEW … TO'],
    ['CREATE MATERIALIZED VIEW mv TO pages AS SELECT site_id FROM events', 'no statement before this one creates pages as a sharded table'],
    ['CREATE MATERIALIZED VIEW mv ENGINE = MergeTree ORDER BY site_id AS SELECT site_id FROM events', 'expected TO'],
    ['INSERT INTO events (site_id) VALUES (1)', 'expected INSERT INTO table SELECT …'],
    ['INSERT INTO events SETTINGS async_insert = 1 SELECT * FROM old', 'expected INSERT INTO table SELECT …'],
    ['EXCHANGE TABLES events AND other.events', 'qualified with a database'],
    ['EXCHANGE TABLES events, old', 'expected AND'],
    ['CREATE TABLE t (a UInt8) ENGINE = Memory', 'engine Memory has no replicated form'],
    ["CREATE TABLE t (a UInt8) ENGINE = ReplicatedMergeTree('/p', '{replica}') ORDER BY a", 'engine ReplicatedMergeTree is already replicated'],
    ['CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY tuple()', 'empty ORDER BY'],
    ['CREATE TABLE t (a UInt8) ENGINE = MergeTree PRIMARY KEY a', 'without ORDER BY'],
    ['CREATE TABLE t AS events ENGINE = MergeTree ORDER BY a', 'expected the column list'],
    ['CREATE TABLE other.t (a UInt8) ENGINE = MergeTree ORDER BY a', 'qualified with a database'],
    ['ALTER TABLE events ON CLUSTER c ADD COLUMN a UInt8', 'already says ON CLUSTER'],
    ['CREATE TABLE t (a UInt8 ENGINE = MergeTree ORDER BY a', 'unbalanced parentheses'],
  ])('refuses, naming the file, what it cannot transform: %s', (statement, reason) => {
    expect(() => transform(statement)).toThrow(/^009_test\.sql: cannot turn this statement into cluster DDL: /);
    expect(() => transform(statement)).toThrow(reason);
  });
});

describe('retention TTL', () => {
  const cluster = target;
  it('sets, changes and removes the TTL only when it differs from storage.retentionDays', () => {
    expect(retentionStatements(null, 30)).toEqual(['ALTER TABLE events MODIFY TTL toDateTime(ts) + INTERVAL 30 DAY']);
    expect(retentionStatements('toDateTime(ts) + toIntervalDay(30)', 30)).toEqual([]);
    expect(retentionStatements('toDateTime(ts) + toIntervalDay(30)', 90)).toEqual(['ALTER TABLE events MODIFY TTL toDateTime(ts) + INTERVAL 90 DAY']);
    expect(retentionStatements('toDateTime(ts) + toIntervalDay(30)', undefined)).toEqual(['ALTER TABLE events REMOVE TTL']);
    expect(retentionStatements(null, undefined)).toEqual([]);
  });

  it('puts the TTL on the replicated local tables of a cluster', () => {
    expect(retentionStatements(null, 7, cluster)).toEqual(['ALTER TABLE events_local ON CLUSTER hearth MODIFY TTL toDateTime(ts) + INTERVAL 7 DAY']);
    expect(retentionStatements('toDateTime(ts) + toIntervalDay(7)', undefined, cluster)).toEqual(['ALTER TABLE events_local ON CLUSTER hearth REMOVE TTL']);
  });

  it('reads the TTL back from the engine description ClickHouse prints', () => {
    expect(ttlOf('ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY a TTL toDateTime(ts) + toIntervalDay(30) SETTINGS index_granularity = 8192')).toBe('toDateTime(ts) + toIntervalDay(30)');
    expect(ttlOf('ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY a SETTINGS index_granularity = 8192')).toBeNull();
  });
});

describe('the storage section of the config', () => {
  const sites = [{ id: 'acme', origins: ['https://acme.test'] }];
  const server = { dataDir: '/tmp/unused', url: 'http://clickhouse:8123' };

  it('names the path of a bad value', () => {
    expect(() => parseConfig({ sites, storage: { retentionDays: 0 } }, 'h.json')).toThrow(/h\.json: storage\.retentionDays: keep events for at least 1 day/);
    expect(() => parseConfig({ sites, storage: { cluster: 'a b' } }, 'h.json')).toThrow(/h\.json: storage\.cluster: a cluster name/);
    expect(() => parseConfig({ sites, storage: { retention: 30 } }, 'h.json')).toThrow(/h\.json: storage\.retention: unknown key/);
  });

  it('lets CLICKHOUSE_CLUSTER override storage.cluster, and needs a ClickHouse server for a cluster', () => {
    expect(withStorageConfig(server, { cluster: 'from-config' }).cluster).toBe('from-config');
    expect(withStorageConfig({ ...server, cluster: 'from-env' }, { cluster: 'from-config' }).cluster).toBe('from-env');
    expect(() => withStorageConfig({ ...server, cluster: 'bad name' }, undefined)).toThrow(/CLICKHOUSE_CLUSTER expects a cluster name/);
    expect(() => withStorageConfig({ dataDir: '/tmp/unused' }, { cluster: 'c' })).toThrow(ConfigError);
    expect(() => withStorageConfig({ dataDir: '/tmp/unused' }, { cluster: 'c' })).toThrow(/storage\.cluster \("c"\) needs CLICKHOUSE_URL/);
    // Named in the config file, as every other config error is.
    expect(() => withStorageConfig({ dataDir: '/tmp/unused' }, { cluster: 'c' }, '/etc/hearth.config.json')).toThrow(/^\/etc\/hearth\.config\.json: storage\.cluster \("c"\) needs CLICKHOUSE_URL/);
  });
});

describe('the migration lock on a cluster', () => {
  it('is one replicated table on every node, created without IF NOT EXISTS and dropped from every node', async () => {
    const statements: string[] = [];
    let holder = '';
    const recording = {
      command: async ({ query }: { query: string }) => {
        holder ||= /COMMENT '(.*)'$/.exec(query)?.[1] ?? '';
        statements.push(query);
      },
      insert: async ({ table }: { table: string }) => void statements.push(`INSERT INTO ${table}`),
      query: async () => ({ json: async () => [{ holder, beats: '1' }] }),
    };
    await withMigrationLock(recording as never, target, async () => void statements.push('migrations'), { onWait: () => {} });
    expect(statements).toEqual([
      expect.stringMatching(
        /^CREATE TABLE hearth_migration_lock ON CLUSTER hearth\n\(\n {4}holder String,\n {4}at {5}DateTime64\(3, 'UTC'\)\n\)\nENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{database\}\/hearth_migration_lock', '\{replica\}'\)\nORDER BY at\nCOMMENT '[\w.-]+ pid \d+ \(\w{8}\)'$/,
      ),
      'INSERT INTO hearth_migration_lock',
      'migrations',
      'DROP TABLE IF EXISTS hearth_migration_lock ON CLUSTER hearth SYNC',
    ]);
  });
});

describe('migrating a cluster', () => {
  it("reads the ledger once this node's replica holds what another node's collector recorded", async () => {
    const migrations = readMigrations();
    // Another collector applied every migration through another node; this node's replica fetches those ledger rows
    // only when asked to catch up, as a replica lagging behind does.
    let caughtUp = false;
    const ran: string[] = [];
    const client = {
      command: async ({ query }: { query: string }) => {
        ran.push(query);
        if (query === 'SYSTEM SYNC REPLICA hearth_migrations') caughtUp = true;
      },
      query: async () => ({ json: async () => (caughtUp ? migrations.map(({ version, name, checksum }) => ({ version, name, checksum })) : []) }),
      insert: async () => ran.push('INSERT INTO hearth_migrations'),
    } as unknown as ClickHouseClient;
    expect(await migrate(client, migrations, target)).toEqual([]);
    expect(ran.filter((query) => !query.includes('hearth_migrations'))).toEqual([]);
    // A single server has no replica to wait for.
    caughtUp = true;
    ran.length = 0;
    expect(await migrate(client, migrations)).toEqual([]);
    expect(ran.filter((query) => query.startsWith('SYSTEM'))).toEqual([]);
  });
});

