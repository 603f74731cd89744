/**
 * Gradient checking for float32 layers, losses and models.
 *
 * Note [float32 finite differences]: the engine computes in float32, so a central difference
 * (L(x+h) − L(x−h)) / 2h carries round-off ≈ 2⁻²⁴·|L| / h on top of its O(h²) truncation error.
 * Measured on small layers with O(1) values: h = 1e-3 leaves round-off of ~2e-5 absolute (up to
 * 3e-3 relative on the smaller elements), while h = 1e-2 cuts it tenfold and its O(h²)
 * truncation (h²·f'''/6 ≈ 1e-5) stays below it; smooth layers then show max errors of 1e-5..1e-3.
 * The default tolerance 2e-3 sits above that and well below 1e-2, so a gradient 1% off (the
 * negative controls scale by 1.01) fails. Bookkeeping (the loss sum, the steps) is float64, and the steps
 * are the ones actually taken after float32 rounding of x ± h.
 *
 * Relative error per element is |a − n| / max(|a|, |n|, floor) with floor = 1e-2·max|n| over the
 * checked array: elements far below the array's scale are held to an absolute standard instead
 * of a relative one they cannot meet in float32.
 *
 * Kinks (relu at 0, a max-pool tie, a clip) are not differentiable; a central difference that
 * straddles one is off by half the slope jump. The central difference is the mean of the two
 * one-sided ones, so a kink that makes it miss by e makes them disagree by ≥ 2e, and the
 * one-sided difference on the kink-free side is the true derivative. Such an element (central
 * fails, one-sided ones disagree by more than 2·tolerance) is accepted if the analytic value
 * matches either one-sided difference. A smooth function moves the one-sided differences by
 * ±h·f''/2, so a wrong gradient can slip through this way only by matching that offset exactly;
 * the 1%-off negative controls show it does not.
 */
import type { Backend } from '../../shared/src/kernels/backend.js';
import { createReferenceBackend } from '../../shared/src/kernels/reference/backend.js';
import type { ForwardContext, Layer, ParamSpec } from '../../shared/src/layers/layer.js';
import { Random } from '../../shared/src/random.js';
import { Tensor } from '../../shared/src/tensor/tensor.js';

export interface GradCheckOptions {
  /** Finite-difference step (default 1e-3). */
  readonly eps?: number;
  /** Maximum relative error per element (default 2e-3). */
  readonly tolerance?: number;
}

export interface GradCheckResult {
  readonly label: string;
  readonly passed: boolean;
  readonly maxRelativeError: number;
  /** Element with the largest error, and the two gradients there. */
  readonly worstIndex: number;
  readonly analytic: number;
  readonly numeric: number;
  /** Elements judged by a one-sided difference because a kink was detected. */
  readonly kinks: number;
  readonly checked: number;
}

export const DEFAULT_EPS = 1e-2;
export const DEFAULT_TOLERANCE = 2e-3;
const FLOOR_FRACTION = 1e-2;

/**
 * Compares `analytic` with central differences of `f` over every element of `x`. `f` must read
 * `x` (the checker perturbs it in place and restores it) and be deterministic.
 */
export function checkGradient(
  f: () => number,
  x: Float32Array,
  analytic: ArrayLike<number>,
  options: GradCheckOptions = {},
  label = 'x',
): GradCheckResult {
  const eps = options.eps ?? DEFAULT_EPS;
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  if (analytic.length !== x.length) throw new Error(`checkGradient(${label}): analytic has ${analytic.length} elements, x ${x.length}`);
  const f0 = f();
  const central = new Float64Array(x.length);
  const forward = new Float64Array(x.length);
  const backward = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const original = x[i]!;
    x[i] = original + eps;
    const up = x[i]! - original;
    const fUp = f();
    x[i] = original - eps;
    const down = original - x[i]!;
    const fDown = f();
    x[i] = original;
    central[i] = (fUp - fDown) / (up + down);
    forward[i] = (fUp - f0) / up;
    backward[i] = (f0 - fDown) / down;
  }
  let scale = 0;
  for (const n of central) scale = Math.max(scale, Math.abs(n));
  const floor = Math.max(FLOOR_FRACTION * scale, 1e-12);
  const relative = (a: number, n: number): number => Math.abs(a - n) / Math.max(Math.abs(a), Math.abs(n), floor);

  let worst = { index: -1, error: 0 };
  let kinks = 0;
  for (let i = 0; i < x.length; i++) {
    const a = analytic[i]!;
    let error = relative(a, central[i]!);
    if (error > tolerance && relative(forward[i]!, backward[i]!) > 2 * tolerance) {
      error = Math.min(relative(a, forward[i]!), relative(a, backward[i]!));
      kinks++;
    }
    if (worst.index < 0 || error > worst.error) worst = { index: i, error };
  }
  const at = Math.max(worst.index, 0);
  return {
    label,
    passed: worst.error <= tolerance && Number.isFinite(worst.error),
    maxRelativeError: worst.error,
    worstIndex: worst.index,
    analytic: analytic[at] ?? NaN,
    numeric: central[at] ?? NaN,
    kinks,
    checked: x.length,
  };
}

export interface LayerCheckOptions extends GradCheckOptions {
  readonly batch: number;
  /** Seeds parameters, input and the output projection (default 1). */
  readonly seed?: number;
  /** Forward mode (default true). */
  readonly training?: boolean;
  /** ctx.rng is re-created from this seed for every evaluation, so dropout masks repeat (default 7). */
  readonly rngSeed?: number;
  /** The input values, [batch, ...inputShape] flattened (default standard normal). */
  readonly input?: ArrayLike<number>;
  /** Sets a parameter's values (default: see defaultInit). */
  readonly initParam?: (spec: ParamSpec, values: Float32Array, rng: Random) => void;
  /** Corrupts an analytic gradient before the comparison: for negative controls. */
  readonly tamper?: (label: string, analytic: Float64Array) => void;
  readonly backend?: Backend;
}

export interface LayerCheckReport {
  readonly results: readonly GradCheckResult[];
  readonly passed: boolean;
  /** One line per checked array, for assertion messages. */
  readonly summary: string;
}

/**
 * Checks a layer's input gradient and every `gradient` parameter against finite differences of
 * L = Σ r⊙y, r a fixed random projection (so every output element matters and errors cannot
 * cancel by symmetry). The layer must not be bound yet; the checker binds it to its own buffers.
 */
export function checkLayerGradients(layer: Layer, options: LayerCheckOptions): LayerCheckReport {
  const backend = options.backend ?? createReferenceBackend();
  const rng = new Random(options.seed ?? 1);
  const values = layer.params.map((p) => Tensor.zeros(p.shape));
  const slots = layer.params.map((p) => Tensor.zeros(p.shape));
  layer.params.forEach((p, i) => (options.initParam ?? defaultInit)(p, values[i]!.data, rng));
  layer.bind(values, slots);

  const x = Tensor.zeros([options.batch, ...layer.inputShape]);
  if (options.input) x.data.set(Array.from(options.input));
  else for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();

  const context = (): ForwardContext => ({ backend, training: options.training ?? true, rng: new Random(options.rngSeed ?? 7) });
  const firstOutput = layer.forward(x, context());
  const outputShape = firstOutput.shape;
  const r = new Float32Array(firstOutput.size).map(() => Math.fround(rng.normal()));
  backend.releaseScratch();

  const loss = (): number => {
    const y = layer.forward(x, context());
    let s = 0;
    for (let i = 0; i < r.length; i++) s += r[i]! * y.data[i]!;
    backend.releaseScratch();
    return s;
  };

  const ctx = context();
  layer.forward(x, ctx);
  const dx = layer.backward(new Tensor(outputShape, r.slice()), ctx, true);
  if (dx === null) throw new Error(`layer ${layer.name} returned no input gradient although it was asked for one`);
  const analytic: Array<{ label: string; target: Float32Array; grad: Float64Array }> = [
    { label: `${layer.name}/input`, target: x.data, grad: Float64Array.from(dx.data) },
  ];
  layer.params.forEach((p, i) => {
    if (p.update.kind === 'gradient') analytic.push({ label: `${layer.name}/${p.name}`, target: values[i]!.data, grad: Float64Array.from(slots[i]!.data) });
  });
  backend.releaseScratch();

  const results = analytic.map(({ label, target, grad }) => {
    options.tamper?.(label, grad);
    return checkGradient(loss, target, grad, options, label);
  });
  return {
    results,
    passed: results.every((r) => r.passed),
    summary: results.map(describe).join('\n'),
  };
}

export function describe(r: GradCheckResult): string {
  return `${r.passed ? 'ok  ' : 'FAIL'} ${r.label}: max rel err ${r.maxRelativeError.toExponential(2)} at [${r.worstIndex}] (analytic ${r.analytic.toPrecision(6)}, numeric ${r.numeric.toPrecision(6)}), ${r.checked} elements, ${r.kinks} kinks`;
}

/**
 * Weight matrices/filters get N(0, 1/fanIn) (fanIn = all but the last axis), so pre-activations
 * stay O(1) whatever the layer size: saturated tanh/sigmoid would inflate the O(h²) truncation
 * error. Vectors (bias, gamma, beta) get N(0, 0.5²); running statistics U(0.5, 1.5) (positive,
 * as a variance must be).
 */
function defaultInit(spec: ParamSpec, values: Float32Array, rng: Random): void {
  const last = spec.shape[spec.shape.length - 1] ?? 1;
  const std = spec.shape.length >= 2 ? 1 / Math.sqrt(values.length / last) : 0.5;
  for (let i = 0; i < values.length; i++) values[i] = spec.update.kind === 'gradient' ? std * rng.normal() : 0.5 + rng.next();
}
