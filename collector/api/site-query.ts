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

/**
 * A whole number written in digits (a minus sign for a score), from `min` to `max`. Not z.coerce.number(), which
 * reads an empty value or spaces as 0 and "0x10" as 16: `?minScore=` listed the leads at 0 points or more.
 */
export const wholeNumber = ({ min, max }: { min?: number; max?: number } = {}) => {
  let number = z.number().int();
  if (min !== undefined) number = number.min(min);
  if (max !== undefined) number = number.max(max);
  return z.string().regex(/^-?\d+$/, { message: 'expected a whole number' }).transform(Number).pipe(number);
};
