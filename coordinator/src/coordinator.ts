import type { NatsConnection } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  assignSubject,
  bindResume,
  checkpointFileName,
  ClusterError,
  ConfigError,
  DropCounter,
  ANY_SENDER,
  errorSubject,
  GradmeshError,
  heartbeatSubject,
  initialTrainingState,
  joinSubject,
  parseCheckpointStep,
  readCheckpoint,
  readTrainingCheckpointInfo,
  refuseForeignCheckpoints,
  runTrainingLoop,
  shutdownSubject,
  stepDoneSubject,
  stepSubject,
  type CheckpointStoreSpec,
  type AllreduceTransport,
  type ControlMessage,
  type GenerationLinks,
  type JoinBody,
  type Evaluation,
  type ProgressEvent,
  type RunEventKind,
  type PeerPathCounts,
  type RunObserver,
  type ReadyBody,
  type Readiness,
  type RunConfig,
  type TrainingState,
  type TrainingStop,
} from '@gradmesh/shared/internal';
import { ControlChannel, connectNats, every, Liveness, watchConnection, watchSilence, type NatsCredentials } from '@gradmesh/transport';
import { compareChecksums, divergenceError, type ChecksumReport } from './checksums.js';
import { ClusterStepDriver, type CommandKind } from './cluster-step-driver.js';
import { DurableRunState, resumeHint, type ResumePoint } from './durable-state.js';
import { RunInterrupted } from './run-interrupted.js';
import { generationLinks } from './generation-links.js';
import { assignRanks, joinedWorker, type Generation, type JoinedWorker, type Member } from './membership.js';
import { RunEventLog, type RunEvent } from './run-events.js';
import { GenerationEnded } from './generation-ended.js';
import { StepBarrier } from './step-barrier.js';
import type { RankTimings } from './timings.js';

export interface CoordinatorOptions {
  readonly natsUrl: string;
  /** The coordinator's NATS identity (every connection of the process uses it). */
  readonly natsCredentials?: NatsCredentials;
  readonly runId: string;
  readonly config: RunConfig;
  /** The most workers a generation holds (MAX of `--workers MIN:MAX`). */
  readonly workers: number;
  /** The fewest workers the run continues with (MIN); default `workers`. */
  readonly minWorkers?: number;
  /** Below MIN workers, how long to wait for replacements before stopping (default 60 s). */
  readonly rejoinTimeoutMs?: number;
  /** Where checkpoints go (rank 0 writes them) and `--resume` reads them; absent: no checkpoints. */
  readonly checkpointStore?: CheckpointStoreSpec;
  readonly resume: boolean;
  /** Resume from this checkpoint file (`--resume-from`): it is copied into the run's store, where every worker reads it. */
  readonly resumeFrom?: string;
  readonly joinTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly stepTimeoutMs: number;
  /** Evaluation replies and rank 0's checkpoint write have their own timeouts (default: 4 × the step timeout). */
  readonly evaluationTimeoutMs?: number;
  readonly checkpointTimeoutMs?: number;
  /** Compare replica checksums every K steps (and at the end). */
  readonly checksumEvery: number;
  /** Send the steps that follow ahead of their predecessors' replies, a window at a time (Note [steps are sent ahead]); default true. */
  readonly stepAhead?: boolean;
  /** Stop after this many steps (tests, resume checks); the state stays resumable. */
  readonly maxSteps?: number;
  readonly maxSkipped?: number;
  readonly log: (line: string) => void;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Heartbeat period (default 1 s). */
  readonly heartbeatMs?: number;
  /** Watches the membership log, the run's end and step timings (the dashboard, metrics and status feed). */
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
  readonly timings: { perRank: RankTimings[]; computeSeconds: number; allreduceSeconds: number; exposedAllreduceSeconds: number; waitSeconds: number; stepWallSeconds: number; stepsSentAhead: number };
  readonly drops: Record<string, number>;
  /** The path gradient pieces took between ranks (`training.allreduce.transport`; Note [links are per generation]). */
  readonly allreduceTransport: AllreduceTransport;
  /** Each worker's dropped-message counts, as last reported (Note [every process's drops] in messages.ts). */
  readonly workerDrops: Record<string, Record<string, number>>;
  /** By rank of the final generation: how many peers its pieces reached through shared memory and over links, when it said (Note [paths in the report]). */
  readonly peerPaths: readonly (PeerPathCounts | undefined)[];
  readonly resumedFrom: string | undefined;
  /** Training samples seen by this invocation and the seconds spent (for samples/s). */
  readonly trainSamples: number;
  readonly trainSeconds: number;
  /** Membership events: each generation, who was lost, left or joined, which steps were redone. */
  readonly events: readonly RunEvent[];
  /** Generations formed by this invocation. */
  readonly generations: number;
  /** Set when --max-steps stopped the run before its end (with the checkpoint written there). */
  readonly stop: TrainingStop | undefined;
}

const COORDINATOR = 'coordinator';


/**
 * The run owner. It forms a generation (joins → ranks → assignments → every rank ready with the same
 * parameters), then runs the training loop (the one `Model.fit` runs) through the ClusterStepDriver, whose
 * commands each end in the StepBarrier. This class keeps membership and liveness.
 *
 * Note [elastic generations]
 * A member that dies, stalls past the heartbeat timeout, reports an error or leaves (SIGTERM) ends its
 * generation: the open command is abandoned (GenerationEnded), and before the next command the coordinator
 * forms generation g+1 from the live workers — the survivors, plus workers that joined or came back, up to
 * `workers` (MAX) — if at least MIN are there; below MIN it waits up to `rejoinTimeoutMs` for replacements,
 * then stops with an error naming the lost workers (the last checkpoint stays resumable). Every generation
 * starts at the step after the last one EVERY rank completed (Note [redoing an interrupted step] in
 * worker/src/replica.ts); replicas that cannot reach it (new or restarted workers, or one whose parameters
 * differ) receive a live replica's state, verified by checksum, before anyone computes. A worker that joins a
 * healthy run is taken in at the next command boundary. Only a failure that a new generation cannot cure —
 * diverged checksums, no replica left that holds the state, a lost NATS connection — stops the run:
 * `shutdown {reason, error}` to all, and the error is thrown to the caller.
 */
export class Coordinator {
  readonly #o: CoordinatorOptions;
  readonly drops: DropCounter;
  /** Every worker that has joined and not been lost for good, by id (the candidates of the next generation). */
  readonly #known = new Map<string, JoinedWorker>();
  readonly #barrier: StepBarrier;
  readonly #liveness: Liveness;
  readonly #events = new RunEventLog(10_000, (e) => this.#observe(e));
  /** The training loop's state: where the run stands (from the checkpoint on --resume). */
  #state: TrainingState = initialTrainingState();
  #nc: NatsConnection | undefined;
  #channel: ControlChannel | undefined;
  #generation: Generation | undefined;
  /** The current generation's links, sent in every assignment (a direct run only). */
  #links: GenerationLinks | undefined;
  #generationNumber = 0;
  #ready = new Map<number, ReadyBody>();
  /** Latest drop counts per worker id (they only grow, so the latest is the total). */
  readonly #workerDrops = new Map<string, Record<string, number>>();
  /** The latest peer paths each rank reported, with the generation they belong to (Note [paths in the report]). */
  readonly #peerPaths = new Map<number, { readonly generation: number; readonly counts: PeerPathCounts }>();
  #readyWaiter: (() => void) | undefined;
  /** Why the current generation must be replaced before the next command (undefined: it is healthy). */
  #regroupReason: string | undefined;
  /** Workers lost since the last healthy generation, for the error if the run cannot go on. */
  readonly #lost = new Map<string, string>();
  #failure: Error | undefined;
  #requestId = 0;
  /** The checkpoint every replica restores (--resume): its name in the run's store. */
  #resumeFile: string | undefined;
  /** The checkpoint store and the run-state record (durable-state.ts). */
  #durable: DurableRunState | undefined;
  #interrupted = false;
  /** The signal that asked the run to stop at the next step boundary (interrupt). */
  #stopRequested: string | undefined;
  /** The stop's checkpoint is being written: commands go through. */
  #stopping = false;
  #driver: ClusterStepDriver | undefined;
  /** The NATS connection is down (the client reconnects); liveness is not judged meanwhile. */
  #disconnected = false;
  readonly #timers: { stop(): void }[] = [];
  /** Where the run stands for `/readyz`: not started, formed (its first generation started), or ended. */
  #phase: 'starting' | 'formed' | 'ended' = 'starting';

  constructor(options: CoordinatorOptions) {
    this.#o = options;
    this.drops = new DropCounter(options.log);
    this.#liveness = new Liveness(options.heartbeatTimeoutMs);
    this.#barrier = new StepBarrier((rank) => this.#generation?.members[rank]?.workerId);
  }

  get #min(): number {
    return this.#o.minWorkers ?? this.#o.workers;
  }

  async run(): Promise<ClusterRun> {
    const o = this.#o;
    let resumedFrom: string | undefined;
    if (o.resume && o.checkpointStore === undefined) throw new ConfigError('--resume', 'needs --checkpoint-store (or --checkpoint-dir) to find the checkpoint');
    if (o.resume && o.resumeFrom !== undefined) throw new ConfigError('--resume-from', 'cannot be combined with --resume', { hint: '--resume takes the newest checkpoint of the store; --resume-from names one file' });
    if (o.resumeFrom !== undefined && o.checkpointStore === undefined) throw new ConfigError('--resume-from', 'needs --checkpoint-store (or --checkpoint-dir): the workers read the checkpoint from the run\'s store');

    const nc = await connectNats(o.natsUrl, 'gradmesh-coordinator', o.natsCredentials);
    this.#nc = nc;
    // durable state: the checkpoint store and the run-state record (durable-state.ts); --resume reads the store.
    try {
      this.#durable = await DurableRunState.open(nc, o.runId, o.checkpointStore, o.log);
      // Note [taking over a run]: a coordinator started with the id of a run in progress (its predecessor
      // crashed) continues it: generations go on from the recorded one, so the live workers accept the new
      // assignments, and training continues from the latest checkpoint (or from the start when none was
      // written), which every replica restores or already holds.
      const previous = await this.#durable.previousRecord();
      const takeOver = previous !== undefined && previous.finished !== true && previous.generation > 0;
      if (previous !== undefined) this.#generationNumber = previous.generation;
      if (takeOver) {
        const registered = await this.#durable.registeredWorkers();
        o.log(`taking over run "${o.runId}" from a previous coordinator (generation ${previous.generation}, step ${previous.committedStep}, latest checkpoint ${previous.latestCheckpoint ?? 'none'}); registered workers: ${registered.map((w) => w.workerId).join(', ') || 'none'}`);
        this.#events.add({ kind: 'rejoined', generation: previous.generation, worker: COORDINATOR, step: previous.committedStep, detail: `a new coordinator took over the run; latest checkpoint ${previous.latestCheckpoint ?? 'none'}` });
      }
      const store = this.#durable.checkpoints;
      let point: ResumePoint | undefined;
      if (o.resumeFrom !== undefined && !takeOver) point = await this.#adoptResumeFile(o.resumeFrom);
      else if (o.resume || (takeOver && previous.latestCheckpoint !== null && store !== undefined)) point = await this.#durable.resumePoint();
      else if (store !== undefined && !takeOver) await refuseForeignCheckpoints(store, undefined, `continue that run with --resume, start from one of its checkpoints with --resume-from <file>, or use another --checkpoint-store${o.checkpointStore?.kind === 'nats' ? ' or --run' : ''}`);
      if (point !== undefined) {
        // Note [run-bound checkpoints] (shared/src/train/resume-binding.ts): another model or data set is refused here, before any worker is told anything.
        const binding = bindResume(point.info, o.config, store?.location.replace(/^dir:/, '') ?? point.where, o.runId);
        resumedFrom = point.where;
        this.#resumeFile = point.name;
        this.#state = point.state;
        for (const line of binding.lines) o.log(line);
      }
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
    const channel = new ControlChannel({ nc, runId: o.runId, self: COORDINATOR, drops: this.drops, onHandlerError: (e) => this.#fail(e) });
    this.#channel = channel;
    // Heartbeats carry the generation about to form: workers of a previous coordinator (Note [taking over a
    // run]) hear a newer generation than theirs and join again (Note [rejoining] in worker/src/worker.ts).
    channel.generation = this.#generationNumber + 1;
    // Joins and heartbeats are heard from any generation (a worker of an earlier one may come back); replies
    // and readiness must be of the current one.
    const current = (m: ControlMessage) => m.kind === 'join' || m.kind === 'leave' || m.gen === this.#generationNumber;
    channel.listen(joinSubject(o.runId, ANY_SENDER), (m) => this.#onJoinSubject(m), current);
    channel.listen(heartbeatSubject(o.runId, 'coordinator', ANY_SENDER), (m) => this.#touch(m));
    channel.listen(stepDoneSubject(o.runId, ANY_SENDER), (m) => this.#onReply(m), current);
    channel.listen(errorSubject(o.runId, ANY_SENDER), (m) => this.#onWorkerError(m));
    this.#timers.push(
      watchConnection(nc, {
        onLost: (why) => this.#fail(new ClusterError(`coordinator: NATS connection lost (${why}) at step ${this.#state.step}; the run cannot continue`, { step: this.#state.step, hint: 'resume from the last checkpoint with --resume' })),
        // Messages in flight across the gap are gone: the command in flight is carried out again by a new generation.
        // While the connection is down no heartbeat can arrive: silence then says nothing about the workers.
        onDisconnect: (server) => {
          this.#disconnected = true;
          this.#o.log(`coordinator: disconnected from NATS (${server}); reconnecting`);
        },
        onReconnect: (server) => {
          this.#disconnected = false;
          for (const id of this.#known.keys()) this.#liveness.touch(id);
          this.#o.log(`coordinator: reconnected to NATS (${server})`);
          if (this.#generation !== undefined) this.#endGeneration(`the NATS connection was re-established (${server}); messages in flight may be lost`, undefined);
        },
      }),
    );
    await channel.flush(10_000);
    const heartbeatMs = o.heartbeatMs ?? 1_000;
    const beat = () => channel.send(heartbeatSubject(o.runId, 'workers'), 'heartbeat', { workerId: COORDINATOR, step: this.#state.step - 1 });
    this.#timers.push(every(heartbeatMs, beat));
    this.#timers.push(watchSilence(this.#liveness, Math.min(250, heartbeatMs), (silent) => this.#onSilent(silent)));

    try {
      await this.#formGeneration('the run starts', o.joinTimeoutMs);
      this.#phase = 'formed';
      const result = await this.#train();
      if (result.stop?.requested) {
        if (result.stop.checkpoint !== undefined) o.log(`coordinator: checkpoint of step ${result.stop.step} written to ${result.stop.checkpoint}; continue with --resume`);
        throw this.#interruptedAt(result.stop.reason, result.stop.checkpoint);
      }
      await this.#durable?.recordFinished();
      channel.send(shutdownSubject(o.runId), 'shutdown', { reason: 'completed' });
      this.#observe({ kind: 'completed', generation: this.#generationNumber, step: this.#state.step, detail: `completed at step ${this.#state.step}` });
      const final = result.generation;
      const peerPaths = final.members.map((m) => {
        const reported = this.#peerPaths.get(m.rank);
        return reported?.generation === final.generation ? reported.counts : undefined;
      });
      return { ...result, resumedFrom, drops: this.drops.snapshot(), allreduceTransport: o.config.training.allreduce.transport, workerDrops: Object.fromEntries(this.#workerDrops), peerPaths };
    } catch (error) {
      if (error instanceof StopRequested && this.#failure === undefined) await this.#checkpointBeforeStopping(error);
      const failure = this.#failure ?? error;
      if (!(failure instanceof RunInterrupted) && this.#driver !== undefined) o.log(this.#whatAResumeRepeats());
      const message = failure instanceof GradmeshError ? `${failure.name}: ${failure.message}` : String((failure as Error)?.message ?? failure);
      channel.send(shutdownSubject(o.runId), 'shutdown', { reason: this.#interrupted ? 'interrupted' : 'failed', error: message.slice(0, 4000) });
      const worker = failure instanceof GradmeshError ? failure.context['worker'] : undefined;
      this.#observe({ kind: this.#interrupted ? 'interrupted' : 'error', generation: this.#generationNumber, step: this.#state.step, detail: message.slice(0, 4000), ...(typeof worker === 'string' ? { worker } : {}) });
      throw failure;
    } finally {
      this.#phase = 'ended';
      for (const t of this.#timers.splice(0)) t.stop();
      await channel.flush(2_000);
      channel.close();
      await nc.close().catch(() => undefined);
    }
  }

  /**
   * SIGINT/SIGTERM: stop the run cleanly. With a checkpoint store and a run in progress, the run stops at the
   * next step boundary and a checkpoint of that step is written first (a resumable state that loses no
   * step); a second signal, or a run without a store, stops at once. The workers are told to shut down.
   */
  interrupt(signal: string): void {
    if (this.#failure === undefined) this.#interrupted = true;
    if (this.#stopRequested === undefined && this.#failure === undefined && this.#driver !== undefined && this.#durable?.checkpoints !== undefined) {
      // The training loop stops at the next step boundary and writes the checkpoint there (Note [a checkpoint at every stop]).
      this.#stopRequested = signal;
      this.#o.log(`coordinator: ${signal}: stopping after the step in flight and writing a checkpoint (again to stop at once)`);
      return;
    }
    this.#fail(this.#interruptedAt(this.#stopRequested ?? signal, undefined));
  }

  /**
   * The error of an interrupted run, with the checkpoint it resumes from: the one written at the stop, else the
   * one this invocation resumed from (nothing newer was written... or the run would have stopped at a step
   * boundary), else none — and then why.
   */
  #interruptedAt(reason: string, written: string | undefined): RunInterrupted {
    const store = this.#durable?.checkpoints;
    const resumable = written ?? (this.#resumeFile !== undefined && this.#driver === undefined ? store?.describe(this.#resumeFile) : undefined);
    const whyNothing =
      store === undefined ? 'no checkpoint store was set (--checkpoint-store or --checkpoint-dir)'
      : this.#driver === undefined ? 'the run was interrupted before its first step; start it again'
      : 'no checkpoint was written at the stop; --resume continues from the newest checkpoint in the store, if any, and repeats the steps after it';
    return new RunInterrupted({ reason, step: this.#state.step, checkpoint: resumable, whyNothing });
  }

  /** For a run that failed: which checkpoint a resume would start from, and how many steps it would repeat. */
  #whatAResumeRepeats(): string {
    const latest = this.#durable?.latestCheckpoint ?? null;
    const step = latest === null ? undefined : parseCheckpointStep(latest);
    if (this.#durable?.checkpoints === undefined) return `coordinator: the run failed at step ${this.#state.step}; nothing is resumable: no checkpoint store was set`;
    if (latest === null || step === undefined) return `coordinator: the run failed at step ${this.#state.step} before its first checkpoint; a new run starts from step 0`;
    return `coordinator: the run failed at step ${this.#state.step}; the newest checkpoint is ${this.#durable.checkpoints.describe(latest)}: --resume repeats the ${this.#state.step - step} step(s) after step ${step}`;
  }

  /** Writes the checkpoint of the run's last completed step before an interrupted run stops (see interrupt). */
  async #checkpointBeforeStopping(stop: StopRequested): Promise<void> {
    this.#stopping = true;
    let where: string | undefined;
    try {
      where = await this.#driver!.checkpoint(this.#state, { stoppedBy: stop.reason });
      this.#o.log(`coordinator: checkpoint of step ${this.#state.step} written to ${where}; continue with --resume`);
    } catch (error) {
      this.#o.log(`coordinator: no checkpoint could be written before stopping: ${(error as Error).message}`);
    }
    this.#fail(this.#interruptedAt(stop.reason, where));
  }

  /** `--resume-from <file>`: read and verified here, refused when the store holds another run's checkpoints, then copied into the store. */
  async #adoptResumeFile(file: string): Promise<ResumePoint> {
    const resolved = path.resolve(file);
    const contents = await readCheckpoint(resolved);
    const info = await readTrainingCheckpointInfo({ where: resolved, contents });
    const store = this.#durable!.checkpoints!;
    await refuseForeignCheckpoints(store, info.run?.id, 'resume into an empty --checkpoint-store (or another --run for nats), or continue the store\'s own run with --resume', resolved);
    return this.#durable!.adopt(resolved, readFileSync(resolved), info, checkpointFileName(info.state.step));
  }

  /**
   * What `/readyz` answers (shared/src/monitor/readiness.ts): ready from the first generation on until the
   * run ends. A later generation forming (a worker lost or joining) keeps it ready: the run is formed and
   * goes on, and the reason says what it is doing.
   */
  get readiness(): Readiness {
    if (this.#phase === 'ended') return { ready: false, reason: 'the run has ended' };
    if (this.#phase === 'starting') {
      const joined = this.#known.size;
      return { ready: false, reason: this.#nc === undefined ? 'connecting to NATS' : `waiting for workers: ${joined} of ${this.#min === this.#o.workers ? this.#o.workers : `${this.#min}–${this.#o.workers}`} joined` };
    }
    const regroup = this.#regroupReason === undefined ? '' : `; forming the next generation (${this.#regroupReason})`;
    return { ready: true, reason: `generation ${this.#generationNumber}, world ${this.#generation?.worldSize ?? 0}, step ${this.#state.step}${regroup}` };
  }

  /** The membership events so far. */
  get events(): readonly RunEvent[] {
    return this.#events.events;
  }

  // ---- generations -----------------------------------------------------------------------------------------

  /**
   * Forms the next generation from the live workers and brings every member to the run's step: waits (up to
   * `waitMs`) until MAX workers are there — or MIN of them and no more arrive for a moment — assigns ranks,
   * waits for every member's `ready`, transfers a live replica's state to those that need it, and checks that
   * all hold identical parameters. A member lost meanwhile starts the formation again.
   */
  async #formGeneration(why: string, waitMs: number): Promise<void> {
    const o = this.#o;
    for (;;) {
      this.#throwIfFailed();
      const candidates = await this.#awaitCandidates(waitMs);
      const number = ++this.#generationNumber;
      const { generation, extras } = assignRanks(candidates, Math.min(o.workers, candidates.length), number);
      // A fresh secret for every generation (Note [links are per generation]); a member without a data address fails the run here.
      this.#links = generationLinks(generation, o.config.training.allreduce.transport);
      this.#generation = generation;
      this.#channel!.generation = number;
      this.#ready = new Map();
      this.#regroupReason = undefined;
      for (const w of extras) this.#dismiss(w.workerId, `run "${o.runId}" has its ${o.workers} workers`);
      for (const m of generation.members) this.#sendAssign(m.workerId, m.rank);
      const world = generation.members.map((m) => `rank ${m.rank} = ${m.workerId}${this.#links === undefined ? '' : ` (${m.dataAddress})`}`).join(', ');
      // The route is in the log line too, not only in the event: a deployment checks its log for it (deploy/test.sh).
      const route = this.#links === undefined ? 'all-reduce through NATS' : `all-reduce over direct links${o.config.training.allreduce.linkEncryption === 'tls' ? ' (TLS)' : ''}`;
      o.log(`generation ${number} (${why}): ${world}, from step ${this.#state.step}; ${route}`);
      this.#events.add({ kind: 'generation', generation: number, step: this.#state.step, detail: `${why}; world ${generation.worldSize}: ${world}; ${route}` });
      try {
        await this.#awaitReady(o.joinTimeoutMs, (r) => r.size === generation.worldSize);
        await this.#shareStateWhereNeeded();
        this.#verifyReady();
        this.#lost.clear();
        await this.#durable!.recordGeneration(number, generation.worldSize, this.#state.step); // durable state
        return;
      } catch (error) {
        if (!(error instanceof GenerationEnded)) throw error;
        why = error.message;
      }
    }
  }

  /** The workers the next generation is formed from, once enough are there (see #formGeneration). */
  async #awaitCandidates(waitMs: number): Promise<JoinedWorker[]> {
    const o = this.#o;
    const deadline = Date.now() + waitMs;
    let minSince: number | undefined;
    for (;;) {
      this.#throwIfFailed();
      const live = [...this.#known.values()];
      if (live.length >= o.workers) return live;
      if (live.length >= this.#min) {
        minSince ??= Date.now();
        // A last call (torchrun's): with MIN there, wait a moment for more before starting.
        if (Date.now() - minSince >= LAST_CALL_MS || Date.now() >= deadline) return live;
      } else {
        minSince = undefined;
        if (Date.now() >= deadline) {
          const lost = [...this.#lost.entries()].map(([id, why]) => `${id} (${why})`);
          const waited = `only ${live.length} of at least ${this.#min} workers are there after ${(waitMs / 1000).toFixed(0)} s${live.length ? `: ${live.map((w) => w.workerId).join(', ')}` : ''}`;
          throw new ClusterError(`${waited}${lost.length ? `; lost: ${lost.join(', ')}` : ''}`, {
            step: this.#state.step,
            hint: this.#generationNumber === 0
              ? `start ${o.workers} workers with --run ${o.runId} (gradmesh worker --nats ${o.natsUrl} --run ${o.runId}), or raise --join-timeout`
              : `start replacement workers; ${resumeHint(o.runId, o.checkpointStore)}`,
          });
        }
      }
      await this.#membershipChange();
    }
  }

  /** Resolves at the next join, ready, leave or loss — or after 100 ms, whichever comes first. */
  #membershipChange(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 100);
      this.#readyWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Waits until `done(ready)` holds, re-checking on every ready; a lost member ends the wait with GenerationEnded. */
  async #awaitReady(timeoutMs: number, done: (ready: Map<number, ReadyBody>) => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.#ready)) {
      this.#throwIfFailed();
      if (this.#regroupReason !== undefined) throw new GenerationEnded(this.#generationNumber, this.#regroupReason);
      if (Date.now() >= deadline) {
        const missing = this.#generation!.members.filter((m) => !this.#ready.has(m.rank) || this.#ready.get(m.rank)!.needsState);
        throw new ClusterError(`generation ${this.#generationNumber}: ${missing.map((m) => `rank ${m.rank} (worker ${m.workerId})`).join(', ')} did not become ready within ${timeoutMs / 1000} s`, {
          step: this.#state.step,
          hint: 'the worker cannot build its replica (data, memory) or is overloaded; see its log, or raise --join-timeout',
        });
      }
      await this.#membershipChange();
    }
  }

  /**
   * Replicas not at the run's step, or whose parameters differ from the lowest-ranked replica that is, get
   * that replica's state and report ready again.
   */
  async #shareStateWhereNeeded(): Promise<void> {
    const ready = [...this.#ready.values()].sort((a, b) => a.rank - b.rank);
    const donor = ready.find((r) => r.needsState !== true);
    if (donor === undefined) {
      throw new ClusterError(`no worker of generation ${this.#generationNumber} holds the state of step ${this.#state.step}: every replica that did was lost`, {
        step: this.#state.step,
        hint: resumeHint(this.#o.runId, this.#o.checkpointStore),
      });
    }
    const recipients = ready.filter((r) => r.needsState === true || r.checksum !== donor.checksum);
    if (recipients.length === 0) return;
    for (const r of recipients) this.#ready.set(r.rank, { ...r, needsState: true });
    const ids = recipients.map((r) => r.workerId);
    this.#o.log(`generation ${this.#generationNumber}: rank ${donor.rank} (worker ${donor.workerId}) sends its state of step ${this.#state.step} to ${ids.join(', ')}`);
    this.#events.add({ kind: 'state-transfer', generation: this.#generationNumber, worker: donor.workerId, step: this.#state.step, detail: `to ${ids.join(', ')}` });
    const requestId = this.#requestId++;
    const shared = this.#barrier.wait({ kind: 'stateShared', key: requestId, ranks: [donor.rank], timeoutMs: this.#o.stepTimeoutMs, what: `the state transfer of generation ${this.#generationNumber}`, step: this.#state.step });
    this.#channel!.send(stepSubject(this.#o.runId), 'shareState', { requestId, donor: donor.rank, recipients: ids });
    await shared;
    await this.#awaitReady(this.#o.stepTimeoutMs, (r) => [...r.values()].every((x) => x.needsState !== true));
  }

  /** Every replica must hold the same parameters at the run's step, and the same data. */
  #verifyReady(): void {
    const ready = [...this.#ready.values()].sort((a, b) => a.rank - b.rank);
    const first = ready[0]!;
    for (const r of ready) {
      if (r.step !== this.#state.step) {
        throw new ClusterError(`rank ${r.rank} (worker ${r.workerId}) is at step ${r.step}, the run is at step ${this.#state.step}`, { rank: r.rank, worker: r.workerId, step: this.#state.step, hint: 'every worker must restore the same checkpoint; use one shared --checkpoint-dir' });
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
    this.#checkChecksums(ready, `at the start of generation ${this.#generationNumber}`);
  }

  /** Ends the current generation: the members are told, and the open command (if it waits for `rank`, or any) is abandoned. */
  #endGeneration(reason: string, rank: number | undefined): void {
    const gen = this.#generationNumber;
    if (this.#regroupReason === undefined) {
      this.#regroupReason = reason;
      // The members abandon what they are doing (an all-reduce that waits for a lost rank would never end).
      this.#channel?.send(stepSubject(this.#o.runId), 'regroup', { generation: gen, reason: reason.slice(0, 4000) });
      // From now on heartbeats announce the next generation, so live workers left out of it join again.
      if (this.#channel !== undefined) this.#channel.generation = gen + 1;
    }
    if (rank === undefined || this.#barrier.missing().includes(rank)) this.#barrier.abort(new GenerationEnded(gen, reason));
    this.#readyWaiter?.();
  }

  /**
   * Before each command: form the next generation when a member was lost or left, or a worker is waiting to join.
   * A step already sent ahead (Note [steps are sent ahead] in cluster-step-driver.ts) is out: only an
   * ended generation stops it; a stop request or a joiner waits for the next boundary.
   */
  async #beforeCommand(kind: CommandKind, sentAhead: boolean): Promise<void> {
    if (sentAhead && this.#regroupReason === undefined) return;
    // An interrupted run stops at a step boundary (after the loop's decisions of the last step are settled).
    if (this.#stopRequested !== undefined && !this.#stopping && kind === 'step') {
      throw new StopRequested(this.#stopRequested, `interrupted by ${this.#stopRequested} at step ${this.#state.step}`);
    }
    await this.#regroupIfNeeded();
  }

  /** Whether a step may be sent ahead of the current one's replies (nothing waits for the next command boundary). */
  #maySendAhead(): boolean {
    return this.#o.stepAhead !== false && this.#stopRequested === undefined && this.#regroupReason === undefined && this.#waitingToJoin().length === 0;
  }

  /** Live workers outside the current generation that it has room for. */
  #waitingToJoin(): string[] {
    const gen = this.#generation!;
    if (gen.worldSize >= this.#o.workers) return [];
    return [...this.#known.keys()].filter((id) => !gen.members.some((m) => m.workerId === id));
  }

  async #regroupIfNeeded(): Promise<void> {
    const waiting = this.#waitingToJoin();
    if (this.#regroupReason === undefined && waiting.length === 0) return;
    const why = this.#regroupReason ?? `${waiting.join(', ')} joined`;
    await this.#formGeneration(why, this.#o.rejoinTimeoutMs ?? 60_000);
  }

  #sendAssign(workerId: string, rank: number): void {
    const o = this.#o;
    const gen = this.#generation!;
    this.#channel!.send(assignSubject(o.runId, workerId), 'assign', {
      workerId,
      rank,
      worldSize: gen.worldSize,
      generation: gen.generation,
      members: gen.members.map((m) => m.workerId),
      config: o.config.raw,
      baseDir: o.config.baseDir,
      heartbeatTimeoutMs: o.heartbeatTimeoutMs,
      stepTimeoutMs: o.stepTimeoutMs,
      startStep: this.#state.step,
      ...(o.checkpointStore === undefined ? {} : { checkpointStore: o.checkpointStore.kind }),
      ...(this.#resumeFile === undefined ? {} : { resumeFrom: this.#resumeFile }),
      ...(this.#links === undefined ? {} : { links: this.#links }),
    });
  }

  /** Tells the observer (Note [run events] in shared/src/monitor/run-observer.ts); a generation event lists its ranks. */
  #observe(e: { kind: RunEventKind; generation: number; worker?: string; step: number; detail: string }): void {
    const observer = this.#o.observer?.event;
    if (observer === undefined) return;
    const members = e.kind === 'generation' ? this.#generation?.members : undefined;
    observer.call(this.#o.observer, { time: Date.now(), kind: e.kind, generation: e.generation, worker: e.worker ?? null, step: e.step, detail: e.detail, ...(members ? { ranks: members.map((m) => ({ rank: m.rank, worker: m.workerId })) } : {}) });
  }

  #dismiss(workerId: string, reason: string): void {
    this.#o.log(`worker ${workerId} is not needed: ${reason}`);
    this.#observe({ kind: 'dismissed', generation: this.#generationNumber, worker: workerId, step: this.#state.step, detail: reason });
    this.#known.delete(workerId);
    this.#liveness.forget(workerId);
    this.#channel!.send(assignSubject(this.#o.runId, workerId), 'dismiss', { workerId, reason });
  }

  // ---- training --------------------------------------------------------------------------------------------

  /** Runs the training loop through the cluster driver; generations change underneath it. */
  async #train(): Promise<Omit<ClusterRun, 'resumedFrom' | 'drops' | 'workerDrops' | 'allreduceTransport' | 'peerPaths'>> {
    const o = this.#o;
    const driver = new ClusterStepDriver({
      runId: o.runId,
      channel: this.#channel!,
      barrier: this.#barrier,
      membership: () => ({ generation: this.#generation!, ready: [...this.#ready.values()].sort((a, b) => a.rank - b.rank) }),
      beforeCommand: (kind, sentAhead) => this.#beforeCommand(kind, sentAhead),
      maySendAhead: () => this.#maySendAhead(),
      maxWorkers: o.workers,
      stepTimeoutMs: o.stepTimeoutMs,
      evaluationTimeoutMs: o.evaluationTimeoutMs ?? 4 * o.stepTimeoutMs,
      checkpointTimeoutMs: o.checkpointTimeoutMs ?? 4 * o.stepTimeoutMs,
      checksumEvery: o.checksumEvery,
      checkpointed: (step, name) => this.#durable!.recordCheckpoint(step, name), // durable state
      failure: () => this.#failure,
      nextRequestId: () => this.#requestId++,
      onTimeout: (error) => {
        for (const rank of error.missing) {
          const member = this.#generation?.members[rank];
          if (member !== undefined) this.#loseMember(member, `no reply within --step-timeout (${error.message})`);
        }
      },
      onRedo: (what) => this.#events.add({ kind: 'redo', generation: this.#generationNumber, step: this.#state.step, detail: what }),
      ...(o.observer?.stepTimed === undefined ? {} : { onStepTimed: (sample) => o.observer?.stepTimed?.(sample) }),
    });
    this.#driver = driver;
    const outcome = await runTrainingLoop(driver, this.#state, {
      config: o.config,
      checkpoints: o.checkpointStore !== undefined,
      stopRequested: () => this.#stopRequested,
      evaluateTest: true,
      ...(o.maxSteps === undefined ? {} : { maxSteps: o.maxSteps }),
      ...(o.maxSkipped === undefined ? {} : { maxSkipped: o.maxSkipped }),
      ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
    });
    const checksums = driver.checksums;
    const timings = driver.timings;
    return {
      generation: this.#generation!,
      ready: [...this.#ready.values()].sort((a, b) => a.rank - b.rank),
      state: this.#state,
      stepsTaken: outcome.stepsTaken,
      test: outcome.test,
      paramsChecksum: checksums.checksum,
      replicaChecksumsAgree: checksums.agree,
      checksumComparisons: checksums.comparisons,
      timings: { perRank: timings.perRank(), ...timings.summary(), stepWallSeconds: timings.wallSeconds, stepsSentAhead: driver.stepsSentAhead },
      trainSamples: outcome.trainSamples,
      trainSeconds: outcome.trainSeconds,
      events: this.#events.events,
      generations: this.#generationNumber,
      stop: outcome.stop,
    };
  }

  #checkChecksums(reports: ChecksumReport[], when: string): void {
    const comparison = compareChecksums(reports);
    if (!comparison.agree) throw divergenceError(reports, comparison, when, this.#state.step);
  }

  // ---- messages from workers -----------------------------------------------------------------------------

  #onJoinSubject(m: ControlMessage): void {
    if (m.kind === 'join') return this.#onJoin(m.body);
    if (m.kind === 'ready') return this.#onReady(m.from, m.body);
    if (m.kind === 'leave') return this.#onLeave(m.from, m.body.reason);
  }

  #onJoin(body: JoinBody): void {
    const o = this.#o;
    const known = this.#known.get(body.workerId);
    if (known !== undefined && known.pid === body.pid && known.host === body.host) {
      // The same process joining again (its assignment was lost or is in flight): send it again.
      this.#liveness.touch(body.workerId);
      const member = this.#member(body.workerId);
      if (member !== undefined && !this.#ready.has(member.rank)) this.#sendAssign(member.workerId, member.rank);
      return;
    }
    const member = this.#member(body.workerId);
    if (known !== undefined && member !== undefined) {
      // Its id, another process: the member restarted and lost its replica. It is lost; the new process joins.
      this.#loseMember(member, `it restarted as a new process (pid ${body.pid} on ${body.host})`);
    }
    if (known === undefined && this.#known.size >= o.workers && this.#generation !== undefined && this.#generation.worldSize >= o.workers) {
      return this.#dismiss(body.workerId, `run "${o.runId}" already has its ${o.workers} workers`);
    }
    this.#known.set(body.workerId, joinedWorker(body));
    this.#liveness.touch(body.workerId);
    const links = body.dataAddress === undefined ? '' : `, links at ${body.dataAddress}`;
    o.log(`worker ${body.workerId} joined (pid ${body.pid} on ${body.host}, ${body.threads} threads${links}) — ${this.#known.size} known, ${o.workers} wanted`);
    this.#events.add({ kind: 'joined', generation: this.#generationNumber, worker: body.workerId, step: this.#state.step, detail: `pid ${body.pid} on ${body.host}` });
    this.#readyWaiter?.();
  }

  #onReady(from: string, body: ReadyBody): void {
    const member = this.#generation?.members[body.rank];
    if (member === undefined || member.workerId !== from || body.workerId !== from || body.generation !== this.#generationNumber) {
      return this.drops.drop('ready', 'malformed', `ready from ${from} for rank ${body.rank}, which is not its rank in generation ${this.#generationNumber}`);
    }
    this.#liveness.touch(from);
    this.#ready.set(body.rank, body);
    this.#readyWaiter?.();
  }

  #onLeave(from: string, reason: string): void {
    const member = this.#member(from);
    this.#known.delete(from);
    this.#liveness.forget(from);
    this.#o.log(`worker ${from} leaves: ${reason}`);
    this.#events.add({ kind: 'left', generation: this.#generationNumber, worker: from, step: this.#state.step, detail: reason });
    if (member !== undefined) {
      this.#lost.set(from, `left: ${reason}`);
      this.#endGeneration(`worker ${from} (rank ${member.rank}) left`, member.rank);
    }
  }

  #onReply(m: ControlMessage): void {
    const member = this.#member(m.from);
    if (member === undefined) return this.drops.drop(m.kind, 'malformed', `a ${m.kind} from ${m.from}, which holds no rank in generation ${this.#generationNumber}`);
    this.#liveness.touch(m.from);
    const reported = (m.body as { drops?: Record<string, number> }).drops;
    if (reported !== undefined) this.#workerDrops.set(m.from, { ...reported });
    let rejected: ReturnType<StepBarrier['deliver']>;
    switch (m.kind) {
      case 'stepDone':
        rejected = m.body.rank === member.rank ? this.#barrier.deliver('stepDone', m.body.step, m.body.rank, m.body) : 'malformed';
        if (rejected === undefined && m.body.peerPaths !== undefined) {
          // Note [paths in the report]: a rank has at most N − 1 peers; a count beyond that is not believed.
          const { memory, links } = m.body.peerPaths;
          const peers = (this.#generation?.worldSize ?? 1) - 1;
          if (memory + links <= peers) this.#peerPaths.set(member.rank, { generation: this.#generationNumber, counts: m.body.peerPaths });
          else this.drops.drop('stepDone', 'malformed', `peer paths of ${memory} + ${links} from ${m.from}, which has ${peers} peers`);
        }
        break;
      case 'evaluated': {
        // A confusion matrix must be of the run's classes (the codec already bounds its counts by the reply's).
        const classes = this.#ready.get(0)?.classes;
        if (m.body.confusion !== undefined && m.body.confusion.length !== classes) {
          rejected = 'malformed';
          break;
        }
        rejected = m.body.rank === member.rank ? this.#barrier.deliver(m.kind, m.body.requestId, m.body.rank, m.body) : 'malformed';
        break;
      }
      case 'epochEnded':
      case 'checkpointed':
      case 'stateShared':
        rejected = m.body.rank === member.rank ? this.#barrier.deliver(m.kind, m.body.requestId, m.body.rank, m.body) : 'malformed';
        break;
      default:
        return; // commands published by us on a shared subject family are not replies
    }
    if (typeof rejected === 'object') this.drops.drop(m.kind, rejected.reason, `a ${m.kind} from ${m.from} (rank ${member.rank}) out of the run's bounds: ${rejected.detail}`);
    else if (rejected !== undefined) this.drops.drop(m.kind, rejected, `a ${m.kind} from ${m.from} (rank ${member.rank}) that answers no open command`);
  }

  #touch(m: ControlMessage): void {
    if (m.kind !== 'heartbeat') return;
    if (this.#known.has(m.from)) this.#liveness.touch(m.from);
  }

  #onWorkerError(m: ControlMessage): void {
    if (m.kind !== 'error') return;
    const member = this.#member(m.from);
    if (member === undefined) {
      if (this.#known.delete(m.from)) this.#liveness.forget(m.from);
      return this.drops.drop('error', 'malformed', `an error report from ${m.from}, which holds no rank`);
    }
    const at = m.body.step >= 0 ? ` at step ${m.body.step}` : '';
    if (m.body.input === true) {
      // Its input is wrong on its machine (a data file, --threads): no generation can use it until a user fixes it.
      this.#o.log(`worker ${member.workerId} (rank ${member.rank}) refused its input${at}: ${m.body.message}`);
      return this.#fail(new ConfigError('', `worker ${member.workerId} (rank ${member.rank}) refused its input${at}: ${m.body.message}`, {
        hint: "fix the data files or flags on that worker's machine; every worker checks them before it takes part",
      }));
    }
    this.#loseMember(member, `it failed${at}: ${m.body.message}`);
  }

  #onSilent(silent: { peer: string; silentMs: number }[]): void {
    if (this.#disconnected) return;
    for (const { peer, silentMs } of silent) {
      const member = this.#member(peer);
      this.#liveness.forget(peer);
      if (member === undefined) {
        // A worker waiting to join went away: forget it; another may take its place.
        this.#known.delete(peer);
        this.#o.log(`worker ${peer} went silent before it was given a rank; forgotten`);
        continue;
      }
      const waiting = this.#barrier.missing().includes(member.rank) ? ` (the open command was waiting for it)` : '';
      this.#loseMember(member, `no heartbeat for ${(silentMs / 1000).toFixed(1)} s at step ${this.#state.step}${waiting}: it died or stalled`);
    }
  }

  /** A member is gone: it leaves the candidates (it may join again as a new process, or after a stall). */
  #loseMember(member: Member, why: string): void {
    this.#known.delete(member.workerId);
    this.#liveness.forget(member.workerId);
    this.#lost.set(member.workerId, why);
    this.#o.log(`worker ${member.workerId} (rank ${member.rank}) is lost: ${why}`);
    this.#events.add({ kind: 'lost', generation: this.#generationNumber, worker: member.workerId, step: this.#state.step, detail: why });
    this.#endGeneration(`worker ${member.workerId} (rank ${member.rank}) was lost: ${why}`, undefined);
  }

  #member(workerId: string): Member | undefined {
    return this.#generation?.members.find((m) => m.workerId === workerId);
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = error instanceof Error ? error : new ClusterError(String(error));
    this.#barrier.abort(this.#failure);
    this.#readyWaiter?.();
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}

/** With MIN workers there, how long formation waits for more before it starts. */
const LAST_CALL_MS = 2_000;

/** The run was asked to stop (interrupt) and has reached a step boundary while a command was being redone. */
class StopRequested extends ClusterError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}
