import { z } from 'zod';
import { PASSWORD_HASH_PATTERN, passwordHashProblem } from './passwords.ts';
import { API_TOKEN_PREFIX, TOKEN_HASH_PATTERN } from './tokens.ts';

/** admin: everything; marketing: read and export; sales: read, and qualify leads. Only admin erases or configures. */
export const ROLES = ['admin', 'marketing', 'sales'] as const;
export type Role = (typeof ROLES)[number];

/** Who made a request, as routes see it in `request.user`. */
export interface HearthUser {
  name: string;
  role: Role;
  via: 'session' | 'token';
  /** The sites it may read and change (users[].sites, tokens[].sites); every site when absent. */
  sites?: string[];
}

const roleSchema = z.enum(ROLES, { message: `expected one of ${ROLES.join(', ')}` });
/**
 * The sites a login or a token may read and change, the others' leads and names hidden from it (an agency's client
 * sees its own site); every site when left out. Each must be a configured site (checked with the sites: config/schema.ts).
 */
const sitesSchema = z.array(z.string()).min(1, { message: 'name one site at least, or leave sites out for every site' }).optional();

const nameSchema = z.string().regex(/^[\w.@+-]{1,100}$/, { message: 'a name is 1–100 letters, digits, ".", "_", "-", "@" or "+", e.g. "ada" or "ada@acme.com"' });

/**
 * A field that holds a secret's hash. What is put there by mistake is often the secret itself (the password, or the
 * token `hearth new-token` prints just above its hash), and a config error goes to the terminal and to the logs that
 * keep it: so its problems never quote the value, as other fields' do. The pattern still reaches the JSON Schema.
 */
function hashField(pattern: RegExp, problemOf: (value: string) => string | undefined) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const message = problemOf(value);
      // `input: undefined` said outright: zod would attach the value, and a parse with reportInput quote it.
      if (message) ctx.addIssue({ code: 'custom', message, input: undefined });
    })
    .meta({ pattern: pattern.source });
}

const PASSWORD_HASH_SHAPE = 'expected a hash printed by `hearth hash-password` ("scrypt$N$r$p$salt$hash")';
const TOKEN_HASH_SHAPE = 'expected a hash printed by `hearth new-token` ("sha256$…")';

/** A person who logs in at /login. The hash comes from `hearth hash-password`; a plain password is never stored. */
export const userSchema = z
  .object({
    name: nameSchema,
    role: roleSchema,
    // The shape first; then the cost of a well-formed hash.
    passwordHash: hashField(PASSWORD_HASH_PATTERN, (hash) => (PASSWORD_HASH_PATTERN.test(hash) ? passwordHashProblem(hash) : PASSWORD_HASH_SHAPE)),
    sites: sitesSchema,
  })
  .strict();

/** A machine that sends `Authorization: Bearer <token>`. Only the token's hash is configured (`hearth new-token`). */
export const apiTokenSchema = z
  .object({
    name: nameSchema,
    role: roleSchema,
    tokenHash: hashField(TOKEN_HASH_PATTERN, (hash) => {
      if (TOKEN_HASH_PATTERN.test(hash)) return undefined;
      return hash.startsWith(API_TOKEN_PREFIX) ? 'this is a token, not its hash: put the tokenHash `hearth new-token` printed ("sha256$…")' : TOKEN_HASH_SHAPE;
    }),
    sites: sitesSchema,
  })
  .strict();

/** The sites of `entries` (users or tokens) that are no configured site, as problems at their paths. */
export function unknownSitesOf(entries: { sites?: string[] | undefined }[], siteIds: string[]): { path: (string | number)[]; message: string }[] {
  return entries.flatMap((entry, i) =>
    (entry.sites ?? []).flatMap((site, j) => (siteIds.includes(site) ? [] : [{ path: [i, 'sites', j], message: `no site "${site}" is configured; the sites are ${siteIds.join(', ')}` }])),
  );
}

export type UserEntry = z.infer<typeof userSchema>;
export type ApiTokenEntry = z.infer<typeof apiTokenSchema>;

/**
 * The tokens, each name and each hash once: a token listed twice under two roles worked as the first alone, and
 * removing that entry to revoke it left it working as the other.
 */
export const apiTokensSchema = uniqueNames(apiTokenSchema, 'token').superRefine((tokens, ctx) => {
  const seen = new Map<string, string>();
  tokens.forEach((token, i) => {
    const first = seen.get(token.tokenHash);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'tokenHash'], message: `the same token as "${first}": one token, one entry (remove one to revoke it)` });
    else seen.set(token.tokenHash, token.name);
  });
});

/** A list whose names are unique, with the duplicate's path in the message. */
export function uniqueNames<T extends z.ZodType<{ name: string }>>(entry: T, what: string) {
  return z.array(entry).superRefine((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((item, i) => {
      if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${what} "${item.name}" is listed twice` });
      seen.add(item.name);
    });
  });
}
