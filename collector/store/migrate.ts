import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { migrationsDir } from '../paths.ts';
import { clusterStatements, type ClusterTarget } from './cluster-ddl.ts';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
  checksum: string;
}

/** The store cannot be migrated by this release (a newer one migrated it, or a migration it applied was changed). */
export class MigrationRefused extends Error {}

/**
 * Checksums a migration file had in earlier releases, with the same statements: a store they migrated is as this
 * file leaves it. 007's comment was reworded after it shipped (2e35eba), which refused every store 6a4e347 to 2e35eba made.
 */
const EARLIER_CHECKSUMS: Record<string, string[]> = {
  '007_low_cardinality_pages': ['2f9c467e29a5665679da2f353e81ba8618785b484d35d33f76a27af1473e6fae'],
};

/** Reads `NNN_name.sql` files in version order; each file may hold several statements, each ending with `;` at a line end. */
export function readMigrations(dir: string = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d+_[\w-]+\.sql$/.test(file))
    .map((file) => {
      const sql = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number.parseInt(file, 10),
        name: file.replace(/\.sql$/, ''),
        statements: splitStatements(sql),
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
}

/**
 * A migration's statements for a cluster. `shardingKeys` carries the tables' sharding keys from statement to statement
 * and file to file (an EXCHANGE TABLES needs those of tables earlier files created): give every file, in order.
 */
export function clusterMigration(migration: Migration, cluster: ClusterTarget, shardingKeys: Map<string, string>): string[] {
  return migration.statements.flatMap((statement) => clusterStatements(statement, cluster, { source: `${migration.name}.sql`, shardingKeys }));
}

export function splitStatements(sql: string): string[] {
  const body = sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  return body
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter(Boolean);
}

const LEDGER = `CREATE TABLE IF NOT EXISTS hearth_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY version`;

/** Waits until this node's replica of the ledger holds every row written on the other nodes (a cluster's). */
const SYNC_LEDGER = 'SYSTEM SYNC REPLICA hearth_migrations';

export interface MigrateOptions {
  /**
   * Aborted (a shutdown): no migration starts after it, and migrate throws its reason. The one running goes on to its
   * ledger row: run again from its first statement at the next start, a rebuild (008, 013) stopped after its exchange
   * would drop the events stored meanwhile in the old table.
   */
  stop?: AbortSignal | undefined;
  /** Told the migrations not yet recorded, in order, once it has read the ledger (`hearth migrate` says what a stop leaves)… */
  onPending?: ((names: string[]) => void) | undefined;
  /** …each one's name as it starts… */
  onMigration?: ((name: string) => void) | undefined;
  /** …and once its ledger row is written. */
  onApplied?: ((name: string) => void) | undefined;
}

/** The statements that make the ledger, and each migration's, as they run on the server or `cluster`. */
function plannedStatements(migrations: Migration[], cluster: ClusterTarget | undefined) {
  const ledger = cluster ? clusterStatements(LEDGER, cluster, { source: 'the hearth_migrations ledger', shard: false }) : [LEDGER];
  const shardingKeys = new Map<string, string>();
  const statementsOf = new Map(
    migrations.map((migration) => [migration, cluster ? clusterMigration(migration, cluster, shardingKeys) : migration.statements]),
  );
  return { ledger, statementsOf };
}

/**
 * Every statement `hearth migrate` runs on a store that has none of the migrations, as it runs them (ON CLUSTER DDL
 * for a cluster), with the ledger rows that record them: for an operator to read, or to run in clickhouse-client
 * (`--multiquery`), after which Hearth finds the store up to date. `extra` (the retention's TTL) goes last.
 */
export function migrationScript(migrations: Migration[], cluster: ClusterTarget | undefined, extra: string[] = []): string {
  const { ledger, statementsOf } = plannedStatements(migrations, cluster);
  const sql = (label: string, statements: string[]) => [`-- ${label}`, ...statements.map((statement) => `${statement};`)].join('\n');
  return [
    sql('the migrations ledger', ledger),
    ...migrations.map((migration) =>
      sql(migration.name, [
        ...statementsOf.get(migration)!,
        `INSERT INTO hearth_migrations (version, name, checksum) VALUES (${migration.version}, '${migration.name}', '${migration.checksum}')`,
      ]),
    ),
    ...(extra.length ? [sql('storage.retentionDays', extra)] : []),
  ].join('\n\n');
}

/**
 * Applies every migration not yet recorded in `hearth_migrations`, in order; returns the names applied. With a
 * cluster, the same files run as cluster DDL (cluster-ddl.ts) and the ledger is replicated to every node, so a
 * migration one collector applied counts for all.
 */
/** The migrations a store that has Hearth's ledger has not had yet, by name; none for a store without it (never migrated). */
export async function unappliedMigrations(client: Pick<ClickHouseClient, 'query'>, migrations: Migration[] = readMigrations()): Promise<string[]> {
  const ledger = await client.query({ query: 'EXISTS TABLE hearth_migrations', format: 'JSONEachRow' });
  const [{ result } = { result: 0 }] = await ledger.json<{ result: number | string }>();
  if (Number(result) !== 1) return [];
  const rows = await client.query({ query: 'SELECT version FROM hearth_migrations', format: 'JSONEachRow' });
  const applied = new Set((await rows.json<{ version: number | string }>()).map((row) => Number(row.version)));
  return migrations.filter((migration) => !applied.has(migration.version)).map((migration) => migration.name);
}

export async function migrate(client: ClickHouseClient, migrations: Migration[] = readMigrations(), cluster?: ClusterTarget, { stop, onPending, onMigration, onApplied }: MigrateOptions = {}): Promise<string[]> {
  // Every file is transformed before anything runs, so one that cannot be leaves the database untouched.
  const { ledger, statementsOf } = plannedStatements(migrations, cluster);
  for (const statement of ledger) await client.command({ query: statement });
  // On a cluster, this node's replica of the ledger may not have fetched yet the rows another node's collector wrote
  // before it let go of the lock: it would apply those migrations again (a rebuild, 008, 013 or 017, copied twice).
  if (cluster) await client.command({ query: SYNC_LEDGER });
  const rows = await client.query({ query: 'SELECT version, name, checksum FROM hearth_migrations', format: 'JSONEachRow' });
  const applied = new Map((await rows.json<{ version: number; name: string; checksum: string }>()).map((r) => [Number(r.version), r]));
  // A store a newer release migrated: this one would run on tables it does not know and undo what that one does (its
  // scores, with older rules, written over the newer ones).
  const latest = Math.max(0, ...migrations.map((migration) => migration.version));
  const newer = [...applied.values()].filter((row) => Number(row.version) > latest).map((row) => row.name);
  if (newer.length > 0) {
    throw new MigrationRefused(`the store was migrated by a newer Hearth (${newer.sort().join(', ')}, unknown to this one): run that release or a later one`);
  }
  onPending?.(migrations.filter((migration) => !applied.has(migration.version)).map((migration) => migration.name));
  const done: string[] = [];
  for (const migration of migrations) {
    const previous = applied.get(migration.version);
    if (previous) {
      if (previous.checksum !== migration.checksum && !EARLIER_CHECKSUMS[migration.name]?.includes(previous.checksum)) {
        throw new MigrationRefused(`migration ${migration.name} was changed after it was applied; add a new migration instead`);
      }
      continue;
    }
    stop?.throwIfAborted();
    onMigration?.(migration.name);
    for (const statement of statementsOf.get(migration)!) await client.command({ query: statement });
    await client.insert({
      table: 'hearth_migrations',
      values: [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
      format: 'JSONEachRow',
    });
    done.push(migration.name);
    onApplied?.(migration.name);
  }
  return done;
}
