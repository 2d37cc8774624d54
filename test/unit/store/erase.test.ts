// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { deleteEvents, eraseLead, isPersonsRow, leadIdOf } from '../../../collector/api/lead-store.ts';

/** Records the statements an erasure sends instead of running them (an insert as `INSERT INTO table`). */
function recorder() {
  const statements: string[] = [];
  const inserted: Record<string, unknown>[] = [];
  const client = {
    command: async ({ query }: { query: string }) => void statements.push(query.replace(/\s+/g, ' ')),
    // The browsers the person gave their email on, besides their own: none here.
    query: async ({ query }: { query: string }) => {
      statements.push(query.replace(/\s+/g, ' ').split(' WHERE ')[0]!);
      return { json: async () => [] };
    },
    insert: async ({ table, values }: { table: string; values: Record<string, unknown>[] }) => {
      statements.push(`INSERT INTO ${table}`);
      inserted.push(...values);
    },
  };
  return { statements, inserted, client: client as never };
}

const lead = {
  id: 'l_0123456789abcdef0123',
  email: 'ada@lovelace.test',
  visitorIds: ['v1', 'v2', 'v3'],
  sharedVisits: { v3: ['s1'] },
  formerEmails: [],
  putRight: {},
  handedOver: [{ visitorId: 'v3', until: '2026-01-01T10:00:00.000Z' }],
  leadIds: ['l_0123456789abcdef0123', 'v_v1', 'v_v2', 'v_v3'],
};

describe('erasing a person', () => {
  it('deletes from every table that holds them, on a single server', async () => {
    const { statements, inserted, client } = recorder();
    const before = Date.now();
    await eraseLead(client, 'acme', lead);
    const pass = ['INSERT INTO erasures', 'ALTER TABLE events', 'ALTER TABLE identities', 'ALTER TABLE lead_scores', 'ALTER TABLE lead_qualifications', 'ALTER TABLE alert_outbox'];
    // Twice: what they did while the first deletions ran is recorded as theirs and deleted too. The browsers they gave
    // their email on are found first; then their browsers' visits the dashboards count are made again from what is left.
    expect(statements.map((statement) => statement.split(' DELETE ')[0])).toEqual([
      'SELECT DISTINCT visitor_id FROM identities',
      ...pass,
      ...pass,
      'ALTER TABLE visit_days',
      expect.stringMatching(/^INSERT INTO visit_days SELECT \* FROM \(SELECT site_id, toDate\(ts\) AS day, .* FROM events GROUP BY .*\) WHERE site_id = \{site:String\} AND visitor_id IN \{browsers:Array\(String\)\}$/),
    ]);
    expect(statements.filter((statement) => statement.startsWith('ALTER')).every((statement) => statement.includes('site_id = {site:String}'))).toBe(true);
    // What keeps events still on their way out (ingest/erasures.ts), of those received before the erasure: any of
    // their email's and their browsers', and on the shared browser their visits'.
    const erasedAt = inserted[0]!.erased_at as string;
    expect(Date.parse(erasedAt.replace(' ', 'T') + 'Z')).toBeGreaterThanOrEqual(before);
    const forEver = '2299-12-31 23:59:59.999';
    expect(Date.parse((inserted[4]!.erased_at as string).replace(' ', 'T') + 'Z')).toBeGreaterThanOrEqual(Date.parse(erasedAt.replace(' ', 'T') + 'Z'));
    expect(inserted.slice(0, 4)).toEqual([
      { site_id: 'acme', visitor_id: '', session_id: '', lead_id: leadIdOf(lead.email), until: forEver, erased_at: erasedAt },
      { site_id: 'acme', visitor_id: 'v1', session_id: '', lead_id: '', until: forEver, erased_at: erasedAt },
      { site_id: 'acme', visitor_id: 'v2', session_id: '', lead_id: '', until: forEver, erased_at: erasedAt },
      { site_id: 'acme', visitor_id: 'v3', session_id: 's1', lead_id: '', until: forEver, erased_at: erasedAt },
    ]);
  });

  it('mutates every node’s local table ON CLUSTER on a cluster (a Distributed table takes no DELETE)', async () => {
    const { statements, client } = recorder();
    await eraseLead(client, 'acme', lead, { cluster: 'hearth-prod', database: 'hearth' });
    const pass = [
      // Through the Distributed table: every collector reads it.
      'INSERT INTO erasures',
      'ALTER TABLE events_local ON CLUSTER `hearth-prod`',
      'ALTER TABLE identities_local ON CLUSTER `hearth-prod`',
      'ALTER TABLE lead_scores_local ON CLUSTER `hearth-prod`',
      'ALTER TABLE lead_qualifications_local ON CLUSTER `hearth-prod`',
      'ALTER TABLE alert_outbox_local ON CLUSTER `hearth-prod`',
    ];
    expect(statements.map((statement) => statement.split(' DELETE ')[0])).toEqual([
      'SELECT DISTINCT visitor_id FROM identities',
      ...pass,
      ...pass,
      'ALTER TABLE visit_days_local ON CLUSTER `hearth-prod`',
      expect.stringMatching(/^INSERT INTO visit_days SELECT /),
    ]);
  });

  it('takes back what an insert stored behind the erasure with the same mutations, by event, ON CLUSTER on a cluster', async () => {
    const { statements, client } = recorder();
    const stored = [
      { visitor_id: 'v1', event_id: '7d9f1c2e-0000-4000-8000-000000000001' },
      { visitor_id: 'v1', event_id: '7d9f1c2e-0000-4000-8000-000000000002' },
    ];
    await deleteEvents(client, 'acme', stored, { cluster: 'hearth-prod', database: 'hearth' });
    const where = 'DELETE WHERE site_id = {site:String} AND visitor_id IN {visitors:Array(String)} AND event_id IN {ids:Array(UUID)}';
    expect(statements).toEqual([
      `ALTER TABLE events_local ON CLUSTER \`hearth-prod\` ${where}`,
      `ALTER TABLE identities_local ON CLUSTER \`hearth-prod\` ${where}`,
      // The visits the dashboards count, of the browser, made again from its events that are left.
      'ALTER TABLE visit_days_local ON CLUSTER `hearth-prod` DELETE WHERE site_id = {site:String} AND visitor_id IN {browsers:Array(String)}',
      expect.stringMatching(/^INSERT INTO visit_days SELECT \* FROM \(SELECT .* FROM events GROUP BY .*\) WHERE site_id = \{site:String\} AND visitor_id IN \{browsers:Array\(String\)\}$/),
    ]);
  });

  it('erases an anonymous visitor by its browser alone: no email of its own picks the other browsers’ anonymous rows', async () => {
    const visitor = { id: 'v_browser1', email: '', visitorIds: ['browser1'], sharedVisits: {}, formerEmails: [], putRight: {}, handedOver: [], leadIds: ['v_browser1'] };
    const { inserted, client } = recorder();
    await eraseLead(client, 'acme', visitor);
    expect(inserted.slice(0, 1)).toEqual([expect.objectContaining({ visitor_id: 'browser1', session_id: '', lead_id: '' })]);
    expect(inserted.filter((row) => row.lead_id !== '')).toEqual([]);
    const picks = isPersonsRow('acme', visitor);
    const row = (visitor_id: string, email = '') => ({ site_id: 'acme', visitor_id, session_id: 's1', email });
    expect([row('browser1'), row('browser2'), row('browser2', 'bob@beta.test')].map(picks)).toEqual([true, false, false]);
  });
});
