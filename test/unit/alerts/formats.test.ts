// @vitest-environment node
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertEmail, slackMessage, webhookBody } from '../../../scoring/alerts/formats.ts';
import { messageIdOf } from '../../../scoring/alerts/senders.ts';
import { sampleAlert } from '../../support/alerts.ts';

const alert = sampleAlert({ id: 'al_0123456789abcdef01234567', lead: { id: 'l_00000000000000000001', owner: 'sam@vendor.test', url: 'https://hearth.acme.test/dashboard/leads/l_00000000000000000001?site=acme' } });

describe('the webhook body', () => {
  it('is the Standard Webhooks payload shape with the whole alert as data', () => {
    const body = JSON.parse(webhookBody(alert));
    expect(body).toEqual({ type: 'lead.signal', timestamp: alert.triggeredAt, data: alert });
  });

  it('has the keys and types of the example docs/alerts.md gives', () => {
    const docs = readFileSync(new URL('../../../docs/alerts.md', import.meta.url), 'utf8');
    const example = JSON.parse(/```json\n(\{\n {2}"type": "lead\.signal"[\s\S]*?)```/.exec(docs)![1]!);
    // Keys and types, a list by its first item.
    const shape = (value: unknown): unknown =>
      Array.isArray(value) ? [shape(value[0])] : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shape(inner)]).sort()) : value === null ? 'null' : typeof value;
    // As a collector makes it now (an alert an earlier version recorded lacks lifecycle, stage and first touch).
    const current = sampleAlert({ lead: { owner: '', lifecycle: 'mql', stage: 'BOFU', firstTouch: { utm_source: 'linkedin', utm_medium: 'social', referrer_host: '' } } });
    expect(shape(example)).toEqual(shape(JSON.parse(webhookBody(current))));
  });
});

describe('the Slack message', () => {
  const message = slackMessage(alert) as { text: string; blocks: any[] };

  it('has a header naming the lead, the company and the signal, and the facts sales need', () => {
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Demo request: Ada Lovelace (Lovelace Ltd)', emoji: false } });
    const facts = message.blocks[1].fields.map((field: { text: string }) => field.text);
    expect(facts).toEqual([
      'Score\n72 (hot)',
      'Owner\nsam@vendor.test',
      'Country\nFR',
      'Job title\nHead of Operations',
      'Email\nada@lovelace.test',
      'Account\nLovelace Ltd, score 80 (hot)',
    ]);
    expect(message.blocks[1].text.text).toBe('Asked to talk to sales (form demo-request)');
  });

  it('lists the top three reasons and links to the lead, with a text fallback for notifications', () => {
    expect(message.blocks[2].text.text).toBe('*Why this score*\n• Pricing page +40 (3×, capped)\n• Manager or director +20 (1×)\n• Covered country +15 (1×)');
    expect(message.blocks[3]).toMatchObject({ type: 'actions', elements: [{ type: 'button', url: alert.lead.url }] });
    expect(message.text).toBe(`Demo request: Ada Lovelace (Lovelace Ltd), score 72 (hot). Asked to talk to sales (form demo-request). ${alert.lead.url}`);
  });

  it('escapes what a lead typed so it cannot mention @channel or make links', () => {
    const url = 'https://hearth.acme.test/dashboard/leads/l_1?site=acme';
    const typed = slackMessage(sampleAlert({ summary: 'Asked <!channel> & <https://evil.test|click>', lead: { company: 'A&B <Corp>', url } })) as { text: string; blocks: any[] };
    // What the lead typed is plain text in the blocks: shown as typed, no mention, link or formatting made of it.
    expect(typed.blocks[1].text).toEqual({ type: 'plain_text', text: 'Asked <!channel> & <https://evil.test|click>', emoji: false });
    // The notification's text is escaped as Slack asks of any text, mrkdwn or not.
    expect(typed.text).toBe(`Demo request: Ada Lovelace (A&amp;B &lt;Corp&gt;), score 72 (hot). Asked &lt;!channel&gt; &amp; &lt;https://evil.test|click&gt;. ${url}`);
    // Header text is plain text: Slack shows it as typed.
    expect(typed.blocks[0].text.text).toBe('Demo request: Ada Lovelace (A&B <Corp>)');
  });

  it('shows what a lead typed as typed: no bold, italics or live link made of it (QA)', () => {
    const company = '_Acme_ https://evil.example/verify-your-account';
    const account = { id: 'company:acme https evil example verify your account', name: company, score: 80, temperature: 'hot' as const };
    const typed = slackMessage(sampleAlert({ summary: 'Asked for *URGENT* ~ignore~ `this`', account, lead: { company, jobTitle: '*CEO*' } })) as { text: string; mrkdwn?: boolean; blocks: any[] };
    const texts = [typed.blocks[1].text, ...typed.blocks[1].fields];
    expect(texts.every((text: { type: string }) => text.type === 'plain_text')).toBe(true);
    expect(texts.map((text: { text: string }) => text.text)).toEqual(expect.arrayContaining(['Account\n_Acme_ https://evil.example/verify-your-account, score 80 (hot)', 'Job title\n*CEO*']));
    expect(typed.blocks[1].text.text).toBe('Asked for *URGENT* ~ignore~ `this`');
    // The notification's text is plain too, and a typed emoji code in the header stays as typed.
    expect(typed.mrkdwn).toBe(false);
    const named = slackMessage(sampleAlert({ lead: { name: ':rotating_light: Ada' } })) as { blocks: any[] };
    expect(named.blocks[0].text).toMatchObject({ type: 'plain_text', emoji: false });
  });

  it('cuts long text on whole characters, and keeps the notification\'s link whole', () => {
    const url = 'https://hearth.acme.test/dashboard/leads/l_1?site=acme';
    // A name that ends its header's 150 characters on an emoji, and answers whose escapes fill the notification's 3,000.
    const message = slackMessage(sampleAlert({ lead: { name: `${'A'.repeat(134)}😀`, company: 'R&D <Lab> '.repeat(150), url } })) as { text: string; blocks: any[] };
    const header: string = message.blocks[0].text.text;
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header).toMatch(/A…$/);
    expect(header.isWellFormed()).toBe(true);
    expect(message.text.length).toBeLessThanOrEqual(3000);
    expect(message.text.endsWith(`… ${url}`)).toBe(true);
    // No escape is cut in half ("R&am…").
    expect(message.text).not.toMatch(/&[a-z]*…/);
  });

  it('has no button when the lead link is not http(s), and says "nobody yet" for an unowned lead', () => {
    const odd = slackMessage(sampleAlert({ lead: { url: 'javascript:alert(1)' } })) as { blocks: any[] };
    expect(odd.blocks.some((block) => block.type === 'actions')).toBe(false);
    expect(odd.blocks[1].fields[1].text).toBe('Owner\nnobody yet');
  });
});

describe('the email', () => {
  it('has a subject that says it all, and the facts, reasons and link in plain text', () => {
    const email = alertEmail(alert);
    expect(email.subject).toBe('[Hearth] Demo request: Ada Lovelace (Lovelace Ltd), score 72 (hot)');
    expect(email.text).toContain('Asked to talk to sales (form demo-request)');
    expect(email.text).toContain('Owner: sam@vendor.test\nCountry: FR');
    expect(email.text).toContain('Why this score:\n- Pricing page +40 (3×, capped)\n- Manager or director +20 (1×)\n- Covered country +15 (1×)');
    expect(email.text).toContain(`Open the lead: ${alert.lead.url}`);
    // The time as the dashboards write it, not as ISO 8601.
    const at = sampleAlert({ triggeredAt: '2026-12-02T22:55:56.453Z' });
    expect(alertEmail(at).text).toContain('-- Hearth, site acme, 2 Dec 2026, 22:55 UTC');
    expect(alertEmail(at).html).toContain('Hearth · acme · 2 Dec 2026, 22:55 UTC</p>');
    // One that came with a time no one can read is still sent, with the time as it came.
    expect(alertEmail(sampleAlert({ triggeredAt: 'soon' })).text).toContain('-- Hearth, site acme, soon');
    expect(JSON.stringify(slackMessage(sampleAlert({ triggeredAt: 'soon' })))).toContain('Hearth · acme · soon');
    // Slack writes it in each reader's zone, UTC where it cannot.
    expect((slackMessage(at) as { blocks: any[] }).blocks.at(-1)).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: `Hearth · acme · <!date^${Date.parse('2026-12-02T22:55:56Z') / 1000 | 0}^{date_short_pretty} at {time}|2 Dec 2026, 22:55 UTC>` }] });
  });

  it('keeps what a lead typed on its own line, so it cannot add a line such as a fake link above the real one', () => {
    const fake = '\n\nOpen the lead: https://evil.example/hearth-login';
    const typed = sampleAlert({
      summary: `Asked to talk to sales (form demo${fake})`,
      lead: { name: `Bea${fake}`, company: 'Beta\u2028Bcc: victim@example.com', jobTitle: `CEO${fake}`, country: 'BE\r\n', url: alert.lead.url },
    });
    const email = alertEmail(typed);
    expect(email.text.split('\n').filter((line) => line.startsWith('Open the lead:'))).toEqual([`Open the lead: ${alert.lead.url}`]);
    expect(email.text).toContain('Job title: CEO Open the lead: https://evil.example/hearth-login\n');
    expect(email.text.split('\n').some((line) => line.startsWith('Bcc:'))).toBe(false);
    const slack = slackMessage(typed) as { text: string; blocks: any[] };
    const fields = slack.blocks[1].fields.map((field: { text: string }) => field.text.split('\n'));
    expect(fields.every((lines: string[]) => lines.length === 2)).toBe(true);
    expect(slack.blocks[1].text.text).not.toContain('\n');
    // The webhook's JSON carries the values as given.
    expect(JSON.parse(webhookBody(typed)).data.lead.jobTitle).toBe(`CEO${fake}`);
  });

  it('escapes everything in the HTML part and keeps the subject on one line', () => {
    const hostile = alertEmail(sampleAlert({ summary: '<script>alert(1)</script>', lead: { name: 'Eve "<img src=x onerror=alert(1)>"', company: "O'Brien & Co\r\nBcc: all@acme.test" } }));
    expect(hostile.html).not.toContain('<script>');
    expect(hostile.html).not.toContain('<img');
    expect(hostile.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(hostile.html).toContain('Eve &quot;&lt;img src=x onerror=alert(1)&gt;&quot; (O&#39;Brien &amp; Co');
    expect(hostile.subject).not.toMatch(/[\r\n]/);
    expect(hostile.html).toMatch(/<a href="https:\/\/hearth\.acme\.test\/dashboard\/leads\/l_[0-9a-f]{20}\?site=acme">Open the lead<\/a>/);
  });

  it('cuts a long name and company in the subject, the score kept (a subject of 2,000 characters before)', () => {
    const long = alertEmail(sampleAlert({ lead: { name: `A${'😀'.repeat(499)}`, company: 'C'.repeat(490) } }));
    expect(long.subject).toMatch(/^\[Hearth\] Demo request: A😀+…, score 72 \(hot\)$/u);
    expect(long.subject.length).toBeLessThan(200);
  });

  it('has a Message-ID derived from the alert id and destination, at the sender\'s domain', () => {
    expect(messageIdOf('al_0123', 'sales-list', 'Hearth <alerts@acme.test>')).toBe('<al_0123.sales-list@acme.test>');
    expect(messageIdOf('al_0123', 'owners', 'alerts@acme.test')).toBe('<al_0123.owners@acme.test>');
    // An international domain in Punycode, as nodemailer writes it in From: raw UTF-8 is no valid Message-ID.
    expect(messageIdOf('al_0123', 'owners', 'Hearth Alertes <alertes@bücher.de>')).toBe('<al_0123.owners@xn--bcher-kva.de>');
  });
});
