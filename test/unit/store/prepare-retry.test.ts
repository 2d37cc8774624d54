import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../../collector/store/prepare.ts';

describe("the store's preparation, tried again while ClickHouse cannot be used", () => {
  it('waits 1 s, then twice as long each time, and never more than 5 s: a full log refuses beacons until it drains', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map(retryDelayMs)).toEqual([1000, 2000, 4000, 5000, 5000, 5000, 5000]);
  });
});
