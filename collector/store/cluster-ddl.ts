/**
 * Turns the single-server DDL of the migration files into DDL for a ClickHouse cluster, so one set of files serves
 * both: every statement runs `ON CLUSTER`, each MergeTree table `t` becomes a replicated `t_local` on every node
 * plus a Distributed `t` in front of it, so readers and writers keep using `t`.
 */

export interface ClusterTarget {
  /** The cluster's name in the servers' `remote_servers`. */
  cluster: string;
  /** The database the collectors use (CLICKHOUSE_DATABASE), which the Distributed tables point into. */
  database: string;
}

export interface TransformOptions {
  /** Names the statement's origin in errors, e.g. `001_events.sql`. */
  source: string;
  /** false: the table is replicated on every node of the cluster and not sharded (the migrations ledger). */
  shard?: boolean;
  /**
   * The sharding key of each Distributed table the statements read so far created, filled as they are read: an
   * EXCHANGE TABLES makes both Distributed tables again in front of their swapped local tables, with the keys their
   * rows were sharded by. Give one map to every statement of every file, in order.
   */
  shardingKeys?: Map<string, string>;
}

export class ClusterDdlError extends Error {
  override name = 'ClusterDdlError';
}

export const LOCAL_SUFFIX = '_local';

/** `events` → `events_local`: the per-node replicated table behind a Distributed one. */
export const localTable = (table: string) => `${table}${LOCAL_SUFFIX}`;

/** A cluster or database name as ClickHouse reads it, back-quoted unless it is a plain identifier. */
export function quoteName(name: string): string {
  return /^[A-Za-z_]\w*$/.test(name) ? name : `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
}

const sqlString = (value: string) => `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

interface Token {
  kind: 'word' | 'quoted' | 'string' | 'number' | 'punct';
  text: string;
  start: number;
  end: number;
  /** Parenthesis depth the token sits at (an opening parenthesis is at the outer depth). */
  depth: number;
}

const LEXEMES: [Token['kind'] | 'skip', RegExp][] = [
  ['skip', /\s+|--[^\n]*|\/\*[\s\S]*?\*\//y],
  ['string', /'(?:[^'\\]|\\[\s\S]|'')*'/y],
  ['quoted', /`(?:[^`\\]|\\[\s\S]|``)*`|"(?:[^"\\]|\\[\s\S]|"")*"/y],
  ['word', /[A-Za-z_][\w$]*/y],
  ['number', /\d[\w.]*/y],
  ['punct', /[\s\S]/y],
];

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  for (let at = 0; at < sql.length; ) {
    for (const [kind, pattern] of LEXEMES) {
      pattern.lastIndex = at;
      const match = pattern.exec(sql);
      if (!match) continue;
      const text = match[0];
      if (kind !== 'skip') {
        if (text === ')') depth--;
        tokens.push({ kind, text, start: at, end: at + text.length, depth });
        if (text === '(') depth++;
      }
      at += text.length;
      break;
    }
  }
  return tokens;
}

/** A table name as ClickHouse reads it: a quoted one without its quotes and escapes. */
const unquote = (token: Token) => (token.kind === 'quoted' ? token.text.slice(1, -1).replace(/\\(.)|``|""/g, (pair, escaped: string | undefined) => escaped ?? pair[0]!) : token.text);
const isWord = (token: Token | undefined, word: string) => token?.kind === 'word' && token.text.toUpperCase() === word;

/** A statement being read left to right; `fail` explains what could not be transformed. */
class Reader {
  readonly tokens: Token[];
  at = 0;
  constructor(
    readonly sql: string,
    readonly fail: (reason: string) => never,
  ) {
    this.tokens = tokenize(sql);
  }
  peek(offset = 0): Token | undefined {
    return this.tokens[this.at + offset];
  }
  accept(...words: string[]): boolean {
    if (!words.every((word, i) => isWord(this.peek(i), word))) return false;
    this.at += words.length;
    return true;
  }
  expect(...words: string[]): void {
    if (!this.accept(...words)) this.fail(`expected ${words.join(' ')} at "${this.sql.slice(this.peek()?.start ?? this.sql.length).slice(0, 40)}"`);
  }
  /** A table name; a database-qualified one would escape the database the cluster DDL points at. */
  tableName(): string {
    const token = this.peek();
    if (!token || (token.kind !== 'word' && token.kind !== 'quoted')) this.fail('expected a table name');
    this.at++;
    if (this.peek()?.text === '.') this.fail('a table name qualified with a database is not supported; migrations use the connection’s database');
    if (isWord(this.peek(), 'ON') && isWord(this.peek(1), 'CLUSTER')) this.fail('the statement already says ON CLUSTER; migration files are written for one server');
    return unquote(token);
  }
  /** Index of the parenthesis closing the one at `open`. */
  closing(open: number): number {
    const depth = this.tokens[open]!.depth;
    const close = this.tokens.findIndex((token, i) => i > open && token.text === ')' && token.depth === depth);
    if (close < 0) this.fail('unbalanced parentheses');
    return close;
  }
  /** The source text from token `from` to the end of token `to` (inclusive), as written. */
  text(from: number, to: number): string {
    return from > to ? '' : this.sql.slice(this.tokens[from]!.start, this.tokens[to]!.end);
  }
  /** Top-level comma-separated pieces of tokens [from, to], as written. */
  list(from: number, to: number): string[] {
    const depth = this.tokens[from]?.depth;
    const pieces: string[] = [];
    let start = from;
    for (let i = from; i <= to + 1; i++) {
      if (i === to + 1 || (this.tokens[i]!.text === ',' && this.tokens[i]!.depth === depth)) {
        if (i > start) pieces.push(this.text(start, i - 1));
        start = i + 1;
      }
    }
    return pieces;
  }
}

const MERGE_TREE = /^(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing|Graphite)?MergeTree$/;
// Clauses that may follow ORDER BY in a MergeTree table definition.
const TABLE_CLAUSES = new Set(['PARTITION', 'PRIMARY', 'SAMPLE', 'TTL', 'SETTINGS', 'COMMENT']);
// The ALTER commands a Distributed table takes too: its columns must match the local table's.
const COLUMN_COMMANDS = new Set(['ADD COLUMN', 'DROP COLUMN', 'MODIFY COLUMN', 'RENAME COLUMN', 'COMMENT COLUMN']);

/**
 * One single-server statement → the statements that do the same on `target.cluster`, in the order to run them.
 * Knows CREATE TABLE with a MergeTree-family engine, ALTER TABLE, DROP TABLE, EXCHANGE TABLES, INSERT … SELECT
 * (which copies between tables, as a rebuild does) and a materialized view that writes TO a table (a rollup); anything
 * else throws a ClusterDdlError naming `source`, rather than guessing.
 */
export function clusterStatements(statement: string, target: ClusterTarget, { source, shard = true, shardingKeys = new Map() }: TransformOptions): string[] {
  const fail = (reason: string): never => {
    const excerpt = statement.replace(/\s+/g, ' ').trim();
    throw new ClusterDdlError(`${source}: cannot turn this statement into cluster DDL: ${reason}\n  ${excerpt.length > 120 ? excerpt.slice(0, 117) + '...' : excerpt}`);
  };
  const reader = new Reader(statement, fail);
  if (reader.accept('CREATE', 'TABLE')) return createTable(reader, target, shard, shardingKeys);
  if (reader.accept('ALTER', 'TABLE')) return alterTable(reader, target);
  if (reader.accept('DROP', 'TABLE')) return dropTable(reader, target);
  if (reader.accept('EXCHANGE', 'TABLES')) return exchangeTables(reader, target, shardingKeys);
  if (reader.accept('INSERT', 'INTO')) return insertSelect(reader);
  if (reader.accept('CREATE', 'MATERIALIZED', 'VIEW')) return materializedView(reader, target, shardingKeys);
  return fail('only CREATE TABLE, ALTER TABLE, DROP TABLE, EXCHANGE TABLES, INSERT … SELECT and CREATE MATERIALIZED VIEW … TO are supported (another view needs hand-written cluster DDL)');
}

function createTable(reader: Reader, target: ClusterTarget, shard: boolean, shardingKeys: Map<string, string>): string[] {
  const ifNotExists = reader.accept('IF', 'NOT', 'EXISTS') ? 'IF NOT EXISTS ' : '';
  const table = reader.tableName();
  if (reader.peek()?.text !== '(') reader.fail('expected the column list after the table name (CREATE TABLE … AS … is not supported)');
  const columnsEnd = reader.closing(reader.at);
  const columns = reader.text(reader.at, columnsEnd);
  const timeColumns = timeColumnsOf(reader, reader.at + 1, columnsEnd - 1);
  reader.at = columnsEnd + 1;
  reader.expect('ENGINE');
  if (reader.peek()?.text === '=') reader.at++;
  const engine = reader.peek();
  if (engine?.text.startsWith('Replicated')) reader.fail(`engine ${engine.text} is already replicated; migration files are written for one server`);
  if (engine?.kind !== 'word' || !MERGE_TREE.test(engine.text)) {
    reader.fail(`engine ${engine?.text ?? '(none)'} has no replicated form; use a MergeTree-family engine`);
  }
  reader.at++;
  let engineArgs: string[] = [];
  if (reader.peek()?.text === '(') {
    const argsEnd = reader.closing(reader.at);
    engineArgs = reader.list(reader.at + 1, argsEnd - 1);
    reader.at = argsEnd + 1;
  }
  const clauses = reader.text(reader.at, reader.tokens.length - 1);
  const on = `ON CLUSTER ${quoteName(target.cluster)}`;
  // A sharded table's replicas are the shard's, under a path that ends with the table's UUID (ClickHouse's own
  // default; the same on every node for ON CLUSTER DDL): a rebuilt table exchanged with the old one keeps its path,
  // so creating a table of the name it had again (a rebuild run a second time) never collides. The unsharded
  // ledger is one replica set spanning every node, under a fixed path a node added later joins as it is.
  const zooKeeperPath = shard ? `/clickhouse/tables/{shard}/{database}/${table}/{uuid}` : `/clickhouse/tables/{database}/${table}`;
  const replicatedEngine = `Replicated${engine.text}(${[sqlString(zooKeeperPath), "'{replica}'", ...engineArgs].join(', ')})`;
  const name = shard ? localTable(table) : table;
  const create = `CREATE TABLE ${ifNotExists}${quoteName(name)} ${on}\n${columns}\nENGINE = ${replicatedEngine}\n${clauses}`.trimEnd();
  if (!shard) return [create];
  const key = shardingKey(reader, timeColumns);
  shardingKeys.set(table, key);
  return [create, distributedTable(`CREATE TABLE ${ifNotExists}`, table, key, target)];
}

/** The Distributed table `table` in front of its local table, with the local table's columns. */
const distributedTable = (create: string, table: string, key: string, target: ClusterTarget) =>
  `${create}${quoteName(table)} ON CLUSTER ${quoteName(target.cluster)} AS ${quoteName(localTable(table))}\nENGINE = Distributed(${[target.cluster, target.database, localTable(table)].map(sqlString).join(', ')}, ${key})`;

/** Names of the Date and DateTime columns among the column definitions in tokens [from, to]. */
function timeColumnsOf(reader: Reader, from: number, to: number): Set<string> {
  const names = new Set<string>();
  const depth = reader.tokens[from]?.depth;
  let definitionStart = true;
  for (let i = from; i <= to; i++) {
    const token = reader.tokens[i]!;
    if (token.depth !== depth) continue;
    if (token.text === ',') definitionStart = true;
    else if (definitionStart) {
      definitionStart = false;
      if (/^Date/.test(reader.tokens[i + 1]?.text ?? '')) names.add(unquote(token));
    }
  }
  return names;
}

/**
 * cityHash64 of the order key's columns before its first time column: (site_id, visitor_id) for the events ordered
 * by (site_id, visitor_id, ts, event_id), so one visitor's (or one lead's) whole history is on one shard and
 * per-visitor windows never span shards; the whole key when it starts with time. Being part of the order key, it
 * also puts every copy of a row on one shard, where a Replacing engine and FINAL collapse retried inserts.
 */
function shardingKey(reader: Reader, timeColumns: Set<string>): string {
  const { tokens } = reader;
  const depth = tokens[reader.at]?.depth ?? 0;
  const orderBy = tokens.findIndex((token, i) => i >= reader.at && token.depth === depth && isWord(token, 'ORDER') && isWord(tokens[i + 1], 'BY'));
  if (orderBy < 0) return reader.fail('a table without ORDER BY has no key to shard by');
  const from = orderBy + 2;
  let to = tokens.findIndex((token, i) => i >= from && token.depth === depth && token.kind === 'word' && TABLE_CLAUSES.has(token.text.toUpperCase()));
  to = (to < 0 ? tokens.length : to) - 1;
  const wrapped = tokens[from]?.text === '(' && reader.closing(from) === to;
  const key = wrapped ? reader.list(from + 1, to - 1) : reader.list(from, to);
  if (key.length === 0 || /^tuple\(\s*\)$/.test(key[0]!)) return reader.fail('an empty ORDER BY has no key to shard by');
  const mentionsTime = (element: string) => tokenize(element).some((token) => (token.kind === 'word' || token.kind === 'quoted') && timeColumns.has(unquote(token)));
  const firstTime = key.findIndex(mentionsTime);
  return `cityHash64(${(firstTime > 0 ? key.slice(0, firstTime) : key).join(', ')})`;
}

function alterTable(reader: Reader, target: ClusterTarget): string[] {
  const table = reader.tableName();
  const commands = reader.list(reader.at, reader.tokens.length - 1);
  if (commands.length === 0) reader.fail('an ALTER TABLE without commands');
  const columnCommands = commands.filter((command) => COLUMN_COMMANDS.has(command.split(/\s+/, 2).join(' ').toUpperCase()));
  const on = `ON CLUSTER ${quoteName(target.cluster)}`;
  // The local table first: a Distributed table must never name a column its shards lack.
  const statements = [`ALTER TABLE ${quoteName(localTable(table))} ${on} ${commands.join(', ')}`];
  if (columnCommands.length > 0) statements.push(`ALTER TABLE ${quoteName(table)} ${on} ${columnCommands.join(', ')}`);
  return statements;
}

function dropTable(reader: Reader, target: ClusterTarget): string[] {
  const ifExists = reader.accept('IF', 'EXISTS') ? 'IF EXISTS ' : '';
  const table = reader.tableName();
  if (reader.peek()) reader.fail(`unexpected "${reader.peek()!.text}" after the table name`);
  const on = `ON CLUSTER ${quoteName(target.cluster)}`;
  // The Distributed table first, so nothing writes through it into a table that is gone.
  return [`DROP TABLE ${ifExists}${quoteName(table)} ${on} SYNC`, `DROP TABLE ${ifExists}${quoteName(localTable(table))} ${on} SYNC`];
}

/**
 * Swaps the tables: on a cluster, the local tables, then each Distributed table is made again in front of its local
 * table, as it is now: a Distributed table keeps the columns it was created with, and a rebuild that adds one (013's
 * session_id) would leave it reading and writing the old ones. Each takes the sharding key its new rows were sharded by.
 */
function exchangeTables(reader: Reader, target: ClusterTarget, shardingKeys: Map<string, string>): string[] {
  const first = reader.tableName();
  reader.expect('AND');
  const second = reader.tableName();
  if (reader.peek()) reader.fail(`unexpected "${reader.peek()!.text}" after the table names`);
  const keyOf = (table: string) => shardingKeys.get(table) ?? reader.fail(`no statement before this one creates ${table}, so its sharding key is unknown`);
  const [firstKey, secondKey] = [keyOf(first), keyOf(second)];
  shardingKeys.set(first, secondKey).set(second, firstKey);
  return [
    `EXCHANGE TABLES ${quoteName(localTable(first))} AND ${quoteName(localTable(second))} ON CLUSTER ${quoteName(target.cluster)}`,
    distributedTable('CREATE OR REPLACE TABLE ', first, secondKey, target),
    distributedTable('CREATE OR REPLACE TABLE ', second, firstKey, target),
  ];
}

/**
 * A copy from table to table, run once through the Distributed tables (an INSERT has no ON CLUSTER): each shard
 * copies its own local table into its own local table (both are sharded by the same key, so every row stays on its
 * shard), a subquery reads the shard's local rows, and the statement returns when the rows are written
 * (`insert_distributed_sync`, the name the client's inserts use too: older servers know no other).
 */
function insertSelect(reader: Reader): string[] {
  const table = reader.tableName();
  const select = reader.peek();
  if (!isWord(select, 'SELECT')) reader.fail('expected INSERT INTO table SELECT … (a column list or SETTINGS are not supported)');
  const settings = "parallel_distributed_insert_select = 2, distributed_product_mode = 'local', insert_distributed_sync = 1";
  return [`INSERT INTO ${quoteName(table)} SETTINGS ${settings}\n${reader.sql.slice(select!.start).trim()}`];
}

/**
 * A materialized view that keeps a rollup as rows land (`CREATE MATERIALIZED VIEW v TO rollup AS SELECT … FROM t …`):
 * on a cluster, one on each node, from the local table the rows land in to the rollup's local table, so each shard
 * rolls up its own rows. Both tables must be sharded tables that statements before it created; the SELECT reads one
 * table, no subquery or join.
 */
function materializedView(reader: Reader, target: ClusterTarget, shardingKeys: Map<string, string>): string[] {
  const ifNotExists = reader.accept('IF', 'NOT', 'EXISTS') ? 'IF NOT EXISTS ' : '';
  const view = reader.tableName();
  const sharded = (table: string) => (shardingKeys.has(table) ? localTable(table) : reader.fail(`no statement before this one creates ${table} as a sharded table`));
  reader.expect('TO');
  const into = sharded(reader.tableName());
  reader.expect('AS');
  const select = reader.peek();
  if (!isWord(select, 'SELECT')) reader.fail('expected TO table AS SELECT …');
  const { tokens } = reader;
  const depth = select!.depth;
  const reads = tokens.flatMap((token, i) => (i > reader.at && token.depth === depth && (isWord(token, 'FROM') || isWord(token, 'JOIN')) ? [i] : []));
  if (reads.length !== 1 || !isWord(tokens[reads[0]!], 'FROM')) reader.fail('the SELECT of a materialized view must read one table (one FROM, no JOIN)');
  reader.at = reads[0]! + 1;
  const source = sharded(reader.tableName());
  if (reader.peek()?.text === '(' || tokens.some((token, i) => i > reader.at && isWord(token, 'SELECT'))) reader.fail('a subquery in a materialized view is not supported');
  const on = `ON CLUSTER ${quoteName(target.cluster)}`;
  const sql = reader.sql;
  const fromName = tokens[reads[0]! + 1]!;
  return [
    `CREATE MATERIALIZED VIEW ${ifNotExists}${quoteName(view)} ${on} TO ${quoteName(into)} AS\n${sql.slice(select!.start, fromName.start)}${quoteName(source)}${sql.slice(fromName.end)}`.trimEnd(),
  ];
}
