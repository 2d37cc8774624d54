import { z } from 'zod';
import type { HearthConfig } from '../config/schema.ts';

/** `?site=`: one of the configured sites, and optional when there is only one. */
export function siteParam(config: HearthConfig) {
  const siteIds = config.sites.map((site) => site.id);
  return z
    .string()
    .optional()
    .transform((site, ctx) => {
      const chosen = site ?? (siteIds.length === 1 ? siteIds[0] : undefined);
      if (chosen && siteIds.includes(chosen)) return chosen;
      ctx.addIssue({ code: 'custom', message: site ? `unknown site; configured sites: ${siteIds.join(', ')}` : `choose a site: ${siteIds.join(', ')}` });
      return z.NEVER;
    });
}
