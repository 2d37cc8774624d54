import { declarativeKey, isSecretName, traitKey } from './form-fields.ts';
import { UNKNOWN_USER_AGENT, type UserAgentFacts } from './user-agent.ts';
import { EVENT_TYPES, formAddress, MAX_STORED_NAME, MAX_STORED_URL, type WireBatch, type WireEvent } from './wire.ts';
import { cutToCharacters } from '../../scoring/normalize.ts';
import { MAX_ENGAGED_PIECE_MS, toClickHouseTime } from '../../scoring/sql.ts';

/** One row of the `events` table (collector/store/migrations/). */
export interface EventRow {
  site_id: string;
  visitor_id: string;
  session_id: string;
  event_id: string;
  ts: string;
  received_at: string;
  type: string;
  name: string;
  url: string;
  path: string;
  referrer: string;
  title: string;
  email: string;
  props: Record<string, string>;
  engaged_ms: number;
  scroll_depth: number;
  link_url: string;
  link_text: string;
  session_start: number;
  is_bot: number;
  referrer_host: string;
  utm_source: string;
  utm_medium: string;
  utm_campaign: string;
  utm_term: string;
  utm_content: string;
  click_id: string;
  browser: string;
  os: string;
  device: string;
}

/** What the request, rather than the snippet, says about the sender: the same for every event of a batch. */
export interface RequestContext {
  userAgent: UserAgentFacts;
  /** The times stored with earlier copies of events whose own time is not kept (see retimed.ts), by event id. */
  retimed?: ReadonlyMap<string, string>;
  /** Whether an origin is one of the site's own (its configured origins): a referrer from there is no source. */
  ownOrigin?: (origin: string) => boolean;
}

// Client clocks drift; a time further off than this is replaced by the arrival time. The past bound covers
// the snippet's retry queue (24 h), so a retried event keeps its original, deterministic timestamp.
const MAX_PAST_MS = 25 * 3600_000;
/** How far ahead of the collector's clock an event's time is kept: scoring counts events up to then too. */
export const MAX_FUTURE_MS = 5 * 60_000;
/** Whether an event's own time is kept, or replaced by the time it arrived (its clock is set wrong). */
export const timeIsKept = (t: number, receivedAt: number) => t >= receivedAt - MAX_PAST_MS && t <= receivedAt + MAX_FUTURE_MS;
/** Ad-platform click ids that mark paid traffic even without utm tags. */
const CLICK_IDS = ['gclid', 'msclkid', 'fbclid', 'li_fat_id', 'ttclid', 'twclid'];

/**
 * The source an ad click id tells, for a landing page without utm tags (Google Ads' auto-tagging adds only gclid, and
 * the ad's page may hide the referrer): gclid and msclkid are paid search; Meta also adds fbclid to its posts' links,
 * so that one names the network alone.
 */
const CLICK_SOURCES: Record<string, [source: string, medium: string]> = {
  gclid: ['google', 'cpc'],
  msclkid: ['bing', 'cpc'],
  fbclid: ['facebook', ''],
  li_fat_id: ['linkedin', ''],
  ttclid: ['tiktok', ''],
  twclid: ['twitter', ''],
};

/**
 * The path of a hash route ("#/pricing", "#!/pricing?plan=pro" → "/pricing"), which a single-page app routed by the
 * fragment (the snippet's `data-hash`) shows as a page of its own; undefined for an anchor ("#faq"), which is not.
 */
function routeOf(hash: string): string | undefined {
  return /^#!?(\/[^?]*)/.exec(hash)?.[1];
}

function urlOf(url: string | null | undefined): URL | undefined {
  try {
    return url ? new URL(url) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The answers of a form or the traits of an identify call under their declarative keys (a `jobTitle` or `job_title`
 * trait and a form's "poste" field are all `job_title`), as the profile and the rules know them; the email goes to
 * its own column (a form's: formAddress; an identify call's is its own `em`). Unknown descriptors and secret-like keys
 * are dropped; values lose their surrounding white space (tabs, line breaks, no-break spaces included): an answer of
 * only white space is no answer and never replaces one.
 */
function answersOf(event: WireEvent): Record<string, string> {
  // A Map: a trait named as an object's own members (`constructor`, `toString`) is a field like any other.
  const props = new Map<string, string>();
  const keyOf = event.n === 'i' ? traitKey : declarativeKey;
  for (const [sentKey, value] of Object.entries(event.p ?? {})) {
    const key = keyOf(sentKey);
    if (key && key !== 'email' && !props.has(key)) props.set(key, String(value).trim());
  }
  return Object.fromEntries(props);
}

/** Other properties (a custom event's), as ClickHouse's Map(String, String) column takes them, kept as sent. */
function textProps(props: WireEvent['p']): Record<string, string> {
  const text: Record<string, string> = {};
  for (const key in props) text[key] = String(props[key]);
  return text;
}

/**
 * A URL as stored: cut to MAX_STORED_URL characters (code points, as every limit of the wire format counts them). A
 * page's address is taken at any length (wire.ts) and read whole (its path, utm tags and click id come from it), then
 * stored cut.
 */
const storedUrl = (text: string) => cutToCharacters(text, MAX_STORED_URL);

/**
 * A path or a web link as people read it and rules are written: `/carrières`, `/docs/Livre blanc.pdf`, where the
 * browser sends `/carri%C3%A8res`. The escapes of the characters that give an address its structure (`%2F`, `%3F`, `%23`,
 * `%26`…) stay, as decodeURI leaves them; so does a text that is no valid escaping, or that would hold a control or
 * invisible character once decoded. Other schemes (`data:`, `mailto:`) are kept as sent.
 */
function readable(text: string): string {
  if (!text.includes('%') || !/^(?:\/|https?:)/i.test(text)) return text;
  try {
    const decoded = decodeURI(text);
    return /\p{C}/u.test(decoded) ? text : decoded;
  } catch {
    return text;
  }
}

/**
 * A utm tag as people mean it: without surrounding blanks or control and invisible characters (a zero-width space, a
 * line break, a direction mark), which made " linkedin ", "linkedin\u200b" and "linkedin" three sources; at most as long
 * as a stored address (read from the whole one, a tag could be longer, and no drill-down could then name its source).
 */
/** A utm tag as stored: trimmed, without invisible characters, and none that holds an email (as the address drops it). */
const tag = (value: string | null | undefined) => (value && HOLDS_EMAIL.test(value) ? '' : cutToCharacters(value?.replace(/\p{C}+/gu, '').trim() ?? '', MAX_STORED_URL));

/**
 * An address as stored (a page's, a referrer, a link's target): without the query parameters named like secrets
 * (isSecretName: `password`, `token`, `api_key`…) or holding a card number, in its query string and in a hash route's
 * (`#/reset?token=…`), and without any other fragment (`#faq`; an OAuth sign-in's `#access_token=…&refresh_token=…`,
 * which a single-page app reads and then replaces, and which the snippet sends as the next page's referrer): an
 * anchor is no page, and a browser leaves fragments out of a referrer too. A form sent by GET puts its fields in the
 * next page's address, its password too, and that address is stored with the page view and as the referrer of the
 * page after. Nor a user name and password before the host. The rest is kept as sent; `url` itself is left as it is.
 */
function storedAddress(url: URL): string {
  const search = url.search && withoutSecretParams(url.search);
  const hash = url.hash && storedFragment(url.hash);
  // Credentials written before the host (`https://bob:pa55w0rd@partner.example/`), which a browser keeps in a link's
  // href, are no part of the page either. (An empty fragment, "…/pricing#", is no hash either, and is dropped too.)
  if (search === url.search && hash === url.hash && !url.href.endsWith('#') && !url.username && !url.password) return url.href;
  const kept = new URL(url);
  kept.search = search;
  kept.hash = hash;
  kept.username = '';
  kept.password = '';
  return kept.href;
}

/**
 * A text address as stored (storedAddress), or as sent when it is no URL (`javascript:void(0)` behind an asset), less
 * what stands before an `@` after its `//` (a link whose port is mistyped, `https://bob:pw@files.example:99999/`, is
 * its raw attribute in `link.href`; a server's relative `//u:p@host/`).
 */
function storedAddressText(text: string): string {
  if (!text.includes('?') && !text.includes('#') && !text.includes('@')) return text;
  try {
    return storedAddress(new URL(text));
  } catch {
    return text.replace(/^((?:[a-z][a-z\d+.-]*:)?\/\/)[^/?#]*@/i, '$1');
  }
}

/** A fragment as stored: a hash route (`#/pricing`, `#!/pricing?plan=pro`) without its secret parameters, else none. */
function storedFragment(hash: string): string {
  if (!/^#!?\//.test(hash)) return '';
  const query = hash.indexOf('?');
  return query < 0 ? hash : hash.slice(0, query) + withoutSecretParams(hash.slice(query));
}

/**
 * Query parameters that are secrets in an address whatever a form would call them: a signed link's signature (AWS's
 * X-Amz-Signature, Google's X-Goog-Signature, Azure's sig: the link works for anyone who has it) and a session.
 */
const SECRET_PARAM = /^(?:sig|[\w-]*signature|session)$/;

/**
 * A value holding an email address: a newsletter's link (`?email=carol@corp.example`), a webmail's referrer
 * (`?user=…`). Kept, it was personal data in the events of a browser that never gave it, where a request for that
 * person's data or its erasure, which finds people by the email they gave, never looks. Its domain ends in letters of
 * any script (.com, .рф, .中国) or in Punycode (.xn--p1ai): react@18.2.0 and 48.85@2.35 are no address.
 */
const HOLDS_EMAIL = /[^\s@/?&=]@[^\s@/?&=]+\.(?:\p{L}{2,}|xn--[a-z\d-]+)(?![\p{L}\p{N}-])/iu;

/** A query string ("?plan=pro&password=…") without the parameters named like secrets or holding a card number or an email. */
function withoutSecretParams(search: string): string {
  const params = new URLSearchParams(search);
  // An OAuth sign-in comes back with code and state: the code buys its tokens (a promo `code` alone stays).
  const oauth = params.has('code') && params.has('state');
  const secrets = [...params].filter(
    ([name, value]) => isSecretName(name) || SECRET_PARAM.test(name.toLowerCase()) || (oauth && name === 'code') || isCardNumber(value) || HOLDS_EMAIL.test(value),
  );
  if (secrets.length === 0) return search;
  for (const [name] of secrets) params.delete(name);
  const kept = params.toString();
  return kept && `?${kept}`;
}

/**
 * Whether a value is a payment card number: 13 to 19 digits, spaces and dashes aside, that pass the Luhn check every
 * card number passes (a GET form's card field named anything, `contact_phone_alt`). The snippet never reads one from a
 * form; this is for the address a form sent by GET leaves behind.
 */
function isCardNumber(value: string): boolean {
  if (!/^\d(?:[ -]?\d){12,18}$/.test(value)) return false;
  const digits = value.replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const digit = Number(digits[digits.length - 1 - i]);
    sum += i % 2 === 0 ? digit : digit < 5 ? digit * 2 : digit * 2 - 9;
  }
  return sum % 10 === 0;
}

export function batchToRows(batch: WireBatch, receivedAt: number, { userAgent, retimed, ownOrigin }: RequestContext = { userAgent: UNKNOWN_USER_AGENT }): EventRow[] {
  const received = toClickHouseTime(receivedAt);
  return batch.e.map((event) => {
    const eventId = event.i.toLowerCase();
    const url = new URL(event.u);
    const route = routeOf(url.hash);
    const type = EVENT_TYPES[event.n];
    const answers = type === 'form' || type === 'identify' ? answersOf(event) : undefined;
    const isView = type === 'pageview';
    // Sources and click ids are read from the landing page's query string only.
    const query = isView && url.search !== '' ? url.searchParams : undefined;
    const referrer = isView ? urlOf(event.r) : undefined;
    // Same-site referrers are navigation, not a source: the page's own host, or another origin of the site (its
    // docs. subdomain, its shop on a port of its own).
    const referrerHost = !referrer || referrer.hostname === url.hostname || ownOrigin?.(referrer.origin) ? '' : referrer.hostname;
    const clickId = query && CLICK_IDS.find((name) => query.get(name));
    // Utm tags win; without them, the ad click id names the source (and the medium, when it is one).
    const clickSource = clickId && !query.get('utm_source') ? CLICK_SOURCES[clickId] : undefined;
    return {
      site_id: batch.s,
      visitor_id: batch.v,
      session_id: event.sid ?? batch.sid ?? '',
      event_id: eventId,
      ts: timeIsKept(event.t, receivedAt) ? toClickHouseTime(event.t) : (retimed?.get(eventId) ?? received),
      received_at: received,
      type,
      name: cutToCharacters(event.k ?? '', MAX_STORED_NAME),
      url: storedUrl(storedAddress(url)),
      path: storedUrl(readable(route ? url.pathname.replace(/\/$/, '') + route : url.pathname)),
      referrer: storedUrl(storedAddressText(event.r ?? '')),
      title: event.ti ?? '',
      email: type === 'form' ? formAddress(event.p).address : (event.em ?? ''),
      props: answers ?? textProps(event.p),
      engaged_ms: Math.min(event.ms ?? 0, MAX_ENGAGED_PIECE_MS),
      scroll_depth: event.sd ?? 0,
      // The snippet reads an SVG link's href as text: "[object SVGAnimatedString]", no address.
      link_url: event.h === '[object SVGAnimatedString]' ? '' : storedUrl(readable(storedAddressText(event.h ?? ''))),
      link_text: event.x ?? '',
      session_start: event.ss ? 1 : 0,
      // Either side may know: the snippet sees automation (webdriver, headless), the User-Agent names crawlers.
      is_bot: batch.b || userAgent.bot ? 1 : 0,
      referrer_host: referrerHost,
      utm_source: tag(query?.get('utm_source')) || clickSource?.[0] || '',
      utm_medium: tag(query?.get('utm_medium')) || clickSource?.[1] || '',
      utm_campaign: tag(query?.get('utm_campaign')),
      utm_term: tag(query?.get('utm_term')),
      utm_content: tag(query?.get('utm_content')),
      click_id: clickId ? `${clickId}:${query.get(clickId)}` : '',
      browser: userAgent.browser,
      os: userAgent.os,
      device: userAgent.device,
    };
  });
}
