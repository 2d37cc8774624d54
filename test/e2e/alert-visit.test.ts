import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfigPath } from '../../collector/paths.ts';
import { defaultRules } from '../../scoring/rules.ts';
import { startHttpReceiver, verifyStandardWebhook, waitFor, type HttpReceiver } from '../support/alerts.ts';
import { launchChromium } from '../support/browser.ts';
import { browserTestsEnabled } from '../support/chromium.ts';
import { startHearthProcess, type HearthProcess } from '../support/hearth-process.ts';

const SECRET = 'whsec_' + Buffer.from('an-e2e-signing-key-of-32-bytes!!').toString('base64');

/** The demo config, counting Playwright's (automated) Chromium, with a webhook to the test's receiver. */
function alertingConfig(receiverUrl: string): string {
  const demo = JSON.parse(readFileSync(demoConfigPath, 'utf8'));
  delete demo.$schema;
  const site = demo.sites[0];
  site.rules = { ...defaultRules(site.pageGroups), countBots: true };
  site.alerts = { destinations: [{ type: 'webhook', id: 'crm', url: `${receiverUrl}/hearth`, secret: SECRET }] };
  const file = join(mkdtempSync(join(tmpdir(), 'hearth-alert-e2e-')), 'hearth.config.json');
  writeFileSync(file, JSON.stringify(demo, null, 2));
  return file;
}

describe.runIf(browserTestsEnabled())('a buying signal, from a Chromium visit to the sales webhook', () => {
  let hearth: HearthProcess;
  let browser: Browser;
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
    [hearth, browser] = await Promise.all([startHearthProcess(['--config', alertingConfig(receiver.url)]), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await hearth?.stop();
    await receiver?.close();
  });

  it('a visitor reads pricing and requests a demo on the demo site: sales get one signed alert within seconds', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${hearth.url}/demo/pricing/`);
    await page.goto(`${hearth.url}/demo/contact/`);
    await page.getByLabel(/work email/i).fill('jeanne.martin@transports-martin.example');
    await page.getByLabel(/first name/i).fill('Jeanne');
    await page.getByLabel(/last name/i).fill('Martin');
    await page.getByLabel(/job title/i).fill('Directrice des opérations');
    await page.getByLabel(/^company$/i).fill('Transports Martin');
    await page.getByLabel(/country/i).selectOption('FR');
    await page.getByRole('checkbox').check();
    const submittedAt = Date.now();
    await Promise.all([page.waitForURL('**/demo/thanks/'), page.getByRole('button', { name: /request my demo/i }).click()]);

    const request = await waitFor(
      () => receiver.requests.find((candidate) => JSON.parse(candidate.body).data.signal === 'demo_request'),
      15_000,
      'the demo-request webhook',
    );
    const latencyMs = Date.now() - submittedAt;
    expect(verifyStandardWebhook(SECRET, request.headers, request.body)).toBeNull();
    const { data } = JSON.parse(request.body);
    expect(data).toMatchObject({
      site: 'demo',
      signal: 'demo_request',
      summary: 'Asked to talk to sales: form demo-request',
      lead: { email: 'jeanne.martin@transports-martin.example', name: 'Jeanne Martin', company: 'Transports Martin', country: 'FR', score: 55, temperature: 'warm' },
      account: { id: 'transports-martin.example', name: 'Transports Martin' },
    });
    expect(data.lead.topReasons.map((reason: { rule: string }) => reason.rule)).toEqual(['manager-director', 'pricing-page', 'covered-country']);
    expect(latencyMs).toBeLessThan(15_000);
    // Exactly one alert for this trigger, even though the lead was rescored after each batch.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(receiver.requests.filter((candidate) => JSON.parse(candidate.body).data.signal === 'demo_request')).toHaveLength(1);
    await context.close();
  });
});
