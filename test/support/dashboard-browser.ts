import type { Browser, Cookie, Page } from 'playwright-core';
import { expect } from 'vitest';
import { hashPassword } from '../../collector/auth/passwords.ts';
import type { RunningServer } from '../../collector/server.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, wireEvent } from './server.ts';

/** A person who logs in to the dashboards, with the password the test types. */
export interface DashboardUser {
  name: string;
  role: 'admin' | 'marketing' | 'sales';
  password: string;
  /** The sites they may open; every site when left out. */
  sites?: string[];
}

// A cheap scrypt cost keeps the tests fast; the hash carries its cost, so logins verify the same way.
const TEST_COST = { N: 2 ** 10, r: 8, p: 1 };

/** The `users` section of a test config for these people. */
export function configUsers(people: DashboardUser[]) {
  return Promise.all(people.map(async ({ name, role, password, sites }) => ({ name, role, passwordHash: await hashPassword(password, TEST_COST), ...(sites && { sites }) })));
}

/** A browser tab of its own (a new context: no cookie) that records every console error and uncaught exception. */
export async function openPage(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, problems };
}

/** Each user's session cookies by server, once logged in through the form: a test's new tab reuses them (logIn). */
const sessions = new Map<string, Cookie[]>();

/**
 * Opens `to` (a path; the marketing page unless given) logged in as `user`: through the login page the dashboards
 * send a new browser to from there, back to `to`, the user's first time on this server; after that in a tab of its
 * own that has the session cookies the first login got, as a returning user's browser has (the form again when that
 * session has ended: a test signed out). The login form's own behaviour is the login tests' subject.
 */
export async function logIn(page: Page, serverUrl: string, user: Pick<DashboardUser, 'name' | 'password'>, to = '/dashboard'): Promise<void> {
  const key = `${serverUrl} ${user.name}`;
  const kept = sessions.get(key);
  if (kept) await page.context().addCookies(kept);
  await page.goto(`${serverUrl}${to}`);
  // A page's request without a live session is sent to the login page by the server, so the address says it at once.
  if (kept && new URL(page.url()).pathname !== '/login') return;
  await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
  await page.fill('#name', user.name);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForURL(`${serverUrl}${to}`), page.click('button[type=submit]')]);
  sessions.set(key, await page.context().cookies(serverUrl));
}

/**
 * A hot lead on site acme, scored: a CEO of a 500-person company who viewed pricing and asked for a demo a minute ago.
 * Its lead id, for a lead page with a timeline, signals and a checklist.
 */
export async function seedHotLead(server: RunningServer): Promise<string> {
  const email = `grace.${newVisitor()}@initech.test`;
  await postBatch(server, {
    s: 'acme',
    v: newVisitor(),
    e: [
      wireEvent({ u: `${SITE_ORIGIN}/pricing`, ss: 1, t: Date.now() - 60_000 }),
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: Date.now() - 30_000, p: { 'email  email': email, 'job_title  ': 'CEO', 'company_size  ': '500' } }),
    ],
  });
  await drained(server);
  const leads = await getJson(server, '/api/leads?site=acme');
  return leads.body.leads.find((candidate: { email: string }) => candidate.email === email).id;
}
