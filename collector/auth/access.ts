import { createHash } from 'node:crypto';
import { decoyPasswordHash, verifyPassword } from './passwords.ts';
import type { Session, SessionStore } from './sessions.ts';
import { hashToken, tokenMatcher } from './tokens.ts';
import type { ApiTokenEntry, HearthUser, UserEntry } from './users.ts';

export interface AccessOptions {
  /** HEARTH_ADMIN_TOKEN (or the one made for this run): an admin token for machines and scripts. */
  adminToken: string;
  /** Who may log in: the config's users, HEARTH_USERS, or the first-start admin. */
  users: UserEntry[];
  /** The config's API tokens (hashes only). */
  tokens: ApiTokenEntry[];
  sessions: SessionStore;
}

/** Who is who: the users, the tokens and the sessions, and the checks on them. No HTTP here; see hooks/auth.hook.ts. */
export interface Access {
  byToken(token: string): HearthUser | undefined;
  /** The user and session behind a session cookie; undefined once it expired, logged out, or its user changed. */
  bySession(id: string): { user: HearthUser; session: Session } | undefined;
  /** The user with this name and password, else undefined: the same scrypt work whether or not the name exists. */
  checkPassword(name: string, password: string): Promise<UserEntry | undefined>;
  /** Whether a user has this name (for the log of a refused login, which names only users). */
  isUser(name: string): boolean;
  startSession(user: UserEntry): Promise<{ id: string; session: Session }>;
  endSession(id: string): Promise<void>;
}

/** The name the admin token acts under, e.g. in a qualification's history. */
const ADMIN_TOKEN_NAME = 'admin-token';

const credentialOf = (user: UserEntry) => createHash('sha256').update(user.passwordHash).digest('base64url').slice(0, 22);

export function createAccess({ adminToken, users, tokens, sessions }: AccessOptions): Access {
  const usersByName = new Map(users.map((user) => [user.name, user]));
  const matchToken = tokenMatcher<HearthUser>([
    // Without the white space around it: a header cannot carry that (HTTP strips it), and a secret made from a file
    // (kubectl create secret --from-file) ends with the file's newline, which made the token match nothing.
    { hash: hashToken(adminToken.trim()), value: { name: ADMIN_TOKEN_NAME, role: 'admin', via: 'token' } },
    ...tokens.map((token) => ({ hash: token.tokenHash, value: { name: token.name, role: token.role, via: 'token' as const, ...(token.sites && { sites: token.sites }) } })),
  ]);
  // Made now, not on the first unknown name, so that first attempt takes no longer than the others.
  const decoy = decoyPasswordHash(users.map((user) => user.passwordHash));

  return {
    byToken: matchToken,
    bySession(id) {
      const session = sessions.find(id);
      const user = session && usersByName.get(session.name);
      // The role is read from the current users at each request: a role changed in the config applies at once.
      if (!session || !user || credentialOf(user) !== session.credential) return undefined;
      return { user: { name: user.name, role: user.role, via: 'session', ...(user.sites && { sites: user.sites }) }, session };
    },
    async checkPassword(name, password) {
      const user = usersByName.get(name);
      const matches = await verifyPassword(password, user?.passwordHash ?? (await decoy));
      return user && matches ? user : undefined;
    },
    isUser: (name) => usersByName.has(name),
    startSession: (user) => sessions.create({ name: user.name, credential: credentialOf(user) }),
    endSession: (id) => sessions.remove(id),
  };
}
