import { BackendError, Random } from '@gradmesh/shared/internal';
import type { Tfjs, TfjsBackendName } from './runtime.js';
import { useTfjsBackend } from './runtime.js';

type TensorInfo = import('@tensorflow/tfjs').TensorInfo;
type KernelBackend = import('@tensorflow/tfjs').KernelBackend;
type NamedAttrMap = import('@tensorflow/tfjs').NamedAttrMap;
type Pad = 'valid' | 'same' | number | import('@tensorflow/tfjs').backend_util.ExplicitPadding;

const KERNEL = 'Conv2DBackpropFilter';

/**
 * tfjs-backend-wasm 4.22 registers Conv2D and Conv2DBackpropInput but no Conv2DBackpropFilter, so
 * training any convolution on it fails at the first backward pass. This fills the gap for the
 * benchmark with the filter gradient written as ONE forward convolution that the backend runs
 * with XNNPACK — its fastest path — over transposed tensors:
 *
 *   dW[kh, kw, c, f] = Σ_{n, oh, ow} x[n, oh·sh + kh − padTop, ow·sw + kw − padLeft, c] · dy[n, oh, ow, f]
 *
 * Reading c as the batch, n as the input channel and (oh, ow) as filter taps dilated by the
 * strides, this is conv2d(xᵀ, dyᵀ) with xᵀ = [C, H, W, N], dyᵀ = [OH, OW, N, F], stride 1,
 * dilation (sh, sw) and the forward padding made explicit; its [C, H', W', F] output holds dW at
 * (kh, kw) for kh < KH, kw < KW (H' = H + pads − sh·(OH − 1) ≥ KH: extra rows are offsets no
 * forward window used, and are sliced away), and a last transpose gives [KH, KW, C, F].
 *
 * It calls the backend's own Transpose, Conv2D and Slice kernel functions (the modular-kernel
 * pattern of the tfjs backends), not tf ops, so nothing is recorded on a gradient tape and every
 * intermediate is freed here.
 */
export function conv2dBackpropFilterViaConv(tf: Tfjs, backendName: string): (args: { inputs: Record<string, TensorInfo | undefined>; backend: object; attrs?: NamedAttrMap }) => TensorInfo {
  const kernel = (name: string) => {
    const config = tf.getKernel(name, backendName);
    if (!config) throw new BackendError(`TensorFlow.js backend ${backendName} has no ${name} kernel, which the ${KERNEL} fallback needs`);
    return config.kernelFunc;
  };
  const transpose = kernel('Transpose');
  const conv2d = kernel('Conv2D');
  const slice = kernel('Slice');
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    if (!x || !dy || !attrs) throw new BackendError(`${KERNEL} fallback: called without x, dy or attributes`);
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
      strides: number | [number, number];
      pad: Pad;
      dataFormat: 'NHWC' | 'NCHW';
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      filterShape: [number, number, number, number];
    };
    if (dataFormat !== 'NHWC') throw new BackendError(`${KERNEL} fallback: only NHWC is implemented, got ${dataFormat}`);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const owned: TensorInfo[] = [];
    const run = (f: typeof transpose, args: { inputs: Record<string, TensorInfo>; attrs: object }): TensorInfo => {
      const out = f({ inputs: args.inputs, backend, attrs: args.attrs as NamedAttrMap }) as TensorInfo;
      owned.push(out);
      return out;
    };
    try {
      const xT = run(transpose, { inputs: { x }, attrs: { perm: [3, 1, 2, 0] } });
      const dyT = run(transpose, { inputs: { x: dy }, attrs: { perm: [1, 2, 0, 3] } });
      const { top, bottom, left, right } = info.padInfo;
      let r = run(conv2d, {
        inputs: { x: xT, filter: dyT },
        attrs: { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [info.strideHeight, info.strideWidth] },
      });
      const [kh, kw] = filterShape;
      if (r.shape[1] !== kh || r.shape[2] !== kw) {
        r = run(slice, { inputs: { x: r }, attrs: { begin: [0, 0, 0, 0], size: [info.inChannels, kh, kw, info.outChannels] } });
      }
      const out = transpose({ inputs: { x: r }, backend, attrs: { perm: [1, 2, 0, 3] } }) as TensorInfo;
      return out;
    } finally {
      for (const t of owned) (backend as KernelBackend).disposeData(t.dataId);
    }
  };
}

export interface FallbackRegistration {
  /** True when this call registered the kernel (false: the backend has its own, or it was registered before). */
  readonly registered: boolean;
  readonly kernel: string;
  readonly backend: string;
}

let registeredByUs = false;

/** Registers the fallback on `backendName` unless the backend already has the kernel. */
export function ensureConv2dBackpropFilter(tf: Tfjs, backendName = 'wasm'): FallbackRegistration {
  if (tf.getKernel(KERNEL, backendName) !== undefined) return { registered: registeredByUs, kernel: KERNEL, backend: backendName };
  tf.registerKernel({ kernelName: KERNEL, backendName, kernelFunc: conv2dBackpropFilterViaConv(tf, backendName) as never });
  registeredByUs = true;
  return { registered: true, kernel: KERNEL, backend: backendName };
}

export interface FallbackCheckCase {
  readonly x: [number, number, number, number];
  readonly filter: [number, number, number, number];
  readonly strides: number;
  readonly pad: 'valid' | 'same';
}

export interface FallbackCheck {
  readonly cases: number;
  /** Max |fallback − tfjs-backend-cpu| over every element of every case. */
  readonly maxAbsError: number;
  /** Max |tfjs-backend-cpu| over the same elements, for scale. */
  readonly maxAbsValue: number;
  readonly passed: boolean;
}

/**
 * The CNN's two layers, plus strided and same-padded shapes that exercise the dilation, slicing
 * and padding branches, and odd sizes.
 */
export const CHECK_CASES: readonly FallbackCheckCase[] = [
  { x: [4, 28, 28, 1], filter: [3, 3, 1, 32], strides: 1, pad: 'valid' },
  { x: [4, 13, 13, 32], filter: [3, 3, 32, 64], strides: 1, pad: 'valid' },
  { x: [3, 11, 9, 5], filter: [3, 2, 5, 7], strides: 2, pad: 'valid' },
  { x: [2, 10, 7, 3], filter: [5, 3, 3, 4], strides: 2, pad: 'same' },
  { x: [2, 8, 8, 6], filter: [1, 1, 6, 5], strides: 1, pad: 'same' },
];

/**
 * Runs the wasm kernel (the fallback) and tfjs-backend-cpu's own Conv2DBackpropFilter on the same
 * random x and dy, and compares. Leaves `backendName` active. Tolerance: float32 sums of up to a
 * few thousand products in different orders differ by ~1e-6 of the magnitude; 1e-4 relative
 * catches any indexing mistake (which errs by the magnitude itself).
 */
export async function checkConv2dBackpropFilter(tf: Tfjs, backendName: TfjsBackendName = 'wasm', cases: readonly FallbackCheckCase[] = CHECK_CASES): Promise<FallbackCheck> {
  const rng = new Random(4);
  let maxAbsError = 0;
  let maxAbsValue = 0;
  for (const c of cases) {
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
    const xValues = Float32Array.from({ length: c.x.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1));
    const dyValues = Float32Array.from({ length: info.outShape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1));
    const compute = async (name: TfjsBackendName): Promise<Float32Array> => {
      await useTfjsBackend(tf, name);
      const x = tf.tensor4d(xValues, c.x);
      const dy = tf.tensor4d(dyValues, info.outShape);
      const dw = tf.engine().runKernel(KERNEL, { x, dy }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter }) as import('@tensorflow/tfjs').Tensor;
      const values = dw.dataSync() as Float32Array;
      tf.dispose([x, dy, dw]);
      return values;
    };
    const reference = await compute('cpu');
    const tested = await compute(backendName);
    if (tested.length !== reference.length) throw new BackendError(`${KERNEL} fallback: ${tested.length} values instead of ${reference.length}`);
    for (let i = 0; i < reference.length; i++) {
      maxAbsError = Math.max(maxAbsError, Math.abs(tested[i]! - reference[i]!));
      maxAbsValue = Math.max(maxAbsValue, Math.abs(reference[i]!));
    }
  }
  return { cases: cases.length, maxAbsError, maxAbsValue, passed: maxAbsError <= 1e-4 * Math.max(1, maxAbsValue) };
}
