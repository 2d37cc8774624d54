import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsEnabled } from '../support/chromium.ts';
import { recordBatches, useHearthAndChromium } from '../support/e2e.ts';
import { embed, startFixtureSite, type FixtureSite } from '../support/fixture-site.ts';

describe.runIf(browserTestsEnabled())('file downloads and outbound links in Chromium', () => {
  const world = useHearthAndChromium();
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite({
      '/resources': `<!doctype html><title>Resources</title>${embed(world.hearth.url)}
        <a id="pdf" href="/files/Whitepaper-2026.PDF?utm=x#page=2">White paper</a>
        <a id="docx" href="/files/brief.docx">Brief</a>
        <a id="zip" href="/files/kit.zip">Kit</a>
        <a id="csv" href="/files/prices.csv">Prices</a>
        <a id="attr" href="/export" download>Export</a>
        <a id="gated" href="/files/ebook" data-hearth-asset="state-of-b2b-2026">E-book</a>
        <a id="out" href="https://partner.example/">Partner</a>
        <a id="internal" href="/resources">Resources</a>`,
      // A gated asset that opens a form in a modal, an href the page got wrong, and a link in an SVG drawing.
      '/odd-links': `<!doctype html><title>Odd links</title>${embed(world.hearth.url)}
        <a id="modal" href="javascript:void(0)" data-hearth-asset="pricing-guide">Pricing guide</a>
        <a id="broken" href="http://[oops/" data-hearth-asset="broken-link" onclick="event.preventDefault()">Broken</a>
        <svg width="120" height="30"><a id="svg" href="/files/chart.pdf" data-hearth-asset="svg-chart" onclick="event.preventDefault()"><text x="0" y="20">Chart</text></a></svg>`,
    });
  });
  afterAll(() => site?.close());

  it('records every kind of download click, and outbound clicks, with the URL and link text', async () => {
    const context = await world.browser.newContext({ acceptDownloads: true });
    // The partner site is not on this machine: answer for it.
    await context.route('https://partner.example/**', (route) => route.fulfill({ body: '<title>Partner</title>', contentType: 'text/html' }));
    const sent = recordBatches(context);
    // A batch in flight when its page goes may be sent again by the snippet's fallback, with the same event ids (the
    // store keeps each once): count each event once, in the order first sent.
    const sentOnce = (type: string) => [...new Map(sent.events(type).map((event) => [event.i, event])).values()];
    const page = await context.newPage();
    const open = () => page.goto(`${site.url}/resources`);
    await open();
    await page.click('#pdf'); // left click
    await page.click('#docx', { modifiers: ['Control'] }); // ctrl-click: a new tab
    await page.click('#zip', { button: 'middle' }); // middle click: a new tab
    await page.focus('#csv');
    await page.keyboard.press('Enter'); // keyboard
    await page.click('#attr');
    await page.click('#gated');
    await page.click('#internal');
    // The page opened again: its snippet loads asynchronously, and a click before it is there is nobody's. Its page
    // view says it is.
    await expect.poll(() => sentOnce('v').length, { timeout: 10_000 }).toBe(2);
    await page.click('#out'); // leaves the page: the event must still arrive
    await page.waitForURL('https://partner.example/');

    await expect.poll(() => sentOnce('d').length).toBe(6);
    expect(sentOnce('d').map((e) => [new URL(e.h!).pathname, e.x, e.k ?? null])).toEqual([
      ['/files/Whitepaper-2026.PDF', 'White paper', null],
      ['/files/brief.docx', 'Brief', null],
      ['/files/kit.zip', 'Kit', null],
      ['/files/prices.csv', 'Prices', null],
      ['/export', 'Export', null],
      ['/files/ebook', 'E-book', 'state-of-b2b-2026'],
    ]);
    await expect.poll(() => sentOnce('o').map((e) => [e.h, e.x])).toEqual([['https://partner.example/', 'Partner']]);
    await context.close();
  });

  it('records gated assets behind javascript: links and links that do not parse, and never throws into the page', async () => {
    const context = await world.browser.newContext();
    const sent = recordBatches(context);
    const answers: number[] = [];
    context.on('response', (response) => response.url().endsWith('/collect') && answers.push(response.status()));
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${site.url}/odd-links`);
    // The page's own handlers keep it where it is (the snippet listens before them).
    for (const target of ['svg text', '#modal', '#broken']) await page.click(target);
    await expect.poll(() => sent.events('d').map((e) => e.k)).toEqual(['svg-chart', 'pricing-guide', 'broken-link']);
    // Every request answered, and accepted.
    await expect.poll(() => answers.length).toBe(sent.bodies.length);
    expect(answers.every((status) => status === 202)).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });
});
