import path from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  assignSubject,
  ClusterError,
  CheckpointError,
  ConfigError,
  DropCounter,
  errorSubject,
  GradmeshError,
  heartbeatSubject,
  initialTrainingState,
  joinSubject,
  latestCheckpoint,
  readTrainingState,
  runTrainingLoop,
  shutdownSubject,
  stepDoneSubject,
  type ControlMessage,
  type Evaluation,
  type ProgressEvent,
  type ReadyBody,
  type RunConfig,
  type RunEvent,
  type RunObserver,
  type TrainingState,
} from '@gradmesh/shared/internal';
import { ControlChannel, connectNats, every, Liveness, watchConnection, watchSilence } from '@gradmesh/transport';
import { compareChecksums, divergenceError, type ChecksumReport } from './checksums.js';
import { ClusterStepDriver } from './cluster-step-driver.js';
import { assignRanks, Roster, type Generation } from './membership.js';
import { StepBarrier } from './step-barrier.js';
import type { RankTimings } from './timings.js';

export interface CoordinatorOptions {
  readonly natsUrl: string;
  readonly runId: string;
  readonly config: RunConfig;
  readonly workers: number;
  readonly checkpointDir?: string;
  readonly resume: boolean;
  readonly joinTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly stepTimeoutMs: number;
  /** Compare replica checksums every K steps (and at the end). */
  readonly checksumEvery: number;
  /** Stop after this many steps (tests, resume checks); the state stays resumable. */
  readonly maxSteps?: number;
  readonly log: (line: string) => void;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Heartbeat period (default 1 s). */
  readonly heartbeatMs?: number;
  /** Watches membership, failures and step timings (the dashboard, metrics and status feed). */
  readonly observer?: RunObserver;
}

/** What a completed cluster run hands to the report. */
export interface ClusterRun {
  readonly generation: Generation;
  readonly ready: readonly ReadyBody[];
  readonly state: TrainingState;
  readonly stepsTaken: number;
  readonly test: Evaluation | undefined;
  readonly paramsChecksum: string;
  readonly replicaChecksumsAgree: boolean;
  readonly checksumComparisons: number;
  readonly timings: { perRank: RankTimings[]; computeSeconds: number; allreduceSeconds: number; waitSeconds: number; stepWallSeconds: number };
  readonly drops: Record<string, number>;
  readonly resumedFrom: string | undefined;
  /** Training samples seen by this invocation and the seconds spent (for samples/s). */
  readonly trainSamples: number;
  readonly trainSeconds: number;
}

const COORDINATOR = 'coordinator';
const GENERATION = 1;

/**
 * The run owner. It forms generation 1 of the run (joins → ranks → assignments → every rank ready with the
 * same parameters), then runs the training loop (the one `Model.fit` runs) through the ClusterStepDriver,
 * whose commands each end in the StepBarrier. This class keeps membership and liveness: any failure — a
 * silent worker (dead or stalled), a worker's error report, a step timeout, diverged checksums, a lost NATS
 * connection — stops the run: `shutdown {reason, error}` to all, and the ClusterError is thrown to the
 * caller.
 */
export class Coordinator {
  readonly #o: CoordinatorOptions;
  readonly drops: DropCounter;
  readonly #roster = new Roster();
  readonly #barrier: StepBarrier;
  readonly #liveness: Liveness;
  /** The training loop's state: where the run stands (from the checkpoint on --resume). */
  #state: TrainingState = initialTrainingState();
  #nc: NatsConnection | undefined;
  #channel: ControlChannel | undefined;
  #generation: Generation | undefined;
  readonly #ready = new Map<number, ReadyBody>();
  #readyWaiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  #failure: Error | undefined;
  /** The checkpoint every replica restores (--resume). */
  #resumeFile: string | undefined;
  #interrupted = false;
  readonly #timers: { stop(): void }[] = [];

  constructor(options: CoordinatorOptions) {
    this.#o = options;
    this.drops = new DropCounter(options.log);
    this.#liveness = new Liveness(options.heartbeatTimeoutMs);
    this.#barrier = new StepBarrier((rank) => this.#generation?.members[rank]?.workerId);
  }

  async run(): Promise<ClusterRun> {
    const o = this.#o;
    let resumedFrom: string | undefined;
    if (o.resume) {
      if (o.checkpointDir === undefined) throw new ConfigError('--resume', 'needs --checkpoint-dir to find the checkpoint');
      resumedFrom = (await latestCheckpoint(o.checkpointDir))?.path;
      if (resumedFrom === undefined) throw new CheckpointError(o.checkpointDir, 'no checkpoint to resume from', { hint: 'run without --resume first, with the same --checkpoint-dir' });
      resumedFrom = path.resolve(resumedFrom);
      this.#resumeFile = resumedFrom;
      this.#state = await readTrainingState(resumedFrom);
      o.log(`resuming from ${resumedFrom} at step ${this.#state.step} (epoch ${this.#state.position.epoch + 1}, batch ${this.#state.position.batch})`);
    }

    const nc = await connectNats(o.natsUrl, 'gradmesh-coordinator');
    this.#nc = nc;
    const channel = new ControlChannel({ nc, runId: o.runId, self: COORDINATOR, drops: this.drops, onHandlerError: (e) => this.#fail(e) });
    this.#channel = channel;
    // Joins carry generation 0 (not yet assigned); everything else must be of this run's generation.
    const ours = (m: ControlMessage) => m.kind === 'join' || m.gen === GENERATION;
    channel.listen(joinSubject(o.runId), (m) => this.#onJoinSubject(m), ours);
    channel.listen(heartbeatSubject(o.runId, 'coordinator'), (m) => this.#touch(m), ours);
    channel.listen(stepDoneSubject(o.runId), (m) => this.#onReply(m), ours);
    channel.listen(errorSubject(o.runId), (m) => this.#onWorkerError(m), ours);
    this.#timers.push(watchConnection(nc, (why) => this.#fail(new ClusterError(`coordinator: NATS connection lost (${why}) at step ${this.#state.step}; the run cannot continue`, { step: this.#state.step, hint: 'resume from the last checkpoint with --resume' }))));
    await channel.flush(10_000);
    const heartbeatMs = o.heartbeatMs ?? 1_000;
    const beat = () => channel.send(heartbeatSubject(o.runId, 'workers'), 'heartbeat', { workerId: COORDINATOR, step: this.#state.step - 1 });
    this.#timers.push(every(heartbeatMs, beat));
    this.#timers.push(watchSilence(this.#liveness, Math.min(250, heartbeatMs), (silent) => this.#onSilent(silent)));

    try {
      await this.#formGeneration();
      const result = await this.#train();
      channel.send(shutdownSubject(o.runId), 'shutdown', { reason: 'completed' });
      this.#emit('completed', null, `completed at step ${this.#state.step}`);
      return { ...result, resumedFrom, drops: this.drops.snapshot() };
    } catch (error) {
      const failure = this.#failure ?? error;
      const message = failure instanceof GradmeshError ? `${failure.name}: ${failure.message}` : String((failure as Error)?.message ?? failure);
      channel.send(shutdownSubject(o.runId), 'shutdown', { reason: this.#interrupted ? 'interrupted' : 'failed', error: message.slice(0, 4000) });
      const context = failure instanceof GradmeshError ? failure.context : {};
      this.#emit(this.#interrupted ? 'interrupted' : 'error', typeof context['worker'] === 'string' ? context['worker'] : null, message.slice(0, 4000));
      throw failure;
    } finally {
      for (const t of this.#timers.splice(0)) t.stop();
      await channel.flush(2_000);
      channel.close();
      await nc.close().catch(() => undefined);
    }
  }

  /** SIGINT/SIGTERM: stop the run cleanly (workers are told to shut down). */
  interrupt(signal: string): void {
    if (this.#failure === undefined) this.#interrupted = true;
    this.#fail(new ClusterError(`interrupted by ${signal} at step ${this.#state.step}`, { step: this.#state.step, hint: 'continue later with --resume' }));
  }

  // ---- membership ------------------------------------------------------------------------------------------

  /** Waits for N joins, assigns ranks, waits for N ready replicas and checks that they are identical. */
  async #formGeneration(): Promise<void> {
    const o = this.#o;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#readyWaiter = { resolve, reject };
        timer = setTimeout(() => {
          const joined = this.#roster.ids();
          const message =
            this.#generation === undefined
              ? `only ${joined.length} of ${o.workers} workers joined within ${o.joinTimeoutMs / 1000} s${joined.length ? `: ${joined.join(', ')}` : ''}`
              : `only ${this.#ready.size} of ${o.workers} workers became ready within ${o.joinTimeoutMs / 1000} s; not ready: ${this.#generation.members.filter((m) => !this.#ready.has(m.rank)).map((m) => `rank ${m.rank} (worker ${m.workerId})`).join(', ')}`;
          this.#fail(new ClusterError(message, { hint: `start ${o.workers} workers with --run ${o.runId} (gradmesh worker --nats ${o.natsUrl} --run ${o.runId}), or raise --join-timeout` }));
        }, o.joinTimeoutMs);
        if (this.#failure) reject(this.#failure);
      });
    } finally {
      clearTimeout(timer);
    }
    this.#readyWaiter = undefined;
    this.#verifyReady();
  }

  #onJoinSubject(m: ControlMessage): void {
    if (m.kind === 'join') return this.#onJoin(m.body);
    if (m.kind === 'ready') return this.#onReady(m.from, m.body);
  }

  #onJoin(body: { workerId: string; pid: number; host: string; threads: number }): void {
    const o = this.#o;
    const gen = this.#generation;
    if (gen !== undefined) {
      const member = gen.members.find((w) => w.workerId === body.workerId);
      if (member === undefined) return this.#dismiss(body.workerId, `run "${o.runId}" already has its ${o.workers} workers`);
      if (member.pid !== body.pid || member.host !== body.host) {
        return this.#fail(new ClusterError(`worker ${body.workerId} (rank ${member.rank}) joined again as a new process (pid ${body.pid} on ${body.host}): it restarted and lost its replica`, { worker: body.workerId, rank: member.rank, step: this.#state.step, hint: 'resume from the last checkpoint with --resume' }));
      }
      // The same process joining again: its assignment was lost or is still in flight; send it again.
      this.#liveness.touch(body.workerId);
      if (!this.#ready.has(member.rank)) this.#sendAssign(member.workerId, member.rank);
      return;
    }
    try {
      if (this.#roster.join(body)) {
        o.log(`worker ${body.workerId} joined (pid ${body.pid} on ${body.host}, ${body.threads} threads) — ${this.#roster.size} of ${o.workers}`);
        this.#emit('joined', body.workerId, `pid ${body.pid} on ${body.host}, ${body.threads} threads`);
      }
    } catch (error) {
      return this.#fail(error);
    }
    this.#liveness.touch(body.workerId);
    if (this.#roster.size < o.workers) return;
    const { generation, extras } = assignRanks(this.#roster.all(), o.workers, GENERATION);
    this.#generation = generation;
    this.#channel!.generation = GENERATION;
    for (const w of extras) {
      this.#liveness.forget(w.workerId);
      this.#dismiss(w.workerId, `run "${o.runId}" needs ${o.workers} workers and ranks go to the lowest ids`);
    }
    for (const m of generation.members) this.#sendAssign(m.workerId, m.rank);
    o.log(`generation ${GENERATION}: ${generation.members.map((m) => `rank ${m.rank} = ${m.workerId}`).join(', ')}`);
    this.#emit('generationFormed', null, `${generation.worldSize} ranks`, generation.members.map((m) => ({ rank: m.rank, worker: m.workerId })));
  }

  #sendAssign(workerId: string, rank: number): void {
    const o = this.#o;
    this.#channel!.send(assignSubject(o.runId, workerId), 'assign', {
      workerId,
      rank,
      worldSize: o.workers,
      generation: GENERATION,
      config: o.config.raw,
      baseDir: o.config.baseDir,
      heartbeatTimeoutMs: o.heartbeatTimeoutMs,
      stepTimeoutMs: o.stepTimeoutMs,
      ...(this.#resumeFile === undefined ? {} : { resumeFrom: this.#resumeFile }),
    });
  }

  #dismiss(workerId: string, reason: string): void {
    this.#o.log(`worker ${workerId} is not needed: ${reason}`);
    this.#emit('dismissed', workerId, reason);
    this.#channel!.send(assignSubject(this.#o.runId, workerId), 'dismiss', { workerId, reason });
  }

  #onReady(from: string, body: ReadyBody): void {
    const member = this.#generation?.members[body.rank];
    if (member === undefined || member.workerId !== from || body.workerId !== from || body.generation !== GENERATION) {
      return this.drops.drop('ready', 'malformed', `ready from ${from} for rank ${body.rank}, which is not its rank in generation ${GENERATION}`);
    }
    this.#liveness.touch(from);
    this.#ready.set(body.rank, body);
    if (this.#ready.size === this.#o.workers) this.#readyWaiter?.resolve();
  }

  /** Every replica must start from the same parameters, the same step and the same data. */
  #verifyReady(): void {
    const ready = [...this.#ready.values()].sort((a, b) => a.rank - b.rank);
    const first = ready[0]!;
    for (const r of ready) {
      if (r.step !== this.#state.step) {
        throw new ClusterError(`rank ${r.rank} (worker ${r.workerId}) starts at step ${r.step}, the run is at step ${this.#state.step}`, { rank: r.rank, worker: r.workerId, step: this.#state.step, hint: 'every worker must restore the same checkpoint; use one shared --checkpoint-dir' });
      }
      for (const field of ['parameters', 'trainCount', 'validationCount', 'testCount', 'classes', 'featureSize'] as const) {
        if (r[field] !== first[field]) {
          throw new ClusterError(`rank ${r.rank} (worker ${r.workerId}) has ${field} = ${r[field]} but rank 0 (worker ${first.workerId}) has ${first[field]}`, {
            rank: r.rank,
            worker: r.workerId,
            hint: 'every worker must read the same data files and run the same gradmesh version',
          });
        }
      }
    }
    this.#checkChecksums(ready, 'at the start (initial parameters)');
  }

  // ---- training --------------------------------------------------------------------------------------------

  /** Runs the training loop on this generation through the cluster driver. */
  async #train(): Promise<Omit<ClusterRun, 'resumedFrom' | 'drops'>> {
    const o = this.#o;
    const ready = [...this.#ready.values()].sort((a, b) => a.rank - b.rank);
    const driver = new ClusterStepDriver({
      runId: o.runId,
      channel: this.#channel!,
      barrier: this.#barrier,
      generation: this.#generation!,
      ready,
      stepTimeoutMs: o.stepTimeoutMs,
      checksumEvery: o.checksumEvery,
      checkpointDir: o.checkpointDir,
      failure: () => this.#failure,
      ...(o.observer?.stepTimed === undefined ? {} : { onStepTimed: (sample) => o.observer?.stepTimed?.(sample) }),
    });
    const outcome = await runTrainingLoop(driver, this.#state, {
      config: o.config,
      checkpoints: o.checkpointDir !== undefined,
      evaluateTest: true,
      ...(o.maxSteps === undefined ? {} : { maxSteps: o.maxSteps }),
      ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
    });
    const checksums = driver.checksums;
    const timings = driver.timings;
    return {
      generation: this.#generation!,
      ready,
      state: this.#state,
      stepsTaken: outcome.stepsTaken,
      test: outcome.test,
      paramsChecksum: checksums.checksum,
      replicaChecksumsAgree: checksums.agree,
      checksumComparisons: checksums.comparisons,
      timings: { perRank: timings.perRank(), ...timings.summary(), stepWallSeconds: timings.wallSeconds },
      trainSamples: outcome.trainSamples,
      trainSeconds: outcome.trainSeconds,
    };
  }

  #checkChecksums(reports: ChecksumReport[], when: string): void {
    const comparison = compareChecksums(reports);
    if (!comparison.agree) throw divergenceError(reports, comparison, when, this.#state.step);
  }

  // ---- replies, liveness, failures ---------------------------------------------------------------------------

  #onReply(m: ControlMessage): void {
    const member = this.#member(m.from);
    if (member === undefined) return this.drops.drop(m.kind, 'malformed', `a ${m.kind} from ${m.from}, which holds no rank in generation ${GENERATION}`);
    this.#liveness.touch(m.from);
    let rejected: ReturnType<StepBarrier['deliver']>;
    switch (m.kind) {
      case 'stepDone':
        rejected = m.body.rank === member.rank ? this.#barrier.deliver('stepDone', m.body.step, m.body.rank, m.body) : 'malformed';
        break;
      case 'evaluated':
      case 'epochEnded':
      case 'checkpointed':
        rejected = m.body.rank === member.rank ? this.#barrier.deliver(m.kind, m.body.requestId, m.body.rank, m.body) : 'malformed';
        break;
      default:
        return; // commands published by us on a shared subject family are not replies
    }
    if (rejected !== undefined) this.drops.drop(m.kind, rejected, `a ${m.kind} from ${m.from} (rank ${member.rank}) that answers no open command`);
  }

  #touch(m: ControlMessage): void {
    if (m.kind !== 'heartbeat') return;
    if (this.#member(m.from) !== undefined || (this.#generation === undefined && this.#liveness.watching(m.from))) this.#liveness.touch(m.from);
  }

  #onWorkerError(m: ControlMessage): void {
    if (m.kind !== 'error') return;
    const member = this.#member(m.from);
    if (member === undefined) return this.drops.drop('error', 'malformed', `an error report from ${m.from}, which holds no rank`);
    const at = m.body.step >= 0 ? ` at step ${m.body.step}` : '';
    this.#fail(new ClusterError(`worker ${member.workerId} (rank ${member.rank}) failed${at}: ${m.body.message}`, { worker: member.workerId, rank: member.rank, step: Math.max(0, m.body.step), hint: 'fix the cause, then continue with --resume' }));
  }

  #onSilent(silent: { peer: string; silentMs: number }[]): void {
    for (const { peer, silentMs } of silent) {
      const member = this.#member(peer);
      if (member === undefined) {
        // A worker that joined but went away before the run started: forget it; another may take its place.
        this.#liveness.forget(peer);
        this.#roster.leave(peer);
        this.#o.log(`worker ${peer} went silent before the run started; forgotten`);
        this.#emit('left', peer, 'went silent before the run started');
        continue;
      }
      const missing = this.#barrier.missing().includes(member.rank) ? ` (step ${this.#state.step} is waiting for it)` : '';
      return this.#fail(
        new ClusterError(`worker ${member.workerId} (rank ${member.rank}) sent no heartbeat for ${(silentMs / 1000).toFixed(1)} s at step ${this.#state.step}${missing}: it died or stalled`, {
          worker: member.workerId,
          rank: member.rank,
          step: this.#state.step,
          hint: this.#o.checkpointDir ? `continue with --resume --checkpoint-dir ${this.#o.checkpointDir}` : 'use --checkpoint-dir to be able to resume',
        }),
      );
    }
  }

  /** Tells the observer (Note [run events]); generation 0 until ranks are assigned. */
  #emit(kind: RunEvent['kind'], worker: string | null, detail: string, ranks?: RunEvent['ranks']): void {
    const generation = this.#generation === undefined ? 0 : GENERATION;
    this.#o.observer?.event?.({ time: Date.now(), kind, generation, worker, step: this.#state.step, detail, ...(ranks === undefined ? {} : { ranks }) });
  }

  #member(workerId: string) {
    return this.#generation?.members.find((m) => m.workerId === workerId);
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = error instanceof Error ? error : new ClusterError(String(error));
    this.#barrier.abort(this.#failure);
    this.#readyWaiter?.reject(this.#failure);
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}

