import type { Backend } from '../../../shared/src/kernels/backend.js';
import type { Kernels } from '../../../shared/src/kernels/kernels.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import type { ForwardContext, Layer } from '../../../shared/src/layers/layer.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor, sizeOf } from '../../../shared/src/tensor/tensor.js';

/**
 * Central finite differences for one layer. The scalar is L = Σ w ⊙ layer(x) with a fixed random
 * w, so ∂L/∂y = w is what backward receives. Every parameter element and every input element is
 * checked (the test sizes are tiny). Forward runs in float32, so h is large-ish and the tolerance
 * is |analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|).
 */
export interface GradcheckResult {
  /** Largest violation ratio |a − n| / (atol + rtol·max(|a|, |n|)); ≤ 1 means the check passed. */
  readonly worst: number;
  readonly worstAt: string;
  /** Elements compared. */
  readonly checked: number;
}

export interface GradcheckOptions {
  readonly batch: number;
  readonly steps: number;
  readonly features: number;
  readonly seed?: number;
  readonly h?: number;
  readonly atol?: number;
  readonly rtol?: number;
  /** Kernel overrides applied to the backend (negative controls break one kernel's backward). */
  readonly kernels?: Partial<Kernels>;
  /** Scale of the random parameter values. */
  readonly paramScale?: number;
}

export function backendWith(overrides: Partial<Kernels> = {}): Backend {
  const base = createReferenceBackend();
  return { ...base, kernels: { ...base.kernels, ...overrides } };
}

export function contextFor(backend: Backend, seed = 1, training = true): ForwardContext {
  return { backend, training, rng: new Random(seed) };
}

/** Flat values and slots for a layer, filled with N(0, scale²) draws and bound. */
export function bindRandom(layer: Layer, rng: Random, scale: number): { values: Float32Array; slots: Float32Array; views: Tensor[]; slotViews: Tensor[] } {
  const n = layer.params.reduce((s, p) => s + sizeOf(p.shape), 0);
  const values = new Float32Array(n);
  const slots = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = scale * rng.normal();
  const views: Tensor[] = [];
  const slotViews: Tensor[] = [];
  let at = 0;
  for (const p of layer.params) {
    const size = sizeOf(p.shape);
    views.push(new Tensor(p.shape, values.subarray(at, at + size)));
    slotViews.push(new Tensor(p.shape, slots.subarray(at, at + size)));
    at += size;
  }
  layer.bind(views, slotViews);
  return { values, slots, views, slotViews };
}

export function randomTensor(shape: readonly number[], rng: Random, scale = 1): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = scale * rng.normal();
  return t;
}

function weightedSum(y: Tensor, w: Tensor): number {
  let s = 0;
  for (let i = 0; i < y.size; i++) s += y.data[i]! * w.data[i]!;
  return s;
}

export function gradcheckLayer(layer: Layer, o: GradcheckOptions): GradcheckResult {
  const rng = new Random(o.seed ?? 7);
  const h = o.h ?? 1e-2;
  const atol = o.atol ?? 2e-3;
  const rtol = o.rtol ?? 2e-2;
  const backend = backendWith(o.kernels);
  const ctx = contextFor(backend);
  const { values, slots } = bindRandom(layer, rng, o.paramScale ?? 0.5);
  const x = randomTensor([o.batch, o.steps, o.features], rng);
  const w = randomTensor([o.batch, ...layer.outputShape], rng);

  const y = layer.forward(x, ctx);
  const dx = layer.backward(w, ctx, true);
  if (dx === null) throw new Error('backward returned null although the input gradient was asked for');
  const analyticParams = Float32Array.from(slots);
  const analyticInput = Float32Array.from(dx.data);
  if (y.size !== w.size) throw new Error(`output size ${y.size} differs from the expected ${w.size}`);

  const loss = (): number => weightedSum(layer.forward(x, ctx), w);
  let worst = 0;
  let worstAt = '';
  let checked = 0;
  const compare = (analytic: number, numeric: number, where: string): void => {
    const ratio = Math.abs(analytic - numeric) / (atol + rtol * Math.max(Math.abs(analytic), Math.abs(numeric)));
    checked++;
    if (!(ratio <= worst)) {
      worst = Number.isNaN(ratio) ? Infinity : ratio;
      worstAt = `${where}: analytic ${analytic}, numeric ${numeric}`;
    }
  };
  const probe = (buffer: Float32Array, i: number): number => {
    const keep = buffer[i]!;
    buffer[i] = keep + h;
    const plus = loss();
    buffer[i] = keep - h;
    const minus = loss();
    buffer[i] = keep;
    return (plus - minus) / (2 * h);
  };
  let at = 0;
  for (const p of layer.params) {
    for (let j = 0; j < sizeOf(p.shape); j++, at++) compare(analyticParams[at]!, probe(values, at), `${p.name}[${j}]`);
  }
  for (let i = 0; i < x.size; i++) compare(analyticInput[i]!, probe(x.data, i), `input[${i}]`);
  return { worst, worstAt, checked };
}
