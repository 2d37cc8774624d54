import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Passwords are stored as scrypt hashes in a self-describing string, `scrypt$N$r$p$salt$hash` (salt and hash in
 * base64url), so the cost can be raised later without breaking the hashes already configured.
 */
export const PASSWORD_HASH_PATTERN = /^scrypt\$\d{1,8}\$\d{1,3}\$\d{1,3}\$[\w-]{16,}\$[\w-]{43,}$/;

/** One of OWASP's equivalent scrypt settings (N=2^17,r=8,p=1 ≈ N=2^15,r=8,p=3): the same work for a quarter of the
 * memory (32 MiB a login), so a burst of logins cannot exhaust the server's memory. */
const DEFAULT_COST = { N: 2 ** 15, r: 8, p: 3 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** The most a configured hash may ask for: a typo must not make each login allocate gigabytes. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY = 256 * 2 ** 20;

interface ParsedHash {
  cost: { N: number; r: number; p: number };
  salt: Buffer;
  hash: Buffer;
}

function parseHash(text: string): ParsedHash | undefined {
  if (!PASSWORD_HASH_PATTERN.test(text)) return undefined;
  const [, n, r, p, salt, hash] = text.split('$') as [string, string, string, string, string, string];
  return { cost: { N: Number(n), r: Number(r), p: Number(p) }, salt: Buffer.from(salt, 'base64url'), hash: Buffer.from(hash, 'base64url') };
}

/** Why a hash of the right shape is still unusable, for the config's error message; undefined when it is fine. */
export function passwordHashProblem(text: string): string | undefined {
  const parsed = parseHash(text);
  if (!parsed) return 'expected "scrypt$N$r$p$salt$hash"';
  const { N, r, p } = parsed.cost;
  if (N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return `scrypt's N must be a power of two from 2 to ${MAX_N} (got ${N})`;
  if (r < 1 || r > MAX_R) return `scrypt's r must be from 1 to ${MAX_R} (got ${r})`;
  if (p < 1 || p > MAX_P) return `scrypt's p must be from 1 to ${MAX_P} (got ${p})`;
  if (128 * N * r > MAX_MEMORY) return `scrypt with N=${N} and r=${r} needs ${(128 * N * r) / 2 ** 20} MiB a login; at most ${MAX_MEMORY / 2 ** 20} MiB`;
  return undefined;
}

function derive(password: string, salt: Buffer, { N, r, p }: ParsedHash['cost'], length: number): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  // The asynchronous form runs on libuv's thread pool: a login never blocks the event loop that takes /collect.
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, cost, HASH_BYTES);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** True when the password matches the hash; compared in constant time. A malformed hash matches nothing. */
export async function verifyPassword(password: string, storedHash: string): Promise<boolean> {
  const parsed = parseHash(storedHash);
  if (!parsed || passwordHashProblem(storedHash)) return false;
  const candidate = await derive(password, parsed.salt, parsed.cost, parsed.hash.length);
  return timingSafeEqual(candidate, parsed.hash);
}

/**
 * A hash that matches no password, checked against when the name is unknown, so that a wrong name costs the same
 * time as a wrong password and response times do not reveal who has an account. It is made with the cost most of
 * `hashes` (the configured users') use, which need not be the default (hashes made before the default was raised,
 * or with a cost of one's own): a decoy of another cost would tell the names apart by time.
 */
const decoys = new Map<string, Promise<string>>();
export function decoyPasswordHash(hashes: readonly string[] = []): Promise<string> {
  const costs = new Map<string, { cost: ParsedHash['cost']; users: number }>();
  for (const hash of hashes) {
    const parsed = parseHash(hash);
    if (!parsed || passwordHashProblem(hash)) continue;
    const key = `${parsed.cost.N}$${parsed.cost.r}$${parsed.cost.p}`;
    costs.set(key, { cost: parsed.cost, users: (costs.get(key)?.users ?? 0) + 1 });
  }
  const [key, { cost }] = [...costs].sort((a, b) => b[1].users - a[1].users)[0] ?? ['default', { cost: DEFAULT_COST }];
  let decoy = decoys.get(key);
  if (!decoy) decoys.set(key, (decoy = hashPassword(randomBytes(32).toString('base64url'), cost)));
  return decoy;
}

/** A password for the first start: 24 characters of base64url, 144 bits. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** People choose passwords; below this length `hearth hash-password` refuses them. */
export const MIN_PASSWORD_LENGTH = 12;
