import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snippetPath } from '../../collector/paths.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { leadOf, recordBatches, useHearthAndChromium, visitorOf } from '../support/e2e.ts';
import { embed, startFixtureSite, type FixtureSite } from '../support/fixture-site.ts';

/** A page whose own script runs before the snippet's embed. */
const pageWith = (hearthUrl: string, script: string) => `<!doctype html><title>Page</title><script>${script}</script>${embed(hearthUrl)}<main>Content</main>`;

/** Everything the page reports as going wrong: uncaught errors (promises included) and console errors. */
function problemsOf(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

/** The page's retry stash, as localStorage holds it ('' for none). */
const stashOf = (page: Page) => page.evaluate(() => Object.entries(localStorage).find(([key]) => key.startsWith('hearth_retry'))?.[1] ?? '');

/** The page's own SPA navigation: what its router code after history.pushState sees. */
const navigate = (page: Page, path: string) =>
  page.evaluate((to) => {
    history.pushState({}, '', to);
    return location.pathname;
  }, path);

describe.runIf(browserTestsEnabled())('the snippet on a page whose own code gets in its way, in Chromium', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  let integrity: string;
  beforeAll(async () => {
    integrity = `sha256-${createHash('sha256').update(readFileSync(snippetPath)).digest('base64')}`;
    const hearth = world.hearth.url;
    site = await startFixtureSite({
      '/plain': pageWith(hearth, ''),
      '/no-cookies': pageWith(hearth, "Object.defineProperty(document, 'cookie', { get: () => '', set() { throw new DOMException('cookies are disabled', 'SecurityError'); } });"),
      '/no-uuid': pageWith(hearth, 'delete Crypto.prototype.randomUUID;'),
      '/fetch-undefined': pageWith(hearth, 'window.fetch = undefined;'),
      '/fetch-throws': pageWith(hearth, "window.fetch = function () { throw new Error('blocked by the page'); };"),
      '/fetch-returns-nothing': pageWith(hearth, 'window.fetch = function () {};'),
      '/no-beacon': pageWith(hearth, 'delete Navigator.prototype.sendBeacon;'),
      // Prototype.js 1.6's Array#toJSON: JSON.stringify then writes every list as a JSON text.
      '/prototype-js': pageWith(hearth, "Array.prototype.toJSON = function () { return '[' + Array.prototype.map.call(this, function (x) { return JSON.stringify(x); }).join(', ') + ']'; };"),
      // A common wrapper: it logs a network error and resolves to nothing.
      '/fetch-wrapper': pageWith(hearth, 'var original = window.fetch; window.fetch = function () { return original.apply(this, arguments).catch(function (error) { console.warn(error); }); };'),
      // A policy of hashes only: the snippet pinned with Subresource Integrity.
      '/sri': {
        html: `<!doctype html><title>SRI</title><script async src="${hearth}/hearth.js" integrity="${integrity}" crossorigin="anonymous" data-site="demo"></script><main>Pinned</main>`,
        headers: { 'content-security-policy': `default-src 'self'; script-src '${integrity}'; connect-src ${hearth}` },
      },
    });
  });
  afterAll(() => site?.close());

  it("refusing cookies (a setter that throws), a returning visitor's page navigates with history.pushState as it should, and its pages are recorded", async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    // Each page view once, as the collector stores it: a batch the browser resends (a keepalive fetch cut short by the
    // navigation, then sent from the retry stash) carries the same event ids.
    const views = () => [...new Map(sent.events('v').map((event) => [event.i, new URL(event.u).pathname])).values()];
    await page.goto(`${site.url}/plain`);
    await expect.poll(views).toEqual(['/plain']);
    const problems = problemsOf(page);
    await page.goto(`${site.url}/no-cookies`);
    await expect.poll(views).toEqual(['/plain', '/no-cookies']);
    expect(await navigate(page, '/no-cookies/next')).toBe('/no-cookies/next');
    await expect.poll(views).toEqual(['/plain', '/no-cookies', '/no-cookies/next']);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('without crypto.randomUUID, for a returning visitor, sends nothing and never breaks the page', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    await page.goto(`${site.url}/plain`);
    await expect.poll(() => sent.events('v').map((event) => new URL(event.u).pathname)).toEqual(['/plain']);
    const problems = problemsOf(page);
    await page.goto(`${site.url}/no-uuid`);
    expect(await navigate(page, '/no-uuid/next')).toBe('/no-uuid/next');
    await page.evaluate(() => (window as any).hearth('track', 'ignored'));
    await page.waitForTimeout(1_500);
    expect(sent.events().map((event) => event.n)).toEqual(['v']);
    expect(problems).toEqual([]);
    await context.close();
  });

  for (const variant of ['fetch-undefined', 'fetch-throws', 'fetch-returns-nothing']) {
    it(`keeps its events for a retry, and throws nothing, on a page whose fetch is broken (${variant})`, async () => {
      const context = await world.browser.newContext();
      const page = await context.newPage();
      const problems = problemsOf(page);
      await page.goto(`${site.url}/${variant}`);
      await page.evaluate(() => (window as any).hearth('track', 'kept-for-later'));
      await expect.poll(() => stashOf(page)).toContain('kept-for-later');
      // Flat: [attempts, notBefore, ...events].
      const kept = (JSON.parse(await stashOf(page)) as { n: string }[]).slice(2);
      expect(kept.map((event) => event.n).sort()).toEqual(['t', 'v']);
      await page.waitForTimeout(1_500);
      expect(problems).toEqual([]);
      await context.close();
    });
  }

  /** A page opened while /collect cannot be reached, an event tracked on it and kept in its retry stash. */
  async function trackedOffline(path: string, event: string) {
    const context = await world.browser.newContext();
    await context.route('**/collect', (route) => route.abort('connectionrefused'));
    const page = await context.newPage();
    const problems = problemsOf(page);
    await page.goto(`${site.url}${path}`);
    await page.evaluate((name) => (window as any).hearth('track', name), event);
    await expect.poll(() => stashOf(page)).toContain(event);
    // The browser's own line for each request that failed is no error of the snippet's, nor the page's.
    return { context, page, snippetProblems: () => problems.filter((problem) => !problem.includes('Failed to load resource')) };
  }

  it('keeps its events for a retry, and throws nothing, when the page\'s fetch wrapper answers a network error with nothing', async () => {
    const { context, page, snippetProblems } = await trackedOffline('/fetch-wrapper', 'kept-for-later');
    await page.waitForTimeout(1_000);
    // The wrapper's own warnings are the page's; nothing of the snippet's.
    expect(snippetProblems()).toEqual([]);
    await context.close();
  });

  it('keeps and then delivers what a collector outage held back, on a page whose arrays have a toJSON of their own', async () => {
    const { context, page, snippetProblems } = await trackedOffline('/prototype-js', 'during-outage');
    await context.unroute('**/collect');
    await page.evaluate(() => dispatchEvent(new Event('online')));
    const visitor = (await visitorOf(page))!;
    await expect.poll(() => leadOf(world.hearth, visitor).then((lead) => [lead?.events, lead?.pageviews]), { timeout: 10_000 }).toEqual([2, 1]);
    await expect.poll(() => stashOf(page)).toBe('');
    expect(snippetProblems()).toEqual([]);
    await context.close();
  });

  it('sends the last batch by a keepalive fetch when the page leaves, on a browser with no sendBeacon', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    const problems = problemsOf(page);
    await page.goto(`${site.url}/no-beacon`);
    await expect.poll(() => sent.events('v').length).toBe(1);
    // Within the batch window: only leaving sends it.
    await page.evaluate(() => {
      (window as any).hearth('track', 'last-words');
      dispatchEvent(new Event('pagehide'));
    });
    await expect.poll(() => sent.events('t').map((event) => event.k)).toEqual(['last-words']);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('is stored from a page whose arrays have a toJSON of their own (Prototype.js)', async () => {
    const context = await world.browser.newContext();
    const page = await context.newPage();
    const problems = problemsOf(page);
    await page.goto(`${site.url}/prototype-js`);
    await page.evaluate(() => (window as any).hearth('track', 'legacy-page'));
    const visitor = (await visitorOf(page))!;
    await expect.poll(() => leadOf(world.hearth, visitor).then((lead) => [lead?.events, lead?.pageviews]), { timeout: 10_000 }).toEqual([2, 1]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('loads pinned by Subresource Integrity under a policy of hashes only', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const page = await context.newPage();
    const problems = problemsOf(page);
    await page.goto(`${site.url}/sri`);
    await expect.poll(() => sent.events('v').length).toBe(1);
    expect(problems).toEqual([]);
    await context.close();
  });
});
