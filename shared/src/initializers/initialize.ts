import type { Random } from '../random.js';
import { ShapeError } from '../errors.js';
import { formatShape, sizeOf, type Shape } from '../tensor/tensor.js';
import { computeFans } from './fans.js';
import { fillOrthogonal } from './orthogonal.js';
import type { InitializerSpec } from './spec.js';

/**
 * Stddev of a standard normal truncated to [−2, 2]: dividing the target stddev by it makes the
 * truncated draws have the intended variance (the constant Keras uses).
 */
const TRUNCATED_NORMAL_STDDEV = 0.87962566103423978;

/**
 * Fills `out` (the parameter's flat storage, row-major for `shape`) from `spec`, drawing from
 * `rng` in element order so every replica seeded alike gets identical weights.
 *
 * Normal variants follow Keras: a TRUNCATED normal (redrawn outside ±2σ) scaled so the resulting
 * variance is exactly the target — glorotNormal 2/(fanIn+fanOut), heNormal 2/fanIn.
 * Uniform variants: glorotUniform ±√(6/(fanIn+fanOut)), heUniform ±√(6/fanIn).
 */
export function initialize(spec: InitializerSpec, shape: Shape, rng: Random, out: Float32Array): void {
  if (out.length !== sizeOf(shape)) {
    throw new ShapeError(`initialize: output has ${out.length} elements but shape ${formatShape(shape)} needs ${sizeOf(shape)}`);
  }
  if (typeof spec === 'object') {
    out.fill(spec.value);
    return;
  }
  const { fanIn, fanOut } = computeFans(shape);
  switch (spec) {
    case 'zeros':
      out.fill(0);
      return;
    case 'ones':
      out.fill(1);
      return;
    case 'glorotUniform':
      return fillUniform(out, rng, Math.sqrt(6 / (fanIn + fanOut)));
    case 'heUniform':
      return fillUniform(out, rng, Math.sqrt(6 / fanIn));
    case 'glorotNormal':
      return fillTruncatedNormal(out, rng, Math.sqrt(2 / (fanIn + fanOut)) / TRUNCATED_NORMAL_STDDEV);
    case 'heNormal':
      return fillTruncatedNormal(out, rng, Math.sqrt(2 / fanIn) / TRUNCATED_NORMAL_STDDEV);
    case 'orthogonal':
      return fillOrthogonal(shape, rng, out);
  }
}

function fillUniform(out: Float32Array, rng: Random, limit: number): void {
  for (let i = 0; i < out.length; i++) {
    // Storing as float32 may round onto fround(limit), a hair past the float64 limit; no further.
    out[i] = rng.uniform(-limit, limit);
  }
}

/** N(0, stddev²) restricted to ±2·stddev by redrawing (about 4.6% of draws are redrawn). */
function fillTruncatedNormal(out: Float32Array, rng: Random, stddev: number): void {
  for (let i = 0; i < out.length; i++) {
    let z = rng.normal();
    while (z < -2 || z > 2) z = rng.normal();
    out[i] = z * stddev;
  }
}
