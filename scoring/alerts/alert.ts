import type { LeadScore, ScoreReason, Temperature } from '../compile.ts';
import type { Stage } from '../rules.ts';

/**
 * The buying signals a lead can show (issue 6). `hot`: the score went above the hot threshold (with hysteresis);
 * the others come from behaviour (scoring/signals): a demo, quote or pricing-grid request form, long engaged dwell
 * on pricing in one visit, repeated returns to pricing, a technical documentation download, or an accumulation of
 * weak signals (many visits in 30 days, deep sessions).
 */
export const SIGNALS = ['hot', 'demo_request', 'pricing_dwell', 'pricing_returns', 'docs_download', 'weak_accumulation'] as const;
export type Signal = (typeof SIGNALS)[number];

/** One alert for sales, as every destination receives it. Built by the evaluator, persisted in the outbox before any send. */
export interface Alert {
  /** The idempotency key: deterministic for (site, lead, signal, trigger), so re-evaluating never makes a second alert. */
  id: string;
  site: string;
  signal: Signal;
  /** A sentence for people: "Requested a demo (form demo-request)". */
  summary: string;
  /** When the triggering behaviour happened (ISO 8601). */
  triggeredAt: string;
  /** When the evaluator made the alert (ISO 8601). */
  createdAt: string;
  lead: {
    id: string;
    email: string;
    name: string;
    company: string;
    jobTitle: string;
    /** ISO 3166-1 alpha-2 or ''. */
    country: string;
    /** The sales owner assigned through qualification, '' when none. */
    owner: string;
    /** Sales' reason, when they disqualified the lead: its alerts are kept as suppressed, never sent. */
    disqualifiedFor?: string;
    score: number;
    temperature: Temperature;
    // Absent from the alerts an earlier version recorded, sent after an upgrade.
    /** Where the lead stands, as `GET /api/leads` says it (a disqualified lead's alerts are suppressed, never sent). */
    lifecycle?: 'lead' | 'mql' | 'prospect' | 'disqualified';
    /** The deepest funnel stage of its visits, `null` before any. */
    stage?: Stage | null;
    /** Where it came from first: the first visit with a utm source or a referrer ('' for each when none). */
    firstTouch?: LeadScore['first_touch'];
    /** The three reasons that weigh most either way (labels.ts weightiestReasons). */
    topReasons: ScoreReason[];
    /** Absolute link to the lead's page in the dashboard. */
    url: string;
  };
  /** The lead's company account, when it has one (work email domain or declared company). */
  account: { id: string; name: string; score: number; temperature: Temperature } | null;
}
