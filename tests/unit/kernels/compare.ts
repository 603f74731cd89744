/**
 * Inputs and tolerances of the kernel suite.
 *
 * Tolerances, stated once:
 * - exact (0 ulp): kernels whose every float64/float32 operation mirrors the reference (add, mul,
 *   scale, axpy, fill, copy, biasAdd, biasGrad, relu/linear, pools forward, optimizers).
 * - ulps(n): kernels that call exp/log/tanh, whose float64 implementations may differ from V8's in
 *   the last float64 bit; after rounding to float32 that is at most 1–2 ulp (we allow 2).
 * - dot(k): sums of products in float32 (GEMM, convolutions) against the reference's float64:
 *   |got − want| ≤ 2e-6·√k·Σ|a||b| per element, where Σ|a||b| is the same kernel on absolute
 *   values. Round-off of a k-term float32 sum grows like √k·2⁻²⁴ relative to that scale; a wrong
 *   tap or transpose misses by the size of a term, orders of magnitude more.
 */
import { expect } from 'vitest';
import type { Backend } from '../../../shared/src/kernels/backend.js';
import type { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import type { Shape } from '../../../shared/src/tensor/tensor.js';

/** A backend tensor with uniform values in [lo, hi), and its heap twin for the reference. */
export function randomPair(backend: Backend, shape: Shape, rng: Random, lo = -1, hi = 1): { t: Tensor; ref: Tensor } {
  const t = backend.alloc(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(lo, hi);
  return { t, ref: new Tensor(shape, Float32Array.from(t.data)) };
}

/** The heap twin of a backend tensor. */
export function heapCopy(t: Tensor): Tensor {
  return new Tensor(t.shape, Float32Array.from(t.data));
}

export function absCopy(t: Tensor): Tensor {
  return new Tensor(t.shape, t.data.map(Math.abs));
}

/** A backend tensor holding `values`. */
export function backendTensor(backend: Backend, shape: Shape, values: ArrayLike<number>): Tensor {
  const t = backend.alloc(shape);
  t.data.set(Array.from(values));
  return t;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Distance in float32 ulps (0 for equal bits or ±0). */
export function ulpDistance(a: number, b: number): number {
  if (Object.is(a, b) || a === b) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity;
  const key = (v: number): number => {
    f32[0] = v;
    const bits = u32[0]!;
    return bits & 0x80000000 ? -(bits & 0x7fffffff) : bits;
  };
  return Math.abs(key(a) - key(b));
}

export function expectUlps(got: Float32Array, want: Float32Array, maxUlps: number, label = ''): void {
  expect(got.length, `${label} length`).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const d = ulpDistance(got[i]!, want[i]!);
    if (d > worst) {
      worst = d;
      at = i;
    }
  }
  expect(worst, `${label} worst at ${at}: got ${got[at]} want ${want[at]}`).toBeLessThanOrEqual(maxUlps);
}

/** |got − want| ≤ 2e-6·√k·scale elementwise (see dot(k) above). */
export function expectDotClose(got: Float32Array, want: Float32Array, scale: Float32Array, k: number, label = ''): void {
  expect(got.length, `${label} length`).toBe(want.length);
  const factor = 2e-6 * Math.sqrt(Math.max(k, 1));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const excess = Math.abs(got[i]! - want[i]!) - factor * scale[i]! - 1e-30;
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Infinity : excess;
      at = i;
    }
  }
  expect(at, `${label} element ${at}: got ${got[at]} want ${want[at]} (scale ${scale[at]}, k ${k})`).toBe(-1);
}
