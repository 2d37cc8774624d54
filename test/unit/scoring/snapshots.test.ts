// @vitest-environment node
import { describe, expect, it } from 'vitest';
import type { ScoreReason } from '../../../scoring/compile.ts';
import { snapshotChanged, toSnapshot } from '../../../scoring/snapshots.ts';
import { leadScore } from '../../support/lead-score.ts';

/** A manager (fit 20) who viewed a product page: `points` of it left after decay, counted `count` times. */
const snapshot = (points: number, count = 1, capped = false) => {
  const reasons: ScoreReason[] = [
    { rule: 'manager-director', kind: 'fit', count: 1, points: 20, capped: false },
    { rule: 'product-page', kind: 'engagement', count, points, capped },
  ];
  return toSnapshot('acme', leadScore('mgr', Math.round(20 + points), { fit: 20, engagement: points, reasons }), '2026-12-01 09:00:00.000', true, 'h');
};

describe('which rescorings write a new snapshot', () => {
  it('writes one when a part or a reason shows other points, so stored reasons are not days of decay old', () => {
    // Three days of decay took the product page's 5 points to 4.67: the score (25) and the parts as whole numbers did not move.
    expect(snapshotChanged(snapshot(5), snapshot(4.67))).toBe(true);
    // Less than the page shows (one decimal): no new row on every hourly pass.
    expect(snapshotChanged(snapshot(5), snapshot(4.98))).toBe(false);
  });

  it('writes one when a reason counts another number of occurrences or its cap no longer cuts in, its points unchanged', () => {
    expect(snapshotChanged(snapshot(10, 6, true), snapshot(10, 5, false))).toBe(true);
    expect(snapshotChanged(snapshot(10, 6, true), snapshot(10, 5, true))).toBe(true);
    expect(snapshotChanged(snapshot(10, 6, true), snapshot(10, 6, true))).toBe(false);
  });
});
