import { describe, expect, it } from 'vitest';
import { checkLayerGradients, scaleLargest } from '../../helpers/gradcheck.js';
import { BatchNorm } from '../../../shared/src/layers/batch-norm.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { createWasmBackend } from '../../../shared/src/kernels/wasm/backend.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

const keras = { momentum: 0.99, epsilon: 1e-3 };

describe('BatchNorm', () => {
  it('training mode: input, gamma and beta gradients match finite differences (vector input)', () => {
    const report = checkLayerGradients(new BatchNorm('batchNorm_0', [4], keras), { batch: 5 });
    expect(report.passed, report.summary).toBe(true);
  });

  it('training mode: gradients match finite differences over the channel axis of [3, 2, 3] inputs', () => {
    const report = checkLayerGradients(new BatchNorm('batchNorm_0', [3, 2, 3], keras), { batch: 2 });
    expect(report.passed, report.summary).toBe(true);
  });

  it('inference mode (frozen statistics): input, gamma and beta gradients match finite differences', () => {
    const report = checkLayerGradients(new BatchNorm('batchNorm_0', [2, 3], keras), { batch: 3, training: false });
    expect(report.passed, report.summary).toBe(true);
  });

  it('negative control: the largest training-mode input-gradient element off by 1% fails the check', () => {
    const layer = new BatchNorm('batchNorm_0', [4], keras);
    const report = checkLayerGradients(layer, { batch: 5, tamper: (label, g) => { if (label.endsWith('/input')) scaleLargest(g, 1.01); } });
    expect(report.results.map((r) => [r.label, r.passed])).toEqual([
      ['batchNorm_0/input', false], ['batchNorm_0/gamma', true], ['batchNorm_0/beta', true],
    ]);
  });

  it('writes count × batch mean and count × biased batch variance into the moving statistics slots', () => {
    const layer = new BatchNorm('batchNorm_0', [1], keras);
    expect(layer.params.map((p) => [p.name, p.update.kind])).toEqual([
      ['gamma', 'gradient'], ['beta', 'gradient'], ['movingMean', 'running'], ['movingVariance', 'running'],
    ]);
    expect(layer.params[2]!.update).toEqual({ kind: 'running', momentum: 0.99 });
    const slots = [0, 1, 2, 3].map(() => Tensor.zeros([1]));
    layer.bind([Tensor.from([1], [1]), Tensor.zeros([1]), Tensor.zeros([1]), Tensor.from([1], [1])], slots);
    // x = [1, 2, 3, 6]: mean 3, biased variance (4 + 1 + 0 + 9)/4 = 3.5.
    layer.forward(Tensor.from([4, 1], [1, 2, 3, 6]), { backend: createReferenceBackend(), training: true, rng: new Random(1) });
    expect(slots[2]!.data[0]).toBeCloseTo(4 * 3, 5);
    expect(slots[3]!.data[0]).toBeCloseTo(4 * 3.5, 5);
  });

  it('on wasm (outputs in unfilled scratch) a training step gives the same bits over scratch full of NaN as over fresh scratch', () => {
    const backend = createWasmBackend();
    const layer = new BatchNorm('batchNorm_0', [3, 2, 5], keras);
    const rng = new Random(3);
    const values = layer.params.map((p) => {
      const t = backend.allocPersistent(p.shape);
      for (let i = 0; i < t.size; i++) t.data[i] = p.name === 'movingVariance' || p.name === 'gamma' ? rng.uniform(0.5, 1.5) : rng.uniform(-1, 1);
      return t;
    });
    layer.bind(values, layer.params.map((p) => backend.allocPersistent(p.shape)));
    const x = Array.from({ length: 4 * 30 }, () => rng.uniform(-2, 3));
    const dy = Array.from({ length: 4 * 30 }, () => rng.uniform(-1, 1));
    const step = (): number[] => {
      const ctx = { backend, training: true, rng: new Random(1) };
      const xt = backend.alloc([4, 3, 2, 5]);
      xt.data.set(x);
      const dyt = backend.alloc([4, 3, 2, 5]);
      dyt.data.set(dy);
      const y = layer.forward(xt, ctx);
      const dx = layer.backward(dyt, ctx, true)!;
      const out = [...y.data, ...dx.data];
      backend.releaseScratch();
      return out;
    };
    const fresh = step();
    backend.alloc([1 << 14]).data.fill(NaN);
    backend.releaseScratch();
    expect(step()).toEqual(fresh);
    expect(fresh.every(Number.isFinite)).toBe(true);
  });

  it('inference normalises with the moving statistics, not the batch', () => {
    const layer = new BatchNorm('batchNorm_0', [1], { momentum: 0.9, epsilon: 0 });
    layer.bind(
      [Tensor.from([1], [2]), Tensor.from([1], [1]), Tensor.from([1], [10]), Tensor.from([1], [4])],
      [0, 1, 2, 3].map(() => Tensor.zeros([1])),
    );
    const y = layer.forward(Tensor.from([2, 1], [12, 14]), { backend: createReferenceBackend(), training: false, rng: new Random(1) });
    // γ·(x − 10)/2 + β = [3, 5]
    expect(Array.from(y.data)).toEqual([3, 5]);
  });
});
