import { describe, expect, it } from 'vitest';
import { stackedValues } from '../../../dashboards/src/components/stack.ts';

describe('stacked bars', () => {
  // Score buckets 50–59, 60–69, 70–79: cold, warm and hot leads in each, from the bottom of the stack.
  const cold = [4, 0, 0];
  const warm = [6, 3, 0];
  const hot = [0, 18, 20];

  it('draws each band on the ones below it, top first, and no band where a series has nothing', () => {
    expect(stackedValues([cold, warm, hot])).toEqual([
      [null, 21, 20],
      [10, 3, null],
      [4, null, null],
    ]);
  });

  it('brings the bands above a hidden series down, so each bar is as tall as what is shown (QA)', () => {
    // Warm hidden: the hot band of 60–69 is 18 high, below the 20 of 70–79, as its data table says.
    expect(stackedValues([cold, warm, hot], [true, false, true])).toEqual([
      [null, 18, 20],
      [4, 0, null],
      [4, null, null],
    ]);
  });
});
