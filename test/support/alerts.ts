import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import { SMTPServer } from 'smtp-server';
import { createStoreClient } from '../../collector/store/client.ts';
import { migrate } from '../../collector/store/migrate.ts';
import type { Alert } from '../../scoring/alerts/alert.ts';
import type { Delivery } from '../../scoring/alerts/outbox.ts';
import { spawnClickHouseHttp } from './clickhouse-http-process.ts';
import { migratedEngineDir, processDataDir } from './data-dir.ts';

/** A buying-signal alert as the evaluator makes it; override any field, and any of the lead's. */
export function sampleAlert(overrides: Partial<Omit<Alert, 'lead'>> & { lead?: Partial<Alert['lead']> } = {}): Alert {
  const { lead, ...rest } = overrides;
  const id = rest.id ?? `al_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  const leadId = lead?.id ?? `l_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  return {
    id,
    site: 'acme',
    signal: 'demo_request',
    summary: 'Asked to talk to sales (form demo-request)',
    triggeredAt: new Date(Date.now() - 60_000).toISOString(),
    createdAt: new Date().toISOString(),
    account: { id: 'lovelace.test', name: 'Lovelace Ltd', score: 80, temperature: 'hot' },
    ...rest,
    lead: {
      id: leadId,
      email: 'ada@lovelace.test',
      name: 'Ada Lovelace',
      company: 'Lovelace Ltd',
      jobTitle: 'Head of Operations',
      country: 'FR',
      owner: '',
      score: 72,
      temperature: 'hot',
      topReasons: [
        { rule: 'pricing-page', kind: 'engagement', count: 3, points: 40, capped: true },
        { rule: 'manager-director', kind: 'fit', count: 1, points: 20, capped: false },
        { rule: 'covered-country', kind: 'fit', count: 1, points: 15, capped: false },
      ],
      url: `https://hearth.acme.test/dashboard/leads/${leadId}?site=acme`,
      ...lead,
    },
  };
}

/**
 * An alert's outbox row once it has settled, as the dispatcher leaves it: delivered to or dead at `destination`, or
 * suppressed as a whole (no destination). For a history of alerts written at once, without sending anything.
 */
export function settledDelivery(alert: Alert, state: 'delivered' | 'dead' | 'suppressed', destination = { id: 'crm', type: 'webhook' as const }): Delivery {
  const at = Date.parse(alert.createdAt);
  const sent = state !== 'suppressed';
  return {
    site: alert.site,
    alertId: alert.id,
    destinationId: sent ? destination.id : '',
    destinationType: sent ? destination.type : '',
    leadId: alert.lead.id,
    signal: alert.signal,
    state,
    attempts: sent ? 1 : 0,
    nextAttemptAt: at,
    giveUpAt: at + 24 * 3_600_000,
    lastError: state === 'dead' ? 'the webhook answered 410: gone' : state === 'suppressed' ? `cooldown: this lead had a "${alert.signal}" alert less than 24 h before` : '',
    deliveredAt: state === 'delivered' ? at + 1000 : null,
    createdAt: at,
    updatedAt: at + 1000,
    alert,
    version: sent ? 2 : 1,
  };
}

/**
 * Verifies a Standard Webhooks signature the way a receiver would, written here from the spec and independently of
 * scoring/alerts/signing.ts: key = base64 after "whsec_", signed content "id.timestamp.body", any "v1," entry of
 * the space-separated header may match, and the timestamp must be within `toleranceSeconds` of now.
 */
export function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, body: string, nowSeconds = Math.floor(Date.now() / 1000), toleranceSeconds = 300): string | null {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return 'missing webhook headers';
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return 'timestamp outside the tolerance';
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  const ok = signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return ok ? null : 'no signature matches';
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Decides each answer; by default 204. */
  respond: (request: ReceivedRequest, index: number) => { status: number; body?: string; headers?: Record<string, string> } | Promise<{ status: number; body?: string }>;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that records every request and answers as `respond` says. */
export async function startHttpReceiver(): Promise<HttpReceiver> {
  const receiver: HttpReceiver = {
    url: '',
    requests: [],
    respond: () => ({ status: 204 }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      receiver.requests.push(request);
      const answer = (await receiver.respond(request, receiver.requests.length - 1)) as { status: number; body?: string; headers?: Record<string, string> };
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? '');
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server in this process (the smtp-server package), on 127.0.0.1, that keeps every message it accepts. */
export async function startSmtpReceiver({
  credentials,
  port: wantedPort = 0,
  refuse = [],
  refuseData,
  replyDelayMs = 0,
}: {
  credentials?: { user: string; password: string };
  port?: number;
  /** Mailboxes it answers 550 to, naming them as Postfix does: `5.1.1 <nobody@acme.test>: Recipient address rejected: …`. */
  refuse?: string[];
  /** What it answers (554) to every message once sent, instead of taking it. */
  refuseData?: string;
  /** How long it takes to answer the end of a message (a server scanning it). */
  replyDelayMs?: number;
} = {}): Promise<{
  port: number;
  mails: ReceivedMail[];
  /** The user names it was asked to log in with. */
  logins: string[];
  close(): Promise<void>;
}> {
  const mails: ReceivedMail[] = [];
  const logins: string[] = [];
  const server = new SMTPServer({
    disabledCommands: credentials ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !credentials,
    // Plain-text AUTH on a local test socket; production SMTP runs over TLS.
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push(auth.username ?? '');
      if (credentials && auth.username === credentials.user && auth.password === credentials.password) return callback(null, { user: auth.username });
      callback(new Error('invalid credentials'));
    },
    onRcptTo(address, _session, callback) {
      if (!refuse.includes(address.address)) return callback();
      callback(Object.assign(new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown in local recipient table`), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (refuseData !== undefined) return callback(Object.assign(new Error(refuseData), { responseCode: 554 }));
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        setTimeout(callback, replyDelayMs);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(wantedPort, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, logins, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Polls `check` until it returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface ParsedMail {
  /** Header names in lower case, values unfolded and with encoded words (RFC 2047) decoded. */
  headers: Map<string, string>;
  text: string;
  html: string;
}

/** Enough MIME to read what nodemailer sends: headers, a multipart/alternative body, quoted-printable or base64 parts. */
export function parseMail(raw: string): ParsedMail {
  const { headers, body } = splitPart(raw);
  const parts = new Map<string, string>();
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (boundary) {
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const part = splitPart(chunk.replace(/^\r?\n/, ''));
      parts.set((part.headers.get('content-type') ?? 'text/plain').split(';')[0]!.trim(), decodeBody(part.body, part.headers.get('content-transfer-encoding')));
    }
  } else parts.set(type.split(';')[0]!.trim(), decodeBody(body, headers.get('content-transfer-encoding')));
  return { headers, text: parts.get('text/plain') ?? '', html: parts.get('text/html') ?? '' };
}

function splitPart(raw: string): { headers: Map<string, string>; body: string } {
  const end = raw.search(/\r?\n\r?\n/);
  const head = end < 0 ? raw : raw.slice(0, end);
  const body = end < 0 ? '' : raw.slice(end).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  return { headers, body };
}

function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([BQ])\?([^?]*)\?=/gi, (_match, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replaceAll('_', ' ')),
    );
}

function decodeBody(body: string, encoding: string | undefined): string {
  const trimmed = body.replace(/\r?\n$/, '');
  if (encoding?.toLowerCase() === 'base64') return Buffer.from(trimmed.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding?.toLowerCase() === 'quoted-printable') return decodeQuotedPrintable(trimmed.replace(/=\r?\n/g, ''));
  return trimmed;
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8').replace(/\r\n/g, '\n');
}

/**
 * A migrated store and no server, so that the only dispatcher is the test's own: embedded in this process, or with
 * HEARTH_TEST_CLICKHOUSE=http over HTTP to chDB in a child process, as startTestServer() chooses.
 */
export async function openTestStore(): Promise<{ client: ClickHouseClient; close(): Promise<void> }> {
  if ((process.env.HEARTH_TEST_CLICKHOUSE || 'embedded') === 'embedded') {
    const client = createStoreClient({ dataDir: processDataDir({ migrated: true }) });
    await migrate(client);
    return { client, close: () => client.close() };
  }
  const clickhouse = await spawnClickHouseHttp({ dataDir: migratedEngineDir() });
  const client = createStoreClient({ dataDir: processDataDir(), url: clickhouse.url });
  await migrate(client);
  return {
    client,
    async close() {
      await client.close();
      await clickhouse.stop();
    },
  };
}
