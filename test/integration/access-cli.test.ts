import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../collector/auth/passwords.ts';
import { hashToken } from '../../collector/auth/tokens.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { HEARTH_BIN, runHearth, startHearthProcess } from '../support/hearth-process.ts';

const configDir = mkdtempSync(join(tmpdir(), 'hearth-access-'));
function configFile(name: string, content: unknown): string {
  const file = join(configDir, name);
  writeFileSync(file, JSON.stringify(content, null, 2));
  return file;
}
const site = { id: 'acme', origins: ['https://acme.test'] };

async function logIn(url: string, name: string, password: string) {
  const response = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  return { status: response.status, body: (await response.json()) as any };
}

describe('hearth start with no user configured', () => {
  it('prints a generated admin password on the first start only; it keeps working after a restart', async () => {
    const dataDir = freshDataDir();
    const first = await startHearthProcess(['--config', configFile('first.json', { sites: [site] })], { HEARTH_DATA_DIR: dataDir });
    const printed = /log in +\S+\/login +as "admin", password: (\S+)/.exec(first.output());
    expect(printed, first.output()).not.toBeNull();
    const password = printed![1]!;
    expect(password).toMatch(/^[\w-]{24}$/);
    expect(first.output()).toContain(`its hash is kept, in ${join(dataDir, 'admin-user.json')}`);
    // The snippet to copy is the README's two lines, the queue stub first.
    const snippet = /^ {2}snippet +(.*)\n {14}(.*)$/m.exec(first.output());
    expect(snippet?.slice(1)).toEqual([
      '<script>window.hearth=window.hearth||function(){(window.hearth.q=window.hearth.q||[]).push(arguments)}</script>',
      `<script async src="${first.url}/hearth.js" data-site="${site.id}"></script>`,
    ]);
    expect((await logIn(first.url, 'admin', password)).status).toBe(200);
    expect(await first.stop()).toBe(0);

    // Only the hash is on disk, readable by its owner alone.
    const file = join(dataDir, 'admin-user.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // So are the store's and the log's directories: the engine writes its files readable by all.
    expect([join(dataDir, 'clickhouse'), join(dataDir, 'wal')].map((dir) => (statSync(dir).mode & 0o777).toString(8))).toEqual(['700', '700']);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(readFileSync(file, 'utf8')).not.toContain(password);
    expect(await verifyPassword(password, stored.passwordHash)).toBe(true);

    const second = await startHearthProcess(['--config', configFile('first.json', { sites: [site] })], { HEARTH_DATA_DIR: dataDir });
    expect(second.output()).not.toContain(password);
    expect(second.output()).not.toContain('password:');
    expect(second.output()).toContain('(as "admin", with the password printed by the first start)');
    const login = await logIn(second.url, 'admin', password);
    expect(login).toMatchObject({ status: 200, body: { user: { name: 'admin', role: 'admin' } } });
    expect(await second.stop()).toBe(0);
  });
});

describe('hearth hash-password and new-token', () => {
  it('hashes a password typed at a terminal, both entries arriving at once as a paste or a password manager types them', () => {
    // A terminal of its own (util-linux's script): raw mode, hidden typing, as a person meets it.
    const atTerminal = (input: string) =>
      spawnSync('script', ['-qec', `${process.execPath} ${HEARTH_BIN} hash-password`, '/dev/null'], { input, encoding: 'utf8', timeout: 30_000 });
    const pasted = atTerminal('a long enough passphrase\ra long enough passphrase\r');
    expect(pasted.status, pasted.stdout).toBe(0);
    expect(pasted.stdout).toMatch(/^scrypt\$32768\$8\$3\$\S+$/m);
    // A short one is refused before it is asked again.
    const short = atTerminal('hunter2\r');
    expect(short.stdout).toContain('hearth: a password needs at least 12 characters (got 7)');
    expect(short.stdout).not.toContain('Same password again');
  });

  it('hashes a password read from stdin, and refuses a short one', async () => {
    const { code, stdout, stderr } = await runHearth(['hash-password'], {}, 'a long enough passphrase\n');
    expect(code).toBe(0);
    const hash = stdout.trim();
    expect(hash).toMatch(/^scrypt\$32768\$8\$3\$/);
    expect(await verifyPassword('a long enough passphrase', hash)).toBe(true);
    expect(stderr).toContain('"passwordHash": "' + hash + '"');
    const short = await runHearth(['hash-password'], {}, 'hunter2');
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('a password needs at least 12 characters (got 7)');
    expect(short.stdout).toBe('');
    // Typed twice, as the terminal prompt asks, but piped: no password the login form could send.
    const twice = await runHearth(['hash-password'], {}, 'a long enough passphrase\na long enough passphrase\n');
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('the password read from stdin holds a line break');
    expect(twice.stdout).toBe('');
  });

  it('makes a token that works once its hash is configured, and stops working once it is removed', async () => {
    const made = await runHearth(['new-token', '--name', 'crm-sync', '--role', 'sales']);
    expect(made.code).toBe(0);
    const token = /^token +(\S+)$/m.exec(made.stdout)![1]!;
    const tokenHash = /^tokenHash +(\S+)$/m.exec(made.stdout)![1]!;
    expect(tokenHash).toBe(hashToken(token));
    expect(made.stderr).toContain(`{ "name": "crm-sync", "role": "sales", "tokenHash": "${tokenHash}" }`);
    expect((await runHearth(['new-token', '--role', 'owner'])).stderr).toContain('--role: expected one of admin, marketing, sales (got "owner")');
    const help = await runHearth(['new-token', '--help']);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('new-token [--name NAME] [--role admin|marketing|sales]')]);
    // What a token gets when no role is given is said: the role decides what it may do.
    expect(help.stdout).toContain('(by default my-machine, marketing)');
    // Its own part of the usage, as every command's help, not the whole of it; `hearth help new-token` alike.
    expect(help.stdout).toMatch(/^Usage: hearth new-token\n/);
    expect(help.stdout).not.toContain('hash-password');
    expect((await runHearth(['help', 'new-token'])).stdout).toBe(help.stdout);

    const dataDir = freshDataDir();
    const session = (url: string) => fetch(`${url}/api/session`, { headers: { authorization: `Bearer ${token}` } });
    const withToken = await startHearthProcess(['--config', configFile('token.json', { sites: [site], tokens: [{ name: 'crm-sync', role: 'sales', tokenHash }] })], { HEARTH_DATA_DIR: dataDir });
    const response = await session(withToken.url);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ user: { name: 'crm-sync', role: 'sales', allSites: true }, csrfToken: null });
    await withToken.stop();

    const revoked = await startHearthProcess(['--config', configFile('revoked.json', { sites: [site] })], { HEARTH_DATA_DIR: dataDir });
    expect((await session(revoked.url)).status).toBe(401);
    await revoked.stop();
  });

  it('refuses a bad HEARTH_USERS before starting, naming the bad value', async () => {
    const { code, stderr } = await runHearth(['start', '--config', configFile('env.json', { sites: [site] })], {
      HEARTH_DATA_DIR: freshDataDir(),
      HEARTH_USERS: JSON.stringify([{ name: 'ada', role: 'boss', passwordHash: 'x' }]),
    });
    expect(code).toBe(2);
    expect(stderr).toContain('HEARTH_USERS[0].role: expected one of admin, marketing, sales (got "boss")');
    expect(stderr).toContain('HEARTH_USERS[0].passwordHash: expected a hash printed by `hearth hash-password`');
  });
});
