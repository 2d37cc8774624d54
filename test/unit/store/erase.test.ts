// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { eraseLead } from '../../../collector/api/lead-store.ts';

/** Records the statements an erasure sends instead of running them. */
function recorder() {
  const statements: string[] = [];
  return { statements, client: { command: async ({ query }: { query: string }) => void statements.push(query.replace(/\s+/g, ' ')) } as never };
}

const lead = {
  id: 'l_0123456789abcdef0123',
  email: 'ada@lovelace.test',
  visitorIds: ['v1', 'v2'],
  handedOver: [{ visitorId: 'v3', until: '2026-01-01T10:00:00.000Z' }],
  leadIds: ['l_0123456789abcdef0123', 'v_v1', 'v_v2', 'v_v3'],
};

describe('erasing a person', () => {
  it('deletes from every table that holds them, on a single server', async () => {
    const { statements, client } = recorder();
    await eraseLead(client, 'acme', lead);
    expect(statements.map((statement) => statement.split(' DELETE ')[0])).toEqual([
      'ALTER TABLE events',
      'ALTER TABLE identities',
      'ALTER TABLE lead_scores',
      'ALTER TABLE lead_qualifications',
      'ALTER TABLE alert_outbox',
    ]);
    expect(statements.every((statement) => statement.includes('site_id = {site:String}'))).toBe(true);
  });

  it('mutates every node’s local table ON CLUSTER on a cluster (a Distributed table takes no DELETE)', async () => {
    const { statements, client } = recorder();
    await eraseLead(client, 'acme', lead, { cluster: 'hearth-prod', database: 'hearth' });
    expect(statements.map((statement) => statement.split(' DELETE ')[0])).toEqual([
      'ALTER TABLE events_local ON CLUSTER `hearth-prod`',
      'ALTER TABLE identities_local ON CLUSTER `hearth-prod`',
      'ALTER TABLE lead_scores_local ON CLUSTER `hearth-prod`',
      'ALTER TABLE lead_qualifications_local ON CLUSTER `hearth-prod`',
      'ALTER TABLE alert_outbox_local ON CLUSTER `hearth-prod`',
    ]);
  });
});
