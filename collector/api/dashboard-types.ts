/**
 * The shapes the dashboard API answers with (collector/api/dashboard.routes.ts), shared with the pages in
 * dashboards/, which import them as types only. Times are ISO 8601 UTC; days are `YYYY-MM-DD` (UTC).
 */

import type { AccountScore } from '../../scoring/accounts.ts';
import type { Temperature } from '../../scoring/compile.ts';
import type { Stage } from '../../scoring/rules.ts';

export type { AccountScore, Stage, Temperature };
export type Lifecycle = 'lead' | 'mql' | 'prospect' | 'disqualified';
export type FunnelStep = Stage | 'MQL' | 'prospect';

/** The days a view covers (both included) and the period of the same length just before, to compare with. */
export interface PeriodInfo {
  from: string;
  to: string;
  previousFrom: string;
  previousTo: string;
}

/** A figure for the period and the previous one. */
export interface Compared {
  current: number;
  previous: number;
}

/** An average for the period and the previous one: null for a period with nothing to average (no page views). */
export interface ComparedAverage {
  current: number | null;
  previous: number | null;
}

export interface SiteInfo {
  id: string;
  name: string;
  qualification: { framework: string; required: string[] };
  thresholds: { warm: number; hot: number };
  /** Where the site's alerts go, without URLs, addresses or secrets; none when the site sends no alerts. */
  alertDestinations: { id: string; type: 'webhook' | 'slack' | 'email' }[];
}

export interface SitesResponse {
  sites: SiteInfo[];
  /** Each framework's boxes, in order. */
  frameworks: Record<string, readonly string[]>;
  user: { name: string; role: 'admin' | 'marketing' | 'sales'; via: 'session' | 'token' } | null;
  /** Who may own a lead: the users who log in with the sales or admin role, for the owner fields to suggest. */
  owners: string[];
}

/**
 * Visitors: distinct browsers with an event in the period, bots left out unless the site's rules count them
 * (`countBots`), as scoring does. Leads figures count the identified leads seen in the period (an event from any of
 * their browsers) as they stand now; new leads gave their first email in it.
 */
export interface SummaryResponse {
  site: string;
  period: PeriodInfo;
  kpis: {
    visitors: Compared;
    identifiedLeads: Compared;
    newLeads: Compared;
    warm: Compared;
    hot: Compared;
    mqls: Compared;
    prospects: Compared;
  };
}

export interface TimeseriesResponse {
  site: string;
  period: PeriodInfo;
  days: string[];
  visitors: number[];
  /** Identified leads seen each day, by their current temperature. */
  leads: Record<Temperature, number[]>;
  /** The same counted over the whole period: a browser or a lead seen on several days counts once (the key figures). */
  totals: { visitors: number; leads: Record<Temperature, number> };
}

export interface FunnelResponse {
  site: string;
  period: PeriodInfo;
  /** Identified leads seen in the period; those with no funnel content yet are in no step, unless MQLs (an MQL is past BOFU). */
  leads: number;
  /**
   * Each lead sits at its furthest step; a step counts the leads at it or beyond. `conversion`: the share of the step
   * before's leads that reached this one; null for the first step, and after a step with none.
   */
  steps: { step: FunnelStep; leads: number; conversion: number | null }[];
}

export interface SourceRow {
  /** utm_source, else the referring host (without www.), else "(direct)". */
  source: string;
  /** Browsers whose sessions in the period started from this source. */
  visitors: number;
  /** Identified leads seen in the period whose first touch was this source. */
  leads: number;
  averageScore: number;
  hotLeads: number;
  /** hotLeads / leads, 0 to 1. */
  hotShare: number;
}

export interface SourcesResponse {
  site: string;
  period: PeriodInfo;
  sources: SourceRow[];
}

/** How good the leads of a group (a source, a kind of device) are: SourceRow's and DeviceRow's figures. */
export type LeadQuality = Pick<SourceRow, 'leads' | 'averageScore' | 'hotLeads' | 'hotShare'>;

/**
 * A kind of device: its visitors, and the identified leads seen in the period on it (their own visits), a lead seen
 * on a phone and a computer in both.
 */
export interface DeviceRow extends LeadQuality {
  /** desktop, mobile or tablet, as the browser's User-Agent says; '' where it says none; bot where bots count. */
  device: string;
  /** Browsers of this kind with an event in the period. */
  visitors: number;
}

/** A browser or an operating system, with the browsers (visitors) of it seen in the period. */
export interface NamedVisitors {
  /** As the User-Agent names it ("Chrome", "iOS"); '' where it names none. */
  name: string;
  visitors: number;
}

export interface DevicesResponse {
  site: string;
  period: PeriodInfo;
  devices: DeviceRow[];
  /** The most used first, at most DEVICE_NAMES_SHOWN each. */
  browsers: NamedVisitors[];
  systems: NamedVisitors[];
}

export interface ContentRow {
  /** A page path, a downloaded asset (its name or path), or a webinar form's name. */
  item: string;
  visitors: number;
  /** Identified leads who engaged with it in the period (their anonymous visits count). */
  leads: number;
  hotLeads: number;
}

export interface ContentResponse {
  site: string;
  period: PeriodInfo;
  pages: ContentRow[];
  downloads: ContentRow[];
  webinars: ContentRow[];
}

export interface PricingResponse {
  site: string;
  period: PeriodInfo;
  /** The URL patterns counted as pricing pages. */
  patterns: string[];
  views: Compared;
  visitors: Compared;
  /** Identified leads who viewed pricing. */
  leads: Compared;
  /** Engaged seconds per pricing page view, to the millisecond. */
  averageEngagedSeconds: ComparedAverage;
  /** Share of the period's visitors who viewed pricing, 0 to 1. */
  visitorShare: Compared;
  days: string[];
  dailyViews: number[];
  topLeads: { id: string; email: string; name: string; company: string; views: number; engagedSeconds: number; score: number; temperature: Temperature }[];
}

export interface ScoreDistributionResponse {
  site: string;
  period: PeriodInfo;
  thresholds: { warm: number; hot: number };
  bucketSize: number;
  /** Buckets of `bucketSize` points from the lowest to the highest score, empty ones included. */
  buckets: ScoreBucket[];
}

/** The leads whose score is in [from, from + bucketSize), and how many of them are cold, warm and hot (each by its own score). */
export interface ScoreBucket extends Record<Temperature, number> {
  from: number;
  leads: number;
}

export interface LeadListItem {
  id: string;
  email: string;
  name: string;
  company: string;
  jobTitle: string;
  country: string;
  score: number;
  fit: number;
  engagement: number;
  /** Points from the lead's first source (source rules). */
  sourcePoints: number;
  /** Points taken off (negative rules): zero or less. */
  negative: number;
  temperature: Temperature;
  stage: Stage | null;
  lifecycle: Lifecycle;
  owner: string | null;
  /** Where the lead first came from (utm source or referrer). */
  source: string;
  /** The three rules that weigh most, plus or minus. */
  topReasons: { rule: string; points: number }[];
  firstSeen: string;
  lastSeen: string;
}

export interface LeadListResponse {
  site: string;
  total: number;
  /** Where the page starts in the list: 1 for its first lead. */
  position: number;
  /** The page after this one (`after=`), or before it (`before=`); null at the list's ends. */
  next: string | null;
  previous: string | null;
  leads: LeadListItem[];
}

export interface AccountsResponse {
  site: string;
  total: number;
  /** Where these accounts start among them all (the page's offset). */
  offset: number;
  /** Highest score first (scoring/accounts.ts). */
  accounts: AccountScore[];
}
