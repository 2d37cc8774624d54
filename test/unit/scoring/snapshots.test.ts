// @vitest-environment node
import { describe, expect, it } from 'vitest';
import type { ScoreReason } from '../../../scoring/compile.ts';
import { snapshotChanged, toSnapshot } from '../../../scoring/snapshots.ts';
import { leadScore } from '../../support/lead-score.ts';

/** A manager (fit 20) who viewed a product page: `points` of it left after decay, counted `count` times. */
const snapshot = (points: number, count = 1, capped = false, scoredAt = '2026-12-01 09:00:00.000') => {
  const reasons: ScoreReason[] = [
    { rule: 'manager-director', kind: 'fit', count: 1, points: 20, capped: false },
    { rule: 'product-page', kind: 'engagement', count, points, capped },
  ];
  return toSnapshot('acme', leadScore('mgr', Math.round(20 + points), { fit: 20, engagement: points, reasons }), scoredAt, true, 'h');
};

describe('which rescorings write a new snapshot', () => {
  it('writes one once a day when decay moved a part or a reason as the pages show them, so stored reasons are not days old', () => {
    // Three days of decay took the product page's 5 points to 4.67: the score (25) and the parts as whole numbers did not move.
    expect(snapshotChanged(snapshot(5), snapshot(4.67, 1, false, '2026-12-04 09:00:00.000'))).toBe(true);
    expect(snapshotChanged(snapshot(5), snapshot(4.89, 1, false, '2026-12-02 09:00:00.000'))).toBe(true);
    // Not at every hourly pass: a fifth of the leads move by a tenth of a point each hour.
    expect(snapshotChanged(snapshot(5), snapshot(4.89, 1, false, '2026-12-02 08:59:59.999'))).toBe(false);
    // Nor for less than the pages show (one decimal).
    expect(snapshotChanged(snapshot(5), snapshot(4.98, 1, false, '2026-12-04 09:00:00.000'))).toBe(false);
  });

  it('writes none when decay alone sorts a reason after another of the same points as the pages show them', () => {
    // Reasons come sorted by points, then rule: the pricing page's 20 decayed to 19.99 within the hour now follows the
    // target industry's 20, and nothing a page shows moved (a soak QA pass: 221 rows of an hourly pass, 2.4 % of leads).
    const lead = (pricing: number, scoredAt: string) => {
      const reasons = ([
        { rule: 'pricing-page', kind: 'engagement', count: 1, points: pricing, capped: false },
        { rule: 'target-industry', kind: 'fit', count: 1, points: 20, capped: false },
      ] satisfies ScoreReason[] as ScoreReason[]).sort((a, b) => b.points - a.points || (a.rule < b.rule ? -1 : 1));
      return toSnapshot('acme', leadScore('cto', Math.round(20 + pricing), { fit: 20, engagement: pricing, reasons }), scoredAt, true, 'h');
    };
    expect(snapshotChanged(lead(20, '2026-12-01 09:00:00.000'), lead(19.99, '2026-12-01 10:00:00.000'))).toBe(false);
    // A day of it, as any reason's decay, writes one.
    expect(snapshotChanged(lead(20, '2026-12-01 09:00:00.000'), lead(19.54, '2026-12-02 09:00:00.000'))).toBe(true);
  });

  it('writes one when a reason counts another number of occurrences or its cap no longer cuts in, its points unchanged', () => {
    expect(snapshotChanged(snapshot(10, 6, true), snapshot(10, 5, false))).toBe(true);
    expect(snapshotChanged(snapshot(10, 6, true), snapshot(10, 5, true))).toBe(true);
    expect(snapshotChanged(snapshot(10, 6, true), snapshot(10, 6, true))).toBe(false);
  });
});
