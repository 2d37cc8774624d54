// @vitest-environment node
import { describe, expect, it } from 'vitest';
import type { EmailDestination, SmtpConfig } from '../../../scoring/alerts/config.ts';
import { sendEmail, sendWebhook, type MailTransport } from '../../../scoring/alerts/senders.ts';
import { sampleAlert } from '../../support/alerts.ts';

const smtp = { host: 'smtp.acme.test', port: 587, from: 'alerts@acme.test' } as SmtpConfig;
const team = { type: 'email', id: 'team', to: ['sales@acme.test', 'nobody@example.test'] } as EmailDestination;

/** A transport whose server answers as nodemailer reports it: a refusal of every recipient thrown, or some listed. */
const refusing = (message: string): MailTransport => ({ sendMail: async () => Promise.reject(Object.assign(new Error(message), { responseCode: 550 })) });
const refusingSome = (message: string): MailTransport => ({ sendMail: async () => ({ rejected: ['nobody@example.test'], rejectedErrors: [{ message }] }) });

describe("an SMTP server's reply in a delivery's reason", () => {
  it('keeps the address it names in angle brackets, which is no markup', async () => {
    const reply = "Can't send mail - all recipients were rejected: 550 5.1.1 <nobody@example.test>: Recipient address rejected";
    expect(await sendEmail(team, sampleAlert(), smtp, refusing(reply), 'team')).toEqual({ kind: 'dead', error: `SMTP smtp.acme.test:587: ${reply}` });
    const some = await sendEmail(team, sampleAlert(), smtp, refusingSome('Recipient command failed: 550 5.1.1 <nobody@example.test>: Recipient address rejected'), 'team');
    expect(some).toEqual({
      kind: 'delivered',
      refused: 'not delivered to nobody@example.test: SMTP smtp.acme.test:587 refused it (Recipient command failed: 550 5.1.1 <nobody@example.test>: Recipient address rejected)',
    });
    // The null sender and the postmaster, as servers write them.
    const paths = await sendEmail(team, sampleAlert(), smtp, refusing('553 5.1.7 <>: Sender address rejected; write to <Postmaster>'), 'team');
    expect(paths).toEqual({ kind: 'dead', error: 'SMTP smtp.acme.test:587: 553 5.1.7 <>: Sender address rejected; write to <Postmaster>' });
  });

  it('still leaves out the markup of a reply that holds HTML, and its character references read', async () => {
    const html = '554 5.7.1 <html><body><b>Rejected</b> as spam <a href="mailto:abuse@acme.test">abuse</a> &amp; <script>alert(1)</script> for <nobody@example.test></body></html>';
    expect(await sendEmail(team, sampleAlert(), smtp, refusing(html), 'team')).toEqual({ kind: 'dead', error: 'SMTP smtp.acme.test:587: 554 5.7.1 Rejected as spam abuse & for <nobody@example.test>' });
  });
});

describe("an HTTP receiver's answer in a delivery's reason", () => {
  it('is read as a page, every tag left out, as before', async () => {
    const page = '<html><body><p>no such hook <nobody@example.test></p></body></html>';
    const fetch = (async () => new Response(page, { status: 404 })) as unknown as typeof globalThis.fetch;
    const outcome = await sendWebhook({ type: 'webhook', id: 'crm', url: 'https://crm.acme.test/hooks', secret: 'x'.repeat(32) }, sampleAlert(), { fetch, timeoutMs: 1000, now: Date.now });
    expect(outcome).toMatchObject({ kind: 'dead', error: expect.stringMatching(/^the webhook at crm\.acme\.test answered 404: no such hook \(a 4xx/) });
  });
});
