import { it } from 'vitest';
import { conv2dGeometry, poolingGeometry } from '../../../shared/src/kernels/geometry.js';
import type { Padding } from '../../../shared/src/kernels/geometry.js';
import { referenceKernels } from '../../../shared/src/kernels/reference/index.js';
import type { WindowGeometry } from '../../../shared/src/kernels/signatures/conv.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { describeEachBackend } from './backends.js';
import { absCopy, backendTensor, expectDotClose, expectUlps, heapCopy, randomPair } from './compare.js';

interface ConvCase {
  readonly input: readonly [number, number, number, number];
  readonly window: readonly [number, number];
  readonly filters: number;
  readonly strides: readonly [number, number];
  readonly padding: Padding;
}

/** Odd channel counts and sizes, both paddings, strides 1–3, windows that skip input cells, the MNIST CNN's second layer. */
const CONV_CASES: readonly ConvCase[] = [
  { input: [2, 7, 5, 3], window: [3, 3], filters: 5, strides: [1, 1], padding: 'same' },
  { input: [1, 9, 9, 1], window: [3, 3], filters: 33, strides: [1, 1], padding: 'valid' },
  { input: [3, 8, 7, 17], window: [2, 3], filters: 7, strides: [2, 2], padding: 'same' },
  { input: [2, 11, 13, 5], window: [5, 3], filters: 9, strides: [2, 3], padding: 'valid' },
  { input: [1, 6, 6, 8], window: [1, 1], filters: 4, strides: [1, 1], padding: 'valid' },
  { input: [1, 5, 5, 3], window: [5, 5], filters: 2, strides: [1, 1], padding: 'same' },
  { input: [1, 10, 10, 4], window: [2, 2], filters: 3, strides: [3, 3], padding: 'valid' },
  { input: [2, 13, 13, 32], window: [3, 3], filters: 64, strides: [1, 1], padding: 'valid' },
  // Channels a multiple of 4 take the packing fast paths; with padding and strides they must still zero the border.
  { input: [2, 6, 7, 8], window: [3, 3], filters: 5, strides: [1, 1], padding: 'same' },
  { input: [1, 9, 8, 4], window: [3, 3], filters: 6, strides: [2, 2], padding: 'same' },
  // One input channel (a first layer) takes its own packing path: groups of four pixels that share an
  // output row, straddle two rows or two images, and windows in the padding.
  { input: [3, 11, 10, 1], window: [3, 3], filters: 8, strides: [1, 1], padding: 'same' },
  { input: [2, 9, 13, 1], window: [5, 4], filters: 3, strides: [1, 1], padding: 'valid' },
  { input: [2, 12, 9, 1], window: [3, 3], filters: 4, strides: [2, 1], padding: 'same' },
  // Fewer than four channels take the narrow im2col (native): strides along the width, padding on both sides.
  { input: [2, 10, 11, 2], window: [3, 3], filters: 5, strides: [1, 2], padding: 'same' },
  { input: [1, 8, 13, 3], window: [2, 4], filters: 3, strides: [3, 3], padding: 'same' },
  // One image's patch matrix takes 6.5 MB, so the wasm input gradient and all three native convolutions run in chunks of two images.
  { input: [3, 64, 64, 16], window: [5, 5], filters: 4, strides: [1, 1], padding: 'same' },
];

function label(c: ConvCase): string {
  return `x[${c.input.join(',')}] w${c.window.join('x')} f${c.filters} s${c.strides.join(',')} ${c.padding}`;
}

describeEachBackend('conv2d and its gradients', (backend) => {
  function tensors(c: ConvCase, rng: Random): { g: WindowGeometry; x: ReturnType<typeof randomPair>; w: ReturnType<typeof randomPair>; dy: ReturnType<typeof randomPair> } {
    const b = backend();
    const g = conv2dGeometry(c.input, c.window, c.filters, c.strides, c.padding);
    return {
      g,
      x: randomPair(b, c.input, rng),
      w: randomPair(b, [c.window[0], c.window[1], c.input[3], c.filters], rng),
      dy: randomPair(b, [g.batch, g.outHeight, g.outWidth, g.outChannels], rng),
    };
  }

  it('conv2d equals the reference (dot tolerance, k = KH·KW·C)', () => {
    const rng = new Random(31);
    for (const c of CONV_CASES) {
      const b = backend();
      const { g, x, w } = tensors(c, rng);
      const out = b.alloc([g.batch, g.outHeight, g.outWidth, g.outChannels]);
      b.kernels.conv2d(x.t, w.t, out, g);
      const want = Tensor.zeros(out.shape);
      referenceKernels.conv2d(x.ref, w.ref, want, g);
      const scale = Tensor.zeros(out.shape);
      referenceKernels.conv2d(absCopy(x.ref), absCopy(w.ref), scale, g);
      expectDotClose(out.data, want.data, scale.data, g.windowHeight * g.windowWidth * g.inChannels, label(c));
    }
  });

  it('conv2dBackpropInput equals the reference (dot tolerance, k = KH·KW·F), overwriting dx', () => {
    const rng = new Random(32);
    for (const c of CONV_CASES) {
      const b = backend();
      const { g, x, w, dy } = tensors(c, rng);
      const dx = x.t; // holds random values: the kernel must overwrite them
      b.kernels.conv2dBackpropInput(dy.t, w.t, dx, g);
      const want = Tensor.zeros(x.ref.shape);
      referenceKernels.conv2dBackpropInput(dy.ref, w.ref, want, g);
      const scale = Tensor.zeros(x.ref.shape);
      referenceKernels.conv2dBackpropInput(absCopy(dy.ref), absCopy(w.ref), scale, g);
      expectDotClose(dx.data, want.data, scale.data, g.windowHeight * g.windowWidth * g.outChannels, label(c));
    }
  });

  it('conv2dBackpropFilter equals the reference (dot tolerance, k = N·OH·OW), overwriting dFilter', () => {
    const rng = new Random(33);
    for (const c of CONV_CASES) {
      const b = backend();
      const { g, x, w, dy } = tensors(c, rng);
      const dw = w.t;
      b.kernels.conv2dBackpropFilter(x.t, dy.t, dw, g);
      const want = Tensor.zeros(w.ref.shape);
      referenceKernels.conv2dBackpropFilter(x.ref, dy.ref, want, g);
      const scale = Tensor.zeros(w.ref.shape);
      referenceKernels.conv2dBackpropFilter(absCopy(x.ref), absCopy(dy.ref), scale, g);
      expectDotClose(dw.data, want.data, scale.data, g.batch * g.outHeight * g.outWidth, label(c));
    }
  });
});

interface PoolingCase {
  readonly input: readonly [number, number, number, number];
  readonly window: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
}

/** Non-overlapping, overlapping, padded ('same') windows; channel counts around the SIMD width. */
const POOLING_CASES: readonly PoolingCase[] = [
  { input: [2, 7, 9, 1], window: [2, 2], strides: [2, 2], padding: 'valid' },
  { input: [1, 7, 9, 3], window: [3, 3], strides: [2, 2], padding: 'same' },
  { input: [2, 5, 6, 5], window: [3, 3], strides: [1, 1], padding: 'same' },
  { input: [1, 26, 26, 8], window: [2, 2], strides: [2, 2], padding: 'valid' },
  { input: [3, 9, 7, 17], window: [3, 2], strides: [2, 3], padding: 'same' },
  // Disjoint windows that skip cells, with padding and a channel tail past the SIMD width.
  { input: [2, 9, 11, 6], window: [2, 2], strides: [3, 3], padding: 'same' },
  // Disjoint windows covering every cell (dx written outright, never zeroed first), with a channel tail.
  { input: [2, 6, 8, 5], window: [2, 2], strides: [2, 2], padding: 'valid' },
];

describeEachBackend('pooling', (backend) => {
  function run(p: PoolingCase, rng: Random, integerValues: boolean): void {
    const b = backend();
    const g = poolingGeometry(p.input, p.window, p.strides, p.padding);
    const outShape = [g.batch, g.outHeight, g.outWidth, g.outChannels];
    // Integer values in {0, 1, 2} make ties common, which pins "the first maximum" down.
    const x = integerValues
      ? (() => {
        const t = backendTensor(b, p.input, Array.from({ length: p.input.reduce((u, v) => u * v, 1) }, () => rng.int(3)));
        return { t, ref: heapCopy(t) };
      })()
      : randomPair(b, p.input, rng);
    const dy = randomPair(b, outShape, rng);
    const tag = `${p.input.join(',')} ${p.window.join('x')} s${p.strides.join(',')} ${p.padding}${integerValues ? ' ties' : ''}`;

    const out = b.alloc(outShape);
    const want = Tensor.zeros(outShape);
    b.kernels.maxPool(x.t, out, g);
    referenceKernels.maxPool(x.ref, want, g);
    expectUlps(out.data, want.data, 0, `maxPool ${tag}`);

    const dx = randomPair(b, p.input, rng).t;
    const wantDx = Tensor.zeros(p.input);
    b.kernels.maxPoolBackward(dy.t, x.t, dx, g);
    referenceKernels.maxPoolBackward(dy.ref, x.ref, wantDx, g);
    // Overlapping windows add several float32 dy values into a cell (the reference adds in float64).
    const scale = Tensor.zeros(p.input);
    referenceKernels.maxPoolBackward(absCopy(dy.ref), x.ref, scale, g);
    expectDotClose(dx.data, wantDx.data, scale.data, g.windowHeight * g.windowWidth, `maxPoolBackward ${tag}`);

    b.kernels.avgPool(x.t, out, g);
    referenceKernels.avgPool(x.ref, want, g);
    expectUlps(out.data, want.data, 0, `avgPool ${tag}`);

    b.kernels.avgPoolBackward(dy.t, dx, g);
    referenceKernels.avgPoolBackward(dy.ref, wantDx, g);
    referenceKernels.avgPoolBackward(absCopy(dy.ref), scale, g);
    expectDotClose(dx.data, wantDx.data, scale.data, g.windowHeight * g.windowWidth, `avgPoolBackward ${tag}`);
  }

  it('max and average pooling, forward and backward, equal the reference on odd shapes', () => {
    const rng = new Random(41);
    for (const p of POOLING_CASES) run(p, rng, false);
  });

  it('max pooling routes the gradient to the first maximum when values tie', () => {
    const rng = new Random(42);
    for (const p of POOLING_CASES) run(p, rng, true);
  });
});
