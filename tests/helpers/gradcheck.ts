/**
 * Gradient checking for float32 layers, losses and models.
 *
 * Note [float32 finite differences]: the engine computes in float32, so a difference quotient
 * carries round-off ≈ 2⁻²⁴·|L|/h besides its truncation error. Measured on small layers with O(1)
 * values, h = 1e-3 leaves ~2e-5 absolute round-off, too much for the smaller elements, while at
 * h = 1e-2 a plain central difference's truncation (h²·f‴/6, several 1e-4 through a saturating
 * tanh) dominates. So the numeric gradient is the Richardson extrapolation (4·D(h/2) − D(h))/3
 * of central differences D at h = 1e-2 and h/2: its truncation is O(h⁴) and its round-off stays
 * ~1e-5 of the array's scale. The default tolerance 2e-3 sits well above the errors observed and
 * five times below 1e-2, so a gradient 1% off fails (the negative controls scale by 1.01 and must
 * fail). Bookkeeping is float64, and the steps are the ones actually taken after float32 rounding
 * of x ± h.
 *
 * Relative error per element is |a − n| / max(|a|, |n|, floor) with floor = 0.1·max|n| over the
 * checked array: round-off is set by the loss's magnitude, not by the element's, so an element
 * below a tenth of the array's largest is held to an absolute bound (tolerance·floor, i.e.
 * 2e-4 of the largest) instead of a relative one it cannot meet in float32 (e.g. 1e-5 noise on
 * an element of 4e-3 is 0.3% relative).
 *
 * Kinks (relu at 0, a max-pool tie, a clip) are not differentiable; a central difference that
 * straddles one is off by half the slope jump. When the central check fails and the one-sided
 * differences at step h disagree by more than 2·tolerance (a kink makes them differ by twice the
 * central error), the element is judged instead by a side that is locally linear, i.e. whose
 * one-sided differences at h and h/2 agree within tolerance: that side holds no kink and no
 * strong curvature, so its difference is the derivative there. Requiring local linearity keeps
 * the fallback from excusing a wrong gradient on a strongly curved smooth function (−log p near
 * p = 0.1 moves a one-sided difference by h/(4p) ≈ 2.5%, which could otherwise match a 1% error).
 * An element with kinks within h on BOTH sides (an input feeding many relu units, rarely) cannot
 * be judged and fails; pick another seed for such a case.
 */
import type { Backend } from '../../shared/src/kernels/backend.js';
import { createReferenceBackend } from '../../shared/src/kernels/reference/backend.js';
import type { ForwardContext, Layer, ParamSpec } from '../../shared/src/layers/layer.js';
import { Random } from '../../shared/src/random.js';
import { Tensor } from '../../shared/src/tensor/tensor.js';

export interface GradCheckOptions {
  /** Finite-difference step h (default 1e-2; h/2 is used too, see the note above). */
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
  /** Sides judged by a one-sided difference because a kink was detected (0, 1 or 2 per element). */
  readonly kinks: number;
  readonly checked: number;
}

export const DEFAULT_EPS = 1e-2;
export const DEFAULT_TOLERANCE = 2e-3;
const FLOOR_FRACTION = 0.1;

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
  // One-sided differences at steps h and h/2: forward, backward, half-step forward, half-step backward.
  const oneSided = Array.from({ length: 4 }, () => new Float64Array(x.length));
  for (let i = 0; i < x.length; i++) {
    const original = x[i]!;
    // f at the float32 value nearest original + delta, and the step actually taken.
    const at = (delta: number): { value: number; step: number } => {
      x[i] = original + delta;
      const step = x[i]! - original;
      const value = f();
      x[i] = original;
      return { value, step };
    };
    const up = at(eps), down = at(-eps), halfUp = at(eps / 2), halfDown = at(-eps / 2);
    const wide = (up.value - down.value) / (up.step - down.step);
    const narrow = (halfUp.value - halfDown.value) / (halfUp.step - halfDown.step);
    central[i] = (4 * narrow - wide) / 3;
    oneSided[0]![i] = (up.value - f0) / up.step;
    oneSided[1]![i] = (f0 - down.value) / -down.step;
    oneSided[2]![i] = (halfUp.value - f0) / halfUp.step;
    oneSided[3]![i] = (f0 - halfDown.value) / -halfDown.step;
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
    if (error > tolerance && relative(oneSided[0]![i]!, oneSided[1]![i]!) > 2 * tolerance) {
      // A kink: judge by a side that is locally linear (its h and h/2 differences agree).
      for (const [full, half] of [[oneSided[0]!, oneSided[2]!], [oneSided[1]!, oneSided[3]!]] as const) {
        if (relative(full[i]!, half[i]!) <= tolerance) {
          error = Math.min(error, relative(a, half[i]!));
          kinks++;
        }
      }
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

/** For negative controls: multiplies the largest-magnitude element of `g` by `factor`. */
export function scaleLargest(g: Float64Array, factor: number): void {
  let big = 0;
  g.forEach((v, i) => { if (Math.abs(v) > Math.abs(g[big]!)) big = i; });
  g[big] = g[big]! * factor;
}
