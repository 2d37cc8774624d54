import { afterEach, describe, expect, it, vi } from 'vitest';
import { closePage, openPage } from './harness.ts';

type Hearth = (...args: unknown[]) => void;
const hearth = (...args: unknown[]) => (window as unknown as { hearth: Hearth }).hearth(...args);

describe('consent and opt-out', () => {
  afterEach(closePage);

  it('with data-consent="required", sends and stores nothing until granted, then sends what it kept', async () => {
    vi.useFakeTimers();
    const page = await openPage({ attributes: { consent: 'required' } });
    hearth('track', 'video-play');
    vi.advanceTimersByTime(5000);
    expect(page.requests).toEqual([]);
    expect(localStorage.length).toBe(0);
    expect(document.cookie).toBe('');

    hearth('consent', 'granted');
    vi.advanceTimersByTime(300);
    expect(page.events().map((e) => e.n)).toEqual(['v', 't']);
    expect(document.cookie).toContain('hearth_vid=');
  });

  it('drops what it kept when consent is denied, and sends nothing after', async () => {
    vi.useFakeTimers();
    const page = await openPage({ attributes: { consent: 'required' } });
    hearth('consent', 'denied');
    history.pushState({}, '', '/pricing');
    hearth('track', 'x');
    vi.advanceTimersByTime(5000);
    dispatchEvent(new Event('pagehide'));
    expect(page.requests).toEqual([]);
    expect(localStorage.length).toBe(0);
  });

  it.each([
    ['Global Privacy Control', () => Object.defineProperty(navigator, 'globalPrivacyControl', { configurable: true, value: true })],
    ['Do-Not-Track', () => Object.defineProperty(navigator, 'doNotTrack', { configurable: true, value: '1' })],
    ['localStorage.hearth_ignore', () => localStorage.setItem('hearth_ignore', '1')],
  ])('honours %s: nothing is sent', async (_name, optOut) => {
    vi.useFakeTimers();
    const page = await openPage({ before: optOut });
    history.pushState({}, '', '/pricing');
    vi.advanceTimersByTime(5000);
    dispatchEvent(new Event('pagehide'));
    expect(page.requests).toEqual([]);
  });

  it('sends despite Do-Not-Track with data-respect-dnt="false"; hearth_ignore still wins', async () => {
    vi.useFakeTimers();
    const dnt = () => Object.defineProperty(navigator, 'doNotTrack', { configurable: true, value: '1' });
    const page = await openPage({ attributes: { 'respect-dnt': 'false' }, before: dnt });
    vi.advanceTimersByTime(300);
    expect(page.events('v')).toHaveLength(1);
    closePage();
    vi.useFakeTimers();
    const ignored = await openPage({ attributes: { 'respect-dnt': 'false' }, before: () => (dnt(), localStorage.setItem('hearth_ignore', '1')) });
    vi.advanceTimersByTime(300);
    expect(ignored.requests).toEqual([]);
  });
});
