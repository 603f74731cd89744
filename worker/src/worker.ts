import os from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  assignSubject,
  ClusterError,
  ConfigError,
  DropCounter,
  ANY_SENDER,
  errorSubject,
  evalSubject,
  GradmeshError,
  heartbeatSubject,
  joinSubject,
  parseDataAddress,
  shutdownSubject,
  stepDoneSubject,
  stepSubject,
  stateTransferSubject,
  saveStepTrace,
  StepTrace,
  wallMs,
  type AssignBody,
  type ControlMessage,
  type DropCounts,
  type PeerPathCounts,
  type StepBody,
  type StepDoneBody,
  type StepTimeline,
} from '@gradmesh/shared/internal';
import { connectNats, ControlChannel, every, HeartbeatThread, Liveness, localAddressToward, PeerListener, watchConnection, watchSilence, RunStateStore, type NatsCredentials } from '@gradmesh/transport';
import type { CheckpointStore, Readiness } from '@gradmesh/shared/internal';
import { assignedCheckpointStore, assignedResumePoint } from './assigned-checkpoint-store.js';
import { ConnectionInterrupted, RsagAllReduce } from './allreduce/rsag.js';
import { DirectPieceTransport } from './allreduce/direct-piece-transport.js';
import { describePeerPaths, overSharedMemory } from './allreduce/shared-memory-piece-transport.js';
import { Replica } from './replica.js';
import { publishState, StateReceiver } from './state-transfer.js';
import { stepCommandProblem } from './command-bounds.js';
import { sendHeldRepliesNow } from './reply-hold.js';

export interface WorkerOptions {
  readonly natsUrl: string;
  /** The worker's NATS identity: its main connection and its heartbeat thread's use it. */
  readonly natsCredentials?: NatsCredentials;
  readonly runId: string;
  readonly workerId: string;
  readonly threads: number;
  /** Give up when no coordinator has assigned this worker within this long. */
  readonly joinTimeoutMs: number;
  /** Until the assignment says otherwise: exit when the coordinator is silent this long. */
  readonly heartbeatTimeoutMs: number;
  readonly log: (line: string) => void;
  /** Heartbeat period (default 1 s). */
  readonly heartbeatMs?: number;
  /** Tolerate a silent coordinator this long (at least the heartbeat timeout) before giving up. */
  readonly coordinatorGraceMs?: number;
  /** This machine's path of the run's checkpoint directory, for a run that checkpoints to one (`dir`). */
  readonly checkpointDir?: string;
  /**
   * Where the link listener for direct worker-to-worker links binds (`--data-host`, `--data-port`): port 0 is
   * any free port; no host means the local address of the NATS connection (what the other ranks can reach).
   */
  readonly dataListen?: { readonly host?: string; readonly port: number };
  /** `host:port` where the link listener accepts, sent in the join (data-address.ts); absent: none is offered. */
  readonly dataAddress?: string;
  /** Where to write this worker's step trace when it exits (`--trace-dir`: `<dir>/<worker>.trace.json`; Note [step traces]). */
  readonly traceFile?: string;
}

export interface WorkerOutcome {
  /** 0: the run completed (or this worker was not needed); non-zero: it failed or was stopped. */
  readonly exitCode: number;
  readonly reason: string;
}

/** Commands are run one at a time in arrival order; this is what the queue holds. */
type Command = Extract<ControlMessage, { kind: 'step' | 'evaluate' | 'epochEnd' | 'checkpoint' | 'shareState' }>;

const CLEANUP_MS = 5_000;
/** How often a worker refreshes its registration (well inside the registration's 30 s lifetime). */
const REGISTRATION_REFRESH_MS = 5_000;

/**
 * A worker process of a run: joins, takes the rank the coordinator assigns, builds its replica, reports
 * ready, then executes the coordinator's commands (steps, evaluations, epoch ends, checkpoints) one at a
 * time until told to shut down. A new assignment (the next generation, after a member was lost or joined)
 * abandons the command in flight, takes the new rank and world, brings the replica to the generation's
 * start step (undoing a step the old generation did not complete, or receiving a live replica's state) and
 * reports ready again. SIGTERM leaves the run after the command in flight. Every wait is bounded: no
 * assignment within the join timeout, no coordinator heartbeat within the heartbeat timeout, a lost NATS
 * connection — each ends the process with a non-zero exit and one line saying why.
 */
export class WorkerProcess {
  readonly #options: WorkerOptions;
  readonly #drops: DropCounter;
  #nc: NatsConnection | undefined;
  #channel: ControlChannel | undefined;
  #assignment: AssignBody | undefined;
  #replica: Replica | undefined;
  /** The run's checkpoint store, from the assignment's kind (assigned-checkpoint-store.ts). */
  #checkpoints: CheckpointStore | undefined;
  /** The run's rendezvous store, where this worker keeps its registration fresh (undefined without JetStream). */
  #registry: RunStateStore | undefined;
  #allReduce: RsagAllReduce | undefined;
  /** Accepts the peers' direct links (one per process, for every generation); undefined without `dataListen`. */
  #listener: PeerListener | undefined;
  /** Receives a live replica's state while this replica waits for one. */
  #stateReceiver: StateReceiver | undefined;
  /** SIGTERM: leave after the command in flight. */
  #leaving: string | undefined;
  /** The last generation the coordinator ended (its commands are abandoned). */
  #endedGeneration = 0;
  /**
   * The generation whose command failed with this worker's NATS connection (ConnectionInterrupted): the commands
   * queued behind it (a step sent ahead) are skipped — the replica did not finish the step they follow, and the
   * coordinator forms a new generation once it is back.
   */
  #interruptedGeneration = 0;
  /** When this worker last asked to join again (Note [rejoining]). */
  #lastRejoin = 0;
  #queue: Promise<void> = Promise.resolve();
  /** Commands queued and not yet taken up, in order (for #nextQueuedStep). */
  readonly #queued: { readonly command: Command; readonly generation: number }[] = [];
  #lastRequest = -1;
  /** Step replies not yet sent (Note [replies are sent R at a time]), with the generation each step ran in. */
  readonly #held: { readonly done: StepDoneBody; readonly timeline: StepTimeline | undefined; readonly generation: number; readonly at: number }[] = [];
  #repliesScheduled = false;
  /** When the last step ended (performance.now()): how long the steps take, for holding replies. */
  #lastStepEnded = -Infinity;
  /** The drop total last attached to a reply. */
  #dropsReported = 0;
  /** This rank's peer paths, learned and not yet reported (Note [paths in the report]). */
  #peerPaths: { readonly generation: number; readonly counts: PeerPathCounts } | undefined;
  /** The coordinator's liveness, watched from the assignment on. */
  #liveness: Liveness | undefined;
  /** The step being executed or last executed (for heartbeats and error reports); −1 before the first. */
  #stepValue = -1;
  /** Heartbeats to the coordinator, from a thread of their own (they flow while this thread computes). */
  #beats: HeartbeatThread | undefined;
  readonly #timers: { stop(): void }[] = [];
  #finished = false;
  /** Step timelines, when the worker writes a trace (Note [step traces]). */
  readonly #trace: StepTrace | undefined;
  /** The generation this worker last reported ready in (its replica is at the generation's start step). */
  #readyGeneration = 0;
  #resolve: (outcome: WorkerOutcome) => void = () => undefined;
  readonly #outcome = new Promise<WorkerOutcome>((resolve) => (this.#resolve = resolve));

  constructor(options: WorkerOptions) {
    this.#options = options;
    if (options.traceFile !== undefined) this.#trace = new StepTrace();
    this.#drops = new DropCounter(options.log);
  }

  get #step(): number {
    return this.#stepValue;
  }

  set #step(step: number) {
    this.#stepValue = step;
    const a = this.#assignment;
    if (a !== undefined) this.#beats?.update(a.rank, step, a.generation);
  }

  get drops(): DropCounter {
    return this.#drops;
  }

  /** What `/readyz` answers (shared/src/monitor/readiness.ts): ready while it holds a rank of a live generation and is at its step. */
  get readiness(): Readiness {
    const a = this.#assignment;
    if (this.#finished) return { ready: false, reason: 'the worker is stopping' };
    if (this.#leaving !== undefined) return { ready: false, reason: `leaving the run (${this.#leaving})` };
    if (a === undefined) return { ready: false, reason: `waiting for a rank in run "${this.#options.runId}"` };
    if (a.generation <= this.#endedGeneration) return { ready: false, reason: `generation ${a.generation} ended; waiting for the next` };
    if (this.#readyGeneration !== a.generation) return { ready: false, reason: `preparing rank ${a.rank} of generation ${a.generation}` };
    return { ready: true, reason: `rank ${a.rank} of ${a.worldSize}, generation ${a.generation}, step ${this.#step}` };
  }

  async run(): Promise<WorkerOutcome> {
    const o = this.#options;
    const nc = await connectNats(o.natsUrl, `gradmesh-worker-${o.workerId}`, o.natsCredentials);
    this.#nc = nc;
    if (o.dataListen !== undefined) this.#listener = await openListener(o.dataListen, nc.getServer());
    const channel = new ControlChannel({ nc, runId: o.runId, self: o.workerId, drops: this.#drops, onHandlerError: (e) => this.#fail(e) });
    this.#channel = channel;
    // After the assignment only the coordinator's generation is listened to (an older run's coordinator that
    // is still alive, or a future generation, must not steer this replica).
    const ours = (m: ControlMessage) => this.#assignment === undefined || m.gen === this.#assignment.generation;
    channel.listen(assignSubject(o.runId, o.workerId), (m) => this.#onAssign(m));
    // The coordinator's heartbeats are heard in any generation: one of a later generation that has not assigned
    // this worker a rank means it was left out (lost during a stall or a network gap, or a restarted
    // coordinator): it joins again (Note [rejoining]).
    channel.listen(heartbeatSubject(o.runId, 'workers'), (m) => this.#fromCoordinator(m) && this.#coordinatorAlive(m.gen));
    channel.listen(stepSubject(o.runId), (m) => this.#onCommand(m), ours);
    channel.listen(evalSubject(o.runId), (m) => this.#onCommand(m), ours);
    // A shutdown of this generation or a later one (the coordinator may have ended this worker's generation).
    channel.listen(shutdownSubject(o.runId), (m) => this.#onShutdown(m), (m) => this.#assignment === undefined || m.gen >= this.#assignment.generation);
    this.#timers.push(watchConnection(nc, (why) => this.#fail(new ClusterError(`worker ${o.workerId}: NATS connection lost (${why}) at step ${this.#step}`, { worker: o.workerId, step: this.#step }))));
    await channel.flush(10_000);

    const heartbeatMs = o.heartbeatMs ?? 1_000;
    const join = () => this.#sendJoin();
    join();
    // Joins repeat until an assignment arrives: the coordinator may start after us, and a lost join or assign
    // is simply sent again (the coordinator answers a repeated join with the same assignment).
    const joining = every(heartbeatMs, () => (this.#assignment === undefined ? join() : joining.stop()));
    this.#timers.push(joining);
    const joinDeadline = setTimeout(() => {
      if (this.#assignment === undefined) {
        this.#finish(1, `worker ${o.workerId}: no coordinator of run "${o.runId}" assigned a rank within ${o.joinTimeoutMs / 1000} s (start the coordinator with --run ${o.runId}, or check --nats)`);
      }
    }, o.joinTimeoutMs);
    this.#timers.push({ stop: () => clearTimeout(joinDeadline) });
    return this.#outcome;
  }

  /**
   * SIGTERM: leave the run gracefully — after the command in flight, tell the coordinator (which forms the
   * next generation without this worker) and exit 0. SIGINT: tell the coordinator and exit at once.
   */
  interrupt(signal: string): void {
    const o = this.#options;
    if (signal === 'SIGTERM' && this.#assignment !== undefined && this.#leaving === undefined) {
      this.#leaving = `SIGTERM at step ${this.#step}`;
      o.log(`worker ${o.workerId}: leaving the run after the command in flight (SIGTERM)`);
      this.#enqueue(async () => this.#leave(), this.#assignment.generation);
      return;
    }
    this.#fail(new ClusterError(`worker ${o.workerId} was interrupted (${signal})`, { worker: o.workerId, step: this.#step }), signal === 'SIGINT' ? 130 : 143);
  }

  #leave(): void {
    const o = this.#options;
    this.#sendHeldReplies();
    void this.#registry?.deregisterWorker(o.workerId).catch(() => undefined);
    this.#channel?.send(joinSubject(o.runId, o.workerId), 'leave', { workerId: o.workerId, reason: this.#leaving ?? 'leaving' });
    this.#finish(0, `worker ${o.workerId}: left the run (${this.#leaving ?? 'leaving'})`);
  }

  #fromCoordinator(m: ControlMessage): boolean {
    if (m.from === 'coordinator') return true;
    this.#drops.drop(m.kind, 'malformed', `a ${m.kind} message from ${m.from}; only the coordinator sends these`);
    return false;
  }

  /**
   * Note [rejoining]
   * A member that the coordinator counted as lost (it stalled, or its heartbeats were lost in a NATS restart)
   * but is alive hears heartbeats of a newer generation without an assignment; it sends `join` again (at most
   * once per heartbeat period) and is taken into the next generation like any joiner, bringing its replica to
   * the start step or receiving a live replica's state.
   */
  #coordinatorAlive(generation: number): void {
    this.#liveness?.touch('coordinator');
    const a = this.#assignment;
    if (a === undefined || generation <= a.generation || this.#leaving !== undefined) return;
    const now = Date.now();
    if (now - this.#lastRejoin < (this.#options.heartbeatMs ?? 1_000)) return;
    this.#lastRejoin = now;
    this.#sendJoin();
  }

  /** What the join offers the peers: the listener's address, else the one the caller gave. */
  get #dataAddress(): string | undefined {
    return this.#listener?.address ?? this.#options.dataAddress;
  }

  #sendJoin(): void {
    const o = this.#options;
    this.#channel?.send(joinSubject(o.runId, o.workerId), 'join', { workerId: o.workerId, pid: process.pid, host: os.hostname().slice(0, 255), threads: o.threads, ...(this.#dataAddress === undefined ? {} : { dataAddress: this.#dataAddress }) });
  }

  #onAssign(m: ControlMessage): void {
    const o = this.#options;
    if (!this.#fromCoordinator(m)) return;
    if (m.kind === 'dismiss') {
      if (this.#assignment === undefined) this.#finish(0, `worker ${o.workerId}: not needed in run "${o.runId}" (${m.body.reason})`);
      return;
    }
    if (m.kind !== 'assign' || m.body.workerId !== o.workerId) {
      this.#drops.drop(m.kind, 'malformed', `${m.kind} for ${m.kind === 'assign' ? m.body.workerId : '?'} on ${o.workerId}'s assign subject`);
      return;
    }
    const a = m.body;
    const previous = this.#assignment;
    if (previous !== undefined && a.generation <= previous.generation) {
      // The coordinator answers a repeated join with the same assignment; an older one is stale.
      if (a.generation < previous.generation || a.rank !== previous.rank) this.#drops.drop('assign', 'foreign-generation', `an assignment of generation ${a.generation} (rank ${a.rank}); this worker is in generation ${previous.generation}`);
      return;
    }
    if (previous === undefined) this.#watchCoordinator(a);
    this.#beginGeneration(a);
  }

  /**
   * Registers this worker in the run's rendezvous store (JetStream KV, a key that expires unless refreshed,
   * like torchrun's rendezvous), refreshed every few seconds; a server without JetStream just means no
   * registration (the coordinator learns about workers from their joins and heartbeats either way).
   */
  #register(): void {
    const o = this.#options;
    void RunStateStore.open(this.#nc!, o.runId).then(
      (registry) => {
        if (this.#finished) return;
        this.#registry = registry;
        const refresh = () => void registry.registerWorker({ workerId: o.workerId, pid: process.pid, host: os.hostname().slice(0, 255) }).catch(() => undefined);
        refresh();
        this.#timers.push(every(REGISTRATION_REFRESH_MS, refresh));
      },
      (error: unknown) => o.log(`worker ${o.workerId}: not registered in the run's store (${(error as Error).message.split('\n')[0]})`),
    );
  }

  /** From the first assignment on: heartbeats to the coordinator, and its silence ends this worker. */
  #watchCoordinator(a: AssignBody): void {
    const o = this.#options;
    this.#register();
    const timeoutMs = Math.max(a.heartbeatTimeoutMs ?? o.heartbeatTimeoutMs, o.coordinatorGraceMs ?? 0);
    this.#liveness = new Liveness(timeoutMs);
    this.#liveness.touch('coordinator');
    const heartbeatMs = o.heartbeatMs ?? 1_000;
    this.#beats = new HeartbeatThread({ natsUrl: o.natsUrl, runId: o.runId, workerId: o.workerId, subject: heartbeatSubject(o.runId, 'coordinator', o.workerId), periodMs: heartbeatMs, ...(o.natsCredentials ? { credentials: o.natsCredentials } : {}) });
    this.#beats.update(a.rank, this.#step, a.generation);
    this.#timers.push(
      watchSilence(this.#liveness, Math.min(250, heartbeatMs), ([s]) =>
        this.#finish(1, `worker ${o.workerId} (rank ${this.#assignment?.rank ?? a.rank}): no heartbeat from the coordinator for ${(s!.silentMs / 1000).toFixed(1)} s at step ${this.#step}; it died or the network is partitioned — stopping`),
      ),
    );
  }

  /**
   * Takes a place in generation `a.generation`: the command in flight (of the previous generation) is
   * abandoned — closing its all-reduce makes it fail, and its failure is ignored — then the replica is built
   * (first assignment) or re-ranked, brought to the start step, and reported ready (or waiting for a state).
   */
  #beginGeneration(a: AssignBody): void {
    const o = this.#options;
    this.#assignment = a;
    this.#channel!.generation = a.generation;
    this.#step = a.startStep - 1;
    // Request ids are per coordinator; a new generation may come from a new one (it counts from 0 again).
    this.#lastRequest = -1;
    this.#beats?.update(a.rank, this.#step, a.generation);
    const abandoned = this.#allReduce;
    this.#allReduce = undefined;
    void abandoned?.close();
    this.#stateReceiver?.close();
    this.#stateReceiver = undefined;
    o.log(`worker ${o.workerId}: rank ${a.rank} of ${a.worldSize} (generation ${a.generation}) from step ${a.startStep}${a.resumeFrom && this.#replica === undefined ? `, resuming from ${a.resumeFrom}` : ''}`);
    this.#enqueue(async () => {
      this.#checkpoints ??= await assignedCheckpointStore(a.checkpointStore, { nc: this.#nc!, runId: o.runId, workerId: o.workerId, checkpointDir: o.checkpointDir });
      this.#replica ??= await Replica.create({
        config: a.config,
        baseDir: a.baseDir ?? process.cwd(),
        workerId: o.workerId,
        rank: a.rank,
        worldSize: a.worldSize,
        generation: a.generation,
        threads: o.threads,
        ...(a.resumeFrom === undefined ? {} : { resumeFrom: await assignedResumePoint(this.#checkpoints, a.resumeFrom, o.workerId) }),
      });
      let replica = this.#replica;
      // The step handed out early in the last generation will not run as it was handed out.
      await replica.withdrawEarly();
      let atStart = replica.joinGeneration(a.rank, a.worldSize, a.generation, a.startStep);
      if (!atStart && a.resumeFrom !== undefined && replica.nextStep > a.startStep) {
        // The run went back to a checkpoint (a restarted coordinator): this replica is ahead of it.
        await replica.restoreCheckpoint(await assignedResumePoint(this.#checkpoints, a.resumeFrom, o.workerId));
        atStart = replica.joinGeneration(a.rank, a.worldSize, a.generation, a.startStep);
      } else if (!atStart && a.resumeFrom === undefined && a.startStep === 0) {
        // The run starts over from its initial parameters: a fresh replica is exactly that.
        await replica.close();
        this.#replica = replica = await Replica.create({ config: a.config, baseDir: a.baseDir ?? process.cwd(), workerId: o.workerId, rank: a.rank, worldSize: a.worldSize, generation: a.generation, threads: o.threads });
        atStart = replica.joinGeneration(a.rank, a.worldSize, a.generation, a.startStep);
      }
      const links = a.links;
      if (links !== undefined && this.#listener === undefined) {
        throw new ClusterError(`worker ${o.workerId}: generation ${a.generation} uses direct links but this worker has no link listener`, { worker: o.workerId, hint: 'start it with gradmesh worker (it listens by default), or set training.allreduce.transport to "nats"' });
      }
      this.#allReduce = new RsagAllReduce({
        nc: this.#nc!,
        // Note [two paths for the same pieces] in allreduce/piece-transport.ts.
        ...(links === undefined
          ? {}
          : {
              transport: overSharedMemory(
                new DirectPieceTransport({
                  listener: this.#listener!,
                  identity: { runId: o.runId, generation: a.generation, rank: a.rank, worldSize: a.worldSize, secret: links.secret, encryption: replica.config.training.allreduce.linkEncryption },
                  addresses: links.addresses,
                  ...(a.stepTimeoutMs === undefined ? {} : { dialTimeoutMs: a.stepTimeoutMs }),
                }),
                a.rank,
                a.worldSize,
                (paths) => {
                  o.log(`worker ${o.workerId}: ${describePeerPaths(a.rank, paths)}`);
                  // Note [paths in the report]: sent with the next step reply of this generation.
                  const memory = paths.filter((p) => p.path === 'memory').length;
                  this.#peerPaths = { generation: a.generation, counts: { memory, links: paths.length - memory } };
                },
              ),
            }),
        runId: o.runId,
        rank: a.rank,
        worldSize: a.worldSize,
        generation: a.generation,
        members: a.members,
        compression: replica.config.training.allreduce.compression,
        drops: this.#drops,
        // Bounds what may be buffered ahead of a step (Note [early frames are bounded by the run] in rsag.ts).
        vectorLength: replica.model.params.slots.data.length,
        buckets: replica.gradientBuckets,
        allGatherForwardFirst: replica.updatesAsReduced,
        firstStep: a.startStep,
        ...(a.stepTimeoutMs === undefined ? {} : { timeoutMs: a.stepTimeoutMs }),
      });
      if (!atStart) this.#awaitState(a, replica);
      // The all-reduce (and state) subscriptions must reach the server before any peer publishes: `ready` is
      // sent only after a flush, and the coordinator sends the first command only when every rank is ready.
      await this.#channel!.flush(10_000);
      this.#channel!.send(joinSubject(o.runId, o.workerId), 'ready', { ...replica.ready(), ...(atStart ? {} : { needsState: true }) });
      if (atStart) this.#readyGeneration = a.generation;
    }, a.generation);
  }

  /** Waits for a live replica's state (see state-transfer.ts), restores it and reports ready again. */
  #awaitState(a: AssignBody, replica: Replica): void {
    const o = this.#options;
    const p = replica.model.params.values.size;
    const maxBytes = 4 * p * (3 + replica.model.optimizer.stateTensors().length) + 16 * 1024 * 1024;
    const receiver = new StateReceiver(this.#nc!, stateTransferSubject(o.runId, ANY_SENDER), a.generation, maxBytes, this.#drops);
    this.#stateReceiver = receiver;
    void receiver.done.then((bytes) => {
      if (this.#stateReceiver !== receiver) return;
      this.#stateReceiver = undefined;
      this.#enqueue(async () => {
        await replica.withdrawEarly();
        replica.restoreState(bytes, `the state sent for generation ${a.generation}`);
        this.#step = replica.nextStep - 1;
        o.log(`worker ${o.workerId}: received the replica state of step ${replica.nextStep} (${bytes.length} bytes, verified)`);
        this.#channel!.send(joinSubject(o.runId, o.workerId), 'ready', replica.ready());
        this.#readyGeneration = a.generation;
      }, a.generation);
    });
  }

  #onCommand(m: ControlMessage): void {
    if (!this.#fromCoordinator(m)) return;
    if (m.kind === 'regroup') return this.#onRegroup(m.body.generation, m.body.reason);
    if (m.kind !== 'step' && m.kind !== 'evaluate' && m.kind !== 'epochEnd' && m.kind !== 'checkpoint' && m.kind !== 'shareState') return; // a worker's reply on a shared subject
    const command = m as Command;
    if (this.#assignment === undefined) {
      // Not in any generation yet: no coordinator has given this worker a rank, so no command is for it.
      return this.#drops.drop(command.kind, 'foreign-generation', `${command.kind} (generation ${m.gen}) before this worker was assigned a rank`);
    }
    if (command.kind === 'step') {
      // A replayed step (a duplicate delivery, a stale publisher) is dropped, not executed twice.
      if (command.body.step <= this.#step) return this.#drops.drop('step', 'stale-step', `step ${command.body.step}, this replica is at step ${this.#step}`);
      const bounds = this.#replica?.stepBounds;
      const problem = bounds === undefined ? undefined : stepCommandProblem(command.body, this.#step, this.#replica!.nextStep, bounds);
      if (problem !== undefined) return this.#drops.drop('step', 'out-of-bounds', problem);
      this.#step = command.body.step;
    } else {
      if (command.body.requestId <= this.#lastRequest) return this.#drops.drop(command.kind, 'duplicate', `request ${command.body.requestId} was already handled`);
      this.#lastRequest = command.body.requestId;
    }
    const queued = { command, generation: this.#assignment.generation };
    this.#queued.push(queued);
    this.#enqueue(() => {
      const at = this.#queued.indexOf(queued);
      if (at >= 0) this.#queued.splice(at, 1);
      return this.#execute(command);
    }, queued.generation);
  }

  readonly #peekNextStep = (): StepBody | undefined => this.#nextQueuedStep();

  /** The step queued right behind the running command, if the next queued command is one (of this generation). */
  #nextQueuedStep(): StepBody | undefined {
    const generation = this.#assignment?.generation;
    // Commands of an ended generation are skipped by the queue without running: forget them here too.
    while (this.#queued.length > 0 && this.#queued[0]!.generation !== generation) this.#queued.shift();
    const next = this.#queued[0]?.command;
    return next?.kind === 'step' ? next.body : undefined;
  }

  async #execute(command: Command): Promise<void> {
    const replica = this.#replica;
    const channel = this.#channel!;
    const replies = stepDoneSubject(this.#options.runId, this.#options.workerId);
    if (replica === undefined) throw new ClusterError(`worker ${this.#options.workerId} received ${command.kind} before it was ready`, { worker: this.#options.workerId });
    // Only a step can follow a step handed out early (it is that step); anything else withdraws it first.
    if (command.kind !== 'step') await replica.withdrawEarly();
    switch (command.kind) {
      case 'step': {
        const timeline = this.#trace?.begin(command.body.step, replica.rank, this.#assignment?.generation ?? 0);
        const done = this.#withPeerPaths(this.#withDrops(await replica.step(command.body, this.#allReduce!, timeline, this.#peekNextStep)), channel.generation);
        this.#held.push({ done, timeline, generation: channel.generation, at: performance.now() });
        // Note [replies are sent R at a time]
        // A reply wakes nats-server and the coordinator, whatever it carries; with steps sent ahead (Note [steps are
        // sent ahead] in coordinator/src/cluster-step-driver.ts) the coordinator needs them only to count, time
        // and check the steps, not to send the next one. So a replica holds its replies and sends them together
        // — one socket write, one wake-up each side — once R = ⌈W/2⌉ are held, or sooner when nothing more is
        // queued or steps are slow (sendHeldRepliesNow in reply-hold.ts says when). Any other reply, and leaving,
        // first sends what is held, so replies stay in command order. R is this replica's own ⌈W/2⌉; a generation
        // whose window is smaller (another rank's) still gets every reply when the queue here runs dry.
        // Note [the next step starts before the reply]
        // The send is deferred with setImmediate: a queued step starts in the microtasks that follow this return
        // — up to the hand-off of its first micro-batch to the pool — so the compute thread does not idle while the
        // replies are encoded and written. Measured (launch --workers 2, CNN, 4 alternating runs of 400 steps,
        // 2026-12-01, one reply per step): step-to-step mean 13.1 against 13.3 ms replying first.
        const now = performance.now();
        const send = sendHeldRepliesNow({ held: this.#held.length, window: replica.stepBounds.window, stepQueued: this.#nextQueuedStep() !== undefined, oldestMs: now - this.#held[0]!.at, sinceLastStepMs: now - this.#lastStepEnded });
        this.#lastStepEnded = now;
        if (send) this.#scheduleReplies();
        return;
      }
      case 'evaluate':
        this.#sendHeldReplies();
        channel.send(replies, 'evaluated', this.#withDrops(await replica.evaluate(command.body)));
        return;
      case 'epochEnd':
        this.#sendHeldReplies();
        channel.send(replies, 'epochEnded', this.#withDrops(replica.epochEnd(command.body)));
        return;
      case 'checkpoint':
        this.#sendHeldReplies();
        if (replica.rank === 0) channel.send(replies, 'checkpointed', await replica.checkpoint(command.body, this.#checkpoints, this.#options.runId));
        return;
      case 'shareState': {
        this.#sendHeldReplies();
        if (replica.rank !== command.body.donor) return;
        const bytes = replica.encodeState();
        const chunks = publishState(this.#nc!, stateTransferSubject(this.#options.runId, this.#options.workerId), this.#assignment!.generation, bytes);
        await channel.flush(10_000);
        channel.send(replies, 'stateShared', { requestId: command.body.requestId, rank: replica.rank, bytes: bytes.length, chunks });
        return;
      }
    }
  }

  #scheduleReplies(): void {
    if (this.#repliesScheduled) return;
    this.#repliesScheduled = true;
    setImmediate(() => {
      this.#repliesScheduled = false;
      this.#sendHeldReplies();
    });
  }

  /** Sends the step replies held (Note [replies are sent R at a time]), in step order. */
  #sendHeldReplies(): void {
    const channel = this.#channel;
    if (channel === undefined || this.#held.length === 0) return;
    const replies = stepDoneSubject(this.#options.runId, this.#options.workerId);
    for (const { done, timeline, generation } of this.#held.splice(0)) {
      // An assignment that arrived meanwhile ended the step's generation: its coordinator abandoned the command,
      // and the reply must not go out stamped with the new generation.
      if (channel.generation !== generation) continue;
      const replying = wallMs();
      channel.send(replies, 'stepDone', done);
      if (timeline !== undefined) this.#trace!.record({ ...timeline, replying, replied: wallMs() });
    }
  }

  /** A step reply with this generation's peer paths attached, once, when they became known (Note [paths in the report]). */
  #withPeerPaths<B extends object>(body: B, generation: number): B & { peerPaths?: PeerPathCounts } {
    const pending = this.#peerPaths;
    if (pending === undefined || pending.generation !== generation) return body;
    this.#peerPaths = undefined;
    return { ...body, peerPaths: pending.counts };
  }

  /** A reply with this worker's drop counts attached when they changed since the last reply (Note [every process's drops]). */
  #withDrops<B extends object>(body: B): B & { drops?: DropCounts } {
    const total = this.#drops.total;
    if (total === this.#dropsReported) return body;
    this.#dropsReported = total;
    return { ...body, drops: this.#drops.snapshot() };
  }

  /** The coordinator ended this generation: abandon the command in flight and wait for the next assignment. */
  #onRegroup(generation: number, reason: string): void {
    if (this.#assignment === undefined || generation !== this.#assignment.generation || generation <= this.#endedGeneration) return;
    this.#endedGeneration = generation;
    this.#options.log(`worker ${this.#options.workerId}: generation ${generation} ended (${reason}); waiting for the next`);
    const abandoned = this.#allReduce;
    this.#allReduce = undefined;
    void abandoned?.close();
  }

  #onShutdown(m: ControlMessage): void {
    if (m.kind !== 'shutdown' || !this.#fromCoordinator(m)) return;
    const { reason, error } = m.body;
    if (reason === 'completed') this.#finish(0, `worker ${this.#options.workerId}: run completed`);
    else this.#finish(1, `worker ${this.#options.workerId}: the coordinator stopped the run (${reason})${error ? `: ${error}` : ''}`);
  }

  /**
   * Runs `task` after everything queued before it. A task of a generation that has ended since it was queued
   * is skipped, and its failure (its all-reduce was closed under it) is not this worker's failure.
   */
  #enqueue(task: () => Promise<void>, generation: number): void {
    const ended = () => generation !== this.#assignment?.generation || generation <= this.#endedGeneration || generation <= this.#interruptedGeneration;
    this.#queue = this.#queue.then(async () => {
      if (this.#finished || ended()) return;
      try {
        await task();
      } catch (error) {
        if (ended()) return;
        if (error instanceof ConnectionInterrupted) {
          // The coordinator ends the generation (it saw the reconnect, or the step times out): wait for it.
          this.#interruptedGeneration = Math.max(this.#interruptedGeneration, generation);
          this.#options.log(`worker ${this.#options.workerId}: ${error.message}; waiting for the next generation`);
          return;
        }
        // Bad input on this machine (its data files, its threads) is the user's to fix: exit 2, as `train` does.
        this.#fail(error, isInputError(error) ? 2 : 1);
      }
      if (this.#leaving !== undefined && !this.#finished) this.#leave();
    });
  }

  /** A failure on this rank: report it to the coordinator (which stops the run), then exit non-zero. */
  #fail(error: unknown, exitCode = 1): void {
    if (this.#finished) return;
    const message = error instanceof GradmeshError ? `${error.name}: ${error.message}` : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
    const a = this.#assignment;
    if (a !== undefined && this.#channel !== undefined && this.#nc !== undefined && !this.#nc.isClosed()) {
      try {
        this.#channel.send(errorSubject(this.#options.runId, this.#options.workerId), 'error', { rank: a.rank, step: this.#step, message: message.slice(0, 4000), ...(exitCode === 2 ? { input: true as const } : {}) });
      } catch {
        // The message could not even be encoded; the coordinator will see our silence instead.
      }
    }
    this.#finish(exitCode, `worker ${this.#options.workerId}${a ? ` (rank ${a.rank})` : ''}: ${message}`);
  }

  #finish(exitCode: number, reason: string): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#trace !== undefined) saveStepTrace(this.#options.traceFile!, this.#options.workerId, this.#trace, this.#options.log);
    for (const t of this.#timers.splice(0)) t.stop();
    void this.#cleanup().finally(() => this.#resolve({ exitCode, reason }));
  }

  /** Releases everything, bounded in time: a wedged pool thread must not keep the process alive. */
  async #cleanup(): Promise<void> {
    const work = (async () => {
      await this.#channel?.flush(2_000);
      this.#channel?.close();
      this.#stateReceiver?.close();
      await this.#beats?.stop();
      await this.#allReduce?.close().catch(() => undefined);
      await this.#listener?.close().catch(() => undefined);
      await this.#replica?.close().catch(() => undefined);
      await this.#nc?.close().catch(() => undefined);
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLEANUP_MS)))]);
    clearTimeout(timer);
  }
}

/**
 * Opens the link listener: on `listen.host`, else on the local address toward the NATS server this worker is
 * connected to (`server`: "host:port"; Note [the address peers can reach] in @gradmesh/transport).
 */
async function openListener(listen: { readonly host?: string; readonly port: number }, server: string): Promise<PeerListener> {
  let host = listen.host;
  if (host === undefined) {
    const { host: serverHost, port } = parseDataAddress(server, 'NATS server');
    host = await localAddressToward(serverHost, port);
  }
  try {
    return await PeerListener.open({ host, port: listen.port });
  } catch (cause) {
    // A port taken or a host this machine does not have is the user's to fix (exit 2), like the health port.
    const code = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    const flag = listen.host !== undefined && code === 'EADDRNOTAVAIL' ? '--data-host (GRADMESH_DATA_HOST)' : '--data-port (GRADMESH_DATA_PORT)';
    throw new ConfigError(flag, `the link listener cannot listen on ${host}:${listen.port} (${code})`, {
      hint: code === 'EADDRINUSE' ? 'choose a free port (or 0 for any)' : 'use an address of this machine that the other workers can reach',
    });
  }
}

/** Runs a worker until the run ends; see WorkerProcess. */
export async function runWorker(options: WorkerOptions): Promise<WorkerOutcome> {
  return new WorkerProcess(options).run();
}

/** A problem the user's input explains (Note [Error families] in shared/src/errors.ts). */
function isInputError(error: unknown): boolean {
  return error instanceof GradmeshError && (error.code === 'E_CONFIG' || error.code === 'E_DATA');
}
