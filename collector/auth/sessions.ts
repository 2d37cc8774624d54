import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';

/**
 * Browser sessions, held server-side and keyed by a random id that only the `hearth_session` cookie carries.
 *
 * Why not a signed stateless cookie: logging out (or an admin changing a password) must end a session for good,
 * even if someone copied the cookie; a stateless cookie stays valid until it expires unless the server keeps a
 * list of revoked ones, which is state again. The sessions are also written to the data directory (only the
 * SHA-256 of each id, mode 0600), so a restart or an upgrade does not log everybody out, and a leaked file holds no
 * usable cookie.
 */
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
export const SESSION_MAX_MS = 7 * 24 * 60 * 60 * 1000;
/** Being seen keeps a session alive; that is written at most this often (logins and logouts are written at once). */
const TOUCH_WRITE_MS = 60_000;
/** Logins are rate-limited, but valid credentials could still mint sessions; past this the least recently used go. */
const MAX_SESSIONS = 10_000;

const sessionSchema = z.object({
  idHash: z.string(),
  name: z.string(),
  /** A fingerprint of the user's password hash at login: a new password ends the sessions opened with the old one. */
  credential: z.string(),
  /** The synchronizer token that cookie-authenticated changes must echo in `x-csrf-token`. */
  csrfToken: z.string(),
  createdAt: z.number(),
  lastSeenAt: z.number(),
});
export type Session = z.infer<typeof sessionSchema>;
const fileSchema = z.object({ version: z.literal(1), sessions: z.array(sessionSchema) });

export interface SessionStore {
  /** Opens a session; the id is returned once, for the cookie, and only its hash is kept. */
  create(user: { name: string; credential: string }): Promise<{ id: string; session: Session }>;
  /** The live session this cookie value names, marked as seen now; undefined when unknown or expired. */
  find(id: string): Session | undefined;
  remove(id: string): Promise<void>;
  /** Writes what is pending and stops the timer. */
  close(): Promise<void>;
}

export interface SessionStoreOptions {
  /** Where sessions survive restarts; memory only when absent. */
  file?: string | undefined;
  warn?: (details: object, message: string) => void;
  now?: () => number;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('base64url');

export async function createSessionStore({ file, warn = () => {}, now = Date.now }: SessionStoreOptions = {}): Promise<SessionStore> {
  const sessions = new Map<string, Session>();
  const expired = (session: Session, at: number) => at - session.lastSeenAt > SESSION_IDLE_MS || at - session.createdAt > SESSION_MAX_MS;

  if (file) {
    for (const session of await readSessions(file, warn)) if (!expired(session, now())) sessions.set(session.idHash, session);
  }

  // Writes never interleave: each save queues one write of the whole (small) table behind the one running.
  let tail: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  let touched = false;
  async function writeNow(): Promise<void> {
    if (!file) return;
    touched = false;
    const at = now();
    for (const [key, session] of sessions) if (expired(session, at)) sessions.delete(key);
    const temporary = `${file}.tmp`;
    try {
      await rm(temporary, { force: true });
      await writeFile(temporary, JSON.stringify({ version: 1, sessions: [...sessions.values()] }), { flag: 'wx', mode: 0o600 });
      await rename(temporary, file);
    } catch (err) {
      warn({ err, file }, 'could not save the sessions; they last until the collector stops');
    }
  }
  function save(): Promise<void> {
    if (queued) return queued;
    const next = tail.then(() => {
      queued = undefined;
      return writeNow();
    });
    queued = next;
    tail = next;
    return next;
  }
  const timer = setInterval(() => touched && void save(), TOUCH_WRITE_MS);
  timer.unref();

  return {
    async create({ name, credential }) {
      const id = randomBytes(32).toString('base64url');
      const at = now();
      const session: Session = { idHash: hashId(id), name, credential, csrfToken: randomBytes(32).toString('base64url'), createdAt: at, lastSeenAt: at };
      sessions.set(session.idHash, session);
      if (sessions.size > MAX_SESSIONS) {
        let oldest = session;
        for (const candidate of sessions.values()) if (candidate.lastSeenAt < oldest.lastSeenAt) oldest = candidate;
        sessions.delete(oldest.idHash);
      }
      await save();
      return { id, session };
    },
    find(id) {
      const key = hashId(id);
      const session = sessions.get(key);
      if (!session) return undefined;
      const at = now();
      if (expired(session, at)) {
        sessions.delete(key);
        touched = true;
        return undefined;
      }
      session.lastSeenAt = at;
      touched = true;
      return session;
    },
    async remove(id) {
      if (sessions.delete(hashId(id))) await save();
    },
    async close() {
      clearInterval(timer);
      if (touched) await save();
      await tail;
    },
  };
}

async function readSessions(file: string, warn: NonNullable<SessionStoreOptions['warn']>): Promise<Session[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn({ err, file }, 'could not read the saved sessions; everyone logs in again');
    return [];
  }
  try {
    return fileSchema.parse(JSON.parse(text)).sessions;
  } catch {
    warn({ file }, 'the saved sessions are damaged; everyone logs in again');
    return [];
  }
}
