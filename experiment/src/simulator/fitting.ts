/** Small, dependency-free fitting helpers for `calibrate` (pure functions). */

export interface Point {
  readonly x: number;
  readonly y: number;
  readonly weight: number;
}

/**
 * Weighted least squares of y ≈ intercept + slope·x with both coefficients ≥ 0 (a cost is never negative):
 * when the free fit gives a negative one, it is set to 0 and the other refitted alone. When every x is the
 * same the split is not determined by the data: `degenerate` says which coefficient takes it all.
 */
export function fitLine(points: readonly Point[], degenerate: 'slope' | 'intercept' = 'slope'): { intercept: number; slope: number } {
  let sw = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const { x, y, weight: w } of points) {
    sw += w;
    sx += w * x;
    sy += w * y;
    sxx += w * x * x;
    sxy += w * x * y;
  }
  if (sw === 0) return { intercept: 0, slope: 0 };
  const throughOrigin = () => ({ intercept: 0, slope: sxx > 0 ? Math.max(0, sxy / sxx) : 0 });
  const flat = () => ({ intercept: Math.max(0, sy / sw), slope: 0 });
  const det = sw * sxx - sx * sx;
  if (Math.abs(det) <= 1e-12 * Math.max(1, sw * sxx)) return degenerate === 'slope' && sxx > 0 ? throughOrigin() : flat();
  const slope = (sw * sxy - sx * sy) / det;
  const intercept = (sy - slope * sx) / sw;
  if (slope < 0) return flat();
  if (intercept < 0) return throughOrigin();
  return { intercept, slope };
}

/**
 * Minimizes f(x, y) over a box: a 21×21 grid, then four refinements, each a 21×21 grid over a box a quarter as
 * wide centred on the best point so far, then a compass search. Not clever, but it cannot diverge and needs no derivative, which suits
 * the all-reduce model's max() of bounds (piecewise smooth, with kinks where the binding bound changes).
 */
export function minimizeOnGrid(f: (x: number, y: number) => number, box: { x: readonly [number, number]; y: readonly [number, number] }): { x: number; y: number; value: number } {
  const steps = 20;
  let [x0, x1] = box.x;
  let [y0, y1] = box.y;
  let best = { x: (x0 + x1) / 2, y: (y0 + y1) / 2, value: Infinity };
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i <= steps; i++) {
      for (let j = 0; j <= steps; j++) {
        const x = x0 + ((x1 - x0) * i) / steps;
        const y = y0 + ((y1 - y0) * j) / steps;
        const value = f(x, y);
        if (value < best.value) best = { x, y, value };
      }
    }
    const wx = (x1 - x0) / 8;
    const wy = (y1 - y0) / 8;
    [x0, x1] = [best.x - wx, best.x + wx];
    [y0, y1] = [best.y - wy, best.y + wy];
  }
  // Then a compass search from there (try ± a step along each axis and the diagonals, halve the steps when none
  // improves): it follows a narrow valley the grid can only sample.
  let sx = (x1 - x0) / steps;
  let sy = (y1 - y0) / steps;
  for (let i = 0; i < 2000 && (sx > 1e-9 || sy > 1e-9); i++) {
    let moved = false;
    for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [-1, -1], [1, -1], [-1, 1]] as const) {
      const x = best.x + dx * sx;
      const y = best.y + dy * sy;
      const value = f(x, y);
      if (value < best.value) {
        best = { x, y, value };
        moved = true;
        break;
      }
    }
    if (!moved) {
      sx /= 2;
      sy /= 2;
    }
  }
  return best;
}
