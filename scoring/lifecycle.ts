import type { ActiveSignal, LeadScore, Temperature } from './compile.ts';

/**
 * Marketing-qualified (an MQL): a lead marketing hands to sales, until sales decide (prospect or disqualified, which
 * come first wherever a lifecycle is told). A hot score is one way; a raised hand is the other: a demo request (the
 * `demo_request` buying signal: a request form, demo, quote or pricing grid, while the scoring window still holds
 * it). The article calls the inbound request the strongest signal, the one that brings a lead close to prospect and
 * after which sales make the first call; HubSpot's and Marketo's users expect such hand-raisers to be MQLs whatever
 * their score. A site's rules need not give a request points (the article's grid does not), and a neutral profile
 * who asked for a demo would otherwise sit cold, and a plain lead, at the bottom of every list. The temperature
 * stays the score's: a hand-raiser can be a cold MQL.
 */
export function isMarketingQualified(lead: { temperature: Temperature; askedForDemo: boolean }): boolean {
  return lead.temperature === 'hot' || lead.askedForDemo;
}

/** Whether a lead's buying signals (a score's `signals`, those of the window) hold a demo request. */
export const askedForDemo = (signals: readonly Pick<ActiveSignal, 'signal'>[]): boolean => signals.some((signal) => signal.signal === 'demo_request');

/** isMarketingQualified over a computed score. */
export const scoreIsMarketingQualified = (score: Pick<LeadScore, 'temperature' | 'signals'>): boolean =>
  isMarketingQualified({ temperature: score.temperature, askedForDemo: askedForDemo(score.signals) });

/**
 * askedForDemo over a stored score's `signals` column (lead_scores: the JSON of its ActiveSignal[], as toSnapshot
 * writes it). A substring, not a JSON parse, for lists that read every current lead: JSON.stringify escapes every
 * quote inside a value, so `"signal":"demo_request"` can only be a signal's own name, never a form's in a detail.
 */
export const ASKED_FOR_DEMO_SQL = `(position(signals, '"signal":"demo_request"') > 0)`;

/** isMarketingQualified over a stored score's `temperature` and `signals` columns. */
export const MARKETING_QUALIFIED_SQL = `(temperature = 'hot' OR ${ASKED_FOR_DEMO_SQL})`;
