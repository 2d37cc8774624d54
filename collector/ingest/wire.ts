import { z } from 'zod';

/**
 * The snippet's wire format. Keys and event types are short to keep the snippet small; this file is the one
 * place that says what each means (sdk/src/transport.ts builds these objects).
 *
 *   batch  { s: site id, v: visitor id, sid: session id, b: true when the browser looks automated, e: events[] }
 *   event  { i: event UUID (client-made; a retry reuses it), n: type (below), t: client time in epoch ms,
 *            u: page URL, r: referrer, ti: page title, k: name (custom event, form, gated asset),
 *            em: email (identify), p: properties (string → string; a form's fields),
 *            ms: engaged milliseconds (engagement), sd: max scroll depth in % (engagement),
 *            h: link target URL (download, outbound), x: link text, ss: 1 on the event that began a session,
            sid: the event's own session id, when it differs from the batch's (a retried event from an earlier visit) }
 *   types  v pageview · e engagement · d download · o outbound · f form · i identify · t track
 *
 * What the snippet reads from the page is taken as the browser gives it, since a refused batch is lost with all it
 * holds (the snippet drops what a 4xx answers): URLs (u, r, h) of any length, stored cut to MAX_STORED_URL
 * (rows.ts); a link made by the page itself (blob:, data:); a form's fields or identify's traits beyond the
 * 20 properties of other events, since only their declarative answers are kept (rows.ts).
 */
export const EVENT_TYPES = { v: 'pageview', e: 'engagement', d: 'download', o: 'outbound', f: 'form', i: 'identify', t: 'track' } as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** The longest URL stored: longer ones (a long query string) are cut, not refused. */
export const MAX_STORED_URL = 2048;
const shortText = (max: number) => z.string().max(max, { message: `at most ${max} characters` });
const idText = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, { message: 'expected 8–64 letters, digits, "-" or "_"' });
const pageUrl = z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' });
// A download the page generates ("Export as CSV") links to a blob: or data: URL.
const linkUrl = z.url({ protocol: /^(https?|blob|data)$/, message: 'expected an http(s), blob: or data: URL' });

const props = z.record(shortText(64).min(1), z.union([shortText(500), z.number(), z.boolean()]));
/** Properties of a custom event, stored as sent; a form or an identify call keeps only its declarative answers. */
const MAX_PROPS = 20;
const MAX_FIELDS = 100;

const typeCodes = Object.keys(EVENT_TYPES) as [keyof typeof EVENT_TYPES, ...(keyof typeof EVENT_TYPES)[]];

export const wireEventSchema = z
  .object({
    i: z.uuid({ message: 'expected the event id as a UUID' }),
    n: z.enum(typeCodes, { message: `expected one of ${typeCodes.join(', ')} (${Object.values(EVENT_TYPES).join(', ')})` }),
    t: z.number().int().positive({ message: 'expected the event time in epoch milliseconds' }),
    u: pageUrl,
    r: z.string().nullish(),
    ti: shortText(512).nullish(),
    k: shortText(200).nullish(),
    // People type emails with stray spaces and capitals; one lead per mailbox needs the normalised form.
    em: z.string().trim().toLowerCase().pipe(z.email({ message: 'expected an email address' }).max(254)).nullish(),
    p: props.nullish(),
    ms: z.number().int().min(0).max(86_400_000, { message: 'at most a day of engagement in one piece' }).nullish(),
    sd: z.number().int().min(0).max(100).nullish(),
    h: linkUrl.nullish(),
    x: shortText(500).nullish(),
    ss: z.literal(1).nullish(),
    sid: idText.nullish(),
  })
  .superRefine((event, ctx) => {
    const need = (field: 'k' | 'em' | 'ms' | 'h', message: string) => event[field] == null && ctx.addIssue({ code: 'custom', path: [field], message });
    if (event.n === 't') need('k', 'a track event needs a name');
    if (event.n === 'i') need('em', 'an identify event needs an email');
    if (event.n === 'e') need('ms', 'an engagement event needs its milliseconds');
    if (event.n === 'd' || event.n === 'o') need('h', 'a link click needs the link URL');
    const most = event.n === 'f' || event.n === 'i' ? MAX_FIELDS : MAX_PROPS;
    if (event.p && Object.keys(event.p).length > most) ctx.addIssue({ code: 'custom', path: ['p'], message: `at most ${most} properties` });
  });

export const wireBatchSchema = z.object({
  s: z.string().min(1, { message: 'expected the site id' }).max(64),
  v: idText,
  sid: idText.nullish(),
  b: z.union([z.boolean(), z.literal(1), z.literal(0)]).nullish(),
  e: z.array(wireEventSchema).min(1, { message: 'a batch holds at least one event' }).max(100, { message: 'a batch holds at most 100 events' }),
});

export type WireBatch = z.infer<typeof wireBatchSchema>;
export type WireEvent = z.infer<typeof wireEventSchema>;
