import { z } from 'zod';

/** An origin a site's pages are served from: scheme and host, optionally `:port` or `:*` for any port. */
const originSchema = z
  .string()
  .regex(/^https?:\/\/(\*\.)?[a-z0-9.-]+(:(\d{1,5}|\*))?$/i, {
    message: 'expected an origin such as "https://www.example.com" or "http://localhost:*" (scheme and host, no path)',
  });

/** A URL path pattern; `*` matches any run of characters, e.g. "/pricing*". */
const pathPatternSchema = z.string().startsWith('/', { message: 'a path pattern starts with "/", e.g. "/pricing*"' });

export const siteSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
      message: 'a site id is 1–64 lowercase letters, digits, "-" or "_", e.g. "acme-www"',
    }),
    name: z.string().min(1).optional(),
    origins: z.array(originSchema).min(1, { message: 'list at least one origin the site is served from' }),
    pageGroups: z
      .record(z.string().regex(/^[a-z][a-z0-9_-]*$/, { message: 'a page group name is lowercase, e.g. "pricing"' }), z.array(pathPatternSchema))
      .default({}),
  })
  .strict();

export const serverSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8787),
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    sites: z
      .array(siteSchema)
      .min(1, { message: 'configure at least one site' })
      .superRefine((sites, ctx) => {
        const seen = new Set<string>();
        sites.forEach((site, i) => {
          if (seen.has(site.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `site id "${site.id}" is used twice` });
          seen.add(site.id);
        });
      }),
    server: serverSchema.default({ host: '127.0.0.1', port: 8787 }),
    /** Serve the bundled demo site at /demo/ (the `npm start` config turns this on). */
    serveDemoSite: z.boolean().default(false),
  })
  .strict();

export type HearthConfig = z.infer<typeof configSchema>;
export type SiteConfig = z.infer<typeof siteSchema>;
