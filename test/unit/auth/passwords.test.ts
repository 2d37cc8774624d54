// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { createAccess } from '../../../collector/auth/access.ts';
import { mergeUsers, usersFromEnvironment } from '../../../collector/auth/accounts.ts';
import { decoyPasswordHash, hashPassword, verifyPassword } from '../../../collector/auth/passwords.ts';
import { createSessionStore } from '../../../collector/auth/sessions.ts';
import { hashToken, newApiToken, tokenMatcher } from '../../../collector/auth/tokens.ts';
import { parseConfig } from '../../../collector/config/load.ts';

const cheap = { N: 2 ** 10, r: 8, p: 1 };

describe('password hashes', () => {
  it('are salted scrypt in a self-describing string that verifies the right password only', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^scrypt\$32768\$8\$3\$[\w-]{22}\$[\w-]{43}$/);
    expect(await hashPassword('correct horse battery staple')).not.toBe(hash);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('verify with the cost written in the hash', async () => {
    const hash = await hashPassword('a cheaper hash for tests', cheap);
    expect(hash.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifyPassword('a cheaper hash for tests', hash)).toBe(true);
  });

  it('treat the same password in composed and decomposed Unicode as one', async () => {
    const hash = await hashPassword('caf\u00e9-au-lait-2026', cheap);
    expect(await verifyPassword('cafe\u0301-au-lait-2026', hash)).toBe(true);
  });

  it('have a decoy, checked for unknown names, made with the cost most configured users have (a wrong name takes as long as a wrong password)', async () => {
    const users = await Promise.all(['ada-password-1', 'sam-password-2'].map((password) => hashPassword(password, cheap)));
    const decoy = await decoyPasswordHash([...users, await hashPassword('an older default', { N: 2 ** 11, r: 8, p: 1 })]);
    expect(decoy.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifyPassword('ada-password-1', decoy)).toBe(false);
    // Without users, the default cost.
    expect((await decoyPasswordHash()).startsWith('scrypt$32768$8$3$')).toBe(true);
  });

  it('match nothing when malformed', async () => {
    expect(await verifyPassword('anything', 'plain-text-password')).toBe(false);
    expect(await verifyPassword('anything', 'scrypt$3$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(false);
  });
});

describe('API tokens', () => {
  it('are found by their hash, and an unknown or truncated token finds nothing', () => {
    const crm = newApiToken();
    const ci = newApiToken();
    expect(crm.token).toMatch(/^hth_[\w-]{43}$/);
    expect(crm.tokenHash).toBe(hashToken(crm.token));
    const match = tokenMatcher([
      { hash: crm.tokenHash, value: 'crm' },
      { hash: ci.tokenHash, value: 'ci' },
    ]);
    expect(match(crm.token)).toBe('crm');
    expect(match(ci.token)).toBe('ci');
    expect(match(crm.token.slice(0, -1))).toBeUndefined();
    expect(match(crm.tokenHash)).toBeUndefined();
  });
});

describe('the admin token', () => {
  it('works when HEARTH_ADMIN_TOKEN ends with the newline a secret file gives it (a header cannot carry one)', async () => {
    // kubectl create secret --from-file keeps the file's last newline in the variable.
    const sessions = await createSessionStore();
    const access = createAccess({ adminToken: 'chosen-admin-token-0123456789\n', users: [], tokens: [], sessions });
    expect(access.byToken('chosen-admin-token-0123456789')).toEqual({ name: 'admin-token', role: 'admin', via: 'token' });
    expect(access.byToken('chosen-admin-token-012345678')).toBeUndefined();
    await sessions.close();
  });
});

describe('users and tokens in the config', () => {
  const site = { id: 'acme', origins: ['https://acme.test'] };

  it('refuses a bad role, a plain password, a foreign hash and a duplicate name, naming the path', async () => {
    const hash = await hashPassword('a-perfectly-good-password', cheap);
    const config = {
      sites: [site],
      users: [
        { name: 'ada', role: 'owner', passwordHash: hash },
        { name: 'sam', role: 'sales', password: 'hunter2' },
        { name: 'kim', role: 'sales', passwordHash: '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW' },
      ],
      tokens: [{ name: 'crm', role: 'sales', tokenHash: 'not-a-hash' }],
    };
    expect(() => parseConfig(config, 'hearth.config.json')).toThrowError(
      new RegExp(
        [
          'users\\[0\\]\\.role: expected one of admin, marketing, sales',
          'users\\[1\\]\\.password: unknown key',
          'users\\[2\\]\\.passwordHash: expected a hash printed by `hearth hash-password` \\("scrypt\\$N\\$r\\$p\\$salt\\$hash"\\)\\n',
          'tokens\\[0\\]\\.tokenHash: expected a hash printed by `hearth new-token`',
        ].join('[^]*'),
      ),
    );
    const duplicate = { sites: [site], users: [{ name: 'ada', role: 'admin', passwordHash: hash }, { name: 'ada', role: 'sales', passwordHash: hash }] };
    expect(() => parseConfig(duplicate, 'hearth.config.json')).toThrowError('hearth.config.json: users[1].name: user "ada" is listed twice');
  });

  it('refuses one token listed twice under two names, which would take the first entry\'s role and outlive its removal', () => {
    const { tokenHash } = newApiToken();
    const twice = { sites: [site], tokens: [{ name: 'crm-sync', role: 'sales', tokenHash }, { name: 'dup-hash', role: 'admin', tokenHash }] };
    expect(() => parseConfig(twice, 'hearth.config.json')).toThrowError('hearth.config.json: tokens[1].tokenHash: the same token as "crm-sync": one token, one entry (remove one to revoke it)');
  });

  it('never quotes what was put where a hash goes: often the password or the token itself, by mistake', () => {
    const { token } = newApiToken();
    const password = 'Sup3r-Secret-Passw0rd';
    const config = { sites: [site], users: [{ name: 'ada', role: 'admin', passwordHash: password }], tokens: [{ name: 'crm', role: 'sales', tokenHash: token }] };
    // A config error goes to the terminal and to the logs that keep it.
    let message = '';
    try {
      parseConfig(config, 'hearth.config.json');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('hearth.config.json: users[0].passwordHash: expected a hash printed by `hearth hash-password` ("scrypt$N$r$p$salt$hash")');
    expect(message).toContain('hearth.config.json: tokens[0].tokenHash: this is a token, not its hash: put the tokenHash `hearth new-token` printed ("sha256$…")');
    expect(message).not.toContain(password.slice(0, 8));
    expect(message).not.toContain(token.slice(0, 12));
    expect(() => usersFromEnvironment({ HEARTH_USERS: JSON.stringify([{ name: 'ada', role: 'admin', passwordHash: password }]) })).toThrowError(
      /^invalid HEARTH_USERS[^]*HEARTH_USERS\[0\]\.passwordHash: expected a hash printed by `hearth hash-password` \("scrypt\$N\$r\$p\$salt\$hash"\)$/,
    );
  });

  it('refuses a scrypt cost that would let one login take gigabytes', () => {
    const greedy = 'scrypt$1048576$32$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    expect(() => parseConfig({ sites: [site], users: [{ name: 'ada', role: 'admin', passwordHash: greedy }] }, 'c.json')).toThrowError(
      'c.json: users[0].passwordHash: scrypt with N=1048576 and r=32 needs 4096 MiB a login; at most 256 MiB',
    );
  });

  it('takes HEARTH_USERS as a JSON array that replaces same-named users and adds the others', async () => {
    const hash = await hashPassword('a-perfectly-good-password', cheap);
    const fromConfig = [
      { name: 'ada', role: 'marketing' as const, passwordHash: hash },
      { name: 'sam', role: 'sales' as const, passwordHash: hash },
    ];
    const fromEnv = usersFromEnvironment({ HEARTH_USERS: JSON.stringify([{ name: 'ada', role: 'admin', passwordHash: hash }, { name: 'kim', role: 'sales', passwordHash: hash }]) });
    expect(mergeUsers(fromConfig, fromEnv).map((user) => `${user.name}:${user.role}`)).toEqual(['sam:sales', 'ada:admin', 'kim:sales']);
    expect(usersFromEnvironment({})).toEqual([]);
    expect(() => usersFromEnvironment({ HEARTH_USERS: '[{"name": "ada", "role": "boss"' })).toThrowError(/^HEARTH_USERS is not valid JSON/);
    expect(() => usersFromEnvironment({ HEARTH_USERS: '{"name": "ada"}' })).toThrowError('HEARTH_USERS: expected a list [ … ], not an object');
    expect(() => usersFromEnvironment({ HEARTH_USERS: JSON.stringify([{ name: 'ada', role: 'boss', passwordHash: hash }]) })).toThrowError(
      'HEARTH_USERS[0].role: expected one of admin, marketing, sales (got "boss")',
    );
  });
});
