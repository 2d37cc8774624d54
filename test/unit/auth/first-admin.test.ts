// @vitest-environment node
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replacedAdminWarning } from '../../../collector/auth/accounts.ts';

describe('the admin made on the first start, once users are configured', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-first-admin-'));
  const sales = { name: 'sam', role: 'sales' as const, passwordHash: 'scrypt$x' };

  it('is said to log in no more when no configured user is an admin, naming its file and what to do', async () => {
    // With no first admin ever made, the start warns all the same: no one can log in as an admin.
    expect(await replacedAdminWarning(dataDir, [sales])).toBe(
      'users are configured and none of them is an admin, so no one can log in as one: add one to users (its passwordHash from `hearth hash-password`), or use an admin API token',
    );
    writeFileSync(join(dataDir, 'admin-user.json'), '{}');
    expect(await replacedAdminWarning(dataDir, [sales])).toBe(
      `users are configured, so the admin made on the first start (${join(dataDir, 'admin-user.json')}) no longer logs in, and none of them is an admin: add one to users (its passwordHash from \`hearth hash-password\`), or use an admin API token`,
    );
  });

  it('goes unmentioned when an admin is configured, or no user is', async () => {
    expect(await replacedAdminWarning(dataDir, [sales, { ...sales, name: 'ana', role: 'admin' }])).toBeUndefined();
    expect(await replacedAdminWarning(dataDir, [])).toBeUndefined();
  });
});
