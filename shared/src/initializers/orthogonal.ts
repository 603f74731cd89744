import { InternalError } from '../errors.js';
import type { Random } from '../random.js';
import type { Shape } from '../tensor/tensor.js';

/**
 * Orthogonal initialisation (Saxe et al.), Keras' flattening: a shape [..., cols] is seen as a
 * matrix of rows = product of all but the last dimension, cols = the last.
 *
 * We draw a tall Gaussian matrix A (n × k with n ≥ k) and orthonormalise its columns with
 * modified Gram–Schmidt in float64, run twice ("twice is enough", Giraud et al.) so QᵀQ = I to
 * ~1e-15 even for nearly dependent draws. Gram–Schmidt divides by positive norms, so this Q is
 * exactly the Q of the QR factorisation whose R has a positive diagonal — the sign correction
 * (Q·sign(diag R)) that makes Q Haar-uniform instead of biased by the QR routine's sign choice.
 *
 * rows ≥ cols: the result has orthonormal columns. rows < cols: we orthonormalise a cols × rows
 * draw and transpose it, so the result has orthonormal rows.
 */
export function fillOrthogonal(shape: Shape, rng: Random, out: Float32Array, gain = 1): void {
  const cols = shape.length === 0 ? 1 : (shape[shape.length - 1] as number);
  const rows = cols === 0 ? 0 : out.length / cols;
  if (rows === 0 || cols === 0) return;
  const n = Math.max(rows, cols);
  const k = Math.min(rows, cols);
  // Column-major n × k: column j is q[j*n .. j*n+n).
  const q = new Float64Array(n * k);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  for (let j = 0; j < k; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += (q[p * n + i] as number) * (q[j * n + i] as number);
        for (let i = 0; i < n; i++) q[j * n + i] = (q[j * n + i] as number) - dot * (q[p * n + i] as number);
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += (q[j * n + i] as number) ** 2;
    norm = Math.sqrt(norm);
    // A Gaussian column lies in the span of the previous ones with probability 0; a zero norm
    // could only come from a degenerate generator, so fail loudly rather than emit NaN weights.
    if (!(norm > 0)) throw new InternalError(`orthogonal initializer: draw for shape [${shape.join(', ')}] was rank-deficient`);
    for (let i = 0; i < n; i++) q[j * n + i] = (q[j * n + i] as number) / norm;
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // Tall case: out[r][c] = Q[r][c]. Wide case: out = Qᵀ, so out[r][c] = Q[c][r].
      const v = rows >= cols ? (q[c * n + r] as number) : (q[r * n + c] as number);
      out[r * cols + c] = gain * v;
    }
  }
}
