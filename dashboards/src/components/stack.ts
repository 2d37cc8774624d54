/**
 * Stacked bars as uPlot draws them: each series' running sum from the bottom (none where its own value is 0, so an
 * empty band draws nothing), the top of the stack first so that each band stays visible above the ones below. A
 * series hidden from the legend (`shown` false) adds nothing to the sums: the bands above it come down, rather than
 * keep its height (the hot band of "60 to 69" stood on the warm one hidden below it, taller than its own count).
 * `values` are the series' from the bottom; the result is from the top.
 */
export function stackedValues(values: (number | null)[][], shown: boolean[] = values.map(() => true)): (number | null)[][] {
  const sums: number[] = [];
  const stacked = values.map((one, n) =>
    one.map((value, i) => {
      const counted = shown[n] ? (value ?? 0) : 0;
      sums[i] = (sums[i] ?? 0) + counted;
      return value ? sums[i]! : null;
    }),
  );
  return stacked.reverse();
}
