import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { CheckpointError, ConfigError, DivergenceError } from '../../../shared/src/errors.js';
import { createModel } from '../../../shared/src/train/create-model.js';
import { FAULT_NAN_ENV, injectedNan } from '../../../shared/src/train/fault-injection.js';
import { allFinite, firstNonFinite } from '../../../shared/src/train/finite.js';
import type { Model } from '../../../shared/src/train/model.js';
import { syntheticClassification } from '../../helpers/synthetic.js';

/**
 * The NaN/Inf guard in one process (Note [NaN/Inf guard] in shared/src/train/loop/training-loop.ts): a step
 * whose gradient is not finite changes nothing and is reported; a checkpoint of non-finite parameters is
 * refused. The faults are injected with the test-only GRADMESH_FAULT_NAN (shared/src/train/fault-injection.ts).
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
afterEach(() => {
  delete process.env[FAULT_NAN_ENV];
});

// BatchNorm (running statistics in the slots) and Adam (a step counter for bias correction): the state a skip must not touch.
const config = parseRunConfig({
  name: 'nan-guard',
  seed: 4,
  dataset: 'mnist',
  model: {
    kind: 'sequential',
    inputShape: [6, 6, 1],
    layers: [
      { type: 'conv2d', filters: 3, kernelSize: 3, activation: 'relu' },
      { type: 'batchNorm' },
      { type: 'flatten' },
      { type: 'dropout', rate: 0.2 },
      { type: 'dense', units: 3 },
    ],
  },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.01 },
  training: { epochs: 2, batchSize: 12 },
  backend: 'reference',
});
const data = syntheticClassification(60, 6, 3, 8); // 5 steps an epoch, 10 in all

/** Everything a step may change: parameters (with BatchNorm's running statistics), optimizer state and counter. */
function snapshot(model: Model): { checksum: string; optimizer: number[][]; stepCount: number } {
  return { checksum: model.params.checksum(), optimizer: model.optimizer.stateTensors().map((s) => [...s.tensor.data]), stepCount: model.optimizer.stepCount };
}

describe('allFinite', () => {
  it('finds one NaN, +Infinity or −Infinity anywhere, in lengths that are not multiples of the unroll or the block', () => {
    for (const n of [0, 1, 3, 4, 5, 4095, 4096, 4097, 10_003]) {
      const v = new Float32Array(n).map((_, i) => Math.sin(i) * 3e38); // large but finite: x·0 is still 0
      expect(allFinite(v), `n = ${n}`).toBe(true);
      for (const at of [0, Math.floor(n / 2), n - 1].filter((i) => i >= 0 && i < n)) {
        for (const bad of [Number.NaN, Infinity, -Infinity]) {
          const w = v.slice();
          w[at] = bad;
          expect(allFinite(w), `n = ${n}, ${bad} at ${at}`).toBe(false);
          expect(firstNonFinite(w)).toBe(at);
        }
      }
    }
  });
});

describe('the NaN/Inf guard in one process', () => {
  it('GRADMESH_FAULT_NAN names a rank and a step; a malformed value is a ConfigError naming the variable', () => {
    expect(injectedNan({ [FAULT_NAN_ENV]: '1:5' })).toEqual({ rank: 1, step: 5 });
    expect(injectedNan({})).toBeUndefined();
    expect(() => injectedNan({ [FAULT_NAN_ENV]: 'five' })).toThrow(ConfigError);
    expect(() => injectedNan({ [FAULT_NAN_ENV]: 'five' })).toThrow(FAULT_NAN_ENV);
  });

  it('a NaN gradient at step 5 skips exactly that step: nothing changes (parameters, BatchNorm statistics, Adam state and counter), the run ends finite and reports [{ step: 5, ranks: [0] }]', async () => {
    const clean = await createModel(config);
    const faulty = await createModel(config);
    try {
      await clean.fit(data, { maxSteps: 5 }); // steps 0..4
      process.env[FAULT_NAN_ENV] = '0:5';
      const first = await faulty.fit(data, { maxSteps: 6 }); // steps 0..5, step 5 poisoned
      expect(first.skippedSteps).toEqual([{ step: 5, ranks: [0] }]);
      expect(faulty.state.step).toBe(6); // the step number is consumed
      expect(snapshot(faulty)).toEqual(snapshot(clean)); // …and nothing else
      expect(faulty.optimizer.stepCount).toBe(5);

      const rest = await faulty.fit(data); // steps 6..9 (the fault is at step 5 only)
      expect(rest.skippedSteps).toEqual([{ step: 5, ranks: [0] }]);
      expect(faulty.state.step).toBe(10);
      expect(faulty.optimizer.stepCount).toBe(9);
      expect(allFinite(faulty.params.values.data)).toBe(true);
      // Epoch 2 (steps 5..9) averaged only the four applied steps: its loss is finite.
      expect(faulty.state.history.map((h) => Number.isFinite(h.trainLoss))).toEqual([true, true]);
    } finally {
      await clean.close();
      await faulty.close();
    }
  });

  it('negative control: without the fault the same run skips nothing and step 5 changes the parameters', async () => {
    const a = await createModel(config);
    const b = await createModel(config);
    try {
      await a.fit(data, { maxSteps: 5 });
      const outcome = await b.fit(data, { maxSteps: 6 });
      expect(outcome.skippedSteps).toEqual([]);
      expect(b.params.checksum()).not.toBe(a.params.checksum());
      expect(b.optimizer.stepCount).toBe(6);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('consecutive non-finite steps stop training with a DivergenceError (ConfigError family) naming the steps and rank 0', async () => {
    const model = await createModel(config);
    try {
      // The output layer's bias made NaN: every logit, loss and gradient is NaN, so every step is skipped until the limit.
      model.params.entries.at(-1)!.value.data[0] = Number.NaN;
      const error = await model.fit(data, { maxSkipped: 3 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DivergenceError);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as DivergenceError).code).toBe('E_CONFIG');
      expect((error as DivergenceError).steps).toEqual([0, 1, 2]);
      expect((error as Error).message).toMatch(/the gradient was not finite at 3 consecutive steps, steps 0–2 \(rank 0 at steps 0, 1, 2\)/);
      expect(model.state.step).toBe(3);
    } finally {
      await model.close();
    }
  });
});

describe('checkpoints of non-finite parameters', () => {
  it('are refused with a CheckpointError naming the parameter, and nothing is written; finite ones are written (control)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-nan-ckpt-'));
    dirs.push(dir);
    const model = await createModel(config);
    try {
      expect(path.basename(await model.saveCheckpoint(dir))).toMatch(/ckpt/);
      const written = readdirSync(dir);
      const dense = model.params.entries.find((p) => p.layer.startsWith('dense'))!;
      dense.value.data[2] = Infinity;
      model.state.step = 1;
      const error = await model.saveCheckpoint(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as Error).message).toContain(`refusing to write the checkpoint of step 1: parameter ${dense.layer}/${dense.spec.name} holds Infinity at index 2`);
      expect(readdirSync(dir)).toEqual(written);

      dense.value.data[2] = 0;
      model.params.keepBest();
      model.params.best![7] = Number.NaN;
      await expect(model.saveCheckpoint(dir)).rejects.toThrow(/early stopping's best snapshot holds NaN at index 7/);
      expect(readdirSync(dir)).toEqual(written);
    } finally {
      await model.close();
    }
  });
});
