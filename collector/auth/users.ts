import { z } from 'zod';
import { PASSWORD_HASH_PATTERN, passwordHashProblem } from './passwords.ts';
import { TOKEN_HASH_PATTERN } from './tokens.ts';

/** admin: everything; marketing: read and export; sales: read, and qualify leads. Only admin erases or configures. */
export const ROLES = ['admin', 'marketing', 'sales'] as const;
export type Role = (typeof ROLES)[number];

/** Who made a request, as routes see it in `request.user`. */
export interface HearthUser {
  name: string;
  role: Role;
  via: 'session' | 'token';
}

const roleSchema = z.enum(ROLES, { message: `expected one of ${ROLES.join(', ')}` });
const nameSchema = z.string().regex(/^[\w.@+-]{1,100}$/, { message: 'a name is 1–100 letters, digits, ".", "_", "-", "@" or "+", e.g. "ada" or "ada@acme.com"' });

/** A person who logs in at /login. The hash comes from `hearth hash-password`; a plain password is never stored. */
export const userSchema = z
  .object({
    name: nameSchema,
    role: roleSchema,
    passwordHash: z
      .string()
      .regex(PASSWORD_HASH_PATTERN, { message: 'expected a hash printed by `hearth hash-password` ("scrypt$N$r$p$salt$hash")' })
      .superRefine((hash, ctx) => {
        // The shape is the regex's to report; this judges the cost of a well-formed hash.
        const problem = PASSWORD_HASH_PATTERN.test(hash) ? passwordHashProblem(hash) : undefined;
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  })
  .strict();

/** A machine that sends `Authorization: Bearer <token>`. Only the token's hash is configured (`hearth new-token`). */
export const apiTokenSchema = z
  .object({
    name: nameSchema,
    role: roleSchema,
    tokenHash: z.string().regex(TOKEN_HASH_PATTERN, { message: 'expected a hash printed by `hearth new-token` ("sha256$…")' }),
  })
  .strict();

export type UserEntry = z.infer<typeof userSchema>;
export type ApiTokenEntry = z.infer<typeof apiTokenSchema>;

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
