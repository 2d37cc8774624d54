import { describe, expect, it } from 'vitest';
import { formatSeconds } from '../../../dashboards/src/format.ts';

describe('times as the dashboards show them', () => {
  it('rounds the engaged time before splitting off the minutes, so it never reads "60 s"', () => {
    expect(formatSeconds(119.5)).toBe('2 min');
    expect(formatSeconds(179.6)).toBe('3 min');
    expect(formatSeconds(59.96)).toBe('1 min');
    expect(formatSeconds(125.4)).toBe('2 min 5 s');
  });

  it('keeps a tenth of a second under a minute', () => {
    expect(formatSeconds(59.94)).toBe('59.9 s');
    expect(formatSeconds(12.5)).toBe('12.5 s');
    expect(formatSeconds(0)).toBe('0 s');
  });
});
