import { createHash } from 'node:crypto';
import { domainToASCII, domainToUnicode } from 'node:url';
import { z } from 'zod';
import { formatPath, quoted, toProblems, type Problem } from '../config/issues.ts';
import { declarativeKey, namedDeclarativeKey } from './form-fields.ts';
import { charactersIn, cutToCharacters, fitsCharacters } from '../../scoring/normalize.ts';

/**
 * The snippet's wire format. Keys and event types are short to keep the snippet small; this file is the one
 * place that says what each means (sdk/src/transport.ts builds these objects).
 *
 *   batch  { s: site id, v: visitor id, sid: session id, b: true when the browser looks automated, e: events[] }
 *   event  { i: event UUID (client-made; a retry reuses it), n: type (below), t: client time in epoch ms,
 *            u: page URL, r: referrer, ti: page title, k: name (custom event, form, gated asset),
 *            em: email (identify), p: properties (name → text, number or boolean; a form's fields),
 *            ms: engaged milliseconds (engagement), sd: max scroll depth in % (engagement),
 *            h: link target URL (download, outbound), x: link text, ss: 1 on the event that began a session,
            sid: the event's own session id, when it differs from the batch's (a retried event from an earlier visit) }
 *   types  v pageview · e engagement · d download · o outbound · f form · i identify · t track
 *
 * What the snippet reads from the page is taken as the browser gives it, since a refused batch is lost with all it
 * holds (the snippet drops what a 4xx answers): URLs (u, r, h) of any length, stored cut to MAX_STORED_URL
 * (rows.ts); names (k: a form's id, a gated asset's name) of any length, stored cut to MAX_STORED_NAME; a link's
 * target (h) of any scheme, as the page wrote it; a form's fields or identify's traits beyond the
 * 20 properties of other events, since only their declarative answers are kept (rows.ts).
 *
 * What the page's own code passes (p, em) is checked here, not by the snippet, which has no bytes to spare for it:
 * parseBatch leaves out the values it cannot store and says which, rather than refuse the batch (below).
 */
export const EVENT_TYPES = { v: 'pageview', e: 'engagement', d: 'download', o: 'outbound', f: 'form', i: 'identify', t: 'track' } as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** The longest URL stored: longer ones (a long query string) are cut, not refused. */
export const MAX_STORED_URL = 2048;
/** The longest name stored (k): a page builder's form ids and assets named by their whole title run longer. */
export const MAX_STORED_NAME = 200;
const shortText = (max: number) => z.string().max(max, { message: `at most ${max} characters` });
const ID = /^[A-Za-z0-9_-]{8,64}$/;
const ID_RULE = 'expected 8–64 letters, digits, "-" or "_"';
const idText = z.string().regex(ID, { message: ID_RULE });
const pageUrl = z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' });

const MAX_SITE_ID = 64;
const MAX_EVENTS = 100;
const MAX_TITLE = 512;
const MAX_LINK_TEXT = 500;
const MAX_ENGAGED_MS = 86_400_000;
const MAX_PROP_NAME = 64;
const MAX_PROP_TEXT = 500;
/**
 * A property's value: text, a number or true/false. One check rather than a union, which tried each type in turn and
 * built an issue for every miss (a number missed text first): a third of the time of parsing a track event.
 */
const isPropValue = (value: unknown) =>
  typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && fitsCharacters(value, MAX_PROP_TEXT));
const propValue = z.custom<string | number | boolean>(isPropValue, { message: `expected text of at most ${MAX_PROP_TEXT} characters, a number or true/false` });
/** Whether a name has at most MAX_PROP_NAME characters. */
const fitsName = (name: string) => fitsCharacters(name, MAX_PROP_NAME);
/** A property name the schema takes: 1 to MAX_PROP_NAME characters. */
const isPropName = (name: string) => name.length > 0 && fitsName(name);
/** A name as the 202 quotes it: cut after MAX_PROP_NAME characters, so an answer does not echo up to 64 KB of it. */
const shownName = (name: string) => (fitsName(name) ? name : `${cutToCharacters(name, MAX_PROP_NAME)}…`);
const props = z.record(shortText(MAX_PROP_NAME).min(1), propValue);
/** Properties of a custom event, stored as sent; a form or an identify call keeps only its declarative answers. */
const MAX_PROPS = 20;
const MAX_FIELDS = 100;
const mostProps = (type: unknown) => (type === 'f' || type === 'i' ? MAX_FIELDS : MAX_PROPS);

/**
 * Before the @, what a mail system takes unquoted (RFC 5322's dot-atom: no leading, trailing or double dot), letters of
 * any script included (RFC 6531); not a control, an invisible (zero-width) or a private character, half a surrogate pair
 * or the U+FFFD that replaces one (well-formed.ts), nor `<>,:;()[]\`, which are not part of an address a person typed
 * (`mailto:ada@…`, `<ada@…>`) and would make a second lead of a mailbox.
 */
const atom = "(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\\x00-\\x7f\\p{C}\\p{Z}\\uFFFD])+";
const MAILBOX = new RegExp(`^(?=[^@]{1,64}@)${atom}(?:\\.${atom})*@[^\\s@]{1,255}$`, 'u');

/**
 * An email as stored, one lead per mailbox: without the stray spaces and capitals people type, and in Unicode's
 * composed form (an "é" typed as e + accent is the same mailbox). Addresses in any script are real mailboxes
 * (josé@exemple.fr, ada@bücher.de, RFC 6531), which zod's default check (ASCII only) refused with their batch; zod's
 * Unicode pattern takes "a@b" and "mailto:ada@…", so the part before the @ is MAILBOX's, and the domain must be a name
 * under a top-level domain once written in ASCII (bücher.de is xn--bcher-kva.de), as mail servers look it up, stored
 * in one spelling (withUnicodeDomain). rows.ts reads a form's email with it too.
 */
export const emailAddress = z
  .string({ message: 'expected an email address' })
  .trim()
  .toLowerCase()
  .normalize('NFC')
  .pipe(
    z
      .email({ pattern: MAILBOX, message: 'expected an email address', abort: true })
      .max(254)
      .refine((address) => isMailDomain(domainOf(address)), { message: 'expected an email address' })
      .transform(withUnicodeDomain),
  );

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);
// Most domains are ASCII already, and not internationalised ("xn--" labels): converting them costs as much as the rest.
const isPlainAscii = (domain: string) => /^[\x21-\x7e]*$/.test(domain) && !domain.includes('xn--');

/**
 * One spelling of a domain, in Unicode as people read it: a browser's email field gives it in ASCII (Chromium turns
 * ada@bücher.de typed into ada@xn--bcher-kva.de) while a page's code passes it as typed, and a full-width letter or
 * dot (ｂücher。de) is the same name too; each must make the same lead. Only for a domain isMailDomain took.
 */
function withUnicodeDomain(address: string): string {
  const domain = domainOf(address);
  return isPlainAscii(domain) ? address : address.slice(0, address.length - domain.length) + domainToUnicode(domain);
}

function isMailDomain(domain: string): boolean {
  // domainToASCII gives "" for a name it cannot convert, an "xn--" label that is not valid Punycode included.
  const ascii = isPlainAscii(domain) ? domain : domainToASCII(domain);
  // z.regexes.domain wants a top-level domain of letters, which an internationalised one (.рф: xn--p1ai) is not.
  return z.regexes.hostname.test(ascii) && /\.(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(ascii);
}

const typeCodes = Object.keys(EVENT_TYPES) as [keyof typeof EVENT_TYPES, ...(keyof typeof EVENT_TYPES)[]];

export const wireEventSchema = z
  .object({
    i: z.uuid({ message: 'expected the event id as a UUID' }),
    n: z.enum(typeCodes, { message: `expected one of ${typeCodes.join(', ')} (${Object.values(EVENT_TYPES).join(', ')})` }),
    t: z.number().int().positive({ message: 'expected the event time in epoch milliseconds' }),
    u: pageUrl,
    r: z.string().nullish(),
    ti: shortText(MAX_TITLE).nullish(),
    k: z.string().nullish(),
    em: emailAddress.nullish(),
    p: props.nullish(),
    ms: z.number().int().min(0).max(MAX_ENGAGED_MS, { message: 'at most a day of engagement in one piece' }).nullish(),
    sd: z.number().int().min(0).max(100).nullish(),
    // A link's target as the page has it: a gated asset behind javascript:void(0), a webcal: or an app's link, a blob:
    // the page made ("Export as CSV"), even one that does not parse. Stored cut as page URLs are.
    h: z.string().nullish(),
    x: shortText(MAX_LINK_TEXT).nullish(),
    ss: z.literal(1, { message: 'expected 1 (on the event that began a session) or nothing' }).nullish(),
    sid: idText.nullish(),
  })
  .superRefine((event, ctx) => {
    const need = (field: 'k' | 'em' | 'ms' | 'h', message: string) => event[field] == null && ctx.addIssue({ code: 'custom', path: [field], message });
    if (event.n === 't' && event.k === '') ctx.addIssue({ code: 'custom', path: ['k'], message: 'a track event needs a name' });
    if (event.n === 't') need('k', 'a track event needs a name');
    if (event.n === 'i') need('em', 'an identify event needs an email');
    if (event.n === 'e') need('ms', 'an engagement event needs its milliseconds');
    if (event.n === 'd' || event.n === 'o') need('h', 'a link click needs the link URL');
    const most = mostProps(event.n);
    if (event.p && Object.keys(event.p).length > most) ctx.addIssue({ code: 'custom', path: ['p'], message: `at most ${most} properties` });
  });

export const wireBatchSchema = z.object({
  s: z.string().min(1, { message: 'expected the site id' }).max(MAX_SITE_ID),
  v: idText,
  sid: idText.nullish(),
  b: z.union([z.boolean(), z.literal(1), z.literal(0)], { message: 'expected true, false, 1 or 0 (whether the snippet saw an automated browser)' }).nullish(),
  // Counted on a list only: a text has a length too, which read as events said "at most 100 events" of a text.
  e: z.array(wireEventSchema).superRefine((events, ctx) => {
    if (events.length === 0) ctx.addIssue({ code: 'too_small', origin: 'array', minimum: 1, input: events, message: 'a batch holds at least one event' });
    if (events.length > MAX_EVENTS) ctx.addIssue({ code: 'too_big', origin: 'array', maximum: MAX_EVENTS, input: events, message: `a batch holds at most ${MAX_EVENTS} events` });
  }),
});

export type WireBatch = z.infer<typeof wireBatchSchema>;
export type WireEvent = z.infer<typeof wireEventSchema>;

/** What /collect makes of a body: the batch to store and what was left out of it, or why nothing can be stored. */
/**
 * `positions`, when events were left out: the index each stored event had in the batch as sent, which the paths of
 * what is said of it later name (the collector's emails past a person's, collect.route.ts).
 */
export type ParsedBatch = { ok: true; batch: WireBatch; ignored: Problem[]; positions?: number[] | undefined } | { ok: false; problems: Problem[] };

/**
 * Validates a batch, leaving out what the page's own code passed that cannot be stored rather than refuse the whole
 * batch, which the snippet would drop with the page views and forms it holds. A null property is absent (JavaScript's
 * "unknown"), silently; a property that is an object, a list or an over-long text, an event's properties beyond its
 * count, an email that is not an address are left out and named in `ignored`, in the paths of a 400's problems; an
 * identify event without an address is left out whole (it has no lead to make). A visitor or session id the browser
 * kept in another shape is stored as one derived from it (keptId), and named. An event whose id an earlier event of
 * the batch has is a repeat: stored once, counted once, named; so is a form's email answer that is not an address
 * (the form is stored, without it), and a field the wire format does not have (unknownFields). Anything else wrong
 * (not an object, an event without an id, type, time or URL, over 100 events) refuses the batch, as does a batch left
 * with no event.
 *
 * A batch the schema takes is parsed once (after takenAsSent, most are not parsed by it at all). One it refuses for
 * such a value is cleaned (a copy: the body is left as it is) and parsed again.
 */
export function parseBatch(body: unknown): ParsedBatch {
  if (takenAsSent(body)) return finished(body, []);
  // A property the schema refuses sends the batch to the cleaning below whatever else it holds, so such a batch goes
  // there at once: the schema would first have named every such value, ~70 ms of the event loop for the 6,000 lists
  // (`"a1":[]`) a 64 KB body holds, which one address could send ten times a second within its rate limit.
  if (!holdsUnstorableProps(body)) {
    const strict = wireBatchSchema.safeParse(body, { reportInput: true });
    if (strict.success) return finished(strict.data, unknownFields(body));
    if (!strict.error.issues.some(isReplaceable)) return { ok: false, problems: toProblems(strict.error) };
  }
  // Either means the body is an object.
  const ignored: Problem[] = [];
  const copy: Record<string, unknown> = { ...(body as object) };
  copy.v = keptId(copy.v, 'v', ignored);
  copy.sid = keptId(copy.sid, 'sid', ignored);
  const sent = Array.isArray(copy.e) ? (copy.e as unknown[]) : undefined;
  const cleaned = sent?.map((event, index) => ({ ...cleanEvent(event, index, ignored), index }));
  const kept = cleaned?.filter(({ leftOut }) => !leftOut);
  if (kept?.length !== 0) {
    const parsed = wireBatchSchema.safeParse(kept ? { ...copy, e: kept.map(({ event }) => event) } : copy, { reportInput: true });
    if (parsed.success) {
      const leftOut = new Set(cleaned?.flatMap(({ leftOut, index }) => (leftOut ? [index] : [])));
      return finished(parsed.data, [...ignored, ...unknownFields(body, leftOut)], kept!.map(({ index }) => index));
    }
  }
  // Refused: the problems are told at the places of the events as sent, so the identify events left out are put back.
  const all = wireBatchSchema.safeParse(cleaned ? { ...copy, e: cleaned.map(({ event }) => event) } : copy, { reportInput: true });
  return { ok: false, problems: all.success ? ignored : toProblems(all.error) };
}

/**
 * Whether the schema would take a batch exactly as it was sent: the snippet's everyday batch (page views, engaged time,
 * clicks, custom events and forms, nothing to clean or convert), checked in plain code first. The schema costs ~13 µs
 * for a beacon of one event, ~45 µs for ten, in the collector under load (its checks run through code every schema of
 * the process shares); this check 2–3 µs and 9 µs: a quarter more 10-event beacons a second (`npm run bench:ingest`).
 *
 * It only ever says yes to what the schema takes and gives back unchanged, and leaves the rest to it, errors and all:
 * a key the schema would strip, an email (converted), an identify event, a URL with a space to trim, a text near a
 * maximum it counts in code points (a length in UTF-16 units at most the maximum is safe). wire-fast-path.test.ts
 * holds it to that over thousands of bodies built near every edge. Its input is what JSON.parse made of a body: symbol
 * keys or an array's own extra properties, which no JSON text gives, are not looked for.
 */
export function takenAsSent(body: unknown): body is WireBatch {
  if (!isJsonObject(body) || typeof body.s !== 'string' || typeof body.v !== 'string' || !Array.isArray(body.e)) return false;
  for (const key in body) {
    const value = body[key];
    switch (key) {
      case 's':
        if ((value as string).length === 0 || (value as string).length > MAX_SITE_ID) return false;
        break;
      case 'v':
        if (!ID.test(value as string)) return false;
        break;
      case 'sid':
        if (!isId(value)) return false;
        break;
      case 'b':
        if (value != null && typeof value !== 'boolean' && value !== 1 && value !== 0) return false;
        break;
      case 'e': {
        const events = value as unknown[];
        if (events.length === 0 || events.length > MAX_EVENTS) return false;
        for (const event of events) if (!eventTakenAsSent(event)) return false;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

const UUID = z.regexes.uuid();
/** The event types takenAsSent checks itself: all but identify, whose email the schema converts. */
const PLAIN_TYPES = new Set<unknown>(['v', 'e', 'd', 'o', 'f', 't']);
/** An object as JSON.parse makes them: a value of another prototype (inherited fields, none at all) goes to the schema. */
const isJsonObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
const isId = (value: unknown) => value == null || (typeof value === 'string' && ID.test(value));
const isText = (value: unknown, max: number) => value == null || (typeof value === 'string' && value.length <= max);
const isWhole = (value: unknown, min: number, max: number) => value == null || (Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max);
/** What the schema keeps as sent: no white space (trimmed, tabs and newlines taken out), http(s):// in lower case. */
const isPlainPageUrl = (value: string) => (value.startsWith('https://') || value.startsWith('http://')) && !/\s/.test(value) && URL.canParse(value);

function eventTakenAsSent(event: unknown): boolean {
  if (!isJsonObject(event) || typeof event.i !== 'string' || !PLAIN_TYPES.has(event.n) || typeof event.u !== 'string') return false;
  for (const key in event) {
    const value = event[key];
    switch (key) {
      case 'i':
        if (!UUID.test(value as string)) return false;
        break;
      case 'n':
        break;
      case 't':
        if (!Number.isSafeInteger(value) || (value as number) <= 0) return false;
        break;
      case 'u':
        if (!isPlainPageUrl(value as string)) return false;
        break;
      case 'r':
      case 'k':
      case 'h':
        if (!isText(value, Infinity)) return false;
        break;
      case 'ti':
        if (!isText(value, MAX_TITLE)) return false;
        break;
      case 'x':
        if (!isText(value, MAX_LINK_TEXT)) return false;
        break;
      case 'ms':
        if (!isWhole(value, 0, MAX_ENGAGED_MS)) return false;
        break;
      case 'sd':
        if (!isWhole(value, 0, 100)) return false;
        break;
      case 'ss':
        if (value != null && value !== 1) return false;
        break;
      case 'sid':
        if (!isId(value)) return false;
        break;
      case 'p':
        if (value != null && !propsTakenAsSent(value, mostProps(event.n))) return false;
        break;
      default:
        return false;
    }
  }
  if (event.t === undefined) return false;
  if (event.n === 't') return typeof event.k === 'string' && event.k !== '';
  if (event.n === 'e') return event.ms != null;
  if (event.n === 'd' || event.n === 'o') return event.h != null;
  return true;
}

function propsTakenAsSent(props: unknown, most: number): boolean {
  if (!isJsonObject(props)) return false;
  let count = 0;
  for (const name in props) {
    const value = props[name];
    if (name.length === 0 || name.length > MAX_PROP_NAME || name === '__proto__' || ++count > most) return false;
    if (!isPropValue(value)) return false;
  }
  return true;
}

/** Whether some event's properties hold a value the schema refuses (cleanProps leaves it out), or are no object at all. */
function holdsUnstorableProps(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { e?: unknown }).e)) return false;
  return ((body as { e: unknown[] }).e).some((event) => {
    if (typeof event !== 'object' || event === null) return false;
    const props = (event as { p?: unknown }).p;
    if (props == null) return false;
    if (typeof props !== 'object' || Array.isArray(props)) return true;
    for (const name in props) if (!isPropName(name) || !isPropValue((props as Record<string, unknown>)[name])) return true;
    return false;
  });
}

const BATCH_FIELDS = Object.keys(wireBatchSchema.shape);
const EVENT_FIELDS = Object.keys(wireEventSchema.shape);
const NOT_A_BATCH_FIELD = `not a field of a batch (${BATCH_FIELDS.join(', ')}): left out`;
const NOT_AN_EVENT_FIELD = `not a field of an event (${EVENT_FIELDS.join(', ')}): left out`;

/**
 * The fields of a batch, and of its events (but those left out whole: `leftOut`, their indexes as sent), that the
 * wire format does not have: the schema drops them, so a sender's `props` for `p`, or `bot` for `b`, is named rather
 * than lost without a word.
 */
function unknownFields(body: unknown, leftOut?: Set<number>): Problem[] {
  const unknown: Problem[] = [];
  const look = (object: unknown, fields: string[], at: (key: string) => PropertyKey[], message: string) => {
    if (typeof object !== 'object' || object === null || Array.isArray(object)) return;
    for (const key of Object.keys(object)) if (!fields.includes(key)) unknown.push({ path: formatPath(at(shownName(key))), message });
  };
  look(body, BATCH_FIELDS, (key) => [key], NOT_A_BATCH_FIELD);
  const events = (body as { e?: unknown }).e;
  if (Array.isArray(events)) events.forEach((event, n) => leftOut?.has(n) || look(event, EVENT_FIELDS, (key) => ['e', n, key], NOT_AN_EVENT_FIELD));
  return unknown;
}

/** Whether a problem is in a value parseBatch may leave out or replace: an event's properties, email, session id or
 * (a track event's) name, or the batch's visitor or session id. */
const isReplaceable = ({ path }: z.core.$ZodIssue) =>
  path[0] === 'e' ? typeof path[1] === 'number' && (path[2] === 'p' || path[2] === 'em' || path[2] === 'sid' || path[2] === 'k') : path.length === 1 && (path[0] === 'v' || path[0] === 'sid');

/** The longest visitor or session id a batch may send in another shape; a longer one refuses the batch. */
const MAX_SENT_ID = 1024;

/**
 * The id a visitor or session id sent in another shape is stored as: derived from it (`h-` and 22 characters of its
 * SHA-256), so every batch of that browser is one visitor still. The snippet sends the id it finds in the `hearth_vid`
 * cookie or localStorage, and an id another script or a server framework wrote there (URL-encoded, quoted, an older
 * format) made every batch of that browser a 400, which the snippet drops: the browser was never counted again.
 */
function keptId(value: unknown, path: string, ignored: Problem[]): unknown {
  if (typeof value !== 'string') return value;
  const id = storedId(value);
  if (id !== value) ignored.push({ path, message: `${ID_RULE} (got ${quoted(value)}): stored as ${id}, the same id for the same value` });
  return id;
}

/**
 * The visitor or session id a batch's id is stored as: itself when it has the shape, else derived from it (keptId).
 * The API finds a browser by the id its cookie holds through it, whatever the shape the cookie was rewritten to.
 */
export function storedId(value: string): string {
  if (value.length === 0 || value.length > MAX_SENT_ID || ID.test(value)) return value;
  return `h-${createHash('sha256').update(value).digest('base64url').slice(0, 22)}`;
}

/** The snippet's `hearth_vid` in localStorage: the visitor id, the session id and the last activity (epoch ms), joined by dots. */
const STORED_IDENTITY = /^([A-Za-z0-9_-]{8,64})\.[A-Za-z0-9_-]{8,64}\.\d{1,16}$/;

/**
 * The stored visitor id of a browser an API request names (`visitor=`, `v_<id>`) by its `hearth_vid`: the cookie's
 * value, whatever shape a framework rewrote it to (storedId), or localStorage's, whose first part the snippet sends.
 * An admin answering a request for access or erasure copies either from the browser's developer tools.
 */
export const browserVisitorId = (value: string) => storedId(STORED_IDENTITY.exec(value)?.[1] ?? value);

/**
 * The batch with each event id once, and the forms whose email answer is not an address named. An event's id is what
 * makes a retry count once (ClickHouse keeps one row of it), so a second event of a batch with the same id is the same
 * event: left out, and named at its place as sent (`positions`: the sent index of each event, when some were left out
 * before).
 */
function finished(batch: WireBatch, ignored: Problem[], positions?: number[]): ParsedBatch {
  const at = (n: number, ...path: PropertyKey[]) => formatPath(['e', positions?.[n] ?? n, ...path]);
  let events = batch.e;
  if (events.length > 1) {
    const firstOf = new Map<string, number>();
    const repeats = new Map<number, number>();
    events.forEach((event, n) => {
      const id = event.i.toLowerCase();
      const first = firstOf.get(id);
      if (first === undefined) firstOf.set(id, n);
      else repeats.set(n, first);
    });
    if (repeats.size > 0) {
      // What was said of a repeat's values goes: it is not stored at all.
      const of = new Set([...repeats.keys()].map((n) => at(n)));
      ignored = ignored.filter(({ path }) => !of.has(path.slice(0, path.indexOf(']') + 1)));
      for (const [n, first] of repeats) ignored.push({ path: at(n, 'i'), message: `the id of ${at(first)}: a repeat, left out` });
      events = events.filter((_, n) => !repeats.has(n));
      positions = batch.e.map((_, n) => positions?.[n] ?? n).filter((_, n) => !repeats.has(n));
    }
  }
  events.forEach((event, n) => {
    const unread = event.n === 'f' ? formAddress(event.p).unread : undefined;
    if (unread) ignored.push({ path: at(n, 'p', unread.key), message: `${unread.problem}: the form is stored without it, and makes no lead` });
  });
  return { ok: true, batch: events === batch.e ? batch : { ...batch, e: events }, ignored, positions };
}

/**
 * A form's email: the address the first of its email fields holds (those named as one before the email inputs named
 * otherwise, a colleague's), read as identify's email is (so a form makes the
 * same lead: josé@exemple.fr included), or '' and why the first answered one is not an address ("ada@acme", a typo
 * the browser's email field lets through). rows.ts stores the address; parseBatch names the other case, since a form
 * without an address makes no lead, which a site's developer would otherwise look for in vain.
 */
export function formAddress(props: WireEvent['p']): { address: string; unread: { key: string; problem: string } | undefined } {
  let unread: { key: string; problem: string } | undefined;
  // The fields named as an email first, then the email inputs named otherwise.
  for (const keyOf of [namedDeclarativeKey, declarativeKey]) {
    for (const [key, value] of Object.entries(props ?? {})) {
      // Every field declarativeKey reads as an email says "mail" or "courriel": the others skip its patterns.
      if (!/mail|courriel/i.test(key) || keyOf(key) !== 'email' || String(value).trim() === '') continue;
      const address = emailAddress.safeParse(String(value), { reportInput: true });
      if (address.success) return { address: address.data, unread: undefined };
      unread ??= { key, problem: toProblems(address.error)[0]!.message };
    }
  }
  return { address: '', unread };
}

/**
 * A copy of a sent event without the values it cannot store, each named in `ignored`, and whether the whole event is
 * left out (an identify event without an address: only that is named). Other faults are left for the schema to name.
 */
function cleanEvent(event: unknown, index: number, ignored: Problem[]): { event: unknown; leftOut: boolean } {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return { event, leftOut: false };
  const copy: Record<string, unknown> = { ...event };
  const at = (...path: PropertyKey[]) => formatPath(['e', index, ...path]);
  const notes: Problem[] = [];
  copy.sid = keptId(copy.sid, at('sid'), notes);
  if (copy.n === 't' && (copy.k == null || copy.k === '')) {
    // hearth('track', el.dataset.event || ''): the page's code, not the visitor, which the rest of the batch is.
    cleanProps(copy, at, []);
    ignored.push({ path: at('k'), message: 'a track event needs a name: the track event is left out' });
    return { event: copy, leftOut: true };
  }
  if (copy.em != null || copy.n === 'i') {
    const email = copy.em == null ? undefined : emailAddress.safeParse(copy.em, { reportInput: true });
    if (!email?.success) {
      const reason = email ? toProblems(email.error)[0]!.message : 'an identify event needs an email';
      if (copy.n === 'i') {
        cleanProps(copy, at, []);
        ignored.push({ path: at('em'), message: `${reason}: the identify event is left out` });
        return { event: copy, leftOut: true };
      }
      notes.push({ path: at('em'), message: `${reason}: left out` });
      delete copy.em;
    }
  }
  cleanProps(copy, at, notes);
  ignored.push(...notes);
  return { event: copy, leftOut: false };
}

/** Replaces an event's properties by those it can store, naming the others in `notes`. */
function cleanProps(event: Record<string, unknown>, at: (...path: PropertyKey[]) => string, notes: Problem[]) {
  if (event.p == null) return;
  if (typeof event.p !== 'object' || Array.isArray(event.p)) {
    notes.push({ path: at('p'), message: `expected the properties as an object (got ${kindOf(event.p)})` });
    delete event.p;
    return;
  }
  const most = mostProps(event.n);
  const stored: [string, unknown][] = [];
  const over: string[] = [];
  for (const [name, value] of Object.entries(event.p)) {
    // JavaScript code passes null for "unknown" (a user object's phone): no value, nothing to say.
    if (value === null) continue;
    const problem = propertyProblem(name, value);
    // A long name is quoted cut (and whole: no half emoji), so the answer does not echo up to 64 KB of it.
    if (problem) notes.push({ path: at('p', shownName(name)), message: problem });
    else if (stored.length < most) stored.push([name, value]);
    else over.push(name);
  }
  // One entry for all the extra properties of an event, whatever their count.
  if (over.length > 0) {
    const names = over.slice(0, 5).join(', ') + (over.length > 5 ? ', …' : '');
    notes.push({ path: at('p'), message: `at most ${most} properties: ${over.length} left out (${names})` });
  }
  // fromEntries defines each name as an own property, "__proto__" included.
  event.p = Object.fromEntries(stored);
}

function propertyProblem(name: string, value: unknown): string | undefined {
  if (!isPropName(name)) return `a property name has 1 to ${MAX_PROP_NAME} characters`;
  if (typeof value === 'object') return `${Array.isArray(value) ? 'a list' : 'an object'} is not stored: a property is text, a number or true/false`;
  if (typeof value === 'string' && !fitsCharacters(value, MAX_PROP_TEXT)) return `at most ${MAX_PROP_TEXT} characters (got ${charactersIn(value)})`;
  if (typeof value !== 'string' && typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) return 'expected text, a number or true/false';
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? 'text' : typeof value === 'number' ? 'a number' : typeof value === 'boolean' ? 'true/false' : typeof value;
}
