import type { ScoreReason } from '../compile.ts';
import { ruleName } from '../labels.ts';
import type { Alert, Signal } from './alert.ts';

/** What each destination receives for one alert: a signed JSON body, a Slack Block Kit message, an email. */

export const SIGNAL_LABELS: Record<Signal, string> = {
  hot: 'Became hot',
  demo_request: 'Demo request',
  pricing_dwell: 'Long pricing visit',
  pricing_returns: 'Back on pricing',
  docs_download: 'Technical docs download',
  weak_accumulation: 'Many weak signals',
};

/** The webhook's event type; the body is `{ type, timestamp, data }`, the Standard Webhooks payload shape. */
export const WEBHOOK_EVENT_TYPE = 'lead.signal';

/**
 * The alert as the webhook sends it and the API shows it (GET /api/alerts, a person's export): an unassigned lead's
 * owner is null, as GET /api/leads and the dashboards' lists say it, so a receiver comparing both sees no change.
 */
export const alertAsSent = (alert: Alert) => ({ ...alert, lead: { ...alert.lead, owner: alert.lead.owner || null } });

export function webhookBody(alert: Alert): string {
  return JSON.stringify({ type: WEBHOOK_EVENT_TYPE, timestamp: alert.triggeredAt, data: alertAsSent(alert) });
}

/**
 * The alert with what people typed (the lead's answers, form and asset names in the summary, the owner) on one line
 * each: a job title of "CEO\n\nOpen the lead: https://evil.example" added its own line, a fake link above the real
 * one, to the emails and Slack messages sales trust. The webhook's JSON carries the values as they were given.
 */
function typedOnOneLine(alert: Alert): Alert {
  const { lead, account } = alert;
  return {
    ...alert,
    summary: oneLine(alert.summary),
    lead: { ...lead, email: oneLine(lead.email), name: oneLine(lead.name), company: oneLine(lead.company), jobTitle: oneLine(lead.jobTitle), country: oneLine(lead.country), owner: oneLine(lead.owner) },
    account: account && { ...account, name: oneLine(account.name) },
  };
}

/** Line breaks of every kind (CR, LF, NEL, line and paragraph separators, vertical tab, form feed) as one space. */
const oneLine = (text: string) => text.replace(/[\r\n\v\f\u0085\u2028\u2029]+/g, ' ');

/** "Ada Lovelace (Lovelace Ltd)", or whatever part of it is known. */
export function leadTitle(alert: Alert): string {
  const { name, email, company } = alert.lead;
  const who = name || email || alert.lead.id;
  return company && company !== who ? `${who} (${company})` : who;
}

/** "Pricing page +40 (2×, capped)": the rule by the name the dashboards give it. */
export function describeReason(reason: ScoreReason): string {
  const points = `${reason.points >= 0 ? '+' : ''}${Math.round(reason.points * 10) / 10}`;
  const details = [`${reason.count}×`, ...(reason.capped ? ['capped'] : [])].join(', ');
  return `${ruleName(reason.rule)} ${points} (${details})`;
}

/** One line for people: "Demo request: Ada Lovelace (Lovelace Ltd), score 72 (hot)". */
export function alertHeadline(alert: Alert, titleMax = Infinity): string {
  return `${SIGNAL_LABELS[alert.signal]}: ${clip(leadTitle(alert), titleMax)}, score ${alert.lead.score} (${alert.lead.temperature})`;
}

/** The facts every format shows, as label/value pairs; empty values left out. */
function facts(alert: Alert): [string, string][] {
  const { lead, account } = alert;
  const pairs: [string, string][] = [
    ['Score', `${lead.score} (${lead.temperature})`],
    ['Owner', lead.owner || 'nobody yet'],
    ['Country', lead.country],
    ['Job title', lead.jobTitle],
    ['Email', lead.email],
    ['Account', account ? `${account.name}, score ${account.score} (${account.temperature})` : ''],
  ];
  return pairs.filter(([, value]) => value !== '');
}

const utcTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
/** A moment as the dashboards write it: "2 Dec 2026, 22:55 UTC". */
export const utcMoment = (ms: number) => `${utcTime.format(ms)} UTC`;

/** When it happened, as the dashboards write it: "2 Dec 2026, 22:55 UTC". */
export function alertTime(alert: Alert): string {
  const at = Date.parse(alert.triggeredAt);
  // An alert that reached the outbox with a time no one can read is still sent, with the time as it came.
  return Number.isNaN(at) ? alert.triggeredAt : utcMoment(at);
}

/** Slack's date token: the time in the reader's zone, with alertTime where Slack cannot render it. */
function slackTime(alert: Alert): string {
  const at = Date.parse(alert.triggeredAt);
  return Number.isNaN(at) ? slackEscape(alert.triggeredAt) : `<!date^${Math.floor(at / 1000)}^{date_short_pretty} at {time}|${alertTime(alert)}>`;
}

/** Slack's mrkdwn treats &, < and > as markup (mentions, links); the notification's text escapes them. */
const slackEscape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
/**
 * Cut to `max` UTF-16 units with "…", on a whole character: never half an emoji (a lone surrogate, which Slack
 * refuses) nor half of an escape ("R&am…" of "R&amp;D").
 */
const clip = (text: string, max: number) => (text.length > max ? text.slice(0, max - 1).replace(/[\ud800-\udbff]$|&[a-z]*$/, '') + '…' : text);
/** Links are the dashboard's, from the config; anything but http(s) is left out rather than made clickable. */
const linkOf = (alert: Alert) => (/^https?:\/\//i.test(alert.lead.url) ? alert.lead.url : '');

/** A Block Kit message: a header naming the lead and the signal, the facts, the top reasons, a button to the lead. */
export function slackMessage(typed: Alert): { text: string; mrkdwn: false; blocks: unknown[] } {
  const alert = typedOnOneLine(typed);
  const reasons = alert.lead.topReasons.slice(0, 3).map((reason) => `• ${slackEscape(describeReason(reason))}`);
  return {
    // Shown in notifications and by clients that cannot render blocks, as plain text (mrkdwn false: "*URGENT*" is not
    // bold, "_Acme_" not italic), and escaped all the same, which Slack asks of any text ("<!channel>" would ping
    // everyone, "<https://…|text>" disguise a link). The link is kept whole: what the lead typed is cut to leave it room.
    text: `${clip(slackEscape(`${alertHeadline(alert)}. ${alert.summary}.`), 3000 - linkOf(alert).length - 1)} ${linkOf(alert)}`.trim(),
    mrkdwn: false,
    blocks: [
      // Header text is plain text, at most 150 characters; a typed ":rotating_light:" stays as typed.
      { type: 'header', text: { type: 'plain_text', text: clip(`${SIGNAL_LABELS[alert.signal]}: ${leadTitle(alert)}`, 150), emoji: false } },
      // What the lead typed is plain text, shown as typed: as mrkdwn, "*URGENT*" was bold, "_Acme_" italic, and a typed
      // address a live link beside the real button (escaping &, < and > stops mentions and disguised links only).
      {
        type: 'section',
        text: { type: 'plain_text', text: clip(alert.summary, 3000), emoji: false },
        fields: facts(alert).map(([label, value]) => ({ type: 'plain_text', text: clip(`${label}\n${value}`, 2000), emoji: false })),
      },
      ...(reasons.length > 0 ? [{ type: 'section', text: { type: 'mrkdwn', text: clip(`*Why this score*\n${reasons.join('\n')}`, 3000) } }] : []),
      ...(linkOf(alert)
        ? [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the lead' }, url: linkOf(alert), style: 'primary', action_id: 'open_lead' }] }]
        : []),
      // Slack writes the time in each reader's own zone; the fallback is UTC.
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${slackEscape(`Hearth · ${alert.site} · `)}${slackTime(alert)}` }],
      },
    ],
  };
}

const htmlEscape = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');

export interface AlertEmail {
  subject: string;
  text: string;
  html: string;
}

/** The email: a subject that says it all, and the same facts, reasons and link as plain text and as HTML. */
export function alertEmail(typed: Alert): AlertEmail {
  const alert = typedOnOneLine(typed);
  const reasons = alert.lead.topReasons.slice(0, 3).map(describeReason);
  const text = [
    alertHeadline(alert),
    '',
    alert.summary,
    '',
    ...facts(alert).map(([label, value]) => `${label}: ${value}`),
    ...(reasons.length > 0 ? ['', 'Why this score:', ...reasons.map((reason) => `- ${reason}`)] : []),
    '',
    `Open the lead: ${alert.lead.url}`,
    '',
    `-- Hearth, site ${alert.site}, ${alertTime(alert)}`,
  ].join('\n');
  const rows = facts(alert)
    .map(([label, value]) => `<tr><th align="left" style="padding:2px 12px 2px 0">${htmlEscape(label)}</th><td>${htmlEscape(value)}</td></tr>`)
    .join('');
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#1f2328">',
    `<h2 style="margin:0 0 8px">${htmlEscape(SIGNAL_LABELS[alert.signal])}: ${htmlEscape(leadTitle(alert))}</h2>`,
    `<p>${htmlEscape(alert.summary)}</p>`,
    `<table>${rows}</table>`,
    reasons.length > 0 ? `<p><strong>Why this score</strong></p><ul>${reasons.map((reason) => `<li>${htmlEscape(reason)}</li>`).join('')}</ul>` : '',
    linkOf(alert) ? `<p><a href="${htmlEscape(linkOf(alert))}">Open the lead</a></p>` : '',
    `<p style="color:#656d76;font-size:12px">Hearth · ${htmlEscape(alert.site)} · ${htmlEscape(alertTime(alert))}</p>`,
    '</body></html>',
  ].join('');
  // Headers are one line: the headline's parts already are. The lead's name and company cut as Slack's header is,
  // the score kept: a name and company of a few hundred characters each made a subject of 2,000 over a hundred lines.
  return { subject: `[Hearth] ${alertHeadline(alert, 150)}`, text, html };
}
