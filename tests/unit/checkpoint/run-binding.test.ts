import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bindResume,
  CheckpointError,
  configChanges,
  createModel,
  DirectoryCheckpointStore,
  parseRunConfig,
  readCheckpoint,
  readTrainingCheckpointInfo,
  refuseForeignCheckpoints,
  runIdentity,
  writeCheckpointAtomic,
  type TrainingCheckpointInfo,
} from '../../../shared/src/internal.js';
import { syntheticClassification } from '../../helpers/synthetic.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-run-binding-'));
  dirs.push(d);
  return d;
}

const base = {
  name: 'binding',
  seed: 5,
  dataset: { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'label' },
  model: { kind: 'sequential', inputShape: [8, 8, 1], layers: [{ type: 'flatten' }, { type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 4 }] },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.01 },
  training: { epochs: 2, batchSize: 16 },
  backend: 'reference',
};
type Spec = typeof base;
const edit = (f: (c: Spec) => void): Spec => {
  const c = JSON.parse(JSON.stringify(base)) as Spec;
  f(c);
  return c;
};

describe('runIdentity (a pure function of the model and dataset sections)', () => {
  const id = runIdentity(parseRunConfig(base));

  it('keeps both hashes when only training settings change: learning rate, epochs, batch size, schedule, seed, name', () => {
    for (const changed of [
      edit((c) => (c.optimizer.learningRate = 0.001)),
      edit((c) => (c.training.epochs = 40)),
      edit((c) => (c.training.batchSize = 64)),
      edit((c) => Object.assign(c, { schedule: { type: 'cosine', decaySteps: 10 }, seed: 9, name: 'other' })),
    ]) expect(runIdentity(parseRunConfig(changed))).toEqual(id);
  });

  it('changes the model hash (only) for a changed layer, unit count or input shape', () => {
    for (const changed of [
      edit((c) => (c.model.layers[1]!.units = 32)),
      edit((c) => (c.model.layers[1]!.activation = 'tanh')),
      edit((c) => c.model.layers.splice(2, 0, { type: 'dense', units: 8, activation: 'relu' })),
      edit((c) => (c.model.inputShape = [64])),
    ]) {
      const other = runIdentity(parseRunConfig(changed));
      expect(other.modelHash).not.toBe(id.modelHash);
      expect(other.dataHash).toBe(id.dataHash);
    }
  });

  it('changes the data hash (only) for another data set or data file', () => {
    for (const changed of [edit((c) => (c.dataset.train = 'other.csv')), edit((c) => (c.dataset.labelColumn = 'y')), edit((c) => Object.assign(c, { dataset: 'mnist' }))]) {
      const other = runIdentity(parseRunConfig(changed));
      expect(other.dataHash).not.toBe(id.dataHash);
      expect(other.modelHash).toBe(id.modelHash);
    }
  });

  it('does not depend on the order of keys', () => {
    const reordered = { ...base, model: { layers: base.model.layers.map((l) => Object.fromEntries(Object.entries(l).reverse())), inputShape: [8, 8, 1], kind: 'sequential' } };
    expect(runIdentity(parseRunConfig(reordered))).toEqual(id);
  });
});

describe('configChanges', () => {
  it('lists every changed leaf as a dotted path with both values, and nothing for a reordered equal config', () => {
    const after = edit((c) => {
      c.optimizer.learningRate = 0.001;
      c.training.epochs = 5;
    });
    expect(configChanges(base as never, after as never)).toEqual([
      { field: 'optimizer.learningRate', before: 0.01, after: 0.001 },
      { field: 'training.epochs', before: 2, after: 5 },
    ]);
    const reversed = (v: unknown): unknown => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v);
    expect(configChanges(base as never, reversed(base) as never)).toEqual([]);
    expect(configChanges({ a: 1 }, { a: 1, b: { c: 2 } })).toEqual([{ field: 'b', before: undefined, after: { c: 2 } }]);
  });
});

function info(over: Partial<TrainingCheckpointInfo> & { config: Spec }): TrainingCheckpointInfo {
  const config = parseRunConfig(over.config);
  return {
    where: '/ck/ckpt-0000000012.safetensors',
    state: { step: 12, position: { epoch: 1, batch: 3 }, history: [], earlyStopping: null, epochInProgress: { lossSum: 0, count: 0, correct: null, extras: {}, seconds: 0 }, skipped: [] },
    run: { id: 'train-old', ...runIdentity(config) },
    stoppedBy: undefined,
    ...over,
    config: over.config as never,
  };
}

describe('bindResume', () => {
  it('refuses a checkpoint of another model: a CheckpointError naming the folder, both runs\' hashes and what differs', () => {
    const saved = info({ config: base });
    const other = parseRunConfig(edit((c) => (c.model.layers[1]!.units = 32)), { file: 'wide.json' });
    let error: unknown;
    try {
      bindResume(saved, other, '/ck', 'cluster-7');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CheckpointError);
    const message = (error as Error).message;
    expect(message).toMatch(/^\/ck: its newest checkpoint \/ck\/ckpt-0000000012\.safetensors \(step 12\) belongs to run "train-old"/);
    expect(message).toContain(`model ${saved.run!.modelHash.slice(0, 12)}`);
    expect(message).toContain(`run "cluster-7" (config (wide.json)) has model ${runIdentity(other).modelHash.slice(0, 12)}`);
    expect(message).toMatch(/a different model \(/);
    expect(() => bindResume(saved, parseRunConfig(edit((c) => (c.dataset.train = 'b.csv'))), '/ck')).toThrow(/this config has model .*: a different data set/);
  });

  it('allows a training change, lists it, and says a checkpoint written at a stop repeats 0 steps', () => {
    const binding = bindResume(info({ config: base, stoppedBy: 'SIGINT' }), parseRunConfig(edit((c) => (c.optimizer.learningRate = 0.001))), '/ck');
    expect(binding.changes).toEqual([{ field: 'optimizer.learningRate', before: 0.01, after: 0.001 }]);
    expect(binding.lines).toEqual([
      'resumed from /ck/ckpt-0000000012.safetensors at step 12 (epoch 2, batch 3), run "train-old"',
      'repeats 0 steps: the checkpoint was written when the previous run stopped (SIGINT)',
      'config changes since the checkpoint: optimizer.learningRate 0.01 → 0.001',
    ]);
  });

  it('resumes a checkpoint of an unknown run (written before runs were recorded) with a warning line', () => {
    const binding = bindResume(info({ config: base, run: undefined }), parseRunConfig(edit((c) => (c.model.layers[1]!.units = 32))), '/ck');
    expect(binding.run).toBeUndefined();
    expect(binding.lines[1]).toMatch(/^warning: the checkpoint was written before gradmesh recorded runs/);
  });
});

describe('checkpoints bound to their run', () => {
  const config = parseRunConfig(base);
  const data = syntheticClassification(64, 8, 4, 3);

  it('record the run id and both hashes; a restored model takes over the run id; an old checkpoint without them reads as an unknown run and still restores', async () => {
    const dir = tempDir();
    const model = await createModel(config);
    await model.fit(data, { checkpointDir: dir, maxSteps: 3 });
    const file = path.join(dir, readdirSync(dir).at(-1)!);
    const saved = await readTrainingCheckpointInfo(file);
    expect(saved.run).toEqual({ id: model.runId, ...runIdentity(config) });
    expect(model.runId).toMatch(/^train-[0-9a-z]+-[0-9a-f]{6}$/);
    expect(saved.stoppedBy).toBe('--max-steps');

    const resumed = await createModel(config);
    expect(resumed.runId).not.toBe(model.runId);
    await resumed.restore(file);
    expect(resumed.runId).toBe(model.runId);

    const contents = await readCheckpoint(file);
    const { run: _run, stoppedBy: _stop, ...oldMeta } = contents.meta;
    const old = path.join(tempDir(), 'ckpt-0000000003.safetensors');
    await writeCheckpointAtomic(old, { ...contents, meta: oldMeta });
    expect((await readTrainingCheckpointInfo(old)).run).toBeUndefined();
    const fromOld = await createModel(config);
    const ownId = fromOld.runId;
    await fromOld.restore(old);
    expect(fromOld.runId).toBe(ownId);
    expect(fromOld.params.checksum()).toBe(model.params.checksum());
  });

  it('a folder with another run\'s checkpoints is refused to a fresh run and to another run; the run itself, or a resume from its newest file, may write on', async () => {
    const dir = tempDir();
    const store = new DirectoryCheckpointStore(dir);
    await refuseForeignCheckpoints(store, undefined, 'hint'); // empty: fine
    const model = await createModel(config);
    await model.fit(data, { checkpointDir: dir, maxSteps: 2 });
    await expect(refuseForeignCheckpoints(store, undefined, 'use another folder')).rejects.toThrow(
      new RegExp(`^${dir}: holds 1 checkpoint of run "${model.runId}", the newest ckpt-0000000002\\.safetensors \\(step 2\\); a fresh run would overwrite them \\(use another folder\\)$`),
    );
    await expect(refuseForeignCheckpoints(store, 'train-someone-else', 'h')).rejects.toThrow(/run "train-someone-else" would overwrite them/);
    await refuseForeignCheckpoints(store, model.runId, 'h');
    await refuseForeignCheckpoints(store, undefined, 'h', path.join(dir, 'ckpt-0000000002.safetensors'));
  });
});
