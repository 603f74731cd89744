import { ShapeError } from '../errors.js';
import type { Shape } from '../tensor/tensor.js';
import { formatShape } from '../tensor/tensor.js';
import type { WindowGeometry } from './signatures/conv.js';

/** How a sliding window treats the border (TensorFlow semantics). */
export type Padding = 'same' | 'valid';

export const PADDINGS: readonly Padding[] = ['same', 'valid'];

/**
 * Geometry of a 2-D convolution over an NHWC input [N, H, W, C] with a [kh, kw] window and
 * `outChannels` filters.
 *
 * Note [TF padding]: 'valid' places windows only where they fit: out = floor((in − k) / s) + 1.
 * 'same' gives out = ceil(in / s) and pads with total = max((out − 1)·s + k − in, 0) zeros, the
 * smaller half (floor(total / 2)) before and the rest after, exactly as TensorFlow and Keras do,
 * so weights trained here and there line up cell for cell.
 */
export function conv2dGeometry(
  inputShape: Shape,
  filterHW: readonly [number, number],
  outChannels: number,
  strides: readonly [number, number],
  padding: Padding,
): WindowGeometry {
  return windowGeometry('conv2d', inputShape, filterHW, outChannels, strides, padding);
}

/** Geometry of a 2-D pooling window over NHWC [N, H, W, C]; the channel count is kept. */
export function poolingGeometry(
  inputShape: Shape,
  windowHW: readonly [number, number],
  strides: readonly [number, number],
  padding: Padding,
): WindowGeometry {
  const channels = inputShape[3];
  return windowGeometry('pooling', inputShape, windowHW, channels ?? 0, strides, padding);
}

function windowGeometry(
  what: string,
  inputShape: Shape,
  [windowHeight, windowWidth]: readonly [number, number],
  outChannels: number,
  [strideHeight, strideWidth]: readonly [number, number],
  padding: Padding,
): WindowGeometry {
  if (inputShape.length !== 4) {
    throw new ShapeError(`${what}: input must be NHWC [batch, height, width, channels], got ${formatShape(inputShape)}`);
  }
  const [batch, inHeight, inWidth, inChannels] = inputShape as readonly [number, number, number, number];
  for (const [label, v] of [['window height', windowHeight], ['window width', windowWidth], ['stride height', strideHeight], ['stride width', strideWidth], ['output channels', outChannels]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(`${what}: ${label} must be a positive integer, got ${v}`);
  }
  const rows = axis(what, 'height', inHeight, windowHeight, strideHeight, padding);
  const cols = axis(what, 'width', inWidth, windowWidth, strideWidth, padding);
  return {
    batch, inHeight, inWidth, inChannels,
    windowHeight, windowWidth, strideHeight, strideWidth,
    padTop: rows.padBefore, padLeft: cols.padBefore,
    outHeight: rows.out, outWidth: cols.out,
    outChannels,
  };
}

/** Output length and leading pad along one spatial axis. */
function axis(what: string, name: string, size: number, window: number, stride: number, padding: Padding): { out: number; padBefore: number } {
  if (padding === 'same') {
    if (size < 1) throw new ShapeError(`${what}: input ${name} must be at least 1, got ${size}`);
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + window - size, 0);
    return { out, padBefore: Math.floor(total / 2) };
  }
  if (window > size) {
    throw new ShapeError(`${what}: a window of ${name} ${window} does not fit an input of ${name} ${size} with 'valid' padding`, {
      hint: `use padding 'same', a smaller window, or a larger input`,
    });
  }
  return { out: Math.floor((size - window) / stride) + 1, padBefore: 0 };
}
