import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { toProblems } from '../config/issues.ts';
import { ConfigError } from '../config/load.ts';
import { generatePassword, hashPassword } from './passwords.ts';
import { uniqueNames, userSchema, type UserEntry } from './users.ts';

/**
 * HEARTH_USERS: a JSON array of users shaped as in the config. A user it names replaces the config's user of that
 * name (a password rotated through the deployment's secrets); the others are added.
 */
export function usersFromEnvironment(env: NodeJS.ProcessEnv = process.env): UserEntry[] {
  const text = env.HEARTH_USERS;
  if (!text?.trim()) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`HEARTH_USERS is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = uniqueNames(userSchema, 'user').safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const lines = toProblems(parsed.error).map((problem) => `  HEARTH_USERS${problem.path === '(root)' ? '' : problem.path}: ${problem.message}`);
    throw new ConfigError(`invalid HEARTH_USERS (a JSON array of {"name", "role", "passwordHash"}):\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function mergeUsers(fromConfig: UserEntry[], fromEnvironment: UserEntry[]): UserEntry[] {
  const replaced = new Set(fromEnvironment.map((user) => user.name));
  return [...fromConfig.filter((user) => !replaced.has(user.name)), ...fromEnvironment];
}

const FIRST_ADMIN_FILE = 'admin-user.json';

export interface FirstAdmin {
  user: UserEntry;
  /** The password in clear, only on the start that made it: print it once, it is stored nowhere. */
  password: string | undefined;
  file: string;
}

/**
 * With no user configured, an `admin` whose password is made on the first start: only its scrypt hash is kept, in
 * the data directory (mode 0600), so later starts reuse it and the printed password keeps working.
 */
export async function firstStartAdmin(dataDir: string): Promise<FirstAdmin> {
  const file = join(dataDir, FIRST_ADMIN_FILE);
  const stored = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (stored !== undefined) return { user: parseStoredAdmin(stored, file), password: undefined, file };
  const password = generatePassword();
  const user: UserEntry = { name: 'admin', role: 'admin', passwordHash: await hashPassword(password) };
  await mkdir(dataDir, { recursive: true });
  try {
    // `wx`: if another start raced us here, keep its password rather than printing one that no longer works.
    await writeFile(file, JSON.stringify({ ...user, createdAt: new Date().toISOString() }, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { user: parseStoredAdmin(await readFile(file, 'utf8'), file), password: undefined, file };
    throw err;
  }
  return { user, password, file };
}

/**
 * What to warn of at a start with `users` configured none of which is an admin: no one can log in as one (users,
 * tokens and dead letters are an admin's), and the admin the first start made, if it did, no longer logs in (its file
 * is ignored). Undefined when there is nothing to say.
 */
export async function replacedAdminWarning(dataDir: string, users: UserEntry[]): Promise<string | undefined> {
  if (users.length === 0 || users.some((user) => user.role === 'admin')) return undefined;
  const file = join(dataDir, FIRST_ADMIN_FILE);
  const exists = await readFile(file).then(
    () => true,
    () => false,
  );
  const fix = 'add one to users (its passwordHash from `hearth hash-password`), or use an admin API token';
  if (!exists) return `users are configured and none of them is an admin, so no one can log in as one: ${fix}`;
  return `users are configured, so the admin made on the first start (${file}) no longer logs in, and none of them is an admin: ${fix}`;
}

const storedAdminSchema = userSchema.extend({ createdAt: z.string() });

function parseStoredAdmin(text: string, file: string): UserEntry {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = storedAdminSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${file} is damaged; delete it and start again to get a new admin password`);
  const { name, role, passwordHash } = parsed.data;
  return { name, role, passwordHash };
}
