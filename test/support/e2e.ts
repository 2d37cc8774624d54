import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './browser.ts';
import { startHearthProcess, type HearthProcess } from './hearth-process.ts';

export interface SentEvent {
  i: string;
  n: string;
  u: string;
  r?: string;
  k?: string | null;
  p?: Record<string, string>;
  ms?: number;
  sd?: number;
  h?: string;
  x?: string;
}

export interface E2E {
  hearth: HearthProcess;
  browser: Browser;
}

/** Starts Hearth as `npm start` does (demo config) and Chromium, once for the file; stops both after it. */
export function useHearthAndChromium(): E2E {
  const world = {} as E2E;
  beforeAll(async () => {
    [world.hearth, world.browser] = await Promise.all([startHearthProcess(['--config', 'test/fixtures/hearth.demo.json']), launchChromium()]);
  });
  afterAll(async () => {
    await world.browser?.close();
    await world.hearth?.stop();
  });
  return world;
}

/** Records every batch the browser posts to /collect (beacons included), decoded. */
export function recordBatches(context: BrowserContext) {
  const bodies: string[] = [];
  context.on('request', (request: Request) => {
    if (request.url().endsWith('/collect') && request.method() === 'POST') bodies.push(request.postData() ?? '');
  });
  return {
    bodies,
    events: (type?: string): SentEvent[] =>
      bodies.flatMap((body) => (JSON.parse(body).e as SentEvent[]).filter((event) => !type || event.n === type)),
  };
}

/**
 * The lead holding this visitor, from `GET /api/leads`, as a user of the API sees it. Playwright's Chromium
 * says it is automated (navigator.webdriver), so its visits are flagged as a bot's: ask for them explicitly.
 */
export async function leadOf(hearth: HearthProcess, visitor: string) {
  const response = await fetch(`${hearth.url}/api/leads?site=demo&bots=include&visitor=${visitor}`, { headers: { authorization: `Bearer ${hearth.token}` } });
  const { leads } = (await response.json()) as { leads: { kind: string; email: string | null; events: number; pageviews: number; visitorIds: string[] }[] };
  return leads[0];
}

/** The events the collector stored for this (identified) visitor, as `GET /api/leads/:id` lists them (the newest 100). */
export async function recentEventsOf(hearth: HearthProcess, visitor: string): Promise<{ event_id: string; type: string; name: string }[]> {
  const lead = (await leadOf(hearth, visitor)) as { id: string } | undefined;
  if (!lead) return [];
  const response = await fetch(`${hearth.url}/api/leads/${lead.id}?site=demo`, { headers: { authorization: `Bearer ${hearth.token}` } });
  return ((await response.json()) as { recentEvents?: { event_id: string; type: string; name: string }[] }).recentEvents ?? [];
}

/** The visitor id the snippet keeps in this page's localStorage ("visitor.session.lastSeen"). */
export function visitorOf(page: Page): Promise<string | undefined> {
  return page.evaluate(() => localStorage.getItem('hearth_vid')?.split('.')[0]);
}
