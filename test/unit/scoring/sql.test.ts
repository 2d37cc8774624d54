import { describe, expect, it } from 'vitest';
import { isoTime, timeOf, toClickHouseTime } from '../../../scoring/sql.ts';

const slowButSure = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

describe('ClickHouse time text', () => {
  it('writes DateTime64(3) text as Date would, across minute, day and year boundaries', () => {
    const cases = [0, 1, 999, 59_999, 60_000, Date.UTC(2026, 10, 26, 10, 0, 0, 7), Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1)];
    for (let i = 0; i < 20_000; i++) cases.push(Math.floor(Math.random() * 4_102_444_800_000));
    for (const ms of cases) expect(toClickHouseTime(ms)).toBe(slowButSure(ms));
    expect(toClickHouseTime(Date.UTC(2026, 10, 26, 10, 0, 0, 7))).toBe('2026-11-26 10:00:00.007');
  });

  it('round-trips through ISO text and epoch milliseconds', () => {
    const ms = Date.UTC(2026, 10, 26, 10, 0, 0, 120);
    expect(isoTime(toClickHouseTime(ms))).toBe('2026-11-26T10:00:00.120Z');
    expect(timeOf(toClickHouseTime(ms))).toBe(ms);
  });
});
