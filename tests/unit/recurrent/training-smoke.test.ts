import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { softmaxCrossEntropy } from '../../../shared/src/losses/softmax-cross-entropy.js';
import { ParameterStore } from '../../../shared/src/model/parameters.js';
import { SequentialNetwork } from '../../../shared/src/model/sequential.js';
import { optimizerFromSpec } from '../../../shared/src/optimizers/registry.js';
import { Random } from '../../../shared/src/random.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

/**
 * A memory task: the class is the sign of the FIRST step of a 12-step sequence whose other steps
 * are noise, and only the last state is read. A cell that does not carry information through time
 * (or whose BPTT is broken) stays at chance, loss ln 2 ≈ 0.69.
 */
const [STEPS, BATCH, TRAIN_STEPS] = [12, 32, 150];

function batch(rng: Random): { x: Tensor; y: Tensor; count: number } {
  const x = Tensor.zeros([BATCH, STEPS, 1]);
  const y = Tensor.zeros([BATCH, 2]);
  for (let b = 0; b < BATCH; b++) {
    const label = rng.int(2);
    x.data[b * STEPS] = label === 1 ? 1 : -1;
    for (let t = 1; t < STEPS; t++) x.data[b * STEPS + t] = 0.5 * rng.normal();
    y.data[b * 2 + label] = 1;
  }
  return { x, y, count: BATCH };
}

describe.each(['lstm', 'gru', 'simpleRnn'])('%s learns to remember the first step', (type) => {
  it(`after ${TRAIN_STEPS} Adam steps the loss is below a quarter of chance and accuracy ≥ 90 %`, () => {
    const backend = createReferenceBackend();
    const network = SequentialNetwork.fromSpec(
      { inputShape: [STEPS, 1], layers: [{ type, units: 8 }, { type: 'dense', units: 2 }] },
      softmaxCrossEntropy,
      { path: 'model' },
    );
    const params = new ParameterStore(network, backend);
    params.initialize(new Random(1));
    const optimizer = optimizerFromSpec({ type: 'adam', learningRate: 0.01 }, { path: 'optimizer' }, backend, params.trainable.map((s) => s.value.size));
    const data = new Random(2);
    const ctx = { backend, training: true, rng: new Random(3) };
    const losses: number[] = [];
    for (let s = 0; s < TRAIN_STEPS; s++) {
      const stats = network.trainBatch(batch(data), ctx);
      losses.push(stats.lossSum / stats.count);
      // Slots hold gradient SUMS; the optimizer takes the per-sample mean.
      for (const seg of params.trainable) backend.kernels.scale(seg.grad, 1 / BATCH, seg.grad);
      optimizer.step(params.trainable, 0.01);
    }
    const test = network.evaluateBatch(batch(new Random(99)), { ...ctx, training: false });
    expect(losses[0]!).toBeGreaterThan(0.5); // starts near chance
    expect(test.lossSum / test.count).toBeLessThan(Math.LN2 / 4);
    expect(test.correct! / test.count).toBeGreaterThanOrEqual(0.9);
  });
});
