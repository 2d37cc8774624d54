import { afterEach, describe, expect, it, vi } from 'vitest';
import { closePage, openPage } from './harness.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const START = 1_700_000_000_000;
const hearth = (...args: unknown[]) => (window as unknown as { hearth: (...args: unknown[]) => void }).hearth(...args);

/** A later page load in the same browser, `at` ms after START: the page closes (storage and cookies stay), a new one opens. */
async function nextPage(at = START) {
  const saved = { ...localStorage };
  const cookies = document.cookie;
  closePage();
  Object.assign(localStorage, saved);
  for (const cookie of cookies.split('; ')) if (cookie) document.cookie = cookie + '; path=/';
  vi.useFakeTimers({ now: at });
  return openPage();
}

describe('identity', () => {
  afterEach(closePage);

  it('gives each event a UUID, and the visitor an id kept in localStorage and a first-party cookie', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    vi.advanceTimersByTime(300);
    const [batch] = page.requests.map((r) => r.batch);
    expect(batch!.v).toMatch(UUID);
    expect(batch!.e[0]!.i).toMatch(UUID);
    expect(localStorage.getItem('hearth_vid')!.split('.')[0]).toBe(batch!.v);
    expect(document.cookie).toContain(`hearth_vid=${batch!.v}`);
  });

  it('keeps the visitor across page loads, and picks it up from the cookie alone (another subdomain)', async () => {
    vi.useFakeTimers();
    const first = await openPage();
    vi.advanceTimersByTime(300);
    const visitor = first.requests[0]!.batch.v;
    const second = await nextPage();
    vi.advanceTimersByTime(300);
    expect(second.requests[0]!.batch.v).toBe(visitor);

    localStorage.clear();
    const third = await nextPage();
    vi.advanceTimersByTime(300);
    expect(third.requests[0]!.batch.v).toBe(visitor);
  });

  it('writes the cookie for data-cookie-domain', async () => {
    const written: string[] = [];
    Object.defineProperty(document, 'cookie', { configurable: true, get: () => '', set: (value: string) => written.push(value) });
    try {
      await openPage({ attributes: { 'cookie-domain': '.acme.test' } });
    } finally {
      delete (document as any).cookie;
    }
    expect(written).toEqual([expect.stringMatching(/^hearth_vid=[0-9a-f-]{36};path=\/;samesite=lax;max-age=31536000;domain=\.acme\.test;secure$/)]);
  });

  it('keeps the visitor in localStorage with data-cookie-domain when the cookie cannot be written (a domain not the page\'s, a blocked setter)', async () => {
    Object.defineProperty(document, 'cookie', { configurable: true, get: () => '', set: () => { throw new Error('blocked'); } });
    try {
      vi.useFakeTimers({ now: START });
      const first = await openPage({ attributes: { 'cookie-domain': '.acme.test' } });
      vi.advanceTimersByTime(300);
      const saved = { ...localStorage };
      closePage();
      Object.assign(localStorage, saved);
      vi.useFakeTimers({ now: START + 60_000 });
      const second = await openPage({ attributes: { 'cookie-domain': '.acme.test' } });
      vi.advanceTimersByTime(300);
      expect([second.requests[0]!.batch.v, second.requests[0]!.batch.sid]).toEqual([first.requests[0]!.batch.v, first.requests[0]!.batch.sid]);
    } finally {
      delete (document as any).cookie;
    }
  });

  it('keeps the session within 30 minutes and marks the first event of each session', async () => {
    vi.useFakeTimers({ now: START });
    const first = await openPage();
    vi.advanceTimersByTime(300);
    const session = first.requests[0]!.batch.sid;
    expect(first.events('v')[0]!.ss).toBe(1);

    const soon = await nextPage(START + 29 * 60_000);
    vi.advanceTimersByTime(300);
    expect(soon.requests[0]!.batch.sid).toBe(session);
    expect(soon.events('v')[0]!.ss).toBeUndefined();

    const later = await nextPage(START + 61 * 60_000);
    vi.advanceTimersByTime(300);
    expect(later.requests[0]!.batch.sid).not.toBe(session);
    expect(later.events('v')[0]!.ss).toBe(1);
  });

  it('keeps the session of a visitor active in another tab, though this tab was idle for more than 30 minutes', async () => {
    vi.useFakeTimers({ now: START });
    const page = await openPage();
    vi.advanceTimersByTime(300);
    const { v: visitor, sid: session } = page.requests[0]!.batch;

    // Another tab of the same visitor was active until 5 minutes ago: this tab's next event continues the session.
    localStorage.setItem('hearth_vid', `${visitor}.${session}.${START + 40 * 60_000}`);
    vi.setSystemTime(START + 45 * 60_000);
    hearth('track', 'back-in-this-tab');
    vi.advanceTimersByTime(300);
    expect(page.requests[1]!.batch.sid).toBe(session);
    expect(page.events('t')[0]!.ss).toBeUndefined();

    // Another tab started a new session after this one went idle: this tab joins it rather than starting a third.
    localStorage.setItem('hearth_vid', `${visitor}.other-tab-session.${START + 90 * 60_000}`);
    vi.setSystemTime(START + 100 * 60_000);
    hearth('track', 'back-again');
    vi.advanceTimersByTime(300);
    expect(page.requests[2]!.batch.sid).toBe('other-tab-session');
    expect(page.events('t')[1]!.ss).toBeUndefined();
  });

  it('sends the landing URL with its utm tags and the external referrer with the session\'s first page view', async () => {
    vi.useFakeTimers();
    history.replaceState(null, '', '/pricing?utm_source=linkedin&utm_campaign=q3&gclid=abc');
    Object.defineProperty(document, 'referrer', { configurable: true, value: 'https://www.linkedin.com/' });
    const page = await openPage();
    delete (document as any).referrer;
    vi.advanceTimersByTime(300);
    expect(page.events('v')[0]).toMatchObject({ u: 'http://localhost:3000/pricing?utm_source=linkedin&utm_campaign=q3&gclid=abc', r: 'https://www.linkedin.com/', ss: 1 });
  });

  it('identifies and tracks through hearth(), including calls queued before the snippet loaded', async () => {
    vi.useFakeTimers();
    const page = await openPage({
      before: () => {
        const w = window as unknown as { hearth: ((...args: unknown[]) => void) & { q?: unknown[][] } };
        w.hearth = (...args) => (w.hearth.q = w.hearth.q || []).push(args);
        w.hearth('track', 'pricing-toggle', { plan: 'annual' });
        w.hearth('identify', 'ada@acme.test', { company: 'Acme' });
        w.hearth('no-such-command');
        w.hearth('track', 42);
      },
    });
    (window as unknown as { hearth: (...args: unknown[]) => void }).hearth('track', 'chat-open');
    vi.advanceTimersByTime(300);
    expect(page.events().map((e) => [e.n, e.k ?? e.em ?? null, e.p ?? null])).toEqual([
      ['v', null, null],
      ['t', 'pricing-toggle', { plan: 'annual' }],
      ['i', 'ada@acme.test', { company: 'Acme' }],
      ['t', 'chat-open', null],
    ]);
  });

  it('drops alone a call whose properties cannot be sent (a cycle, a BigInt), without throwing into the page', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    const hearth = (window as unknown as { hearth: (...args: unknown[]) => void }).hearth;
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => hearth('track', 'cyclic', cyclic)).not.toThrow();
    expect(() => hearth('identify', 'ada@acme.test', { id: 10n })).not.toThrow();
    hearth('track', 'chat-open', { plan: 'annual' });
    expect(() => vi.advanceTimersByTime(300)).not.toThrow();
    expect(page.events().map((e) => [e.n, e.k ?? e.em ?? null])).toEqual([
      ['v', null],
      ['t', 'chat-open'],
    ]);
  });

  it('runs once on a page that loads it twice (a tag manager and a hard-coded tag)', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    vi.resetModules();
    await import('../../../sdk/src/index.ts');
    vi.advanceTimersByTime(300);
    expect(page.events('v')).toHaveLength(1);
  });

  it('flags an automated browser, and still sends its events', async () => {
    vi.useFakeTimers();
    const page = await openPage({ webdriver: true });
    vi.advanceTimersByTime(300);
    expect(page.requests[0]!.batch.b).toBe(true);
  });
});
