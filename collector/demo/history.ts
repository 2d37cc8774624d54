import type { EventRow } from '../ingest/rows.ts';
import { batchToRows } from '../ingest/rows.ts';
import { describeUserAgent } from '../ingest/user-agent.ts';
import type { WireBatch, WireEvent } from '../ingest/wire.ts';
import { MAX_ENGAGED_PIECE_MS } from '../../scoring/sql.ts';

/**
 * A realistic synthetic history of the demo site (test/fixtures/demo): personas who browse, read, download,
 * sign up for webinars and ask for demos, arriving from sources of different quality, on weekdays more than
 * weekends and in office hours. Deterministic for a seed and a day: event ids and times derive from them, so
 * running the same seed twice on a day stores nothing twice, and on another day writes a history of its own (the
 * events table keeps one row per visitor, time and event id: an id generated again at another time is a copy).
 */
export interface HistoryOptions {
  site: string;
  /** The site's origin, e.g. http://127.0.0.1:8787 (pages are under /demo/). */
  origin: string;
  visitors: number;
  days: number;
  seed: number;
  now: number;
}

export interface Persona {
  name: string;
  share: number;
  /** Chance a visitor of this persona fills a form (and becomes a lead), before the source's quality weighs on it. */
  formRate: number;
  sessions: [min: number, max: number];
  /** Pages per session and what they lean towards. */
  pages: [min: number, max: number];
  interests: Partial<Record<PageKey, number>>;
  /** The job titles its forms give (none: it never fills one). */
  jobTitles: readonly string[];
  /** What else its forms say about the visitor's company. */
  traits: (random: Random) => Record<string, string>;
  emailDomain: (random: Random, traits: Record<string, string>) => string;
}

type PageKey = keyof typeof PAGES;
const PAGES = {
  home: '/demo/',
  product: '/demo/product/',
  pricing: '/demo/pricing/',
  resources: '/demo/resources/',
  webinar: '/demo/webinar/',
  customers: '/demo/customers/',
  docs: '/demo/docs/',
  contact: '/demo/contact/',
  careers: '/demo/careers/',
} as const;

const DOWNLOADS: Partial<Record<PageKey, string>> = {
  resources: '/demo/assets/whitepaper-lead-scoring-2026.pdf',
  pricing: '/demo/assets/pricing-grid.pdf',
  docs: '/demo/assets/api-reference.pdf',
  customers: '/demo/assets/case-study-globex.pdf',
};

/** Traffic sources with their share of visits; LinkedIn brings fewer but better visitors than Display. */
export const SOURCES: { share: number; query: string; referrer: string; quality: number }[] = [
  { share: 0.3, query: '', referrer: 'https://www.google.com/', quality: 1 },
  { share: 0.15, query: '?utm_source=google&utm_medium=cpc&utm_campaign=lead-scoring&gclid=demo', referrer: 'https://www.google.com/', quality: 1.1 },
  { share: 0.12, query: '?utm_source=linkedin&utm_medium=paid-social&utm_campaign=ceo-series', referrer: 'https://www.linkedin.com/', quality: 1.8 },
  { share: 0.13, query: '?utm_source=display&utm_medium=banner&utm_campaign=retargeting', referrer: 'https://ads.example-network.com/', quality: 0.4 },
  { share: 0.1, query: '?utm_source=newsletter&utm_medium=email&utm_campaign=monthly', referrer: '', quality: 1.3 },
  { share: 0.15, query: '', referrer: '', quality: 1 },
  { share: 0.05, query: '', referrer: 'https://partner.example.org/blog/freight-analytics', quality: 1.5 },
];

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Claude', 'Hedy', 'Louis', 'Camille', 'Chloé', 'Hugo', 'Léa', 'Jules', 'Inès', 'Sofia', 'Noah'];
const LAST_NAMES = ['Martin', 'Bernard', 'Dubois', 'Smith', 'Johnson', 'Lovelace', 'Hopper', 'Turing', 'Moreau', 'Laurent', 'Garcia', 'Müller', 'Rossi', 'Jansen'];
/**
 * Industries and countries as the demo's forms offer them (test/fixtures/demo/contact), and companies in each
 * industry (a lead's email domain). The default grid rewards software companies in France, Belgium, Switzerland and
 * Luxembourg (scoring/rules.ts, "target industry" and "covered country"): the demo's buyers are mostly there and the
 * other visitors spread, so that every fit rule has leads to tell apart.
 */
const TARGET_INDUSTRY = 'Software';
const OTHER_INDUSTRIES = ['Logistics', 'Manufacturing', 'Retail', 'Finance', 'Healthcare', 'Other'];
const COMPANIES: Record<string, readonly string[]> = {
  Software: ['Hooli', 'Initech', 'Pied Piper', 'Massive Dynamic'],
  Logistics: ['Umbrella Freight', 'Stark Logistics', 'Wayne Shipping', 'Acme Transport', 'Soylent Cargo'],
  Manufacturing: ['Globex', 'Tyrell Supply', 'Cyberdyne'],
  Retail: ['Vandelay Imports', 'Monarch Stores'],
  Finance: ['Gringotts Capital', 'Oscorp Finance'],
  Healthcare: ['Mercy Health', 'Nakatomi Pharma'],
  Other: ['Sterling Cooper', 'Bluth Company'],
};
const COVERED_COUNTRIES = ['FR', 'FR', 'FR', 'BE', 'CH'];
const OTHER_COUNTRIES = ['DE', 'ES', 'IT', 'NL', 'GB', 'SE', 'US', 'CA', 'JP'];
const industry = (random: Random, target: number) => (random.chance(target) ? TARGET_INDUSTRY : random.pick(OTHER_INDUSTRIES));
const country = (random: Random, covered: number) => random.pick(random.chance(covered) ? COVERED_COUNTRIES : OTHER_COUNTRIES);

/** mulberry32: a small, fast, seedable PRNG, so a seed always gives the same history. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
    weighted: <T extends { share: number }>(items: readonly T[]): T => {
      let r = next() * items.reduce((sum, item) => sum + item.share, 0);
      for (const item of items) if ((r -= item.share) <= 0) return item;
      return items[items.length - 1]!;
    },
    /** A v4-shaped UUID from the generator, so ids are reproducible. */
    uuid: () => {
      const hex = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16)).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[Math.floor(next() * 4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    },
  };
}
type Random = ReturnType<typeof prng>;

/**
 * The generator's seed for a seed, a UTC day and a period. Times count back from the day's midnight, so a day's runs
 * agree; another day or another period (--days) places visits at other times, and must not replay the same ids
 * there (a week later, on the same weekdays, it would replay every one of them).
 */
function seedOf({ seed, now, days }: HistoryOptions): number {
  // murmur3's finaliser after each part: neighbouring seeds, days and periods give unrelated streams.
  const mix = (h: number) => {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return h ^ (h >>> 16);
  };
  return mix(mix(mix(seed) ^ Math.floor(now / 86_400_000)) ^ days) >>> 0;
}

/** A work email's domain: a company of the industry the visitor's form gives. */
const companyDomain = (random: Random, traits: Record<string, string>) => random.pick(COMPANIES[traits.industry!]!).toLowerCase().replace(/[^a-z]/g, '') + '.example';

/** Who visits the demo site, how often, what they read and what their forms say. */
export const PERSONAS: readonly Persona[] = [
  {
    name: 'decision-maker',
    share: 0.08,
    formRate: 0.6,
    sessions: [2, 6],
    pages: [3, 8],
    interests: { product: 3, pricing: 4, customers: 2, contact: 2, webinar: 1 },
    jobTitles: ['CEO', 'PDG', 'Founder', 'Directeur général', 'COO'],
    traits: (random) => ({ company_size: random.pick(['251-1000', '251-1000', '1000+', '51-250']), industry: industry(random, 0.85), country: country(random, 0.8) }),
    emailDomain: companyDomain,
  },
  {
    name: 'manager',
    share: 0.15,
    formRate: 0.45,
    sessions: [1, 5],
    pages: [2, 7],
    interests: { product: 3, resources: 2, webinar: 2, pricing: 2, docs: 1 },
    jobTitles: ['Head of Operations', 'Logistics Manager', 'Directeur logistique', 'Responsable supply chain', 'VP Sales'],
    traits: (random) => ({ company_size: random.pick(['51-250', '251-1000', '11-50']), industry: industry(random, 0.4), country: country(random, 0.55) }),
    emailDomain: companyDomain,
  },
  {
    name: 'practitioner',
    share: 0.2,
    formRate: 0.25,
    sessions: [1, 4],
    pages: [2, 6],
    interests: { docs: 3, product: 2, resources: 2 },
    jobTitles: ['Data Analyst', 'Software Engineer', 'Chargé de planification', 'Dispatcher'],
    traits: (random) => ({ company_size: random.pick(['11-50', '51-250', '251-1000']), industry: industry(random, 0.3), country: country(random, 0.5) }),
    emailDomain: companyDomain,
  },
  {
    name: 'student',
    share: 0.12,
    formRate: 0.3,
    sessions: [1, 2],
    pages: [1, 4],
    interests: { resources: 4, home: 1, careers: 2 },
    jobTitles: ['Étudiant', 'Student', 'Stagiaire', 'Intern'],
    traits: (random) => ({ company_size: '1-10', industry: 'Education', country: country(random, 0.5) }),
    emailDomain: (random) => random.pick(['gmail.com', 'univ-paris.example', 'yahoo.fr']),
  },
  {
    name: 'content-collector',
    share: 0.05,
    formRate: 0.9,
    sessions: [3, 8],
    pages: [2, 5],
    interests: { resources: 5, webinar: 3, customers: 2, docs: 2 },
    jobTitles: ['Marketing Assistant', 'Consultant'],
    traits: (random) => ({ company_size: '1-10', industry: random.pick(['Other', 'Finance', 'Retail']), country: country(random, 0.4) }),
    emailDomain: (random) => random.pick(['gmail.com', 'outlook.com', 'consulting.example']),
  },
  {
    name: 'job-seeker',
    share: 0.1,
    formRate: 0,
    sessions: [1, 2],
    pages: [1, 3],
    interests: { careers: 5, home: 1 },
    jobTitles: [],
    traits: () => ({}),
    emailDomain: () => 'gmail.com',
  },
  {
    name: 'browser',
    share: 0.3,
    formRate: 0,
    sessions: [1, 2],
    pages: [1, 3],
    interests: { home: 3, product: 2, pricing: 1, resources: 1 },
    jobTitles: [],
    traits: () => ({}),
    emailDomain: () => 'gmail.com',
  },
];

/** An office-hours time on a day of the window, weekdays five times as likely as weekend days. */
function visitTime(random: Random, options: HistoryOptions): number {
  const dayMs = 86_400_000;
  for (;;) {
    // A day from the window's first whole one (days - 1 back: its visits still score) to today, later days a little
    // busier: the site grows.
    const day = Math.floor(Math.sqrt(random.next()) * options.days);
    const start = options.now - (options.days - 1 - day) * dayMs;
    const weekday = new Date(start).getUTCDay();
    if ((weekday === 0 || weekday === 6) && !random.chance(0.2)) continue;
    const hour = random.chance(0.85) ? random.int(8, 18) : random.int(0, 23);
    return start - (start % dayMs) + hour * 3_600_000 + random.int(0, 3_599_999);
  }
}

/** The whole history, as rows for the events table, in session order. */
export function generateHistory(options: HistoryOptions): EventRow[] {
  const rows: EventRow[] = [];
  for (const slice of historySlices(options, options.visitors)) for (const row of slice) rows.push(row);
  return rows;
}

/** The browsers of the demo's visitors, each with its share in a hundred: a B2B site's mix, mostly computers. */
const USER_AGENTS: ReadonlyArray<readonly [number, string]> = [
  [45, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
  [15, 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15'],
  [10, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0'],
  [5, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'],
  [13, 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'],
  [9, 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36'],
  [3, 'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'],
];

/**
 * A browser's User-Agent, picked by its id's first hex digits (random themselves): the history's other draws, and so
 * the same seed's visitors, events and leads, stay as they were before browsers had one.
 */
function userAgentOf(visitor: string) {
  let at = parseInt(visitor.slice(0, 8), 16) % 100;
  const [, userAgent] = USER_AGENTS.find(([share]) => (at -= share) < 0)!;
  return describeUserAgent(userAgent);
}

/**
 * The same history, `visitorsPerSlice` visitors at a time: a large one is inserted slice by slice and never sits
 * whole in memory (100,000 visitors are 1.9 million rows, 1.5 GB of objects). Slicing does not change the rows.
 */
export function* historySlices(options: HistoryOptions, visitorsPerSlice: number): Generator<EventRow[]> {
  const random = prng(seedOf(options));
  let rows: EventRow[] = [];
  const url = (path: string, query = '') => `${options.origin}${path}${query}`;

  for (let n = 0; n < options.visitors; n++) {
    const persona = random.weighted(PERSONAS);
    const source = random.weighted(SOURCES);
    const devices = random.chance(0.1) ? [random.uuid(), random.uuid()] : [random.uuid()];
    const engaged = Math.min(0.95, persona.formRate * source.quality);
    const first = random.pick(FIRST_NAMES);
    const last = random.pick(LAST_NAMES);
    const traits = persona.jobTitles.length ? { job_title: random.pick(persona.jobTitles), ...persona.traits(random) } : {};
    const email = `${first}.${last}.${n}@${persona.emailDomain(random, traits)}`.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    const sessions = random.int(...persona.sessions);
    // One of the sessions this visitor has: placed among the persona's most, it was missed by every visitor with fewer.
    const formSession = random.chance(engaged) ? random.int(0, sessions - 1) : -1;
    const interests = Object.entries(persona.interests).map(([page, share]) => ({ page: page as PageKey, share }));

    for (let s = 0; s < sessions; s++) {
      const visitor = random.pick(devices);
      let t = visitTime(random, options);
      const events: WireEvent[] = [];
      // An event some time after the one before: a few seconds to a minute and a half, or `after` ms.
      const add = (event: Omit<WireEvent, 'i' | 't'>, after?: number) => events.push({ i: random.uuid(), t: (t += after ?? random.int(5_000, 90_000)), ...event } as WireEvent);
      let previous = source.referrer;
      const pages = random.int(...persona.pages);
      for (let p = 0; p < pages; p++) {
        const page = p === 0 && random.chance(0.5) ? 'home' : random.weighted(interests).page;
        const here = url(PAGES[page], p === 0 ? source.query : '');
        add({ n: 'v', u: here, r: previous, ss: p === 0 ? 1 : undefined });
        // Engaged time in pieces of a minute at most, each sent once its time has passed, as the snippet's are counted.
        const sd = random.int(20, 100);
        for (let dwell = page === 'pricing' ? random.int(10_000, 240_000) : random.int(2_000, 90_000); dwell > 0; dwell -= MAX_ENGAGED_PIECE_MS) {
          const ms = Math.min(dwell, MAX_ENGAGED_PIECE_MS);
          add({ n: 'e', u: here, ms, sd }, ms);
        }
        const file = DOWNLOADS[page];
        if (file && random.chance(persona.name === 'content-collector' ? 0.9 : 0.25)) add({ n: 'd', u: here, h: url(file), x: 'Download' });
        previous = here;
      }
      if (s === formSession) {
        const form = persona.interests.webinar && random.chance(0.4) ? 'webinar-signup' : persona.interests.contact || random.chance(0.3) ? 'demo-request' : 'webinar-signup';
        const page = form === 'demo-request' ? PAGES.contact : PAGES.webinar;
        add({ n: 'v', u: url(page), r: previous });
        const fields = { 'email  email': email, 'first_name  given-name': first, 'last_name  family-name': last, ...Object.fromEntries(Object.entries(traits).map(([key, value]) => [`${key}  `, value])) };
        add({ n: 'f', u: url(page), k: form, p: fields });
      }
      // Today's visits are planned for the whole day, the same plan all day: what has not happened yet is left out.
      const batch: WireBatch = { s: options.site, v: visitor, sid: random.uuid(), e: events.filter((event) => event.t < options.now - 60_000) };
      if (batch.e.length) rows.push(...batchToRows(batch, batch.e.at(-1)!.t, { userAgent: userAgentOf(visitor) }));
    }
    if ((n + 1) % visitorsPerSlice === 0 || n + 1 === options.visitors) {
      yield rows;
      rows = [];
    }
  }
}
