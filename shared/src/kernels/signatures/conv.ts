import type { Tensor } from '../../tensor/tensor.js';

/**
 * Geometry of a 2-D convolution or pooling window over NHWC tensors. Computed once by
 * `conv2dGeometry` / `poolingGeometry` (pure functions) and passed to every kernel, so kernels
 * never re-derive padding.
 */
export interface WindowGeometry {
  readonly batch: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly windowHeight: number;
  readonly windowWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  /** Zero padding before the first row / column ('same' padding may be asymmetric; the extra goes after). */
  readonly padTop: number;
  readonly padLeft: number;
  readonly outHeight: number;
  readonly outWidth: number;
  /** Output channels (filters) for convolution; equals inChannels for pooling. */
  readonly outChannels: number;
}

/**
 * Convolution, NHWC layout; filters are [windowHeight, windowWidth, inChannels, outChannels]
 * (the TensorFlow/Keras layout). Bias is applied separately with biasAdd.
 */
export interface ConvKernels {
  /** out[N,OH,OW,F] = x[N,H,W,C] ⋆ filter. */
  conv2d(x: Tensor, filter: Tensor, out: Tensor, g: WindowGeometry): void;
  /** dx[N,H,W,C] = ∂L/∂x given dy[N,OH,OW,F]. Overwrites dx. */
  conv2dBackpropInput(dy: Tensor, filter: Tensor, dx: Tensor, g: WindowGeometry): void;
  /** dFilter[KH,KW,C,F] = ∂L/∂filter given x and dy. Overwrites dFilter. */
  conv2dBackpropFilter(x: Tensor, dy: Tensor, dFilter: Tensor, g: WindowGeometry): void;
}

/** Pooling, NHWC. Padding cells never win a max and are not counted in an average. */
export interface PoolingKernels {
  maxPool(x: Tensor, out: Tensor, g: WindowGeometry): void;
  /** dx = ∂L/∂x; the gradient goes to the first maximum of each window (re-found from x). Overwrites dx. */
  maxPoolBackward(dy: Tensor, x: Tensor, dx: Tensor, g: WindowGeometry): void;
  avgPool(x: Tensor, out: Tensor, g: WindowGeometry): void;
  avgPoolBackward(dy: Tensor, dx: Tensor, g: WindowGeometry): void;
}
