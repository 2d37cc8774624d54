import { readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAccess } from '../../collector/auth/access.ts';
import { hashPassword } from '../../collector/auth/passwords.ts';
import { createSessionStore, SESSION_IDLE_MS, SESSION_MAX_MS } from '../../collector/auth/sessions.ts';
import type { UserEntry } from '../../collector/auth/users.ts';

const HOUR = 60 * 60 * 1000;
const sessionsFile = async () => join(await mkdtemp(join(tmpdir(), 'hearth-sessions-')), 'sessions.json');

/** A clock the test moves by hand. */
function clock(start = Date.UTC(2026, 2, 2, 9)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('sessions', () => {
  it('survive a restart, and a logout survives it too', async () => {
    const file = await sessionsFile();
    const first = await createSessionStore({ file });
    const kept = await first.create({ name: 'ada', credential: 'c1' });
    const ended = await first.create({ name: 'sam', credential: 'c2' });
    await first.remove(ended.id);
    await first.close();

    const second = await createSessionStore({ file });
    expect(second.find(kept.id)).toMatchObject({ name: 'ada', csrfToken: kept.session.csrfToken });
    expect(second.find(ended.id)).toBeUndefined();
    await second.close();
  });

  it('are stored as hashes, readable by the owner only', async () => {
    const file = await sessionsFile();
    const store = await createSessionStore({ file });
    const { id } = await store.create({ name: 'ada', credential: 'c1' });
    await store.close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(id);
  });

  it('end after 12 hours without a request, and after 7 days whatever happens', async () => {
    const time = clock();
    const store = await createSessionStore({ now: time.now });
    const idle = await store.create({ name: 'ada', credential: 'c1' });
    const busy = await store.create({ name: 'sam', credential: 'c2' });
    time.advance(SESSION_IDLE_MS - 1000);
    expect(store.find(busy.id)).toBeDefined();
    time.advance(2000);
    expect(store.find(idle.id)).toBeUndefined();
    // Seen every 11 hours, a session still ends 7 days after the login.
    while (time.now() - busy.session.createdAt + 11 * HOUR <= SESSION_MAX_MS) {
      time.advance(11 * HOUR);
      expect(store.find(busy.id)).toBeDefined();
    }
    time.advance(11 * HOUR);
    expect(store.find(busy.id)).toBeUndefined();
    await store.close();
  });

  it('follow the user: a new role applies at once, a new password ends the session', async () => {
    const cheap = { N: 2 ** 10, r: 8, p: 1 };
    const sessions = await createSessionStore();
    const ada: UserEntry = { name: 'ada', role: 'marketing', passwordHash: await hashPassword('first-password-of-ada', cheap) };
    const before = createAccess({ adminToken: 'admin-token-value', users: [ada], tokens: [], sessions });
    const { id } = await before.startSession((await before.checkPassword('ada', 'first-password-of-ada'))!);
    expect(before.bySession(id)?.user).toEqual({ name: 'ada', role: 'marketing', via: 'session' });

    const promoted = createAccess({ adminToken: 'admin-token-value', users: [{ ...ada, role: 'sales' }], tokens: [], sessions });
    expect(promoted.bySession(id)?.user.role).toBe('sales');
    const newPassword = createAccess({ adminToken: 'admin-token-value', users: [{ ...ada, passwordHash: await hashPassword('second-password-of-ada', cheap) }], tokens: [], sessions });
    expect(newPassword.bySession(id)).toBeUndefined();
    const removed = createAccess({ adminToken: 'admin-token-value', users: [], tokens: [], sessions });
    expect(removed.bySession(id)).toBeUndefined();
    await sessions.close();
  });
});
