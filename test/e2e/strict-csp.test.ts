import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsEnabled } from '../support/chromium.ts';
import { recordBatches, useHearthAndChromium } from '../support/e2e.ts';
import { startFixtureSite, type FixtureSite } from '../support/fixture-site.ts';

describe.runIf(browserTestsEnabled())('the snippet under a strict Content-Security-Policy', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  beforeAll(async () => {
    // No inline script, no eval: only the collector's script and its /collect endpoint are allowed.
    const policy = `default-src 'self'; script-src ${world.hearth.url}; connect-src ${world.hearth.url}; base-uri 'none'; object-src 'none'`;
    const html = `<!doctype html><title>Strict</title><script async src="${world.hearth.url}/hearth.js" data-site="demo"></script>
      <a id="pdf" href="/files/spec.pdf">Spec</a>`;
    site = await startFixtureSite({ '/strict': { html, headers: { 'content-security-policy': policy } } });
  });
  afterAll(() => site?.close());

  it('records page views and clicks without a CSP violation or a page error', async () => {
    const context = await world.browser.newContext({ acceptDownloads: true });
    const sent = recordBatches(context);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${site.url}/strict`);
    await page.click('#pdf');
    await expect.poll(() => sent.events().map((e) => e.n).sort()).toEqual(['d', 'v']);
    expect(problems).toEqual([]);
    await context.close();
  });
});
