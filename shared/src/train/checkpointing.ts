import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { checkpointFileName, readCheckpoint, writeCheckpointAtomic } from '../checkpoint/store.js';
import type { CheckpointContents } from '../checkpoint/format.js';
import type { JsonObject } from '../config/validate.js';
import { CheckpointError } from '../errors.js';
import type { Model } from './model.js';
import type { EarlyStoppingState } from './early-stopping.js';
import type { EpochRecord } from './history.js';

/** Where training resumes: the next epoch and the next batch within it. */
export interface TrainingPosition {
  epoch: number;
  batch: number;
}

/**
 * What a checkpoint holds, beyond the tensors: enough to continue exactly as the uninterrupted
 * run would have. Note [PRNG state]: every random draw after initialisation is derived from
 * (seed, epoch) for shuffling and (seed, step, micro-batch) for dropout/VAE noise, so the seed
 * plus the step counter ARE the complete generator state; both are stored.
 */
interface TrainingMeta {
  format: 'gradmesh-training-state';
  version: 1;
  config: JsonObject;
  seed: number;
  step: number;
  position: TrainingPosition;
  optimizer: { name: string; step: number };
  history: EpochRecord[];
  earlyStopping: EarlyStoppingState | null;
  epochInProgress: { lossSum: number; count: number; correct: number | null; extras: Record<string, number>; seconds: number };
  parameterCount: number;
  /** sha256 of the parameters, so a resumed run can prove it restored the same values. */
  paramsChecksum: string;
}

export async function saveTrainingState(dir: string, model: Model): Promise<string> {
  await mkdir(dir, { recursive: true });
  const e = model.epochInProgress;
  const meta: TrainingMeta = {
    format: 'gradmesh-training-state',
    version: 1,
    config: model.config.raw,
    seed: model.config.seed,
    step: model.step,
    position: model.position,
    optimizer: { name: model.optimizer.name, step: model.optimizer.stepCount },
    history: model.history,
    earlyStopping: model.earlyStopping ?? null,
    epochInProgress: { lossSum: e.lossSum, count: e.count, correct: e.correct ?? null, extras: e.extras, seconds: e.seconds },
    parameterCount: model.params.values.size,
    paramsChecksum: model.params.checksum(),
  };
  const tensors: CheckpointContents['tensors'] = model.params.entries.map((p) => ({
    name: `params/${p.layer}/${p.spec.name}`,
    shape: [...p.spec.shape],
    data: p.value.data.slice(),
  }));
  for (const s of model.optimizer.stateTensors()) tensors.push({ name: `optimizer/${s.name}`, shape: [...s.tensor.shape], data: s.tensor.data.slice() });
  if (model.bestValues) tensors.push({ name: 'earlyStopping/bestParams', shape: [model.bestValues.length], data: model.bestValues.slice() });
  const file = path.join(dir, checkpointFileName(model.step));
  await writeCheckpointAtomic(file, { meta: meta as unknown as JsonObject, tensors });
  return file;
}

export async function restoreTrainingState(file: string, model: Model): Promise<void> {
  const contents = await readCheckpoint(file);
  const meta = contents.meta as unknown as TrainingMeta;
  if (meta.format !== 'gradmesh-training-state') throw new CheckpointError(file, `not a gradmesh training checkpoint (format ${JSON.stringify(meta.format)})`);
  if (meta.parameterCount !== model.params.values.size) {
    throw new CheckpointError(file, `holds ${meta.parameterCount} parameters but the model has ${model.params.values.size}`, {
      hint: 'the checkpoint was written for a different model spec; use the config it was trained with',
    });
  }
  const byName = new Map(contents.tensors.map((t) => [t.name, t]));
  const take = (name: string, target: Float32Array): void => {
    const t = byName.get(name);
    if (!t) throw new CheckpointError(file, `has no tensor "${name}"`, { hint: 'the checkpoint does not match this model/optimizer' });
    if (t.data.length !== target.length) throw new CheckpointError(file, `tensor "${name}" has ${t.data.length} values, the model needs ${target.length}`);
    target.set(t.data);
  };
  for (const p of model.params.entries) take(`params/${p.layer}/${p.spec.name}`, p.value.data);
  if (meta.optimizer.name !== model.optimizer.name) {
    throw new CheckpointError(file, `was trained with optimizer "${meta.optimizer.name}", the config says "${model.optimizer.name}"`);
  }
  for (const s of model.optimizer.stateTensors()) take(`optimizer/${s.name}`, s.tensor.data);
  model.optimizer.setStepCount(meta.optimizer.step);
  const best = byName.get('earlyStopping/bestParams');
  model.bestValues = best ? best.data.slice() : undefined;
  model.step = meta.step;
  model.position = { ...meta.position };
  model.history = meta.history;
  model.earlyStopping = meta.earlyStopping ?? undefined;
  const e = meta.epochInProgress;
  model.epochInProgress = { lossSum: e.lossSum, count: e.count, extras: e.extras, seconds: e.seconds, ...(e.correct === null ? {} : { correct: e.correct }) };
  const restored = model.params.checksum();
  if (restored !== meta.paramsChecksum) throw new CheckpointError(file, 'parameters restored with a different checksum than was saved');
}
