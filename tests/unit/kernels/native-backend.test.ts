/**
 * What the native backend adds to the shared kernel suite (which runs it like every backend):
 * OpenBLAS's environment chosen from the CPU's flags, the start-up self-check and its negative
 * control, the addon's bounds checks (sgemm, BatchNorm, Adam), and training on native pool threads — bitwise independent
 * of the thread count, and within float32 tolerance of the WebAssembly pool.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { BackendError } from '../../../shared/src/errors.js';
import { nativeAddon } from '../../../shared/src/kernels/native/addon.js';
import type { NativeAddon } from '../../../shared/src/kernels/native/addon.js';
import { nativeAvailability } from '../../../shared/src/kernels/native/availability.js';
import { cpuFlags, openblasEnvironment } from '../../../shared/src/kernels/native/openblas-environment.js';
import { nativeSelfCheck } from '../../../shared/src/kernels/native/self-check.js';
import { createWasmBackend } from '../../../shared/src/kernels/wasm/backend.js';
import { createModel } from '../../../shared/src/train/create-model.js';
import type { Model } from '../../../shared/src/train/model.js';
import { syntheticClassification } from '../../helpers/synthetic.js';
import { ensureWasmBuilt, nativeUnavailable } from './backends.js';

describe('OpenBLAS environment (Note [core type])', () => {
  it('picks SkylakeX for AVX-512F, Haswell for AVX2, OpenBLAS\'s own detection otherwise, and always one BLAS thread', () => {
    expect(openblasEnvironment(new Set(['sse3', 'avx2', 'avx512f']), {})).toEqual({ OPENBLAS_NUM_THREADS: '1', OPENBLAS_CORETYPE: 'SkylakeX' });
    expect(openblasEnvironment(new Set(['sse3', 'avx2']), {})).toEqual({ OPENBLAS_NUM_THREADS: '1', OPENBLAS_CORETYPE: 'Haswell' });
    expect(openblasEnvironment(new Set(['sse3']), {})).toEqual({ OPENBLAS_NUM_THREADS: '1' });
  });

  it('keeps a core type the user set, and treats an empty one as unset', () => {
    expect(openblasEnvironment(new Set(['avx512f']), { OPENBLAS_CORETYPE: 'Zen' })).toEqual({ OPENBLAS_NUM_THREADS: '1', OPENBLAS_CORETYPE: 'Zen' });
    expect(openblasEnvironment(new Set(['avx2']), { OPENBLAS_CORETYPE: '' })['OPENBLAS_CORETYPE']).toBe('Haswell');
  });

  it('reads the flags line of a cpuinfo file, and no flags from a missing one', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gradmesh-cpuinfo-')), 'cpuinfo');
    writeFileSync(file, 'processor\t: 0\nmodel name\t: AMD\nflags\t\t: fpu sse3 avx2 avx512f\n\nprocessor\t: 1\nflags\t\t: fpu\n');
    expect([...cpuFlags(file)]).toEqual(['fpu', 'sse3', 'avx2', 'avx512f']);
    expect(cpuFlags(`${file}.missing`).size).toBe(0);
  });
});

const unavailable = nativeUnavailable();
const describeNative = unavailable === undefined ? describe : describe.skip;

describeNative(`native addon${unavailable ? ` (${unavailable})` : ''}`, () => {
  it('passes the self-check against the WebAssembly GEMM with the core type chosen from the flags', () => {
    ensureWasmBuilt();
    const native = nativeAvailability(createWasmBackend());
    expect(native.available).toBe(true);
    if (!native.available) return;
    expect(native.selfCheckError).toBeLessThan(1e-6);
    if (native.coreTypeSet !== undefined) expect(native.coreName.toLowerCase()).toBe(native.coreTypeSet.toLowerCase());
    expect(nativeAddon().threads()).toBe(1);
  });

  it('self-check negative control: an sgemm that returns wrong numbers is rejected with a BackendError', () => {
    const real = nativeAddon();
    const off: NativeAddon = { ...real, sgemm: (...args) => { real.sgemm(...args); args[2][5] = (args[2][5] ?? 0) + 0.01; } };
    expect(() => nativeSelfCheck(off, createWasmBackend())).toThrow(BackendError);
    expect(() => nativeSelfCheck(real, createWasmBackend())).not.toThrow();
  });

  it('rejects operands that extend past their Float32Array (RangeError) and non-float arrays (TypeError)', () => {
    const addon = nativeAddon();
    const a = new Float32Array(6);
    const b = new Float32Array(6);
    const c = new Float32Array(4);
    expect(() => addon.sgemm(a, b, c, 2, 2, 3, 3, 2, 2, false, false, 0)).not.toThrow();
    expect(() => addon.sgemm(a, b, c.subarray(1), 2, 2, 3, 3, 2, 2, false, false, 0)).toThrow(RangeError);
    expect(() => addon.sgemm(a.subarray(1), b, c, 2, 2, 3, 3, 2, 2, false, false, 0)).toThrow(RangeError);
    expect(() => addon.sgemm(a, b, c, 2, 2, 3, 2, 2, 2, false, false, 0)).toThrow(RangeError);
    expect(() => addon.sgemm(new Float64Array(6) as unknown as Float32Array, b, c, 2, 2, 3, 3, 2, 2, false, false, 0)).toThrow(TypeError);
  });

  it('batch-norm entry points reject views shorter than [m, c] or [c] (RangeError) and non-float arrays (TypeError)', () => {
    const addon = nativeAddon();
    const f = (n: number): Float32Array => new Float32Array(n).fill(1);
    expect(() => addon.batchNormTrain(f(6), f(3), f(3), 1e-3, f(6), f(3), f(3), 2, 3)).not.toThrow();
    expect(() => addon.batchNormTrain(f(6), f(3), f(3), 1e-3, f(5), f(3), f(3), 2, 3)).toThrow(RangeError);
    expect(() => addon.batchNormTrain(f(6), f(2), f(3), 1e-3, f(6), f(3), f(3), 2, 3)).toThrow(RangeError);
    expect(() => addon.batchNormBackward(f(6), f(6), f(3), f(3), f(3), 1e-3, f(6), f(3), f(3), 2, 3)).not.toThrow();
    expect(() => addon.batchNormBackward(f(6), f(5), f(3), f(3), f(3), 1e-3, f(6), f(3), f(3), 2, 3)).toThrow(RangeError);
    expect(() => addon.batchNormBackward(f(6), f(6), f(3), f(3), f(3), 1e-3, f(6), f(3), f(2), 2, 3)).toThrow(RangeError);
    expect(() => addon.batchNormBackward(new Float64Array(6) as unknown as Float32Array, f(6), f(3), f(3), f(3), 1e-3, f(6), f(3), f(3), 2, 3)).toThrow(TypeError);
  });

  it('adam rejects state of another length than the parameters (RangeError) and non-float arrays (TypeError)', () => {
    const addon = nativeAddon();
    const f = (n: number): Float32Array => new Float32Array(n).fill(0.5);
    const scalars = [1e-3, 0.9, 0.1, 0.999, 0.001, 1e-7, 0.1, 0.001, 1, 0] as const;
    expect(() => addon.adam(f(9), f(9), f(9), f(9), ...scalars)).not.toThrow();
    expect(() => addon.adam(f(9), f(9), f(8), f(9), ...scalars)).toThrow(RangeError);
    expect(() => addon.adam(f(9), new Float64Array(9) as unknown as Float32Array, f(9), f(9), ...scalars)).toThrow(TypeError);
  });
});

// The pool's threads run the compiled shared/dist code: `npm test` builds first.
const open: Model[] = [];
afterAll(async () => {
  await Promise.all(open.map((m) => m.close()));
});

/** Every GEMM-shaped layer the native backend routes to OpenBLAS: conv, dense, LSTM (gate GEMMs). */
const config = parseRunConfig({
  seed: 7,
  dataset: 'mnist',
  model: {
    kind: 'sequential',
    inputShape: [8, 8, 1],
    layers: [
      { type: 'conv2d', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'reshape', targetShape: [4, 24] },
      { type: 'lstm', units: 10 },
      { type: 'dense', units: 24, activation: 'tanh' },
      { type: 'dropout', rate: 0.25 },
      { type: 'dense', units: 4 },
    ],
  },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.01 },
  training: { epochs: 1, batchSize: 40, microBatch: 8 },
});

async function trained(backend: 'pool' | 'native', threads: number, steps: number): Promise<Model> {
  const model = await createModel(config, { backend, threads });
  open.push(model);
  await model.fit(syntheticClassification(400, 8, 4, 21), { maxSteps: steps });
  return model;
}

describeNative('native pool backend', () => {
  it('gives bitwise-identical parameters with 1, 2 and 3 threads (one micro-batch per thread, one BLAS thread)', async () => {
    const sums = [];
    for (const threads of [1, 2, 3]) sums.push((await trained('native', threads, 6)).params.checksum());
    expect(new Set(sums).size).toBe(1);
  });

  it('computes the same gradients as the WebAssembly pool (within float32 tolerance)', async () => {
    const data = syntheticClassification(80, 8, 4, 22);
    const indices = Uint32Array.from({ length: 40 }, (_, i) => i);
    const native = await createModel(config, { backend: 'native', threads: 2 });
    const pool = await createModel(config, { backend: 'pool', threads: 2 });
    open.push(native, pool);
    expect(native.params.checksum()).toBe(pool.params.checksum()); // same initialisation
    const a = await native.executor.computeGradients(data, indices, 0, 40, 0);
    const b = await pool.executor.computeGradients(data, indices, 0, 40, 0);
    expect(a.lossSum).toBeCloseTo(b.lossSum, 3);
    const g1 = native.params.slots.data;
    const g2 = pool.params.slots.data;
    let maxAbs = 0;
    let scale = 0;
    for (let i = 0; i < g1.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(g1[i]! - g2[i]!));
      scale = Math.max(scale, Math.abs(g2[i]!));
    }
    expect(scale).toBeGreaterThan(0);
    expect(maxAbs / scale).toBeLessThan(1e-4);
    expect(maxAbs).toBeGreaterThan(0); // the native kernels really ran: OpenBLAS rounds differently
  });
});
