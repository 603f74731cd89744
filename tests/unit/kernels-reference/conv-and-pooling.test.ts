import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../../shared/src/errors.js';
import { conv2dGeometry, poolingGeometry } from '../../../shared/src/kernels/geometry.js';
import { referenceKernels as k } from '../../../shared/src/kernels/reference/index.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

const values = (x: Tensor): number[] => Array.from(x.data);

describe('window geometry (TensorFlow semantics)', () => {
  it("'same' gives ceil(in/stride) with the smaller half of the padding first", () => {
    const g = conv2dGeometry([2, 5, 7, 3], [3, 3], 4, [2, 2], 'same');
    // H: out 3, total pad (3−1)·2 + 3 − 5 = 2 → top 1; W: out 4, total (4−1)·2 + 3 − 7 = 2 → left 1
    expect([g.outHeight, g.outWidth, g.padTop, g.padLeft, g.outChannels, g.inChannels, g.batch]).toEqual([3, 4, 1, 1, 4, 3, 2]);
    const even = poolingGeometry([1, 4, 4, 2], [2, 2], [1, 1], 'same');
    // total pad 1 → 0 before, 1 after
    expect([even.outHeight, even.padTop, even.outChannels]).toEqual([4, 0, 2]);
  });

  it("'valid' gives floor((in − k)/s) + 1 and no padding", () => {
    const g = poolingGeometry([1, 7, 6, 1], [3, 2], [2, 2], 'valid');
    expect([g.outHeight, g.outWidth, g.padTop, g.padLeft]).toEqual([3, 3, 0, 0]);
  });

  it("'valid' with a window larger than the input throws a ShapeError saying it does not fit", () => {
    expect(() => conv2dGeometry([1, 2, 2, 1], [3, 3], 1, [1, 1], 'valid')).toThrow(ShapeError);
    expect(() => conv2dGeometry([1, 2, 2, 1], [3, 3], 1, [1, 1], 'valid')).toThrow(/does not fit/);
  });
});

describe('reference conv2d', () => {
  // x (3×3, one channel) = 1..9; filter 2×2 = [[1, 0], [0, −1]] (top-left minus bottom-right).
  const x = Tensor.from([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const filter = Tensor.from([2, 2, 1, 1], [1, 0, 0, -1]);

  it("'valid' convolution of a 3×3 input equals the hand-computed [[−4, −4], [−4, −4]]", () => {
    const g = conv2dGeometry(x.shape, [2, 2], 1, [1, 1], 'valid');
    const out = Tensor.zeros([1, 2, 2, 1]);
    k.conv2d(x, filter, out, g);
    expect(values(out)).toEqual([-4, -4, -4, -4]);
  });

  it("'same' convolution pads after (bottom/right) for an even window: last row/column see zeros", () => {
    const g = conv2dGeometry(x.shape, [2, 2], 1, [1, 1], 'same');
    const out = Tensor.zeros([1, 3, 3, 1]);
    k.conv2d(x, filter, out, g);
    // row 0: 1−5, 2−6, 3−0; row 1: 4−8, 5−9, 6; row 2: 7, 8, 9
    expect(values(out)).toEqual([-4, -4, 3, -4, -4, 6, 7, 8, 9]);
  });

  it('backprop input and filter equal the hand-computed sums for dy = ones', () => {
    const g = conv2dGeometry(x.shape, [2, 2], 1, [1, 1], 'valid');
    const dy = Tensor.from([1, 2, 2, 1], [1, 1, 1, 1]);
    const dx = Tensor.from([1, 3, 3, 1], new Array(9).fill(42));
    k.conv2dBackpropInput(dy, filter, dx, g);
    // +1 at the top-left of each window, −1 at the bottom-right
    expect(values(dx)).toEqual([1, 1, 0, 1, 0, -1, 0, -1, -1]);
    const df = Tensor.zeros([2, 2, 1, 1]);
    k.conv2dBackpropFilter(x, dy, df, g);
    // each tap sums the 2×2 block of x it sees: 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9
    expect(values(df)).toEqual([12, 16, 24, 28]);
  });
});

describe('reference pooling', () => {
  it('maxPool sends the gradient of a tie to the first maximum in row-major window order', () => {
    const x = Tensor.from([1, 2, 2, 1], [5, 5, 5, 1]);
    const g = poolingGeometry(x.shape, [2, 2], [2, 2], 'valid');
    const out = Tensor.zeros([1, 1, 1, 1]);
    k.maxPool(x, out, g);
    expect(values(out)).toEqual([5]);
    const dx = Tensor.zeros([1, 2, 2, 1]);
    k.maxPoolBackward(Tensor.from([1, 1, 1, 1], [3]), x, dx, g);
    expect(values(dx)).toEqual([3, 0, 0, 0]);
  });

  it("padding never wins a max and is not counted in an average ('same', negative inputs)", () => {
    const x = Tensor.from([1, 3, 3, 1], [-1, -2, -3, -4, -5, -6, -7, -8, -9]);
    const g = poolingGeometry(x.shape, [2, 2], [2, 2], 'same');
    const max = Tensor.zeros([1, 2, 2, 1]);
    k.maxPool(x, max, g);
    expect(values(max)).toEqual([-1, -3, -7, -9]);
    const avg = Tensor.zeros([1, 2, 2, 1]);
    k.avgPool(x, avg, g);
    expect(values(avg)).toEqual([-3, -4.5, -7.5, -9]);
    const dx = Tensor.zeros([1, 3, 3, 1]);
    k.avgPoolBackward(Tensor.from([1, 2, 2, 1], [4, 2, 2, 1]), dx, g);
    expect(values(dx)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });
});
