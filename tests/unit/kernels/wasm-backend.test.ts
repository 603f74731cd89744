/**
 * What only the wasm backend has: arenas over a WebAssembly memory, the row-range GEMM a pool
 * splits over threads, the layout a pool uses (one memory, shared persistent arena, one scratch
 * arena per thread), and its error messages.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BackendError, ShapeError } from '../../../shared/src/errors.js';
import { conv2dGeometry } from '../../../shared/src/kernels/geometry.js';
import { referenceKernels } from '../../../shared/src/kernels/reference/index.js';
import { ownKernels } from '../../../shared/src/kernels/registry.js';
import type { MatMulOptions } from '../../../shared/src/kernels/signatures/linear.js';
import { ARENA_ALIGN, Arena } from '../../../shared/src/kernels/wasm/arena.js';
import { createWasmBackend } from '../../../shared/src/kernels/wasm/backend.js';
import { matMulRows } from '../../../shared/src/kernels/wasm/linear.js';
import { createWasmMemory, PAGE_BYTES } from '../../../shared/src/kernels/wasm/memory.js';
import { kernelsModule } from '../../../shared/src/kernels/wasm/module.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { LocalExecutor } from '../../../shared/src/train/local-executor.js';
import { Model } from '../../../shared/src/train/model.js';
import { syntheticClassification } from '../../helpers/synthetic.js';
import { ensureWasmBuilt } from './backends.js';
import { expectUlps, randomPair } from './compare.js';

beforeAll(() => ensureWasmBuilt());

describe('Arena', () => {
  it('aligns every allocation to 64 bytes and zero-fills it, also when reused after reset', () => {
    const memory = createWasmMemory(PAGE_BYTES * 4);
    const arena = new Arena(memory, 1000, 200_000, 'test');
    expect(arena.base % ARENA_ALIGN).toBe(0);
    for (const shape of [[1], [3, 5], [7], [17, 33]]) {
      const t = arena.alloc(shape);
      expect(t.data.byteOffset % ARENA_ALIGN).toBe(0);
      t.data.fill(9);
    }
    const used = arena.used;
    arena.reset();
    expect(arena.used).toBe(0);
    const again = arena.alloc([used / 4]);
    expect(again.data.every((v) => v === 0)).toBe(true);
  });

  it('allocUninitialized takes the same aligned range as alloc but leaves the earlier contents (no zero fill)', () => {
    const arena = new Arena(createWasmMemory(PAGE_BYTES * 4), 1000, 200_000, 'test');
    arena.alloc([64]).data.fill(9);
    arena.reset();
    const unfilled = arena.allocUninitialized([64]);
    expect(unfilled.data.byteOffset % ARENA_ALIGN).toBe(0);
    expect(unfilled.data.every((v) => v === 9)).toBe(true);
    arena.reset();
    expect(arena.alloc([64]).data.every((v) => v === 0)).toBe(true);
  });

  it('mark/release gives back exactly what was allocated after the mark', () => {
    const arena = new Arena(createWasmMemory(PAGE_BYTES), 1024, 60_000);
    arena.alloc([10]);
    const mark = arena.mark();
    arena.allocBytes(5000);
    arena.release(mark);
    expect(arena.mark()).toBe(mark);
    expect(() => arena.release(mark + 64)).toThrow(BackendError);
  });

  it('throws a BackendError naming the arena and the fix when a bounded range is full', () => {
    const arena = new Arena(createWasmMemory(PAGE_BYTES), 1024, 1024 + 4096, 'scratch');
    arena.alloc([512]);
    expect(() => arena.alloc([1024])).toThrow(BackendError);
    expect(() => arena.alloc([1024])).toThrow(/scratch arena is full.*larger byte range/);
  });

  it('an open-ended arena grows the memory, and tensors from before keep their values', () => {
    const memory = createWasmMemory(PAGE_BYTES * 2);
    const arena = new Arena(memory, 1024);
    const early = arena.alloc([100]);
    early.data.fill(3);
    const big = arena.alloc([PAGE_BYTES]);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(big.data.byteOffset + big.data.byteLength);
    expect(early.data.every((v) => v === 3)).toBe(true);
  });
});

describe('wasm backend', () => {
  it('implements the core kernels itself and inherits the rest from the reference', () => {
    const backend = createWasmBackend();
    for (const name of ['matMul', 'conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'maxPoolBackward', 'softmaxCrossEntropy', 'adamUpdate', 'batchNormTrain', 'batchNormBackward'] as const) {
      expect(ownKernels('wasm')).toContain(name);
      expect(backend.kernels[name]).not.toBe(referenceKernels[name]);
    }
    expect(backend.kernels.swapLeadingAxes).toBe(referenceKernels.swapLeadingAxes);
  });

  it('computes on tensors allocated after the memory grew (a new buffer object)', () => {
    const backend = createWasmBackend();
    const rng = new Random(71);
    backend.alloc([64 * 1024 * 1024]); // 256 MiB: beyond the initial scratch, forces growth
    const a = randomPair(backend, [9, 5], rng);
    const out = backend.alloc([9, 5]);
    backend.kernels.add(a.t, a.t, out);
    referenceKernels.add(a.ref, a.ref, a.ref);
    expectUlps(out.data, a.ref.data, 0);
  });

  it('a GEMM split into row ranges equals the whole GEMM bit for bit, for every transpose variant', () => {
    const backend = createWasmBackend();
    const rng = new Random(72);
    const [m, n, k] = [37, 19, 300];
    for (const options of [{}, { transposeA: true }, { transposeB: true }, { transposeA: true, transposeB: true, accumulate: true }] as MatMulOptions[]) {
      const a = randomPair(backend, options.transposeA ? [k, m] : [m, k], rng).t;
      const b = randomPair(backend, options.transposeB ? [n, k] : [k, n], rng).t;
      const start = randomPair(backend, [m, n], rng).t;
      const whole = backend.alloc([m, n]);
      const split = backend.alloc([m, n]);
      whole.data.set(start.data);
      split.data.set(start.data);
      backend.kernels.matMul(a, b, whole, options);
      // Boundaries that are not multiples of the 4-row tile or the 64-row block.
      for (const [r0, r1] of [[0, 5], [5, 6], [6, 23], [23, 37]] as const) matMulRows(a, b, split, options, r0, r1);
      expectUlps(split.data, whole.data, 0, JSON.stringify(options));
    }
  });

  it('gives the same bits for the same inputs wherever they sit in memory', () => {
    const backend = createWasmBackend();
    const rng = new Random(73);
    const g = conv2dGeometry([2, 9, 9, 5], [3, 3], 7, [1, 1], 'same');
    const x = randomPair(backend, [2, 9, 9, 5], rng);
    const w = randomPair(backend, [3, 3, 5, 7], rng);
    const first = backend.alloc([2, 9, 9, 7]);
    backend.kernels.conv2d(x.t, w.t, first, g);
    backend.alloc([12345]);
    const x2 = backend.alloc(x.t.shape);
    x2.data.set(x.t.data);
    const second = backend.alloc([2, 9, 9, 7]);
    backend.kernels.conv2d(x2, w.t, second, g);
    expectUlps(second.data, first.data, 0);
  });

  it('supports the pool layout: one memory, a shared persistent arena, a scratch arena per backend', () => {
    const memory = createWasmMemory(64 * PAGE_BYTES);
    const persistent = new Arena(memory, 64 * 1024, 1024 * 1024, 'persistent');
    const scratchA = new Arena(memory, 1024 * 1024, 2 * 1024 * 1024, 'scratch-0');
    const scratchB = new Arena(memory, 2 * 1024 * 1024, undefined, 'scratch-1');
    const a = createWasmBackend({ memory, persistent, scratch: scratchA });
    const b = createWasmBackend({ memory, persistent, scratch: scratchB });
    const rng = new Random(74);
    const w = randomPair(a, [33, 17], rng);
    const weights = a.allocPersistent([33, 17]);
    weights.data.set(w.t.data);
    const x = randomPair(b, [5, 33], rng);
    const out = b.alloc([5, 17]);
    b.kernels.matMul(x.t, weights, out);
    expect(out.data.byteOffset).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    const want = Tensor.zeros([5, 17]);
    referenceKernels.matMul(x.ref, w.ref, want);
    for (let i = 0; i < want.size; i++) expect(Math.abs(out.data[i]! - want.data[i]!)).toBeLessThan(1e-4);
    expect(() => createWasmBackend({ memory, persistent })).toThrow(/both the persistent and the scratch arena/);
  });

  it('rejects a tensor outside its memory with a BackendError that says how to allocate', () => {
    const backend = createWasmBackend();
    const inside = backend.alloc([4]);
    expect(() => backend.kernels.add(inside, Tensor.zeros([4]), inside)).toThrow(BackendError);
    expect(() => backend.kernels.add(inside, Tensor.zeros([4]), inside)).toThrow(/backend\.alloc/);
    const other = createWasmBackend().alloc([4]);
    expect(() => backend.kernels.add(inside, other, inside)).toThrow(/not in the WebAssembly memory/);
  });

  it('checks sizes before handing pointers to WebAssembly (a short filter would read its neighbours)', () => {
    const backend = createWasmBackend();
    const g = conv2dGeometry([1, 5, 5, 2], [3, 3], 4, [1, 1], 'valid');
    expect(() => backend.kernels.conv2d(backend.alloc([1, 5, 5, 2]), backend.alloc([3, 3, 2, 3]), backend.alloc([1, 3, 3, 4]), g)).toThrow(ShapeError);
  });

  it('reports a missing kernels.wasm with a BackendError whose hint is the build command', () => {
    const missing = new URL('./no-such-dir/kernels.wasm', import.meta.url);
    expect(() => kernelsModule(missing)).toThrow(BackendError);
    expect(() => kernelsModule(missing)).toThrow(/run `npm run build:wasm`/);
  });
});

describe('unfilled outputs (Note [unfilled outputs] in arena.ts)', () => {
  it('a training micro-batch gives the same loss and gradient bits over scratch full of NaN as over fresh scratch', async () => {
    // Every layer that takes its output from allocUninitialized: conv, BatchNorm, activation, both poolings.
    const config = parseRunConfig({
      seed: 5,
      dataset: 'mnist',
      model: {
        kind: 'sequential',
        inputShape: [10, 10, 1],
        layers: [
          { type: 'conv2d', filters: 8, kernelSize: 3, activation: 'relu' },
          { type: 'maxPool2d', poolSize: 2 },
          { type: 'conv2d', filters: 6, kernelSize: 2, useBias: false },
          { type: 'batchNorm' },
          { type: 'activation', activation: 'tanh' },
          { type: 'avgPool2d', poolSize: 2 },
          { type: 'flatten' },
          { type: 'dense', units: 3 },
        ],
      },
      loss: 'softmaxCrossEntropy',
      optimizer: { type: 'sgd', learningRate: 0.1 },
      training: { epochs: 1, batchSize: 6, microBatch: 6 },
    });
    const backend = createWasmBackend();
    const model = new Model(config, {
      backend,
      executor: (network, store) => new LocalExecutor(network, backend, store, { seed: 5, microBatch: 6, targetsAreInputs: false }),
    });
    const data = syntheticClassification(6, 10, 3, 9);
    const indices = Uint32Array.from({ length: 6 }, (_, i) => i);
    const step = async (): Promise<[number, number[]]> => {
      const stats = await model.executor.computeGradients(data, indices, 0, 6, 0);
      return [stats.lossSum, Array.from(model.params.slots.data)];
    };
    const fresh = await step();
    backend.alloc([1 << 16]).data.fill(NaN);
    backend.releaseScratch();
    const dirty = await step();
    expect(Number.isFinite(fresh[0])).toBe(true);
    expect(fresh[1].some((g) => g !== 0)).toBe(true);
    expect(dirty).toEqual(fresh);
  });
});
