import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeUserAgent } from '../../collector/ingest/user-agent.ts';
import type { RunningServer } from '../../collector/server.ts';
import { BROWSER_USER_AGENT, newVisitor, SITE_ORIGIN, startTestServer, storedEvents, wireEvent } from '../support/server.ts';

const USER_AGENTS = {
  chromeOnMac: BROWSER_USER_AGENT,
  firefoxOnWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0',
  safariOnIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  chromeOnAndroidPhone: 'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  safariOnIpad: 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  curl: 'curl/8.5.0',
};

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

async function postAs(userAgent: string | undefined, batch: Record<string, unknown> = {}) {
  const visitor = newVisitor();
  const headers: Record<string, string> = { 'content-type': 'text/plain', origin: SITE_ORIGIN };
  // fetch sends "node" when no User-Agent is given; an empty header is the closest to none.
  headers['user-agent'] = userAgent ?? '';
  const response = await fetch(`${server.url}/collect`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ s: 'acme', v: visitor, e: [wireEvent(), wireEvent({ n: 't', k: 'cta-click' })], ...batch }),
  });
  expect(response.status).toBe(202);
  return storedEvents(server, visitor);
}

const clientColumns = (row: Record<string, any>) => ({ browser: row.browser, os: row.os, device: row.device, is_bot: row.is_bot });

describe('the User-Agent of a batch', () => {
  it.each([
    ['Chrome on a Mac', USER_AGENTS.chromeOnMac, { browser: 'Chrome', os: 'macOS', device: 'desktop' }],
    ['Firefox on Windows', USER_AGENTS.firefoxOnWindows, { browser: 'Firefox', os: 'Windows', device: 'desktop' }],
    ['Safari on an iPhone', USER_AGENTS.safariOnIphone, { browser: 'Safari', os: 'iOS', device: 'mobile' }],
    ['Chrome on an Android phone', USER_AGENTS.chromeOnAndroidPhone, { browser: 'Chrome', os: 'Android', device: 'mobile' }],
    ['Safari on an iPad', USER_AGENTS.safariOnIpad, { browser: 'Safari', os: 'iOS', device: 'tablet' }],
  ])('is stored on every event as browser, OS and device type: %s', async (_name, userAgent, expected) => {
    const rows = await postAs(userAgent);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(clientColumns(row)).toEqual({ ...expected, is_bot: 0 });
  });

  it.each([
    ['a search crawler', USER_AGENTS.googlebot, { browser: 'Googlebot', os: '', device: 'bot', is_bot: 1 }],
    ['an HTTP tool', USER_AGENTS.curl, { browser: '', os: '', device: 'bot', is_bot: 1 }],
  ])('flags %s as a bot and keeps its events', async (_name, userAgent, expected) => {
    const rows = await postAs(userAgent);
    expect(rows.map(clientColumns)).toEqual([expected, expected]);
  });

  it("keeps the snippet's own bot flag for a browser whose User-Agent looks human", async () => {
    const rows = await postAs(USER_AGENTS.chromeOnMac, { b: true });
    expect(rows.map(clientColumns)).toEqual(Array(2).fill({ browser: 'Chrome', os: 'macOS', device: 'desktop', is_bot: 1 }));
  });

  it('flags a sender with no User-Agent, which no browser is, and survives a huge one', async () => {
    expect((await postAs(undefined)).map(clientColumns)).toEqual(Array(2).fill({ browser: '', os: '', device: 'bot', is_bot: 1 }));
    const rows = await postAs(`${USER_AGENTS.chromeOnMac} ${'x'.repeat(12_000)}`);
    expect(clientColumns(rows[0]!)).toMatchObject({ browser: 'Chrome', os: 'macOS' });
  });

  it('is parsed once per distinct header: beacons repeat it', () => {
    const first = describeUserAgent(USER_AGENTS.firefoxOnWindows);
    expect(describeUserAgent(USER_AGENTS.firefoxOnWindows)).toBe(first);
  });
});
