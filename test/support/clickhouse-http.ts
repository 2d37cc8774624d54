import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, deflate, gunzip, gzip, inflate } from 'node:zlib';
import { Session, version, type RawInsertFormat } from 'chdb';

/**
 * ClickHouse's HTTP interface, as far as `@clickhouse/client` uses it, served by chDB: lets tests run Hearth's
 * store over a real HTTP transport (no modern ClickHouse server installs here) and break that transport on purpose.
 * chDB binds one data directory per process: run this in a child (clickhouse-http-process.ts) or in a process
 * that opens chDB nowhere else.
 */

export type FaultMode = 'ok' | 'down' | 'slow' | 'error500';
export interface Fault {
  mode: FaultMode;
  /** How long 'slow' holds every answer. */
  delayMs: number;
  /** With 'slow': hold only the statements that contain this text (a long copy), the others answer at once. */
  query?: string | undefined;
}
export interface Faults {
  readonly current: Fault;
  set(fault: { mode: FaultMode; delayMs?: number | undefined; query?: string | undefined }): Fault;
}

export interface ClickHouseHttpOptions {
  /** chDB's data directory. */
  dataDir: string;
  /** 0 (default) picks a free port. */
  port?: number | undefined;
  /** The one account the server accepts; a ClickHouse server's defaults. */
  username?: string | undefined;
  password?: string | undefined;
}

export interface ClickHouseHttp {
  url: string;
  faults: Faults;
  close(): Promise<void>;
}

const FAULT_MODES: readonly FaultMode[] = ['ok', 'down', 'slow', 'error500'];
const DEFAULT_SLOW_MS = 1_000;
const SERVER_VERSION = version().libchdb.replaceAll('"', '');

// URL parameters that are the HTTP interface's own, or settings only its HTTP layer knows (chDB rejects them).
const NOT_ENGINE_SETTINGS = new Set([
  'query', 'database', 'default_format', 'query_id', 'user', 'password', 'quota_key', 'role',
  'session_id', 'session_timeout', 'session_check', 'compress', 'decompress', 'buffer_size',
  'wait_end_of_query', 'enable_http_compression', 'http_zlib_compression_level', 'send_progress_in_http_headers',
  'http_headers_progress_interval_ms', 'http_response_buffer_size', 'http_native_compression_disable_checksumming_on_decompress',
]);

// The formats chDB's raw insert takes as bytes; it also reports the rows written, which X-ClickHouse-Summary carries.
const RAW_INSERT_FORMATS = new Set<string>(['JSONEachRow', 'JSONCompactEachRow', 'CSV', 'CSVWithNames', 'TSV', 'TabSeparated', 'TSVWithNames', 'TabSeparatedWithNames']);
// Exactly what `client.insert()` sends: `INSERT INTO table[ (a, b)] FORMAT X`, the rows in the body.
const CLIENT_INSERT = /^INSERT INTO ([\w.]+)(?: \(([\w, ]+)\))? FORMAT (\w+)$/;

// ClickHouse's src/Server/HTTP/exceptionCodeToHTTPStatus.cpp, for the codes a test can meet; the rest are 500.
const HTTP_STATUS_OF_CODE = new Map<number, number>([
  ...[192, 193, 497, 516].map((code) => [code, 403] as const), // UNKNOWN_USER, WRONG_PASSWORD, ACCESS_DENIED, AUTHENTICATION_FAILED
  ...[6, 25, 26, 27, 36, 38, 41, 44, 53, 62, 72, 117].map((code) => [code, 400] as const), // CANNOT_PARSE_*, BAD_ARGUMENTS, SYNTAX_ERROR, …
  ...[46, 47, 50, 60, 73, 81, 115].map((code) => [code, 404] as const), // UNKNOWN_FUNCTION, _IDENTIFIER, _TYPE, _TABLE, _FORMAT, _DATABASE, _SETTING
  [159, 408], // TIMEOUT_EXCEEDED
]);

const decoders: Record<string, (body: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};
const encoders: Record<string, (body: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gzip),
  deflate: promisify(deflate),
  br: promisify(brotliCompress),
};

/** An error shaped like chDB's (`Code: N. DB::Exception: … (NAME)`, `.clickhouseCode`), for the ones this server raises. */
function clickHouseException(code: number, name: string, text: string): Error & { clickhouseCode: number } {
  return Object.assign(new Error(`Code: ${code}. DB::Exception: ${text}. (${name})`), { clickhouseCode: code });
}

function exceptionOf(error: unknown): { code: number; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { clickhouseCode?: number }).clickhouseCode ?? Number(/^Code: (\d+)\./.exec(message)?.[1] ?? 1001);
  return { code, message: message.startsWith('Code: ') ? message : `Code: ${code}. DB::Exception: ${message}. (STD_EXCEPTION)` };
}

/** A SQL string literal holding `value` byte for byte. */
const sqlString = (value: string) => `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

function credentials(req: IncomingMessage, url: URL): { user: string; password: string } {
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  return {
    user: header('x-clickhouse-user') ?? url.searchParams.get('user') ?? 'default',
    password: header('x-clickhouse-key') ?? url.searchParams.get('password') ?? '',
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const encoding = req.headers['content-encoding'];
  if (!encoding || encoding === 'identity') return body;
  const decode = decoders[encoding];
  if (!decode) throw clickHouseException(36, 'BAD_ARGUMENTS', `Unknown Content-Encoding: ${encoding}`);
  return decode(body);
}

interface QueryAnswer {
  body: Buffer;
  format: string;
  summary: Record<string, string>;
}

/** Runs one request's SQL in its own chDB session, so settings, parameters and `USE` never leak into the next. */
async function runQuery(dataDir: string, url: URL, body: Buffer, faults: Faults): Promise<QueryAnswer> {
  const urlQuery = url.searchParams.get('query') ?? '';
  // A statement the 'slow' fault names runs long, as a copy of a large table does: nothing is answered meanwhile.
  const { mode, delayMs, query: slowQuery } = faults.current;
  if (mode === 'slow' && slowQuery && `${urlQuery}\n${body.toString('utf8')}`.includes(slowQuery)) await sleep(delayMs);
  const defaultFormat = url.searchParams.get('default_format') || 'TabSeparated';
  const setup: string[] = [];
  const database = url.searchParams.get('database');
  if (database && database !== 'default') setup.push(`USE \`${database.replaceAll('`', '\\`')}\``);
  for (const [name, value] of url.searchParams) {
    if (NOT_ENGINE_SETTINGS.has(name)) continue;
    if (!/^\w+$/.test(name)) throw clickHouseException(115, 'UNKNOWN_SETTING', `Unknown setting '${name}'`);
    // `SET param_x` hands the engine the client's text form untouched, as a server's URL binding does;
    // chDB's queryBind would escape it a second time.
    setup.push(`SET ${name} = ${sqlString(value)}`);
  }
  const started = process.hrtime.bigint();
  const session = new Session(dataDir);
  try {
    for (const statement of setup) await session.queryAsync(statement);
    const insert = body.length > 0 ? CLIENT_INSERT.exec(urlQuery.trim()) : null;
    if (insert && RAW_INSERT_FORMATS.has(insert[3]!)) {
      const written = await session.insert({
        table: insert[1]!,
        columns: insert[2]?.split(',').map((column) => column.trim()),
        format: insert[3] as RawInsertFormat,
        values: body,
      });
      const summary = { written_rows: String(written.rowsWritten), written_bytes: String(written.bytesWritten) };
      return { body: Buffer.alloc(0), format: defaultFormat, summary: summaryOf(summary, started) };
    }
    const sql = [urlQuery, body.toString('utf8')].filter(Boolean).join('\n');
    if (!sql.trim()) throw clickHouseException(62, 'SYNTAX_ERROR', 'Empty query');
    const result = await session.queryAsync(sql, { format: defaultFormat });
    const explicitFormat = /^\s*INSERT\b/i.test(sql) ? undefined : /\bFORMAT\s+(\w+)\s*;?\s*$/i.exec(sql)?.[1];
    const answer = Buffer.from(result.bytes());
    const read = { read_rows: String(result.rowsRead), read_bytes: String(result.bytesRead), result_rows: String(result.rowsRead), result_bytes: String(answer.length) };
    return { body: answer, format: explicitFormat ?? defaultFormat, summary: summaryOf(read, started) };
  } finally {
    session.close();
  }
}

function summaryOf(counts: Record<string, string>, started: bigint): Record<string, string> {
  return {
    read_rows: '0', read_bytes: '0', written_rows: '0', written_bytes: '0', total_rows_to_read: '0', result_rows: '0', result_bytes: '0',
    ...counts,
    elapsed_ns: String(process.hrtime.bigint() - started),
  };
}

const contentTypeOf = (format: string) =>
  format.startsWith('JSON') ? 'application/json; charset=UTF-8' : format.startsWith('T') ? 'text/tab-separated-values; charset=UTF-8' : 'text/plain; charset=UTF-8';

function createFaults(): Faults {
  let current: Fault = { mode: 'ok', delayMs: 0 };
  return {
    get current() {
      return current;
    },
    set({ mode, delayMs, query }) {
      if (!FAULT_MODES.includes(mode)) throw new Error(`unknown fault mode ${JSON.stringify(mode)}: expected one of ${FAULT_MODES.join(', ')}`);
      current = mode === 'slow' ? { mode, delayMs: delayMs ?? DEFAULT_SLOW_MS, ...(query ? { query } : {}) } : { mode, delayMs: 0 };
      return current;
    },
  };
}

/** `GET /__faults` tells the fault in force; `POST /__faults {"mode": …, "delayMs": …}` changes it, from any process. */
async function controlFaults(req: IncomingMessage, res: ServerResponse, faults: Faults): Promise<void> {
  try {
    if (req.method === 'POST') faults.set(JSON.parse((await readBody(req)).toString('utf8')));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(faults.current));
  } catch (error) {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (error as Error).message }));
  }
}

/** Starts the server on 127.0.0.1; resolves once it listens. */
export async function startClickHouseHttp({ dataDir, port = 0, username = 'default', password = '' }: ClickHouseHttpOptions): Promise<ClickHouseHttp> {
  mkdirSync(dataDir, { recursive: true });
  // Holds the data directory for the server's lifetime; each request opens its own session beside it.
  const anchor = new Session(dataDir);
  const faults = createFaults();

  async function answer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const queryId = url.searchParams.get('query_id') || randomUUID();
    const accepted = (req.headers['accept-encoding'] ?? '').split(',').map((coding) => coding.trim().split(';')[0]);
    const compression = url.searchParams.get('enable_http_compression') === '1' ? Object.keys(encoders).find((coding) => accepted.includes(coding)) : undefined;
    const reply = async (status: number, body: Buffer, headers: Record<string, string>) => {
      const encoded = compression ? await encoders[compression]!(body) : body;
      res.writeHead(status, {
        'x-clickhouse-query-id': queryId,
        'x-clickhouse-timezone': 'UTC',
        'x-clickhouse-server-display-name': 'hearth-test-clickhouse',
        ...(compression ? { 'content-encoding': compression } : {}),
        ...headers,
      });
      res.end(encoded);
    };
    try {
      const body = await readBody(req);
      const { user, password: key } = credentials(req, url);
      if (user !== username || key !== password) {
        throw clickHouseException(516, 'AUTHENTICATION_FAILED', `${user}: Authentication failed: password is incorrect, or there is no user with such name`);
      }
      if (faults.current.mode === 'error500') {
        throw clickHouseException(999, 'KEEPER_EXCEPTION', 'Coordination::Exception: Connection loss, path /clickhouse/tables/events (injected fault)');
      }
      const result = await runQuery(dataDir, url, body, faults);
      await reply(200, result.body, {
        'content-type': contentTypeOf(result.format),
        'x-clickhouse-format': result.format,
        'x-clickhouse-summary': JSON.stringify(result.summary),
      });
    } catch (error) {
      const { code, message } = exceptionOf(error);
      await reply(HTTP_STATUS_OF_CODE.get(code) ?? 500, Buffer.from(`${message} (version ${SERVER_VERSION})\n`), {
        'content-type': 'text/plain; charset=UTF-8',
        'x-clickhouse-exception-code': String(code),
      });
    }
  }

  // Query parameters travel in the URL; ClickHouse accepts URIs up to 1 MiB (http_max_uri_size), Node only 16 KB.
  const server = createServer({ maxHeaderSize: 1 << 20 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/__faults') return void controlFaults(req, res, faults);
    const { mode, delayMs, query } = faults.current;
    if (mode === 'down') return void req.socket.destroy();
    void (async () => {
      if (mode === 'slow' && !query) await sleep(delayMs);
      if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
        return void res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      }
      if (url.pathname !== '/') return void res.writeHead(404, { 'content-type': 'text/plain; charset=UTF-8' }).end(`There is no handle ${url.pathname}\n`);
      await answer(req, res, url);
    })().catch((error: unknown) => res.destroy(error as Error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    faults,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      anchor.close();
    },
  };
}
