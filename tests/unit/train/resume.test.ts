import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { createModel } from '../../../shared/src/train/create-model.js';
import { latestCheckpoint, readCheckpoint, writeCheckpointAtomic } from '../../../shared/src/checkpoint/store.js';
import { syntheticClassification } from '../../helpers/synthetic.js';
import { CheckpointError } from '../../../shared/src/errors.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-resume-'));
  dirs.push(d);
  return d;
}

const config = parseRunConfig({
  name: 'resume-check',
  seed: 7,
  dataset: 'mnist',
  model: {
    kind: 'sequential',
    inputShape: [8, 8, 1],
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
      { type: 'batchNorm' },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 16, activation: 'relu' },
      { type: 'dropout', rate: 0.3 },
      { type: 'dense', units: 4 },
    ],
  },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.01 },
  schedule: { type: 'cosine', decaySteps: 40, warmupSteps: 3 },
  training: { epochs: 3, batchSize: 16, validationSplit: 0.2, checkpointEverySteps: 5 },
  backend: 'reference',
});

describe('checkpoint resume', () => {
  it('a run resumed from a mid-epoch checkpoint ends with bit-identical parameters, optimizer state and history', async () => {
    const data = syntheticClassification(200, 8, 4, 3);
    const full = await createModel(config);
    await full.fit(data);

    const dir = tempDir();
    const first = await createModel(config);
    await first.fit(data, { checkpointDir: dir, maxSteps: 13 });
    await first.saveCheckpoint(dir);
    expect(first.state.step).toBe(13);
    expect(first.state.position.batch).toBeGreaterThan(0); // mid-epoch: the hard case

    const resumed = await createModel(config);
    const file = (await latestCheckpoint(dir))!.path;
    await resumed.restore(file);
    expect(resumed.state.step).toBe(13);
    await resumed.fit(data, { checkpointDir: dir });

    expect(resumed.state.step).toBe(full.state.step);
    expect(resumed.params.checksum()).toBe(full.params.checksum());
    expect(Buffer.from(resumed.params.values.data.buffer).equals(Buffer.from(full.params.values.data.buffer))).toBe(true);
    const opt = (m: typeof full) => m.optimizer.stateTensors().map((s) => Buffer.from(s.tensor.data.slice().buffer).toString('base64'));
    expect(opt(resumed)).toEqual(opt(full));
    expect(resumed.state.history.map((h) => [h.trainLoss, h.valLoss, h.valAccuracy])).toEqual(full.state.history.map((h) => [h.trainLoss, h.valLoss, h.valAccuracy]));
  });

  it('a checkpoint with one flipped data byte is rejected and leaves the model untouched', async () => {
    const data = syntheticClassification(64, 8, 4, 5);
    const dir = tempDir();
    const model = await createModel(config);
    await model.fit(data, { checkpointDir: dir, maxSteps: 2 });
    const file = await model.saveCheckpoint(dir);
    const contents = await readCheckpoint(file);
    const tampered = path.join(dir, 'ckpt-tampered.safetensors');
    await writeCheckpointAtomic(tampered, contents);
    const { readFileSync, writeFileSync } = await import('node:fs');
    const bytes = readFileSync(tampered);
    bytes[bytes.length - 3]! ^= 0x40;
    writeFileSync(tampered, bytes);

    const fresh = await createModel(config);
    const before = fresh.params.checksum();
    await expect(fresh.restore(tampered)).rejects.toThrow(/checksum/i);
    expect(fresh.params.checksum()).toBe(before);
  });

  it('restoring a checkpoint into a different model is refused with a clear error', async () => {
    const data = syntheticClassification(64, 8, 4, 5);
    const dir = tempDir();
    const model = await createModel(config);
    await model.fit(data, { maxSteps: 1 });
    const file = await model.saveCheckpoint(dir);
    const other = await createModel(parseRunConfig({ ...config.raw, model: { kind: 'sequential', inputShape: [64], layers: [{ type: 'dense', units: 4 }] } }));
    await expect(other.restore(file)).rejects.toThrow(/parameters but the model has/);
  });

  it('a checkpoint whose metadata is malformed is refused naming the file and the field, and leaves the model untouched', async () => {
    const data = syntheticClassification(64, 8, 4, 5);
    const dir = tempDir();
    const model = await createModel(config);
    await model.fit(data, { maxSteps: 2 });
    const file = await model.saveCheckpoint(dir);
    const contents = await readCheckpoint(file);
    const cases: [string, (meta: Record<string, unknown>) => void, RegExp][] = [
      ['position', (m) => { m['position'] = { epoch: -1, batch: 0 }; }, /metadata field position\.epoch: must be ≥ 0/],
      ['history', (m) => { m['history'] = [{ epoch: 1, trainLoss: 'low' }]; }, /metadata field history\[0\]\.trainLoss: must be a number \(got "low"\)/],
      ['step', (m) => { delete m['step']; }, /metadata field step: is required/],
      ['optimizer', (m) => { m['optimizer'] = 'adam'; }, /metadata field optimizer: must be a map/],
    ];
    const fresh = await createModel(config);
    const before = fresh.params.checksum();
    for (const [name, spoil, message] of cases) {
      const meta = JSON.parse(JSON.stringify(contents.meta)) as Record<string, unknown>;
      spoil(meta);
      const bad = path.join(dir, `ckpt-bad-${name}.safetensors`);
      await writeCheckpointAtomic(bad, { meta: meta as typeof contents.meta, tensors: contents.tensors });
      const error = await fresh.restore(bad).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as Error).message).toContain(bad);
      expect((error as Error).message).toMatch(message);
      expect(fresh.params.checksum()).toBe(before);
      expect(fresh.state.step).toBe(0);
    }
  });
});
