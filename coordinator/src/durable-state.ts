import type { NatsConnection } from '@nats-io/transport-node';
import {
  CheckpointError,
  describeStoreSpec,
  readLatestVerified,
  readTrainingCheckpointInfo,
  type CheckpointStore,
  type CheckpointStoreSpec,
  type TrainingCheckpointInfo,
  type TrainingState,
} from '@gradmesh/shared/internal';
import { openCheckpointStore, RunStateStore, type RunRecord, type WorkerRegistration } from '@gradmesh/transport';

/** Where a resumed run starts: the checkpoint's name in the store, where that is, and its training state. */
export interface ResumePoint {
  readonly name: string;
  readonly where: string;
  readonly state: TrainingState;
  /** What the checkpoint says about itself (its run, config, stop reason), for the resume check. */
  readonly info: TrainingCheckpointInfo;
}

/**
 * What of a run outlives the coordinator process: its checkpoint store (read here for `--resume`; rank 0
 * writes it) and its run-state record in JetStream KV (RunStateStore: generation, world, committed step,
 * latest checkpoint — recorded at each generation change and each checkpoint, for a restarted coordinator).
 *
 * The run-state record needs JetStream. A run that checkpoints to NATS has it by definition; any other run
 * on a server without JetStream goes on without the record, and says so once.
 */
export class DurableRunState {
  readonly checkpoints: CheckpointStore | undefined;
  readonly #runState: RunStateStore | undefined;
  readonly #log: (line: string) => void;
  #latestCheckpoint: string | null = null;
  #record: Omit<RunRecord, 'latestCheckpoint'> = { generation: 0, world: 0, committedStep: 0 };

  private constructor(checkpoints: CheckpointStore | undefined, runState: RunStateStore | undefined, log: (line: string) => void) {
    this.checkpoints = checkpoints;
    this.#runState = runState;
    this.#log = log;
  }

  static async open(nc: NatsConnection, runId: string, spec: CheckpointStoreSpec | undefined, log: (line: string) => void): Promise<DurableRunState> {
    const checkpoints = spec === undefined ? undefined : await openCheckpointStore(spec, nc, runId);
    let runState: RunStateStore | undefined;
    try {
      runState = await RunStateStore.open(nc, runId);
    } catch (error) {
      if (spec?.kind === 'nats') throw error;
      log(`run state is not recorded: ${(error as Error).message.split('\n')[0]}`);
    }
    return new DurableRunState(checkpoints, runState, log);
  }

  /** The newest checkpoint that verifies (a bad newest one is reported and the previous used). */
  async resumePoint(): Promise<ResumePoint> {
    const store = this.checkpoints;
    if (store === undefined) throw new CheckpointError('--resume', 'needs a checkpoint store (--checkpoint-store nats | dir:<path>, or --checkpoint-dir)');
    const found = await readLatestVerified(store, this.#log);
    if (found === undefined) throw new CheckpointError(store.location, 'no checkpoint to resume from', { hint: 'run without --resume first, with the same --run and checkpoint store' });
    this.#latestCheckpoint = found.name;
    const info = await readTrainingCheckpointInfo(found);
    return { name: found.name, where: found.where, state: info.state, info };
  }

  /**
   * `--resume-from <file>`: the file's bytes, stored into the run's store under its checkpoint name (every
   * worker reads the checkpoint from the store, never from a path: Note [the store is the worker's]), unless the
   * store already is where the file lives.
   */
  async adopt(file: string, bytes: Uint8Array, info: TrainingCheckpointInfo, name: string): Promise<ResumePoint> {
    const store = this.checkpoints;
    if (store === undefined) throw new CheckpointError('--resume-from', 'needs a checkpoint store (--checkpoint-store nats | dir:<path>, or --checkpoint-dir)');
    if (store.describe(name) !== file) await store.put(name, bytes);
    this.#latestCheckpoint = name;
    return { name, where: store.describe(name), state: info.state, info };
  }

  /** The name of the newest checkpoint of the run this coordinator knows of (resumed from or written), or null. */
  get latestCheckpoint(): string | null {
    return this.#latestCheckpoint;
  }

  /** The record a previous coordinator of this run left, if any (undefined without JetStream or before the first). */
  async previousRecord(): Promise<RunRecord | undefined> {
    const record = await this.#runState?.read();
    if (record !== undefined) {
      this.#record = { generation: record.generation, world: record.world, committedStep: record.committedStep };
      this.#latestCheckpoint = record.latestCheckpoint;
    }
    return record;
  }

  /** The workers whose registration in the run's store is fresh (their keys expire when they stop refreshing them). */
  async registeredWorkers(): Promise<WorkerRegistration[]> {
    return (await this.#runState?.workers()) ?? [];
  }

  /** The run ended: a coordinator started later with this run id starts a new run instead of taking this one over. */
  async recordFinished(): Promise<void> {
    await this.#runState?.record({ ...this.#record, latestCheckpoint: this.#latestCheckpoint, finished: true });
  }

  /** A generation has formed (or changed). */
  async recordGeneration(generation: number, world: number, committedStep: number): Promise<void> {
    this.#record = { generation, world, committedStep };
    await this.#write();
  }

  /** Rank 0 has written the checkpoint of `step`. */
  async recordCheckpoint(step: number, name: string): Promise<void> {
    this.#latestCheckpoint = name;
    this.#record = { ...this.#record, committedStep: step };
    await this.#write();
  }

  async #write(): Promise<void> {
    await this.#runState?.record({ ...this.#record, latestCheckpoint: this.#latestCheckpoint });
  }
}

/** What an error tells the user to do to continue the run later. */
export function resumeHint(runId: string, spec: CheckpointStoreSpec | undefined): string {
  return spec === undefined ? 'use --checkpoint-store to be able to resume' : `continue later with --resume --run ${runId} --checkpoint-store ${describeStoreSpec(spec)}`;
}
