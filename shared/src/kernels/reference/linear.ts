import { ShapeError } from '../../errors.js';
import { formatShape } from '../../tensor/tensor.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { LinearKernels, MatMulOptions } from '../signatures/linear.js';

/**
 * out[M,N] = op(a)·op(b) (+ out). The i-k-j loop order walks b and out row by row (for the
 * untransposed case) so the inner loop is a contiguous axpy; each output row is accumulated in
 * float64 and written once, which keeps the oracle well below float32 round-off.
 */
function matMul(a: Tensor, b: Tensor, out: Tensor, options: MatMulOptions = {}): void {
  const transposeA = options.transposeA ?? false;
  const transposeB = options.transposeB ?? false;
  const [aRows, aCols] = dims2(a, 'matMul a');
  const [bRows, bCols] = dims2(b, 'matMul b');
  const M = transposeA ? aCols : aRows;
  const K = transposeA ? aRows : aCols;
  const kB = transposeB ? bCols : bRows;
  const N = transposeB ? bRows : bCols;
  if (K !== kB || out.size !== M * N) {
    throw new ShapeError(
      `matMul: op(a) is [${M}, ${K}], op(b) is [${kB}, ${N}], out is ${formatShape(out.shape)}; need equal inner sizes and out [${M}, ${N}]`,
    );
  }
  const A = a.data;
  const B = b.data;
  const O = out.data;
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const aik = transposeA ? A[k * M + i]! : A[i * K + k]!;
      if (aik === 0) continue;
      if (transposeB) {
        for (let j = 0; j < N; j++) row[j]! += aik * B[j * K + k]!;
      } else {
        const base = k * N;
        for (let j = 0; j < N; j++) row[j]! += aik * B[base + j]!;
      }
    }
    const base = i * N;
    if (options.accumulate) for (let j = 0; j < N; j++) O[base + j] = O[base + j]! + row[j]!;
    else for (let j = 0; j < N; j++) O[base + j] = row[j]!;
  }
}

/** out[..., C] = x[..., C] + bias[C]; out may be x. */
function biasAdd(x: Tensor, bias: Tensor, out: Tensor): void {
  const C = bias.size;
  const X = x.data;
  const Bv = bias.data;
  const O = out.data;
  for (let i = 0; i < X.length; i++) O[i] = X[i]! + Bv[i % C]!;
}

/** out[C] = Σ over leading dims of dy[..., C], summed in float64 in row order (+ out). */
function biasGrad(dy: Tensor, out: Tensor, accumulate = false): void {
  const C = out.size;
  const D = dy.data;
  const sums = new Float64Array(C);
  for (let i = 0; i < D.length; i++) sums[i % C]! += D[i]!;
  const O = out.data;
  for (let c = 0; c < C; c++) O[c] = accumulate ? O[c]! + sums[c]! : sums[c]!;
}

function dims2(t: Tensor, what: string): [number, number] {
  if (t.rank !== 2) throw new ShapeError(`${what} must be 2-D, got ${formatShape(t.shape)}`);
  return [t.shape[0]!, t.shape[1]!];
}

export const linearReferenceKernels: LinearKernels = { matMul, biasAdd, biasGrad };
