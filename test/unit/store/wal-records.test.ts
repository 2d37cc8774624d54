// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { batchToRows } from '../../../collector/ingest/rows.ts';
import { acceptedAtOf, Arrivals, batchOfRows, decodeRecord, encodeRecord, insertBody, parseRecords, rowsJson, rowsOf } from '../../../collector/ingest/wal-records.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const rows = batchToRows(
  {
    s: 'acme',
    v: 'visitor-0001',
    e: [
      { i: '0b8f3f9e-3c41-4b7e-9a52-7d1f0c6e2a11', n: 'v', t: NOW, u: 'https://acme.test/pricing?utm_source=newsletter', r: 'https://news.test/' },
      { i: '0b8f3f9e-3c41-4b7e-9a52-7d1f0c6e2a12', n: 'f', t: NOW, u: 'https://acme.test/contact', k: 'demo', p: { email: 'Ada@Acme.test', job_title: 'CEO' } },
      { i: '0b8f3f9e-3c41-4b7e-9a52-7d1f0c6e2a13', n: 'e', t: NOW, u: 'https://acme.test/pricing', ms: 0 },
    ],
  },
  NOW,
);

describe('the rows of a write-ahead log record', () => {
  it('leave out the values ClickHouse fills in by itself (empty strings, zeros, empty maps), and nothing else', () => {
    const [view, form, engagement] = JSON.parse(rowsJson(rows)) as Record<string, unknown>[];
    expect(view).toMatchObject({ type: 'pageview', utm_source: 'newsletter', referrer_host: 'news.test', path: '/pricing' });
    expect(form).toMatchObject({ type: 'form', name: 'demo', email: 'ada@acme.test', props: { job_title: 'CEO' } });
    for (const row of [view, form, engagement]) {
      expect(Object.values(row!).filter((value) => value === '' || value === 0)).toEqual([]);
    }
    expect(view).not.toHaveProperty('props');
    expect(engagement).not.toHaveProperty('engaged_ms');
    expect(rowsJson([])).toBe('[]');
  });

  it('read back as the same rows, defaults included, from a record on disk', async () => {
    const [record] = parseRecords(encodeRecord(rows)).records;
    const batch = decodeRecord(record!);
    expect(rowsOf(batch)).toEqual(rows);
    expect(JSON.parse((await insertBody([batch, batchOfRows(rows.slice(0, 1))])).toString())).toHaveLength(4);
    expect(batch.identities).toEqual([expect.objectContaining({ email: 'ada@acme.test', visitor_id: 'visitor-0001' })]);
    // Text of several bytes a character (accents, CJK, emoji) is measured in bytes: the next record starts where it ends.
    const wide = batchToRows({ s: 'acme', v: 'visitor-0002', e: [{ i: '0b8f3f9e-3c41-4b7e-9a52-7d1f0c6e2a14', n: 'f', t: NOW, u: 'https://acme.test/contact', k: 'démo', p: { company: 'Société Générale 株式会社 😀' } }] }, NOW);
    const parsed = parseRecords(Buffer.concat([encodeRecord(wide), encodeRecord(rows)])).records;
    expect(parsed.map((one) => rowsOf(decodeRecord(one!)))).toEqual([wide, rows]);
  });

  it('name each visitor the rows touch once, a browser flagged as automated apart, in the order they come', () => {
    const other = { ...rows[0]!, visitor_id: 'visitor-0002' };
    const flagged = { ...rows[0]!, is_bot: 1 };
    const elsewhere = { ...rows[0]!, site_id: 'globex' };
    const mixed = [rows[0]!, other, rows[1]!, flagged, other, elsewhere, rows[2]!, flagged];
    const [record] = parseRecords(encodeRecord(mixed, NOW)).records;
    expect(decodeRecord(record!).visitors).toEqual([
      { site_id: 'acme', visitor_id: 'visitor-0001', is_bot: 0 },
      { site_id: 'acme', visitor_id: 'visitor-0002', is_bot: 0 },
      { site_id: 'acme', visitor_id: 'visitor-0001', is_bot: 1 },
      { site_id: 'globex', visitor_id: 'visitor-0001', is_bot: 0 },
    ]);
    expect(acceptedAtOf(record!)).toBe(NOW);
    expect(batchOfRows(mixed).visitors).toEqual(decodeRecord(record!).visitors);
  });

  it('builds an insert of several megabytes whole, letting requests in while it copies', async () => {
    const batches = Array.from({ length: 40 }, (_, n) => batchOfRows([{ ...rows[0]!, title: `${n}`.repeat(100_000) }]));
    let built = false;
    let requestsLetIn = false;
    const building = insertBody(batches).then((body) => {
      built = true;
      return body;
    });
    setImmediate(() => (requestsLetIn = !built));
    const body = await building;
    expect(requestsLetIn).toBe(true);
    expect(body.toString()).toBe(`[${batches.map((batch) => batch.events.toString()).join(',')}]`);
    expect((JSON.parse(body.toString()) as { title: string }[]).map((row) => row.title.length)).toEqual(batches.map((_, n) => `${n}`.length * 100_000));
  });

  it('say when their batch was accepted, which a record of an older log does not', () => {
    const [record] = parseRecords(encodeRecord(rows, NOW)).records;
    expect(acceptedAtOf(record!)).toBe(NOW);
    expect(rowsOf(decodeRecord(record!))).toEqual(rows);
    const payload = Buffer.from(rowsJson(rows));
    expect(acceptedAtOf({ rows: rows.length, payload })).toBeUndefined();
  });
});

describe('the arrivals of the rows still in the log', () => {
  it('say when the oldest came, as the oldest rows are stored', () => {
    const arrivals = new Arrivals();
    expect(arrivals.oldest).toBeNull();
    arrivals.add(NOW, 2);
    // Within a second of the first: counted with it, as old as it.
    arrivals.add(NOW + 900, 1);
    arrivals.add(NOW + 2_000, 3);
    arrivals.take(2);
    expect(arrivals.oldest).toBe(NOW);
    arrivals.take(2);
    expect(arrivals.oldest).toBe(NOW + 2_000);
    arrivals.take(2);
    expect(arrivals.oldest).toBeNull();
    // Once everything went, a row that comes is the oldest, however close to the last.
    arrivals.add(NOW + 2_500, 1);
    expect(arrivals.oldest).toBe(NOW + 2_500);
    for (let n = 0; n < 1_000; n++) arrivals.add(NOW + 10_000 + n * 1_000, 1);
    arrivals.take(501);
    expect(arrivals.oldest).toBe(NOW + 10_000 + 500 * 1_000);
  });
});
