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
export const wholeNumber = ({ min, max }: { min?: number; max?: number } = {}) =>
  z
    .string()
    .regex(/^-?\d+$/, { message: 'expected a whole number', abort: true })
    // Compared as written (BigInt), so a problem quotes the digits given, and a value far over its limit is that one
    // problem, not also past JavaScript's safe integers.
    .superRefine((text, ctx) => {
      const value = BigInt(text);
      const problem =
        min !== undefined && value < BigInt(min)
          ? `at least ${min}`
          : max !== undefined && value > BigInt(max)
            ? `at most ${max}`
            : Number.isSafeInteger(Number(value))
              ? undefined
              : `from ${min ?? Number.MIN_SAFE_INTEGER} to ${max ?? Number.MAX_SAFE_INTEGER}`;
      if (problem) ctx.addIssue({ code: 'custom', message: `expected a whole number ${problem}`, input: text });
    })
    .transform(Number);

/**
 * One of `values`, written in any case: the docs and the dashboards write "MQL", the lifecycle's value is "mql", the
 * funnel's step "MQL", and a link written by hand should not get a 400 for it. Read as the value it names.
 */
export const anyCase = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess((given) => (typeof given === 'string' ? (values.find((value) => value.toLowerCase() === given.toLowerCase()) ?? given) : given), z.enum(values, { message: `expected one of ${values.join(', ')}` }));
