import { z } from 'zod';

/**
 * The snippet's wire format. Keys are short to keep the snippet small; this file is the one place that
 * says what each means (sdk/src/transport.ts builds these objects).
 *
 *   batch  { s: site id, v: visitor id, sid: session id, e: events[] }
 *   event  { i: event UUID (client-made; retries reuse it), n: event type, t: client time in epoch ms,
 *            u: page URL, r: referrer, ti: page title, k: name (custom event name), em: email (identify),
 *            p: properties (string → string) }
 */
export const EVENT_TYPES = ['pageview', 'track', 'identify'] as const;

const MAX_URL = 2048;
const shortText = (max: number) => z.string().max(max, { message: `at most ${max} characters` });
const idText = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, { message: 'expected 8–64 letters, digits, "-" or "_"' });

const props = z
  .record(shortText(64).min(1), z.union([shortText(500), z.number(), z.boolean()]))
  .refine((p) => Object.keys(p).length <= 20, { message: 'at most 20 properties' });

export const wireEventSchema = z
  .object({
    i: z.uuid({ message: 'expected the event id as a UUID' }),
    n: z.enum(EVENT_TYPES, { message: `expected one of ${EVENT_TYPES.join(', ')}` }),
    t: z.number().int().positive({ message: 'expected the event time in epoch milliseconds' }),
    u: z.url({ protocol: /^https?$/, message: 'expected an http(s) page URL' }).max(MAX_URL, { message: `at most ${MAX_URL} characters` }),
    r: shortText(MAX_URL).optional(),
    ti: shortText(512).optional(),
    k: shortText(200).optional(),
    // People type emails with stray spaces and capitals; one lead per mailbox needs the normalised form.
    em: z.string().trim().toLowerCase().pipe(z.email({ message: 'expected an email address' }).max(254)).optional(),
    p: props.optional(),
  })
  .superRefine((event, ctx) => {
    if (event.n === 'track' && !event.k) ctx.addIssue({ code: 'custom', path: ['k'], message: 'a track event needs a name' });
    if (event.n === 'identify' && !event.em) ctx.addIssue({ code: 'custom', path: ['em'], message: 'an identify event needs an email' });
  });

export const wireBatchSchema = z.object({
  s: z.string().min(1, { message: 'expected the site id' }).max(64),
  v: idText,
  sid: idText.optional(),
  e: z.array(wireEventSchema).min(1, { message: 'a batch holds at least one event' }).max(100, { message: 'a batch holds at most 100 events' }),
});

export type WireBatch = z.infer<typeof wireBatchSchema>;
export type WireEvent = z.infer<typeof wireEventSchema>;
