// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { signWebhook, webhookHeaders, webhookKey } from '../../../scoring/alerts/signing.ts';
import { verifyStandardWebhook } from '../../support/alerts.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('Standard Webhooks signatures', () => {
  it('reproduces the test vector the Standard Webhooks reference libraries publish', () => {
    expect(signWebhook(SECRET, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs each send with its own timestamp in seconds and the alert id as webhook-id, which a receiver verifies', () => {
    const body = JSON.stringify({ type: 'lead.signal', data: { id: 'al_1' } });
    const sentAt = Date.UTC(2026, 10, 26, 10, 0, 0, 750);
    const headers = webhookHeaders(SECRET, 'al_1', body, sentAt);
    expect(headers['webhook-id']).toBe('al_1');
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(sentAt / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const now = Math.floor(sentAt / 1000) + 5;
    expect(verifyStandardWebhook(SECRET, headers, body, now)).toBeNull();
    expect(verifyStandardWebhook(SECRET, headers, body.replace('al_1', 'al_2'), now)).toBe('no signature matches');
    expect(verifyStandardWebhook(SECRET, headers, body, now + 3600)).toBe('timestamp outside the tolerance');
    expect(verifyStandardWebhook('whsec_' + Buffer.alloc(24, 7).toString('base64'), headers, body, now)).toBe('no signature matches');
  });

  it('uses a plain secret as its UTF-8 bytes, the same key as whsec_ plus its base64', () => {
    const plain = 'a plain secret of more than 24 bytes';
    const encoded = 'whsec_' + Buffer.from(plain).toString('base64');
    expect(signWebhook(plain, 'id', 1, '{}')).toBe(signWebhook(encoded, 'id', 1, '{}'));
  });

  it('refuses keys shorter than 24 bytes and whsec_ secrets that are not base64', () => {
    expect(webhookKey('whsec_' + Buffer.alloc(24).toString('base64')).problem).toBeUndefined();
    expect(webhookKey('whsec_' + Buffer.alloc(16).toString('base64')).problem).toBe('the secret decodes to 16 bytes; use at least 24 random bytes');
    expect(webhookKey('whsec_not base64!').problem).toBe('a "whsec_" secret is followed by standard base64');
    expect(webhookKey('short').problem).toMatch(/^the secret is 5 bytes long; use at least 24/);
  });
});
