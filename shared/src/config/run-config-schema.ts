import { z } from 'zod';
import { datasetSpec } from '../data/spec.js';
import { runLossSpec } from '../losses/spec.js';
import { modelSpec } from '../model/build.js';
import { optimizerSpec } from '../optimizers/spec.js';
import { scheduleSpec } from '../schedules/spec.js';
import { DEFAULT_BUCKET_BYTES } from '../train/overlap/gradient-buckets.js';
import { taskSpec } from './task.js';
import { hinted, nonEmptyString, nonNegative, nonNegativeInt, options, positive, positiveInt } from './schema-parts.js';

/**
 * The run configuration, declared once: validation, the TypeScript types (run-config.ts) and the
 * published JSON Schema (`npm run schema` → schema/run-config.schema.json) all come from here.
 */

const MONITORS = ['valLoss', 'valAccuracy'] as const;
/** Keras' names of the monitored figures (Note [one naming scheme] in cli/src/progress.ts): refused with gradmesh's name. */
const KERAS_MONITORS: Readonly<Record<string, (typeof MONITORS)[number]>> = { val_loss: 'valLoss', val_accuracy: 'valAccuracy', val_acc: 'valAccuracy' };

export const earlyStoppingOptions = options({
  monitor: z
    .enum(MONITORS, {
      error: (issue) => {
        const gradmeshName = KERAS_MONITORS[String(issue.input)];
        return gradmeshName === undefined ? undefined : hinted(`is Keras' name; gradmesh prints and reports it as ${gradmeshName}`, `write "monitor": "${gradmeshName}"`);
      },
    })
    .default('valLoss')
    .describe('The validation figure to watch, named as printed and reported: valLoss or valAccuracy.'),
  patience: nonNegativeInt().default(2).describe('Epochs without improvement before stopping.'),
  minDelta: nonNegative().default(0).describe('Smallest change that counts as an improvement.'),
  restoreBestWeights: z.boolean().default(true),
});

/** `true` is early stopping with the defaults, `false` or absent none. */
const earlyStoppingSpec = z
  .union([z.boolean(), earlyStoppingOptions], { error: 'must be true, false or an object' })
  .optional()
  .transform((v) => (v === true ? earlyStoppingOptions.parse({}) : v === false ? undefined : v))
  .describe('Stop when the validation metric stops improving.');

/** The paths gradient pieces can take between ranks (`training.allreduce.transport`). */
export const ALLREDUCE_TRANSPORTS = ['nats', 'direct'] as const;
export type AllreduceTransport = (typeof ALLREDUCE_TRANSPORTS)[number];
/** The transport of a run that names none. */
export const DEFAULT_ALLREDUCE_TRANSPORT: AllreduceTransport = 'direct';

/** How the cluster all-reduces gradients (a communication hook, like PyTorch DDP's). Ignored by one process. */
export const allreduceOptions = options({
  transport: z
    .enum(ALLREDUCE_TRANSPORTS)
    .default(DEFAULT_ALLREDUCE_TRANSPORT)
    .describe('direct: gradient pieces travel rank to rank over TCP links authenticated per generation (NATS carries control only); nats: through nats-server.'),
  linkEncryption: z
    .enum(['none', 'tls'])
    .default('none')
    .describe('tls: direct links carry gradient pieces inside TLS 1.2 keyed from their handshake (encrypted and tamper-evident; costs CPU per byte). For transport nats, secure NATS itself (TLS).'),
  compression: z
    .enum(['none', 'bf16', 'fp16'])
    .default('none')
    .describe('Send gradient pieces as bf16 or fp16 (half the bytes; fp16 with a power-of-two scale per piece against overflow). Sums stay float32 in rank order, so replicas stay bitwise identical.'),
  overlap: z
    .boolean()
    .default(true)
    .describe('All-reduce gradient buckets while backward still runs (PyTorch DDP style). Results are bitwise the same either way.'),
  bucketBytes: z
    .int()
    .min(4)
    .max(1 << 30)
    .default(DEFAULT_BUCKET_BYTES)
    .describe('Bucket size for the overlapped all-reduce: layers are grouped in reverse order until a bucket holds at least this many bytes.'),
}).superRefine((o, ctx) => {
  if (o.linkEncryption === 'tls' && o.transport === 'nats') {
    ctx.addIssue({ code: 'custom', path: ['linkEncryption'], message: 'encrypts direct links; with transport "nats" the pieces go through nats-server: secure NATS with TLS instead (see the README, Security)' });
  }
});

export const trainingSpec = options({
  epochs: positiveInt().default(5),
  batchSize: positiveInt().default(64).describe('Global batch size (split across workers and threads).'),
  validationSplit: z.number().min(0).max(0.9).default(0).describe('Fraction of the training set held out for validation (Keras: the last samples, before shuffling).'),
  dropLast: z.boolean().default(false).describe('Drop the last, short batch of an epoch (otherwise it is used, weighted by its size).'),
  clipNorm: positive().optional().describe('Clip the global gradient norm to this.'),
  clipValue: positive().optional().describe('Clip every gradient element to ±this.'),
  earlyStopping: earlyStoppingSpec,
  checkpointEverySteps: positiveInt().optional().describe('Also checkpoint every N steps (checkpoints are always written at the end of each epoch).'),
  microBatch: positiveInt().default(32).describe('Samples per micro-batch on every backend: the fixed split that keeps results independent of the thread count.'),
  allreduce: allreduceOptions.prefault({}).describe('How the cluster all-reduces gradients.'),
}).transform((t) => ({
  ...t,
  // Unset options stay as keys holding undefined, so that code reads `training.clipNorm` as "number or none".
  clipNorm: t.clipNorm,
  clipValue: t.clipValue,
  checkpointEverySteps: t.checkpointEverySteps,
}));

const BACKEND_TYPES = ['reference', 'pool', 'native'] as const;

export const backendSpec = z
  .union(
    [
      z.enum(BACKEND_TYPES).transform((type) => ({ type, threads: undefined as number | undefined })),
      options({
        type: z.enum(BACKEND_TYPES).default('native'),
        threads: positiveInt().max(256).optional().describe('Pool threads (default: available cores or GRADMESH_THREADS).'),
      }),
    ],
    { error: 'must be "reference", "pool", "native" or an object' },
  )
  .default({ type: 'native', threads: undefined })
  .transform((b) => ({ type: b.type, threads: b.threads }))
  .describe('Compute backend: "native" (default: pool threads with OpenBLAS GEMMs; falls back to pool, with one line, where the addon cannot load), "pool" (WASM SIMD threads, the same bits on every CPU) or "reference" (plain TypeScript).');

export const runConfigSpec = options({
  $schema: z.string().optional().describe('The JSON Schema of this file, for editors.'),
  name: nonEmptyString().default('run'),
  description: z.string().optional(),
  seed: z.int().min(0).max(2 ** 32 - 1).default(42).describe('Seed of every random stream of the run.'),
  task: taskSpec,
  dataset: datasetSpec,
  model: modelSpec,
  loss: runLossSpec.optional(),
  optimizer: optimizerSpec,
  schedule: scheduleSpec.optional(),
  training: trainingSpec.prefault({}),
  backend: backendSpec,
}, 'a JSON object').describe('A gradmesh run: data, model, loss, optimizer, schedule and training.');
