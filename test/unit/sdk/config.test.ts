import { afterEach, describe, expect, it, vi } from 'vitest';
import { closePage, openPage } from './harness.ts';

describe('config from the script tag', () => {
  afterEach(closePage);

  it('posts to /collect on the origin the script was loaded from', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    vi.advanceTimersByTime(300);
    expect(page.requests[0]).toMatchObject({ url: 'https://hearth.example/collect', batch: { s: 'acme' } });
  });

  it('posts to data-api when it is set', async () => {
    vi.useFakeTimers();
    const page = await openPage({ attributes: { api: 'https://t.acme.test/' } });
    vi.advanceTimersByTime(300);
    expect(page.requests[0]!.url).toBe('https://t.acme.test/collect');
  });

  it('does nothing, and defines no global, without data-site', async () => {
    vi.useFakeTimers();
    const page = await openPage({ before: () => document.querySelector('script')!.removeAttribute('data-site') });
    vi.advanceTimersByTime(300);
    expect(page.requests).toEqual([]);
    expect((window as { hearth?: unknown }).hearth).toBeUndefined();
  });
});
