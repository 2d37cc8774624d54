// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { afterAttempt, DEFAULT_BACKOFF, retryDelay } from '../../../scoring/alerts/dispatcher.ts';
import type { Delivery } from '../../../scoring/alerts/outbox.ts';
import { sampleAlert } from '../../support/alerts.ts';

const HOUR = 3_600_000;
const top = { ...DEFAULT_BACKOFF, random: () => 0.999999 };

describe('exponential backoff with full jitter', () => {
  it('waits up to 2 s, then up to twice as long each time, never more than 30 minutes', () => {
    expect([1, 2, 3, 4, 10, 11, 12, 40].map((attempts) => Math.round(retryDelay(attempts, top) / 1000))).toEqual([2, 4, 8, 16, 1024, 1800, 1800, 1800]);
  });

  it('picks anywhere between 0 and the ceiling', () => {
    expect(retryDelay(5, { ...DEFAULT_BACKOFF, random: () => 0 })).toBe(0);
    expect(retryDelay(5, { ...DEFAULT_BACKOFF, random: () => 0.5 })).toBe(16_000);
  });

  it('keeps retrying for a day: about a hundred attempts at the default pace', () => {
    let elapsed = 0;
    let attempts = 0;
    while (elapsed < 24 * HOUR) elapsed += retryDelay(++attempts, { ...DEFAULT_BACKOFF, random: () => 0.5 });
    expect(attempts).toBeGreaterThan(90);
    expect(attempts).toBeLessThan(110);
  });
});

describe('a delivery after an attempt', () => {
  const start = Date.UTC(2026, 10, 26, 9);
  const pending: Delivery = {
    site: 'acme',
    alertId: 'al_1',
    destinationId: 'crm',
    destinationType: 'webhook',
    leadId: 'l_1',
    signal: 'demo_request',
    state: 'pending',
    attempts: 2,
    nextAttemptAt: start,
    giveUpAt: start + 24 * HOUR,
    lastError: '',
    deliveredAt: null,
    createdAt: start,
    updatedAt: start,
    alert: sampleAlert({ id: 'al_1' }),
    version: 3,
  };

  it('is delivered on success, with a new version', () => {
    expect(afterAttempt(pending, { kind: 'delivered' }, start + 1000, top)).toMatchObject({ state: 'delivered', attempts: 3, deliveredAt: start + 1000, version: 4 });
  });

  it('is due again after the backoff, or after Retry-After when the receiver asks for longer', () => {
    expect(afterAttempt(pending, { kind: 'retry', error: 'HTTP 503' }, start, top)).toMatchObject({ state: 'pending', attempts: 3, nextAttemptAt: start + 7999, lastError: 'HTTP 503' });
    expect(afterAttempt(pending, { kind: 'retry', error: 'HTTP 429', retryAfterMs: 60_000 }, start, top)).toMatchObject({ nextAttemptAt: start + 60_000 });
    // Past the backoff's 30-minute cap, which bounds Hearth's own waits: a receiver's two hours are two hours.
    expect(afterAttempt(pending, { kind: 'retry', error: 'HTTP 429', retryAfterMs: 2 * HOUR }, start, top)).toMatchObject({ state: 'pending', nextAttemptAt: start + 2 * HOUR });
  });

  it('is dead when the receiver asks for a wait past the retry window, saying so', () => {
    const asked = afterAttempt(pending, { kind: 'retry', error: 'HTTP 429', retryAfterMs: 2 * HOUR }, start + 23 * HOUR, top);
    expect(asked).toMatchObject({ state: 'dead', attempts: 3 });
    expect(asked.lastError).toBe('gave up after 3 attempts (the receiver asked for no retry before 2026-11-27T10:00:00.000Z, after the retry window ends 2026-11-27T09:00:00.000Z): HTTP 429');
  });

  it('is dead, not a crash, when the wait asked for ends past the last date JavaScript can write', () => {
    const asked = afterAttempt(pending, { kind: 'retry', error: 'HTTP 503', retryAfterMs: 9_999_999_999_999_000 }, start, top);
    expect(asked.state).toBe('dead');
    expect(asked.lastError).toBe('gave up after 3 attempts (the receiver asked for a wait of 9999999999999 s, after the retry window ends 2026-11-27T09:00:00.000Z): HTTP 503');
  });

  it('is dead at once on a permanent error, and after the retry window otherwise', () => {
    expect(afterAttempt(pending, { kind: 'dead', error: 'HTTP 404' }, start, top)).toMatchObject({ state: 'dead', lastError: 'HTTP 404' });
    const late = afterAttempt(pending, { kind: 'retry', error: 'HTTP 503' }, start + 24 * HOUR - 1000, top);
    expect(late).toMatchObject({ state: 'dead', attempts: 3 });
    expect(late.lastError).toBe('gave up after 3 attempts (the retry window ended 2026-11-27T09:00:00.000Z): HTTP 503');
  });
});
