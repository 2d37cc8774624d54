// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { withSettings } from '../../../collector/store/client.ts';

describe('settings for one query', () => {
  it('go in a SETTINGS clause of its own, and nothing else does', () => {
    expect(withSettings('SELECT 1', { os_thread_priority: 19, max_threads: 2 })).toBe('SELECT 1\nSETTINGS os_thread_priority = 19, max_threads = 2');
    expect(withSettings('SELECT 1', {})).toBe('SELECT 1');
    expect(() => withSettings('SELECT 1', { 'max_threads = 1; DROP TABLE events; --': 1 })).toThrow(/invalid ClickHouse setting/);
    expect(() => withSettings('SELECT 1', { max_threads: Number.NaN })).toThrow(/invalid ClickHouse setting/);
  });
});
