import type { Shape } from '../tensor/tensor.js';

/**
 * Fan-in and fan-out of a parameter shape, the Keras way (see spec.ts): [..., in, out] has a
 * receptive field equal to the product of the leading dimensions, so a conv filter
 * [kh, kw, cin, cout] gets fanIn = kh·kw·cin and fanOut = kh·kw·cout. A vector (a bias) uses
 * its length for both; a scalar uses 1.
 */
export function computeFans(shape: Shape): { fanIn: number; fanOut: number } {
  const rank = shape.length;
  if (rank === 0) return { fanIn: 1, fanOut: 1 };
  if (rank === 1) {
    const n = shape[0] as number;
    return { fanIn: n, fanOut: n };
  }
  let field = 1;
  for (let i = 0; i < rank - 2; i++) field *= shape[i] as number;
  return { fanIn: field * (shape[rank - 2] as number), fanOut: field * (shape[rank - 1] as number) };
}
