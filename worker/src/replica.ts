import {
  ClusterError,
  ConfigError,
  MAX_STEP_WINDOW,
  createModel,
  encodeReplicaState,
  restoreReplicaState,
  preflightRun,
  emptyStats,
  epochPermutation,
  evaluateSamples,
  parseRunConfig,
  saveTrainingCheckpoint,
  shardRange,
  applyUpdate,
  beginUpdate,
  bulkFloats,
  batchesPerEpoch,
  learningRateOfRun,
  injectedNan,
  poisonGradient,
  layerSlotElements,
  planGradientBuckets,
  wallMs,
  type StepTimeline,
  ParameterGates,
  type GradientBucket,
  type InjectedNan,
  type ParameterGateRef,
  type UpdateParts,
  type UpdateInParts,
  type UpdateRange,
  type BatchStats,
  type CheckpointBody,
  type CheckpointedBody,
  type CheckpointSource,
  type CheckpointStore,
  type Dataset,
  type EpochEndBody,
  type EpochEndedBody,
  type EvaluateBody,
  type EvaluatedBody,
  type JsonObject,
  type Model,
  type ReadyBody,
  type RunConfig,
  type StepBody,
  type StepDoneBody,
} from '@gradmesh/shared/internal';
import type { AllReduce, AllReduceStep } from './allreduce/allreduce.js';
import { beginAfter } from './allreduce/begin-after.js';
import { stepShard, type StepShard } from './shard.js';
import type { StepBounds } from './command-bounds.js';

export interface ReplicaOptions {
  readonly config: JsonObject;
  readonly baseDir: string;
  readonly workerId: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly generation: number;
  readonly threads: number;
  readonly resumeFrom?: CheckpointSource;
}

/**
 * One rank's copy of the model and of the data, and what it does for each coordinator command. Every
 * replica starts from the same parameters (the seed, or the same checkpoint), applies the same optimizer
 * step to the same all-reduced gradient sums, and so stays bitwise identical to the others.
 *
 * A step does exactly what one step of Model.fit does (shared/src/train/model.ts), with the gradient SUM of
 * the global batch assembled from the ranks' shard sums by the all-reduce instead of by one process:
 *   permutation(seed, epoch) → global batch → this rank's shard → computeGradients (slot sums) →
 *   allReduce(slots) → applyUpdate(lr, global count) → step++.
 * The NaN/Inf guard (Note [NaN/Inf guard] in shared/src/train/loop/training-loop.ts): the rank reports whether
 * its local slot sums were finite, and skips applyUpdate when the REDUCED sums are not. The reduced vector is
 * bitwise identical on every rank (rsag.ts), so every replica takes the same decision without a round trip,
 * and parameters, optimizer state (its step counter included) and running statistics stay identical.
 */
/**
 * The parameters (BatchNorm running statistics included) and optimizer state before one step, in buffers
 * allocated once.
 */
class UndoSlot {
  readonly #values: Float32Array;
  readonly #optimizer: Float32Array[];
  #optimizerStep = 0;
  /** The step the slot holds the state before; −1 when it holds nothing. */
  step = -1;

  constructor(model: Model) {
    this.#values = new Float32Array(model.params.values.size);
    this.#optimizer = model.optimizer.stateTensors().map((t) => new Float32Array(t.tensor.size));
  }

  /** The bytes one slot holds for `model`: its parameters and optimizer state. */
  static bytes(model: Model): number {
    return 4 * (model.params.values.size + model.optimizer.stateTensors().reduce((a, t) => a + t.tensor.size, 0));
  }

  keep(model: Model, step: number): void {
    // The native memmove where it loads: V8 copies out of shared memory at less than half the speed (Note [shared memory copies]).
    const { copy } = bulkFloats();
    copy(this.#values, model.params.values.data);
    model.optimizer.stateTensors().forEach((t, i) => copy(this.#optimizer[i]!, t.tensor.data));
    this.#optimizerStep = model.optimizer.stepCount;
    this.step = step;
  }

  restore(model: Model): void {
    const { copy } = bulkFloats();
    copy(model.params.values.data, this.#values);
    model.optimizer.stateTensors().forEach((t, i) => copy(t.tensor.data, this.#optimizer[i]!));
    model.optimizer.setStepCount(this.#optimizerStep);
  }
}

/**
 * Note [steps to undo]
 * The state before each of the last W steps (one copy per step, into slot step mod W; slots are allocated as
 * steps first need them). W is the window of steps the coordinator keeps outstanding (Note [steps are sent
 * ahead] in coordinator/src/cluster-step-driver.ts): a replica may have applied step s — whose reply the
 * coordinator never counted (a rank was lost, a NATS restart dropped replies, the reply was still held to go
 * out with the next ones) — and every step sent after it, up to s + W − 1, before its generation ends; the next
 * generation starts at s, so the replica must go back over all of them. With fewer slots the state before s
 * would already be overwritten by a later step's copy.
 *
 * W comes from a memory budget (undoBudget() over the bytes of one copy, UndoSlot.bytes), at least 2 (the one-step-ahead
 * scheme every model gets) and at most UNDO_STEPS_CAP (8); the replica announces it in `ready.stepWindow`.
 */
class UndoBuffer {
  readonly #model: Model;
  readonly #slots: UndoSlot[] = [];
  readonly depth: number;

  constructor(model: Model, depth: number) {
    this.#model = model;
    this.depth = depth;
    this.#slots.push(new UndoSlot(model));
  }

  keep(step: number): void {
    const i = step % this.depth;
    while (this.#slots.length <= i) this.#slots.push(new UndoSlot(this.#model));
    this.#slots[i]!.keep(this.#model, step);
  }

  /** Whether the state before `step` is held. */
  holds(step: number): boolean {
    return step >= 0 && this.#slots.some((s) => s.step === step);
  }

  /** Restores the state before `step` (which `holds`) and keeps every slot: the step is abandoned, not undone across generations. */
  revert(step: number): void {
    this.#slots.find((s) => s.step === step)!.restore(this.#model);
  }

  /** Restores the state before `step` (which `holds`); every slot is then forgotten. */
  restore(step: number): void {
    this.#slots.find((s) => s.step === step)!.restore(this.#model);
    this.forget();
  }

  forget(): void {
    for (const s of this.#slots) s.step = -1;
  }
}

/** Set GRADMESH_EARLY_STEP=off to run every step after the previous one's update (for A/B measurements). */
const EARLY_HAND_OUT = process.env.GRADMESH_EARLY_STEP !== 'off';
/** Set GRADMESH_UPDATE_AS_REDUCED=off to update only once the whole all-reduce is over (for A/B measurements). */
const UPDATE_AS_REDUCED = process.env.GRADMESH_UPDATE_AS_REDUCED !== 'off';

/**
 * The memory the undo copies may take (Note [steps to undo]): 32 MiB, or GRADMESH_UNDO_BUDGET_MB (tests, A/B). Read
 * when a replica is made, so a bad value fails that replica's creation like any other input error.
 */
function undoBudget(mb: string | undefined = process.env.GRADMESH_UNDO_BUDGET_MB): number {
  if (mb === undefined || mb === '') return 32 * 1024 * 1024;
  const value = Number(mb);
  if (!Number.isFinite(value) || value < 0) throw new ConfigError('GRADMESH_UNDO_BUDGET_MB', `must be a number of MiB ≥ 0 (got ${JSON.stringify(mb)})`, { hint: 'unset it for the default of 32' });
  return value * 1024 * 1024;
}

/** Windows beyond this gained nothing measurable (W = 8 and 11 alike on the CNN) and only hold memory. */
const UNDO_STEPS_CAP = Math.min(8, MAX_STEP_WINDOW);

/** How many steps a replica of `model` can undo within the budget: 2 to UNDO_STEPS_CAP (Note [steps to undo]). */
export function undoDepth(model: Model, budget = undoBudget()): number {
  return Math.max(2, Math.min(UNDO_STEPS_CAP, Math.floor(budget / Math.max(1, UndoSlot.bytes(model)))));
}

/** A step whose all-reduce is begun and whose gradients are being computed. */
interface StepInFlight {
  readonly command: StepBody;
  readonly allReduce: AllReduce;
  readonly shard: StepShard;
  readonly running: AllReduceStep;
  /** Set when handed out before its parameters were final. */
  readonly gate: ParameterGateRef | undefined;
  readonly handedOut: number;
  readonly handedWall: number;
  /** Wall times of the bucket releases (the step's timeline's array once the step runs). */
  releases: number[];
  /** Whether this rank's local slot sums were finite, bucket by bucket as released. */
  localFinite: boolean;
  /** Buckets released so far (in order). */
  released: number;
  /** Releases bucket `b` (the next one) to the all-reduce, after checking and recording it. */
  release(bucket: number): void;
  /** Settles once every bucket is released (or the computation failed, which cancels the all-reduce). */
  compute: Promise<BatchStats>;
}

export class Replica {
  readonly model: Model;
  readonly config: RunConfig;
  readonly train: Dataset;
  readonly validation: Dataset | undefined;
  readonly test: Dataset;
  #rank: number;
  #worldSize: number;
  readonly #workerId: string;
  #generation: number;
  readonly #threads: number;
  #permutation: { epoch: number; order: Uint32Array } | undefined;
  /** Steps this replica has taken, skipped ones included (the coordinator's training state says which step comes next). */
  #step: number;
  /** Test-only: the rank and step at which the local gradient is made NaN (GRADMESH_FAULT_NAN, shared fault-injection.ts). */
  readonly #fault: InjectedNan | undefined;
  /** The state before each of the last W steps, so steps that their generation did not complete can be undone (Note [steps to undo]). */
  readonly #undo: UndoBuffer;
  #stepBounds: StepBounds | undefined;
  #buckets: readonly GradientBucket[] | undefined;
  /** The next step, handed out during this one's update (Note [the next step starts during the update]). */
  #early: StepInFlight | undefined;
  /** The gates of early steps, made at the first one. */
  #gates: ParameterGates | undefined;
  /** The update's parts when a step was handed out early, and the ticket they open the gates for. */
  #parts: UpdateParts | undefined;
  #partTicket = 0;
  /**
   * performance.now() when the last step's update ended. A step handed out early counts its compute from its hand-out
   * plus the time its thread waited at the gates (BatchStats.gateWaitMs); from here only when the thread did not report it.
   */
  #updateEnded = 0;
  /** The buckets in forward order (the first layers first), as update ranges: one array, so the update plan stays cached. */
  #forwardRanges: readonly UpdateRange[] | undefined;

  private constructor(model: Model, config: RunConfig, data: { train: Dataset; validation: Dataset | undefined; test: Dataset }, options: ReplicaOptions) {
    this.model = model;
    this.config = config;
    this.train = data.train;
    this.validation = data.validation;
    this.test = data.test;
    this.#rank = options.rank;
    this.#worldSize = options.worldSize;
    this.#workerId = options.workerId;
    this.#generation = options.generation;
    this.#threads = options.threads;
    this.#step = model.state.step;
    this.#fault = injectedNan();
    this.#undo = new UndoBuffer(model, undoDepth(model));
  }

  get rank(): number {
    return this.#rank;
  }

  get worldSize(): number {
    return this.#worldSize;
  }

  /**
   * Takes rank `rank` of `worldSize` in generation `generation`, which starts at `startStep`. True when the
   * replica holds the state of that step: it is there, or it applied exactly that step in the previous
   * generation and undoes it (Note [redoing an interrupted step]); false when it needs a live replica's state.
   *
   * Note [redoing an interrupted step]
   * A generation ends while a step may be half done: some ranks applied it (their all-reduce had every piece),
   * others did not (a rank died before sending its pieces). The coordinator counts a step as done only when
   * every rank replied, so the next generation starts at the last step EVERY rank completed, and a replica that
   * is one step ahead restores the state it kept from before that step. The step is then computed again by the
   * new generation — never applied twice, never skipped.
   */
  joinGeneration(rank: number, worldSize: number, generation: number, startStep: number): boolean {
    this.#requireNoEarlyStep();
    this.#rank = rank;
    this.#worldSize = worldSize;
    this.#generation = generation;
    // Ahead by the steps it applied that the coordinator did not count: at most the window (Note [steps to undo]).
    if (this.#step > startStep && this.#step <= startStep + this.#undo.depth && this.#undo.holds(startStep)) {
      this.#undo.restore(startStep);
      this.#step = startStep;
    }
    return this.#step === startStep;
  }

  /** Restores a checkpoint (the run went back to it, e.g. after a coordinator restart); the replica is then at its step. */
  async restoreCheckpoint(source: CheckpointSource): Promise<void> {
    this.#requireNoEarlyStep();
    await this.model.restore(source);
    this.#step = this.model.state.step;
    this.#undo.forget();
  }

  /** This replica's state as bytes, for workers joining the generation (see shared/src/train/replica-state.ts). */
  encodeState(): Uint8Array {
    this.#requireNoEarlyStep();
    return encodeReplicaState(this.model, this.#step);
  }

  /** Loads a live replica's state (verified by its sha256 and parameter checksum); the replica is then at its step. */
  restoreState(bytes: Uint8Array, source: string): void {
    this.#requireNoEarlyStep();
    this.#step = restoreReplicaState(bytes, this.model, source);
    this.#undo.forget();
  }

  /** Builds the model and loads the data (and restores the checkpoint) the assignment names. */
  static async create(options: ReplicaOptions): Promise<Replica> {
    const config = parseRunConfig(options.config, { baseDir: options.baseDir });
    // This machine's data files and threads, checked against the model before any work (same checks as `train`).
    const pair = preflightRun({ config, world: options.worldSize, threads: { value: options.threads, flag: '--threads' } }).data;
    // The same split as Model.fit: the LAST validationSplit of the training file is held out.
    let train = pair.train;
    let validation: Dataset | undefined;
    if (config.training.validationSplit > 0) ({ train, validation } = pair.train.split(config.training.validationSplit));
    const model = await createModel(config, { threads: options.threads });
    // Rank 0's checkpoints carry the class names, as a single process's do (Model.fit sets them there).
    model.classNames = pair.train.classNames;
    try {
      if (options.resumeFrom !== undefined) await model.restore(options.resumeFrom);
    } catch (error) {
      await model.close();
      throw error;
    }
    return new Replica(model, config, { train, validation, test: pair.test }, options);
  }

  ready(): ReadyBody {
    return {
      workerId: this.#workerId,
      rank: this.rank,
      generation: this.#generation,
      checksum: this.model.params.checksum(),
      parameters: this.model.params.values.size,
      step: this.#step,
      trainCount: this.train.count,
      validationCount: this.validation?.count ?? 0,
      testCount: this.test.count,
      classes: this.train.classes,
      ...(this.train.classNames === undefined ? {} : { classNames: [...this.train.classNames] }),
      featureSize: this.train.featureSize,
      threads: this.#threads,
      stepWindow: this.#undo.depth,
    };
  }

  /** The run's bounds on a `step` command (worker/src/command-bounds.ts), from this replica's config and data. */
  get stepBounds(): StepBounds {
    if (this.#stepBounds === undefined) {
      const t = this.config.training;
      const batches = batchesPerEpoch(this.train.count, t.batchSize, t.dropLast);
      this.#stepBounds = { epochs: t.epochs, batchesPerEpoch: batches, lrAt: learningRateOfRun(this.config, batches), window: this.#undo.depth };
    }
    return this.#stepBounds;
  }

  /**
   * The gradient buckets every rank all-reduces (a pure function of the model's layout and the run's bucket size,
   * so the ranks agree); one bucket, the whole slot buffer, when the run does not overlap.
   */
  get gradientBuckets(): readonly GradientBucket[] {
    if (this.#buckets === undefined) {
      const { overlap, bucketBytes } = this.config.training.allreduce;
      const length = this.model.params.slots.data.length;
      this.#buckets = overlap ? planGradientBuckets(layerSlotElements(this.model.network.layers), bucketBytes) : [{ start: 0, end: length }];
    }
    return this.#buckets;
  }

  /**
   * Whether steps update each bucket as soon as it is reduced (Note [the next step starts before the all-reduce
   * ends]): several buckets, no clipping by global norm (it needs every gradient first), not switched off.
   */
  get updatesAsReduced(): boolean {
    return UPDATE_AS_REDUCED && this.config.training.clipNorm === undefined && this.gradientBuckets.length > 1;
  }

  /**
   * One step; `timeline` (a worker started with --trace-dir) receives when each phase ended (Note [step traces]).
   * `next` names the command queued right behind this one, if any: its micro-batches may be handed out during this
   * step's update (Note [the next step starts during the update]).
   */
  async step(command: StepBody, allReduce: AllReduce, timeline?: StepTimeline, next?: () => StepBody | undefined): Promise<StepDoneBody> {
    const model = this.model;
    if (command.step !== this.#step) {
      throw new ClusterError(`rank ${this.rank} is at step ${this.#step} but was told to run step ${command.step}`, { rank: this.rank, step: command.step, hint: 'replicas are out of step; restart the run with --resume' });
    }
    const t = this.config.training;
    let flight = this.#early;
    if (flight !== undefined && (flight.command !== command || flight.allReduce !== allReduce)) {
      await this.withdrawEarly();
      flight = undefined;
    }
    this.#early = undefined;
    flight ??= this.#handOut(command, stepShard(command.batchIndex, this.train.count, t.batchSize, this.rank, this.worldSize, t.microBatch), allReduce, undefined);
    // An early step's compute began before the previous step ended: its time starts at the hand-out, less what its
    // thread waited at the gates (reported by the thread). Without that report, from the end of the previous update.
    let started = Math.max(flight.handedOut, this.#updateEnded);
    if (timeline !== undefined) {
      if (flight.gate !== undefined) timeline.handedOut = flight.handedWall;
      timeline.releases.push(...flight.releases);
      flight.releases = timeline.releases;
    }
    const stats = await flight.compute;
    const computed = performance.now();
    if (flight.gate !== undefined && stats.gateWaitMs !== undefined) started = flight.handedOut + stats.gateWaitMs;
    if (timeline !== undefined) timeline.computed = wallMs();
    // Not streamed (one bucket, or an empty shard): the buckets go out now that the gradients are final.
    try {
      while (flight.released < this.gradientBuckets.length) flight.release(flight.released);
    } catch (error) {
      flight.running.cancel((error as Error)?.message ?? String(error));
      throw error;
    }
    // Kept for a skipped step too: an interrupted step is undone and redone the same way whether it was applied or
    // skipped. Copied while the all-reduce is in flight (parameters and optimizer state do not change before the
    // update): if the step then fails, the copy equals the state it is at; the state before the previous step stays
    // in the other slots (Note [steps to undo]).
    this.#undo.keep(command.step);
    let totalMs: number;
    let skipped: boolean;
    let penalty = 0;
    let reduced: number;
    if (this.updatesAsReduced) {
      const asReduced = await this.#updateAsReduced(command, flight, allReduce, next, timeline);
      ({ totalMs, skipped, penalty } = asReduced);
      // The parts applied before the last sums arrived were update, not waiting (Note [exposed all-reduce time]).
      reduced = asReduced.sumsIn - asReduced.partsMs;
      if (timeline !== undefined) timeline.reduced = asReduced.sumsInWall;
    } else {
      ({ totalMs } = await flight.running.done);
      reduced = performance.now();
      if (timeline !== undefined) timeline.reduced = wallMs();
      skipped = !bulkFloats().allFinite(model.params.slots.data);
      const following = this.#handOutNext(command, allReduce, next, undefined);
      try {
        if (skipped) following?.gates.openAll(following.ref.ticket);
        else {
          // In parts, each part opens its bucket's gate (every part is called back, so every gate opens).
          const parts = following === undefined ? undefined : this.#updateParts(following.gates, following.ref.ticket);
          ({ penalty } = applyUpdate(model.params, model.optimizer, command.lr, flight.shard.globalEnd - flight.shard.globalStart, t, model.backend.kernels, parts));
        }
      } catch (error) {
        await this.withdrawEarly();
        throw error;
      }
    }
    this.#step++;
    const checksum = command.checksum ? model.params.checksum() : undefined;
    this.#updateEnded = performance.now();
    if (timeline !== undefined) timeline.updated = wallMs();
    // Note [exposed all-reduce time]: with overlap the all-reduce runs from the first bucket's release, mostly
    // while backward computes; only what is left after compute (exposed) lengthens the step. Updated as the buckets
    // arrive, the parts applied before the last sums are update time, not waiting: they are left out of it (and so
    // count as compute below), as the trace draws them.
    const exposedAllreduceMs = reduced - computed;
    const allreduceMs = Math.max(totalMs, exposedAllreduceMs);
    return {
      step: command.step,
      rank: this.rank,
      lossSum: stats.lossSum,
      count: stats.count,
      extras: stats.extras,
      // compute = everything local to the step (gradients, update, checksum); see coordinator/src/timings.ts.
      computeMs: this.#updateEnded - started - exposedAllreduceMs,
      allreduceMs,
      exposedAllreduceMs,
      penalty,
      localFinite: flight.localFinite,
      skipped,
      ...(stats.correct === undefined ? {} : { correct: stats.correct }),
      ...(checksum === undefined ? {} : { checksum }),
    };
  }

  /**
   * Note [the next step starts during the update]
   * Between two steps a rank's compute threads wait for the update (the optimizer over every parameter), the reply
   * and the hand-off of the next step's micro-batches. When the coordinator has sent the next step ahead and it is
   * the command queued right behind this one, its micro-batches are handed to the pool after this step's all-reduce
   * and BEFORE its update: each thread fills its batch, then waits before each layer's forward until that layer's
   * parameters are updated (Note [parameters final] in shared/src/train/overlap/parameter-gates.ts). The update runs
   * bucket by bucket in forward order — the first layers first — and opens each bucket's gate as it finishes it,
   * so the next forward starts while the last layers are still being updated. Nothing reads a parameter before
   * its value for the step is final, and backward (which writes the slots the update reads) follows the last
   * gate, so results are bitwise those of one step after the other (tests/integration/cluster/equivalence.test.ts).
   * The early step's all-reduce is begun at once (this one's is over). Whatever replaces the command it was
   * handed out for — a new generation, an evaluation, a state transfer — withdraws it first (withdrawEarly).
   */
  #handOutNext(command: StepBody, allReduce: AllReduce, next: (() => StepBody | undefined) | undefined, after: Promise<unknown> | undefined): { gates: ParameterGates; ref: ParameterGateRef } | undefined {
    if (next === undefined || !EARLY_HAND_OUT || !this.model.executor.acceptsParameterGates) return undefined;
    const body = next();
    if (body === undefined || body.step !== command.step + 1) return undefined;
    const t = this.config.training;
    const shard = stepShard(body.batchIndex, this.train.count, t.batchSize, this.rank, this.worldSize, t.microBatch);
    // An empty shard zeroes the slots at once, which the update is about to read.
    if (shard.end <= shard.start) return undefined;
    this.#gates ??= new ParameterGates(this.gradientBuckets);
    const ref = this.#gates.draw();
    this.#early = this.#handOut(body, shard, allReduce, ref, after);
    return { gates: this.#gates, ref };
  }

  /**
   * Note [the next step starts before the all-reduce ends]
   * The buckets are released in backward order, so the first layers' bucket goes out last; with
   * `allGatherForwardFirst` (rsag.ts, Note [the first layers' sums first]) its sums also come back FIRST, ahead
   * of the rest of the all-gather. This step then updates each bucket as soon as its sums are in — the first layers
   * first (beginUpdate, Note [update as the buckets arrive] in shared/src/train/update.ts) — and hands out the next
   * step right before the first part: its forward runs on the first layers while the last layers' sums are still on
   * the wire, each layer waiting at its gate (Note [parameters final]). On a link-bound all-reduce that hides what
   * is left of it behind the next forward, instead of behind nothing. The next step's own all-reduce begins once
   * this one's is over (beginAfter).
   * The NaN/Inf guard still decides for the whole step, on the same reduced values on every rank: a bucket whose
   * sums are not finite skips the step; if parts were already applied, the early step is withdrawn and the state
   * kept before the step (the undo copy) comes back, which is exactly "not applied". Any failure does the same.
   * Results are bitwise those of the update after the whole all-reduce (tests/integration/cluster/replica-undo.test.ts).
   */
  async #updateAsReduced(
    command: StepBody,
    flight: StepInFlight,
    allReduce: AllReduce,
    next: (() => StepBody | undefined) | undefined,
    timeline: StepTimeline | undefined,
  ): Promise<{ totalMs: number; skipped: boolean; penalty: number; partsMs: number; sumsIn: number; sumsInWall: number }> {
    const model = this.model;
    const slots = model.params.slots.data;
    const buckets = this.gradientBuckets;
    const ranges = (this.#forwardRanges ??= [...buckets].reverse());
    const last = buckets.length - 1;
    let update: UpdateInParts | undefined;
    let following: { gates: ParameterGates; ref: ParameterGateRef } | undefined;
    let skipped = false;
    // Time spent applying parts while sums were still arriving: update, not a wait on the all-reduce (Note [exposed all-reduce time]).
    let partsMs = 0;
    // When the last bucket's sums were in (performance.now(), and wall-clock for the trace).
    let sumsIn = 0;
    let sumsInWall = 0;
    try {
      for (let part = 0; part < ranges.length; part++) {
        const bucket = last - part;
        await flight.running.reduced(bucket);
        const partStarted = performance.now();
        const partWall = timeline === undefined ? 0 : wallMs();
        const lastPart = part === ranges.length - 1;
        if (lastPart) {
          sumsIn = partStarted;
          sumsInWall = partWall;
        }
        if (skipped) continue;
        const { start, end } = buckets[bucket]!;
        if (!bulkFloats().allFinite(slots.subarray(start, end))) {
          skipped = true;
          if (update !== undefined) {
            await this.withdrawEarly();
            following = undefined;
            this.#undo.revert(command.step);
          }
          continue;
        }
        if (update === undefined) {
          update = beginUpdate(model.params, model.optimizer, command.lr, flight.shard.globalEnd - flight.shard.globalStart, this.config.training, model.backend.kernels, ranges);
          following = this.#handOutNext(command, allReduce, next, flight.running.done);
        }
        update.apply(part);
        following?.gates.open(bucket, following.ref.ticket);
        if (!lastPart) {
          partsMs += performance.now() - partStarted;
          timeline?.updateParts?.push(partWall, wallMs());
        }
      }
      const { totalMs } = await flight.running.done;
      return { totalMs, skipped, penalty: skipped || update === undefined ? 0 : update.penalty, partsMs, sumsIn, sumsInWall };
    } catch (error) {
      await this.withdrawEarly();
      if (update !== undefined) this.#undo.revert(command.step);
      throw error;
    }
  }

  /**
   * The update's parts: the gradient buckets in forward order (the first layers first), each opening its gate for
   * `ticket`. One object for the replica's life (its ranges array keeps applyUpdate's plan cached); only the ticket changes.
   */
  #updateParts(gates: ParameterGates, ticket: number): UpdateParts {
    this.#partTicket = ticket;
    if (this.#parts === undefined) {
      const ranges = [...this.gradientBuckets].reverse();
      const last = ranges.length - 1;
      this.#parts = { ranges, afterPart: (i) => gates.open(last - i, this.#partTicket) };
    }
    return this.#parts;
  }

  /** Starts a step: its all-reduce, and its gradients on the executor (gated by `gate` when handed out early). */
  #handOut(command: StepBody, shard: StepShard, allReduce: AllReduce, gate: ParameterGateRef | undefined, after?: Promise<unknown>): StepInFlight {
    const model = this.model;
    const slots = model.params.slots.data;
    // The rank of THIS generation: the fault follows the rank, wherever the run re-ranked its workers.
    const poison = this.#fault?.rank === this.#rank && this.#fault.step === command.step;
    const buckets = this.gradientBuckets;
    const running = after === undefined ? allReduce.begin(command.step, slots) : beginAfter(allReduce, command.step, slots, buckets.length, after);
    // The whole slot buffer is checked, bucket by bucket before it goes out: BatchNorm's observed statistics
    // travel in it and would reach the running stats.
    const release = (bucket: number): void => {
      const { start, end } = buckets[bucket]!;
      if (poison && start === 0) poisonGradient(slots);
      flight.localFinite &&= bulkFloats().allFinite(slots.subarray(start, end));
      running.release(bucket);
      flight.released = bucket + 1;
      flight.releases.push(wallMs());
    };
    const flight: StepInFlight = { command, allReduce, shard, running, gate, handedOut: performance.now(), handedWall: wallMs(), releases: [], localFinite: true, released: 0, release, compute: Promise.resolve(emptyStats()) };
    const compute = async (): Promise<BatchStats> => {
      // One bucket: nothing to overlap, so the buckets are not streamed (no progress signals from the threads).
      const stream = buckets.length > 1 && shard.end > shard.start ? { buckets, release } : undefined;
      let stats: BatchStats;
      if (shard.end > shard.start) {
        stats = await model.executor.computeGradients(this.train, this.#order(command.epoch), shard.start, shard.end, command.step, shard.firstMicro, stream, gate);
      } else {
        // An empty shard (a last batch smaller than the world) still takes part in the all-reduce, with zeros:
        // the slots hold the previous step's gradients otherwise.
        slots.fill(0);
        stats = emptyStats();
      }
      return stats;
    };
    flight.compute = compute().catch((error: unknown) => {
      running.cancel((error as Error)?.message ?? String(error));
      throw error;
    });
    // A withdrawn early step is awaited by withdrawEarly; until then its failure must not count as unhandled.
    flight.compute.catch(() => undefined);
    return flight;
  }

  /**
   * Withdraws the step handed out early, if any (its command will not run as it was handed out: a new generation,
   * another command first, a state transfer): its tasks stop at their next layer, its all-reduce is cancelled, and
   * this resolves once no task of it runs any more — nothing else may use the executor or the parameters before.
   */
  async withdrawEarly(): Promise<void> {
    const flight = this.#early;
    if (flight === undefined) return;
    this.#early = undefined;
    if (flight.gate !== undefined) this.#gates?.withdraw(flight.gate.ticket);
    flight.running.cancel(`step ${flight.command.step} was withdrawn before it ran`);
    await flight.compute.catch(() => undefined);
    await flight.running.done.catch(() => undefined);
  }

  /** A step handed out early must be withdrawn (awaited) before the parameters are read or replaced outside a step. */
  #requireNoEarlyStep(): void {
    if (this.#early !== undefined) throw new ClusterError(`rank ${this.rank}: step ${this.#early.command.step} was handed out early and is still running`, { rank: this.rank, step: this.#step, hint: 'await withdrawEarly() first (a bug in the worker)' });
  }

  /** The step this replica will run next. */
  get nextStep(): number {
    return this.#step;
  }

  /** Loss/metric sums (and confusion counts) over this rank's contiguous shard of a split: the evaluation routine of Model.evaluate. */
  async evaluate(request: EvaluateBody): Promise<EvaluatedBody> {
    this.#requireNoEarlyStep();
    const data = request.split === 'test' ? this.test : this.validation;
    const base = { requestId: request.requestId, rank: this.rank };
    if (data === undefined || data.count === 0) return { ...base, lossSum: 0, count: 0, extras: {} };
    const [s, e] = shardRange(0, data.count, this.rank, this.worldSize);
    const stats = await evaluateSamples(this.model.executor, data, s, e, { confusion: request.confusion });
    const c = data.classes;
    const confusion = stats.confusion === undefined ? undefined : Array.from({ length: c }, (_, actual) => stats.confusion!.slice(actual * c, (actual + 1) * c));
    return {
      ...base,
      lossSum: stats.lossSum,
      count: stats.count,
      extras: stats.extras,
      ...(stats.correct === undefined ? {} : { correct: stats.correct }),
      ...(confusion === undefined ? {} : { confusion }),
    };
  }

  /** Applies the coordinator's early-stopping decision (snapshot / restore of the best weights). */
  epochEnd(request: EpochEndBody): EpochEndedBody {
    this.#requireNoEarlyStep();
    const params = this.model.params;
    if (request.keepBest) params.keepBest();
    if (request.restoreBest && !params.restoreBest()) {
      throw new ClusterError(`rank ${this.rank} was told to restore the best weights but holds none`, { rank: this.rank, step: this.#step });
    }
    return { requestId: request.requestId, rank: this.rank, checksum: params.checksum() };
  }

  /**
   * Rank 0 writes the checkpoint into the run's store (the worker's, from its assignment): its tensors plus the
   * coordinator's training state, bound to the cluster run `runId`.
   */
  async checkpoint(request: CheckpointBody, store: CheckpointStore | undefined, runId: string): Promise<CheckpointedBody> {
    this.#requireNoEarlyStep();
    if (request.state.step !== this.#step) {
      throw new ClusterError(`rank ${this.rank} is at step ${this.#step} but the checkpoint is for step ${request.state.step}`, { rank: this.rank, step: this.#step });
    }
    if (store === undefined) throw new ClusterError(`rank ${this.rank} was told to checkpoint step ${request.state.step} but its assignment names no checkpoint store`, { rank: this.rank, step: this.#step });
    this.model.runId = runId;
    const path = await saveTrainingCheckpoint(store, this.model, request.state, { stoppedBy: request.stoppedBy });
    return { requestId: request.requestId, rank: this.rank, path };
  }

  async close(): Promise<void> {
    await this.withdrawEarly();
    await this.model.close();
  }

  /** The epoch's permutation, computed once per epoch (it does not depend on the rank or world size). */
  #order(epoch: number): Uint32Array {
    if (this.#permutation?.epoch !== epoch) this.#permutation = { epoch, order: epochPermutation(this.train.count, this.config.seed, epoch) };
    return this.#permutation.order;
  }
}
