import { describe, expect, it } from 'vitest';
import { sessionId, uuid, visitorId } from '../../../sdk/src/identity.ts';

describe('identity', () => {
  it('makes RFC 4122 v4 UUIDs', () => {
    const ids = Array.from({ length: 200 }, uuid);
    expect(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(200);
  });

  it('keeps one visitor id across page loads', () => {
    localStorage.clear();
    const first = visitorId(localStorage);
    expect(visitorId(localStorage)).toBe(first);
    expect(localStorage.getItem('hearth_vid')).toBe(first);
  });

  it('still gives an id when storage is blocked', () => {
    const blocked = { getItem() { throw new DOMException('denied', 'SecurityError'); } } as unknown as Storage;
    expect(visitorId(blocked)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps the session within 30 minutes of activity and starts a new one after', () => {
    localStorage.clear();
    const t0 = 1_700_000_000_000;
    const s1 = sessionId(localStorage, t0);
    expect(sessionId(localStorage, t0 + 29 * 60_000)).toBe(s1);
    expect(sessionId(localStorage, t0 + 58 * 60_000)).toBe(s1);
    expect(sessionId(localStorage, t0 + 89 * 60_000)).not.toBe(s1);
  });
});
