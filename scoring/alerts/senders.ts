import { domainToASCII } from 'node:url';
import type { SendMailOptions } from 'nodemailer';
import { decodeHTML } from 'entities';
import { cutToCharacters } from '../normalize.ts';
import type { Alert } from './alert.ts';
import type { EmailDestination, SlackDestination, SmtpConfig, WebhookDestination } from './config.ts';
import { alertEmail, slackMessage, webhookBody } from './formats.ts';
import { emailRecipients } from './routing.ts';
import { webhookHeaders } from './signing.ts';
import { NOT_DELIVERED_TO } from './outbox.ts';

/**
 * One attempt to hand an alert to one destination, and what it means: delivered, try again later, or give up now
 * (a receiver that says the request itself is wrong will say so again on every retry).
 */
export type Outcome =
  /** `refused`: the recipients a mail server refused while it took the message for the others (NOT_DELIVERED_TO). */
  | { kind: 'delivered'; refused?: string }
  | { kind: 'retry'; error: string; /** The receiver's Retry-After, when it gave one. */ retryAfterMs?: number }
  | { kind: 'dead'; error: string };

export interface HttpOptions {
  fetch: typeof globalThis.fetch;
  timeoutMs: number;
  now: () => number;
}

/** What email delivery needs from a nodemailer transport (a Transporter satisfies it). */
export interface MailTransport {
  /** Resolves with nodemailer's info: `rejected`, the recipients the server refused while it took the message. */
  sendMail(message: SendMailOptions): Promise<{ rejected?: unknown[]; rejectedErrors?: Array<{ message?: string }> } | undefined | void>;
  close?(): void;
}

const USER_AGENT = 'Hearth-Alerts/1.0';
const ERROR_BODY_CHARS = 200;

/**
 * What a receiver's answer says, for the dead letter's reason that sales read: its text on one line, markup left out
 * (an error page's HTML, a script) and its character references read (`&quot;` is ", by `entities`, the HTML parsers'
 * own decoder), cut short. A receiver is the admin's choice; its answer is no place for secrets. `kept` says which
 * bracketed parts are no markup (an SMTP reply's addresses).
 */
const answerText = (body: string, kept?: RegExp) =>
  cutToCharacters(
    decodeHTML(body.replace(/<(script|style)\b[^]*?<\/\1\s*>/gi, ' ').replace(/<[^>]*>/g, (tag) => (kept?.test(tag) ? tag : ' ')))
      .replace(/\s+/g, ' ')
      .trim(),
    // In characters: cut inside an emoji, the reason was a lone surrogate that ClickHouse refused to store, and the
    // dead letter stayed pending for good.
    ERROR_BODY_CHARS,
  );

/**
 * A path as an SMTP reply writes it, in angle brackets: an address (`<nobody@example.test>`, the mailbox refused), the
 * null sender `<>` or `<postmaster>`. Read as tags, they left "550 5.1.1 : Recipient address rejected", which says
 * whom no more; a tag of an HTML page has no @ but in its attributes, after a space.
 */
const SMTP_PATH = /^<(?:[^\s<>@]*@[^\s<>]+|postmaster)?>$/i;

/** An SMTP server's reply as answerText reads a receiver's answer, its addresses kept. */
const smtpAnswerText = (reply: string) => answerText(reply, SMTP_PATH);

export async function sendWebhook(destination: WebhookDestination, alert: Alert, options: HttpOptions): Promise<Outcome> {
  const body = webhookBody(alert);
  // The alert id is the webhook-id, the same on every retry: receivers drop a message they already processed.
  const headers = { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...webhookHeaders(destination.secret, alert.id, body, options.now()) };
  return post(destination.url, body, headers, `the webhook at ${hostOf(destination.url)}`, options);
}

/** Slack incoming webhooks have no idempotency key: a repeated send (after a crash mid-send) posts twice. */
export async function sendSlack(destination: SlackDestination, alert: Alert, options: HttpOptions): Promise<Outcome> {
  return post(destination.url, JSON.stringify(slackMessage(alert)), { 'content-type': 'application/json', 'user-agent': USER_AGENT }, 'Slack', options);
}

export async function sendEmail(destination: EmailDestination, alert: Alert, smtp: SmtpConfig, transport: MailTransport, destinationId: string): Promise<Outcome> {
  const to = emailRecipients(destination, alert);
  if (to.length === 0) return { kind: 'dead', error: 'no recipient: the lead has no owner with an email address and the destination lists no address' };
  const { subject, text, html } = alertEmail(alert);
  try {
    const info = await transport.sendMail({
      from: smtp.from,
      to,
      subject,
      text,
      html,
      // Derived from the alert id, the same on every retry, so mail systems and people can tell a repeat.
      messageId: messageIdOf(alert.id, destinationId, smtp.from),
      // RFC 3834: a message no person wrote, which out-of-office replies and mailing lists leave unanswered.
      headers: { 'X-Hearth-Alert-Id': alert.id, 'Auto-Submitted': 'auto-generated' },
    });
    // A recipient refused (an unknown mailbox) while the others took it: delivered, and the refusal kept to be seen
    // (a retry would mail the others again). Every recipient refused is an error nodemailer throws (below).
    const refused = (info?.rejected ?? []).map(String);
    if (refused.length > 0) {
      const why = smtpAnswerText([...new Set((info?.rejectedErrors ?? []).map((e) => e.message).filter(Boolean))].join('; '));
      return { kind: 'delivered', refused: `${NOT_DELIVERED_TO}${refused.join(', ')}: SMTP ${smtp.host}:${smtp.port} refused ${refused.length === 1 ? 'it' : 'them'}${why ? ` (${why})` : ''}` };
    }
    return { kind: 'delivered' };
  } catch (err) {
    const { responseCode, code, message } = err as { responseCode?: number; code?: string; message?: string };
    // The server's reply, as a receiver's answer is kept: markup left out, its addresses kept, cut short.
    const error = `SMTP ${smtp.host}:${smtp.port}: ${smtpAnswerText(message ?? String(err))}`;
    // TLS that cannot be agreed (TLS spoken to a plain server, a certificate refused, STARTTLS required and refused,
    // which the server answers with a code of its own) fails the same way until the settings change: a day of retries
    // would only hide it.
    if (code === 'ETLS' || (responseCode === undefined && TLS_FAILURE.test(message ?? ''))) {
      const hint =
        (smtp.secure ?? smtp.port === 465)
          ? 'smtp.secure is on: is this port TLS from the start (465)?'
          : /starttls/i.test(message ?? '')
            ? 'the server offers no STARTTLS, which smtp.requireTls asks for before the password goes: use its TLS port (465), or set requireTls to false on a network you trust'
            : 'is the server\'s certificate valid for this host? (a private authority: NODE_EXTRA_CA_CERTS names its certificate file)';
      return { kind: 'dead', error: `${error.trimEnd()} (TLS failed: ${hint})` };
    }
    // 5xx replies are permanent (unknown mailbox, refused sender, bad credentials); 4xx and network trouble pass.
    if (responseCode !== undefined && responseCode >= 500) return { kind: 'dead', error };
    if (responseCode === undefined && (code === 'EENVELOPE' || code === 'EMESSAGE')) return { kind: 'dead', error };
    return { kind: 'retry', error };
  }
}

/** What Node's TLS says when a handshake cannot succeed: a protocol mismatch or a certificate refused. */
const TLS_FAILURE = /SSL routines|wrong version number|certificate|self[- ]signed|unable to verify/i;

/** `<alert-id.destination@sender-domain>`: a Message-ID unique per alert and destination, stable across retries. */
export function messageIdOf(alertId: string, destinationId: string, from: string): string {
  // An international domain as the From header has it (nodemailer writes it in Punycode): raw UTF-8 is no valid
  // Message-ID without SMTPUTF8.
  const domain = domainToASCII(/@([^\s@<>]+)>?\s*$/.exec(from)?.[1] ?? '') || 'hearth.invalid';
  const local = `${alertId}.${destinationId}`.replace(/[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]/g, '-');
  return `<${local}@${domain}>`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}

async function post(url: string, body: string, headers: Record<string, string>, target: string, options: HttpOptions): Promise<Outcome> {
  let response: Response;
  try {
    // Redirects are not followed: a signed alert goes to the configured URL or nowhere.
    response = await options.fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (err) {
    return { kind: 'retry', error: `${target}: ${networkError(err, options.timeoutMs)}` };
  }
  const said = await response.text().then(answerText, () => '');
  const detail = said ? `: ${said}` : '';
  const status = response.status;
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = retryAfterOf(response.headers.get('retry-after'), options.now());
    return { kind: 'retry', error: `${target} answered ${status}${detail}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  if (status >= 300 && status < 400) {
    const location = response.headers.get('location');
    // A 304 (Not Modified) or a 300 without a Location is no redirect: the alert was not taken, for a reason of its own.
    if (!location) return { kind: 'dead', error: `${target} answered ${status}${detail} (not a 2xx: the receiver did not take the alert; fix the receiver, then retry the dead letter)` };
    return { kind: 'dead', error: `${target} answered ${status} (a redirect to ${location}); configure the final URL, redirects are not followed` };
  }
  return { kind: 'dead', error: `${target} answered ${status}${detail} (a 4xx other than 408 and 429 is not retried: fix the receiver or the destination, then retry the dead letter)` };
}

function networkError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

/** Retry-After in seconds or as an HTTP date. */
function retryAfterOf(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
