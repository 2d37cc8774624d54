import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API tokens are 256 random bits, so a plain SHA-256 is enough to store them (nothing to brute-force, unlike a
 * password). The `hth_` prefix lets secret scanners recognise a leaked token.
 */
export const TOKEN_HASH_PATTERN = /^sha256\$[\w-]{43}$/;
export const API_TOKEN_PREFIX = 'hth_';

export function hashToken(token: string): string {
  return `sha256$${createHash('sha256').update(token).digest('base64url')}`;
}

export function newApiToken(): { token: string; tokenHash: string } {
  const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, tokenHash: hashToken(token) };
}

/**
 * Finds the entry whose hash matches the given token. Every entry is compared, in constant time, whatever matches:
 * the time taken says nothing about which token, or how much of one, was right.
 */
export function tokenMatcher<T>(entries: { hash: string; value: T }[]): (token: string) => T | undefined {
  const digests = entries.map((entry) => ({ digest: Buffer.from(entry.hash), value: entry.value }));
  return (token) => {
    const given = Buffer.from(hashToken(token));
    let found: T | undefined;
    for (const entry of digests) {
      if (entry.digest.length === given.length && timingSafeEqual(entry.digest, given) && found === undefined) found = entry.value;
    }
    return found;
  };
}
