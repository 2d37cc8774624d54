import { createHmac } from 'node:crypto';

/**
 * Webhook signatures the Standard Webhooks way (https://www.standardwebhooks.com), so receivers can verify with an
 * off-the-shelf library: `webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`
 * with the timestamp in seconds.
 */

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** The spec asks for 24 to 64 random bytes. */
const MIN_KEY_BYTES = 24;

/**
 * The HMAC key of a configured secret: `whsec_<base64>` is base64-decoded after the prefix (what Standard Webhooks
 * libraries do); any other string is used as its UTF-8 bytes. `problem` says why a secret is unusable.
 */
export function webhookKey(secret: string): { key: Buffer; problem?: string } {
  if (secret.startsWith(SECRET_PREFIX)) {
    const encoded = secret.slice(SECRET_PREFIX.length);
    if (!BASE64.test(encoded)) return { key: Buffer.alloc(0), problem: 'a "whsec_" secret is followed by standard base64' };
    const key = Buffer.from(encoded, 'base64');
    if (key.length < MIN_KEY_BYTES) return { key, problem: `the secret decodes to ${key.length} bytes; use at least ${MIN_KEY_BYTES} random bytes` };
    return { key };
  }
  const key = Buffer.from(secret, 'utf8');
  if (key.length < MIN_KEY_BYTES) return { key, problem: `the secret is ${key.length} bytes long; use at least ${MIN_KEY_BYTES} (e.g. "whsec_" + 32 random bytes in base64)` };
  return { key };
}

/** `v1,<base64 signature>` of one message. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const signature = createHmac('sha256', webhookKey(secret).key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${signature}`;
}

/** The three headers of a signed webhook sent at `nowMs`; each attempt is signed afresh with its own timestamp. */
export function webhookHeaders(secret: string, id: string, body: string, nowMs: number): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = Math.floor(nowMs / 1000);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, body) };
}
