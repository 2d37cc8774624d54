import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { hashPassword } from '../../collector/auth/passwords.ts';

/** A person who logs in to the dashboards, with the password the test types. */
export interface DashboardUser {
  name: string;
  role: 'admin' | 'marketing' | 'sales';
  password: string;
}

// A cheap scrypt cost keeps the tests fast; the hash carries its cost, so logins verify the same way.
const TEST_COST = { N: 2 ** 10, r: 8, p: 1 };

/** The `users` section of a test config for these people. */
export function configUsers(people: DashboardUser[]) {
  return Promise.all(people.map(async ({ name, role, password }) => ({ name, role, passwordHash: await hashPassword(password, TEST_COST) })));
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

/** Logs in through the login page the dashboards send a new browser to, and waits for the marketing page. */
export async function logIn(page: Page, serverUrl: string, user: Pick<DashboardUser, 'name' | 'password'>): Promise<void> {
  await page.goto(`${serverUrl}/dashboard`);
  await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
  await page.fill('#name', user.name);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForURL(`${serverUrl}/dashboard`), page.click('button[type=submit]')]);
}
