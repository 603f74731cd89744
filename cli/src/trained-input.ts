import { sizeOf, checkSampleShape, ConfigError, loadInferenceData, loadTrainedModel, type InferenceData, type TrainedModel } from '@gradmesh/shared/internal';
import { positiveInt } from './args.js';

/** The flags predict and evaluate share: which checkpoint, which data, which backend. */
export const TRAINED_INPUT_OPTIONS = {
  checkpoint: { type: 'string' },
  data: { type: 'string' },
  labels: { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
} as const;

export const TRAINED_INPUT_USAGE = `  --checkpoint <file|dir>  a checkpoint, or a --checkpoint-dir (its newest one)     (required)
  --data <file>            a dataset spec (.json, as a config's "dataset"; its test split),
                           a CSV (.csv; the label column may be left out for predict)
                           an IDX images file, a .png image or a directory of them  (required)
  --labels <file>          the IDX labels file for an IDX images file
  --backend <name>         native (default; pool where the addon cannot load), pool or reference
  --threads <n>            pool threads (default: GRADMESH_THREADS or the cores available)`;

/**
 * The model rebuilt from the checkpoint and the data it will run on, checked against each other before
 * any work: a sample must hold as many values as the model's input.
 */
export async function openTrainedInput(values: Record<string, unknown>, command: string): Promise<{ trained: TrainedModel; input: InferenceData; dataPath: string }> {
  const checkpoint = values['checkpoint'];
  if (typeof checkpoint !== 'string') throw new ConfigError('--checkpoint', 'is required', { hint: `e.g. gradmesh ${command} --checkpoint checkpoints/ --data test.csv` });
  const dataPath = values['data'];
  if (typeof dataPath !== 'string') throw new ConfigError('--data', 'is required', { hint: 'a dataset spec .json, a .csv or an IDX images file' });
  const backend = values['backend'] ?? 'native';
  if (backend !== 'pool' && backend !== 'native' && backend !== 'reference') throw new ConfigError('--backend', 'must be pool, native or reference', { value: backend });
  const threads = positiveInt(values['threads'], '--threads');
  const labels = values['labels'] as string | undefined;
  const trained = await loadTrainedModel(checkpoint, { backend, ...(threads ? { threads } : {}) });
  try {
    const { model, config } = trained;
    const classes = model.kind === 'sequential' ? model.network.outputShape.at(-1) : undefined;
    const input = loadInferenceData(dataPath, {
      trainedOn: config.dataset, classes, task: config.task, inputSize: sizeOf(model.network.inputShape), ...(labels ? { labels } : {}),
      ...(model.classNames === undefined ? {} : { classNames: model.classNames }),
    });
    checkSampleShape(input.data, model.network.inputShape);
    return { trained, input, dataPath };
  } catch (error) {
    await trained.model.close();
    throw error;
  }
}
