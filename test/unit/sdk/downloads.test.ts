import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closePage, openPage } from './harness.ts';

function link(href: string, attributes: Record<string, string> = {}, text = 'Get it') {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = ` ${text} `;
  for (const [name, value] of Object.entries(attributes)) a.setAttribute(name, value);
  document.body.append(a);
  // Keep happy-dom from navigating; the snippet listens in the capture phase, before this.
  a.addEventListener('click', (event) => event.preventDefault());
  a.addEventListener('auxclick', (event) => event.preventDefault());
  return a;
}
const click = (a: Element, init: MouseEventInit = {}, type = 'click') => a.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, ...init }));

describe('downloads and outbound links', () => {
  // Timers that advance with the clock, but that closePage clears: the snippet's own (its dwell checkpoint) never
  // fire after the test's page, or the test environment, is gone.
  beforeEach(() => vi.useFakeTimers({ shouldAdvanceTime: true }));
  afterEach(closePage);

  it('records a document download at once, with its URL and link text', async () => {
    const page = await openPage();
    click(link('/files/Pricing-Grid.PDF?v=3#page=2', {}, 'Pricing grid'));
    expect(page.events('d')).toEqual([expect.objectContaining({ h: 'http://localhost:3000/files/Pricing-Grid.PDF?v=3#page=2', x: 'Pricing grid' })]);
  });

  it.each(['report.docx', 'sheet.xlsx', 'deck.pptx', 'data.csv', 'bundle.zip', 'setup.exe', 'app.dmg', 'talk.mp4', 'guide.epub', 'notes.txt'])(
    'counts %s as a download',
    async (file) => {
      const page = await openPage();
      click(link(`https://cdn.acme.test/${file}`));
      expect(page.events('d')).toHaveLength(1);
    },
  );

  it('sends a data: or blob: download by its name, never the file its address carries', async () => {
    const page = await openPage();
    click(link('data:text/csv,email%2Cphone%0Aada%40client.test%2C%2B33612345678', { download: 'contacts.csv' }, 'Export contacts'));
    click(link('blob:http://localhost:3000/d7b7b7b8-8167-4c2a-9f1e-3a1d2c4b5e6f', { download: 'report.pdf' }, 'Report'));
    expect(page.events('d').map((event) => [event.h, event.x])).toEqual([
      ['contacts.csv', 'Export contacts'],
      ['report.pdf', 'Report'],
    ]);
    expect(page.requests.map((request) => request.body).join()).not.toContain('client.test');
  });

  it('counts a link with the download attribute, and a gated asset by its name', async () => {
    const page = await openPage();
    click(link('/export', { download: '' }));
    click(link('/resources/ebook', { 'data-hearth-asset': 'state-of-b2b-2026' }, 'Read the e-book'));
    expect(page.events('d').map((e) => [new URL(e.h!).pathname, e.k])).toEqual([
      ['/export', null],
      ['/resources/ebook', 'state-of-b2b-2026'],
    ]);
  });

  it('counts middle clicks and modified clicks, never the right button', async () => {
    const page = await openPage();
    const a = link('/brochure.pdf');
    click(a, { button: 1 }, 'auxclick');
    click(a, { ctrlKey: true });
    click(a, { metaKey: true });
    click(a, { button: 2 }, 'auxclick');
    expect(page.events('d')).toHaveLength(3);
  });

  it('counts a keyboard activation (Enter fires a click)', async () => {
    const page = await openPage();
    const a = link('/brochure.pdf');
    a.click();
    expect(page.events('d')).toHaveLength(1);
  });

  it('records outbound links but not internal pages, mailto or tel links', async () => {
    const page = await openPage();
    click(link('https://www.linkedin.com/company/acme', {}, 'LinkedIn'));
    click(link('/pricing'));
    click(link('mailto:sales@acme.test'));
    click(link('tel:+33100000000'));
    expect(page.events('o')).toEqual([expect.objectContaining({ h: 'https://www.linkedin.com/company/acme', x: 'LinkedIn' })]);
    expect(page.events('d')).toEqual([]);
  });

  it('records a click on an element inside the link', async () => {
    const page = await openPage();
    const a = link('/whitepaper.pdf');
    const icon = document.createElement('span');
    a.append(icon);
    click(icon);
    expect(page.events('d')).toHaveLength(1);
  });
});
