import {
  checkpointFileName,
  ClusterError,
  copyTrainingState,
  describeSkips,
  evalSubject,
  stepSubject,
  type EpochDecision,
  type EvaluatedBody,
  type StepDoneBody,
  type Evaluation,
  type MessageBodies,
  type PlannedStep,
  type ReadyBody,
  type SkippedStep,
  type Split,
  type StepDriver,
  type StepResult,
  type StepTimingSample,
  type TrainingState,
} from '@gradmesh/shared/internal';
import type { ControlChannel } from '@gradmesh/transport';
import { mergeEvaluations, sumStepStats } from './aggregate.js';
import { compareChecksums, divergenceError, type ChecksumReport } from './checksums.js';
import type { Generation } from './membership.js';
import { ReplyTimedOut, type StepBarrier } from './step-barrier.js';
import { GenerationEnded } from './generation-ended.js';
import { StepTimings } from './timings.js';

/** The commands the driver sends (for `beforeCommand`). */
export type CommandKind = 'step' | 'evaluate' | 'endEpoch' | 'checkpoint';

export interface ClusterStepDriverOptions {
  readonly runId: string;
  readonly channel: ControlChannel;
  readonly barrier: StepBarrier;
  /** The current generation and its ready reports by rank (data sizes, checksums); they change between commands. */
  readonly membership: () => { generation: Generation; ready: readonly ReadyBody[] };
  /**
   * Runs before every command: forms the next generation when the current one ended or may grow. `sentAhead`:
   * the command is a step already sent (Note [steps are sent ahead]) — only an ended generation counts.
   */
  readonly beforeCommand: (kind: CommandKind, sentAhead: boolean) => Promise<void>;
  /**
   * Whether the next step may be sent before this one's replies: false while a stop is requested or a worker
   * waits to join (those act at the next command boundary, which a step sent ahead would move by one step).
   */
  readonly maySendAhead: () => boolean;
  /** The most ranks a generation can have (for the per-rank timings). */
  readonly maxWorkers: number;
  readonly stepTimeoutMs: number;
  /** An evaluation's replies (every rank evaluates its shard of a split: longer than a step). */
  readonly evaluationTimeoutMs: number;
  /** Rank 0's checkpoint write (a store over the network may be slow). */
  readonly checkpointTimeoutMs: number;
  /** Compare replica checksums after every K-th step (counted from 1) and after the run's last step. */
  readonly checksumEvery: number;
  /** Called once rank 0 has written the checkpoint of `step` (named `name` in the run's store). */
  readonly checkpointed?: (step: number, name: string) => Promise<void>;
  /** The run's failure, if any (a lost connection, diverged replicas): every command checks it before it is sent. */
  readonly failure: () => Error | undefined;
  /** Called with every step's timings per rank (the dashboard and metrics watch these). */
  readonly onStepTimed?: (sample: StepTimingSample) => void;
  /** Request ids, unique over the run (the coordinator's own requests use the same counter). */
  readonly nextRequestId: () => number;
  /** A command was abandoned with its generation and is carried out again. */
  readonly onRedo: (what: string) => void;
  /** Ranks did not answer a command in time: the coordinator counts them as lost (the generation ends). */
  readonly onTimeout: (error: ReplyTimedOut) => void;
}

/**
 * Carries out the training loop's decisions on every replica of a generation, one command at a time: a
 * `step` (each rank computes its shard, all-reduces, applies the update), `evaluate` (each rank
 * evaluates its shard; the sums are merged in rank order), `epochEnd` (the early-stopping decision),
 * `checkpoint` (rank 0 writes the coordinator's training state with its tensors). Each command ends in
 * the StepBarrier. The driver also checks that the replicas stay identical: parameter checksums are
 * compared after every `checksumEvery`-th step, the run's last step and every epoch end.
 *
 * A command abandoned because its generation ended (GenerationEnded) is carried out again, unchanged, by the
 * next generation: the loop above never sees a membership change (Note [elastic generations] in
 * coordinator.ts). The same global batch is re-sliced over the new world by the replicas.
 */
export class ClusterStepDriver implements StepDriver {
  readonly #o: ClusterStepDriverOptions;
  readonly timings: StepTimings;

  #lastChecksums: ChecksumReport[];
  #comparisons = 1;
  /** The step the replicas will run next (for the context of errors). */
  #nextStep: number;
  /** Step commands sent ahead of their turn (Note [steps are sent ahead]): when each was sent, by step. */
  readonly #sent = new Map<number, number>();
  /** The generation the commands in #sent went to. */
  #sentGeneration = -1;
  /** When the last step's replies were all in: a step sent ahead is timed from there (Note [step-time breakdown]). */
  #lastStepDoneAt = -Infinity;
  /** Steps that were sent ahead and then run by the generation they were sent to. */
  stepsSentAhead = 0;

  constructor(options: ClusterStepDriverOptions) {
    this.#o = options;
    const { ready } = options.membership();
    this.timings = new StepTimings(options.maxWorkers);
    this.#lastChecksums = ready.map((r) => ({ rank: r.rank, workerId: r.workerId, checksum: r.checksum }));
    this.#nextStep = ready[0]!.step;
  }

  get #ready(): ReadyBody {
    return this.#o.membership().ready[0]!;
  }

  get #ranks(): number[] {
    return this.#o.membership().generation.members.map((m) => m.rank);
  }

  get trainCount(): number {
    return this.#ready.trainCount;
  }

  readonly splitCount = (split: Split): number => (split === 'test' ? this.#ready.testCount : this.#ready.validationCount);

  /** The checksum the replicas agreed on last, whether they agreed, and how many comparisons were made. */
  get checksums(): { checksum: string; agree: boolean; comparisons: number } {
    const c = compareChecksums(this.#lastChecksums);
    return { checksum: c.majority, agree: c.agree, comparisons: this.#comparisons };
  }

  /**
   * The steps outstanding at once — the one waited for and those sent ahead: the smallest window any rank of
   * the generation holds the undo state for (`ready.stepWindow`; Note [steps are sent ahead]).
   */
  get #window(): number {
    return Math.min(...this.#o.membership().ready.map((r) => r.stepWindow ?? 2));
  }

  /** Note [the loop announces its next steps] in training-loop.ts. */
  get stepsAhead(): number {
    return this.#window - 1;
  }

  step(p: PlannedStep, upcoming: readonly PlannedStep[] = []): Promise<StepResult> {
    return this.#untilDone('step', `step ${p.step}`, () => this.#step(p, upcoming), () => this.#sent.has(p.step));
  }

  /**
   * Note [steps are sent ahead]
   * Lock-step commands cost every step a round trip and every process a wake-up: a replica replies `stepDone`,
   * then idles until the coordinator has every reply and sends the next `step`, and the coordinator, the server
   * and each worker wake for each message. When the loop names the steps that follow whatever this one's
   * outcome (`upcoming`: same epoch, no checkpoint or evaluation in between, not the end), the driver keeps up to
   * a window of W steps outstanding — this one and W − 1 sent ahead — and a worker queues them and runs them
   * back to back. Commands go out R = ⌈W/2⌉ at a time (all in one tick: one socket write, one wake-up each side)
   * and workers hold their replies until R are due or nothing more is queued (Note [replies are sent R at a
   * time] in worker/src/worker.ts), so each process wakes once per R steps instead of once per step. W is what
   * every rank can undo: a replica may have applied every step sent to it when its generation ends, and the
   * next generation starts at the last step whose replies were all counted (Note [steps to undo] in
   * worker/src/replica.ts); each rank says in `ready` how many steps it holds (`stepWindow`, from its memory
   * budget), the driver takes the smallest. W = 2 is the old one-step-ahead scheme (a rank without the field).
   * Early replies are held by the barrier (`expect`) until their wait opens. The loop is committed to the steps
   * it announced: a stop request is honoured after them, and `beforeCommand` neither stops nor grows the
   * generation for a step already sent (maySendAhead keeps a pending stop or join from being postponed further).
   * If their generation ends, the steps sent ahead are abandoned with the rest (the workers skip commands of an
   * ended generation) and sent again to the next generation, like any other command. Results cannot change:
   * the commands and their order are the same, only their timing is. `GRADMESH_STEP_AHEAD=off` (the
   * coordinator's environment) turns it off, to measure the difference.
   */
  async #step(p: PlannedStep, upcoming: readonly PlannedStep[]): Promise<StepResult> {
    const o = this.#o;
    const generation = o.membership().generation.generation;
    if (this.#sentGeneration !== generation || !this.#sent.has(p.step)) {
      if (this.#sent.size > 0) o.barrier.forgetExpected();
      this.#sent.clear();
    }
    this.#sentGeneration = generation;
    const sentAhead = this.#sent.get(p.step);
    this.#sent.delete(p.step);
    const sent = sentAhead ?? performance.now();
    const started = Math.max(sent, this.#lastStepDoneAt);
    const wait = o.barrier.wait({ kind: 'stepDone', key: p.step, ranks: this.#ranks, timeoutMs: o.stepTimeoutMs, what: `step ${p.step}`, step: p.step, bound: stepDoneBound(p.globalEnd - p.globalStart, sent) });
    const sending: PlannedStep[] = sentAhead === undefined ? [p] : [];
    if (sentAhead !== undefined) this.stepsSentAhead++;
    if (o.maySendAhead()) {
      const window = this.#window;
      const room = window - 1 - this.#sent.size;
      const unsent = upcoming.filter((u) => !this.#sent.has(u.step));
      // R at a time, or the rest when the loop announced the last steps before a boundary (it announces no more).
      if (room > 0 && unsent.length > 0 && (room >= Math.ceil(window / 2) || upcoming.length < window - 1)) sending.push(...unsent.slice(0, room));
    }
    const sentAt = performance.now();
    for (const s of sending) {
      if (s !== p) {
        o.barrier.expect({ kind: 'stepDone', key: s.step, ranks: this.#ranks, what: `step ${s.step}`, step: s.step, bound: stepDoneBound(s.globalEnd - s.globalStart, sentAt) });
        this.#sent.set(s.step, sentAt);
      }
      this.#sendStep(s);
    }
    const replies = await wait;
    this.#lastStepDoneAt = performance.now();
    const timed = this.timings.record(p.step, this.#lastStepDoneAt - started, replies);
    o.onStepTimed?.(timed);
    this.#nextStep = p.step + 1;
    const stats = sumStepStats(replies);
    if (stats.count !== p.globalEnd - p.globalStart) {
      throw new ClusterError(`step ${p.step}: the ranks computed ${stats.count} samples of a global batch of ${p.globalEnd - p.globalStart} (${replies.map((r) => `rank ${r.rank}: ${r.count}`).join(', ')})`, {
        step: p.step,
        hint: 'the workers disagree about the data; check that they read the same files',
      });
    }
    // Every replica decided from the same all-reduced vector; replicas that disagree have diverged.
    const skipping = replies.filter((r) => r.skipped).map((r) => r.rank).sort((a, b) => a - b);
    if (skipping.length !== 0 && skipping.length !== replies.length) {
      throw new ClusterError(`step ${p.step}: rank${skipping.length > 1 ? 's' : ''} ${skipping.join(', ')} skipped the update (non-finite all-reduced gradient) but the other ranks applied it`, {
        step: p.step,
        rank: skipping[0]!,
        hint: 'the replicas no longer hold the same all-reduced gradient; restart the run with --resume',
      });
    }
    if (this.#checksummed(p)) this.#compare(replies.map((r) => ({ rank: r.rank, workerId: this.#worker(r.rank), checksum: r.checksum ?? '' })), `after step ${p.step}`);
    const { penalty, ...batch } = stats;
    const nonFiniteRanks = replies.filter((r) => !r.localFinite).map((r) => r.rank).sort((a, b) => a - b);
    return { stats: batch, penalty, skipped: skipping.length > 0, nonFiniteRanks };
  }

  #sendStep(p: PlannedStep): void {
    this.#o.channel.send(stepSubject(this.#o.runId), 'step', { step: p.step, epoch: p.epoch, batchIndex: p.batchIndex, lr: p.lr, ...(this.#checksummed(p) ? { checksum: true } : {}) });
  }

  /** Replicas report (and the driver compares) checksums after every `checksumEvery`-th step and the run's last. */
  #checksummed(p: PlannedStep): boolean {
    return (p.step + 1) % this.#o.checksumEvery === 0 || p.lastOfRun;
  }

  skipLimitError(skips: readonly SkippedStep[]): Error {
    const first = skips.find((k) => k.ranks.length > 0);
    return new ClusterError(`training diverged: the all-reduced gradient was not finite at ${skips.length} consecutive step${skips.length > 1 ? 's' : ''}, ${describeSkips(skips)}, and every replica skipped ${skips.length > 1 ? 'their updates' : 'its update'}`, {
      step: skips[0]!.step,
      // No worker id: a skip's ranks are those of the generation that ran it, which may since have re-ranked.
      ...(first === undefined ? {} : { rank: first.ranks[0]! }),
      hint: 'check those ranks\' data for NaN/Inf, lower optimizer.learningRate or set training.clipNorm, then --resume from the last checkpoint; --max-skipped 0 never stops',
    });
  }

  evaluate(split: Split, options: { confusion: boolean }): Promise<Evaluation> {
    const what = split === 'test' ? 'the test evaluation' : 'the validation evaluation';
    return this.#untilDone('evaluate', what, async () => {
      const replies = await this.#request('evaluate', { split, confusion: options.confusion }, 'evaluated', this.#ranks, what);
      return mergeEvaluations(replies, this.#ready.classes);
    });
  }

  endEpoch(decision: EpochDecision): Promise<void> {
    const what = `the end of epoch ${decision.epoch + 1}`;
    return this.#untilDone('endEpoch', what, async () => {
      const ended = await this.#request('epochEnd', decision, 'epochEnded', this.#ranks, what);
      this.#compare(ended.map((r) => ({ rank: r.rank, workerId: this.#worker(r.rank), checksum: r.checksum })), `at ${what}`);
    });
  }

  /** Rank 0 writes the checkpoint of the loop's state; the other ranks hold identical parameters. */
  checkpoint(state: TrainingState, options: { stoppedBy?: string } = {}): Promise<string> {
    const what = `the checkpoint at step ${state.step}`;
    const body = { state: copyTrainingState(state), ...(options.stoppedBy === undefined ? {} : { stoppedBy: options.stoppedBy }) };
    return this.#untilDone('checkpoint', what, async () => {
      const [written] = await this.#request('checkpoint', body, 'checkpointed', this.#ranks.slice(0, 1), what);
      await this.#o.checkpointed?.(state.step, checkpointFileName(state.step));
      return written!.path;
    });
  }

  /**
   * Carries out `command` in the current generation, and again in the next one whenever its generation ends
   * first. `sentAhead`: whether the command is already out (a step sent ahead) — asked anew for every try.
   */
  async #untilDone<T>(kind: CommandKind, what: string, command: () => Promise<T>, sentAhead: () => boolean = () => false): Promise<T> {
    for (;;) {
      this.#throwIfFailed();
      await this.#o.beforeCommand(kind, sentAhead());
      try {
        return await command();
      } catch (error) {
        if (error instanceof ReplyTimedOut) {
          this.#o.onTimeout(error);
          this.#o.onRedo(`${what} (${error.message})`);
          continue;
        }
        if (!(error instanceof GenerationEnded)) throw error;
        this.#o.onRedo(`${what} (${error.message})`);
      }
    }
  }

  /** Sends a request-id command to all workers and waits for the replies of `ranks`. */
  async #request<C extends 'evaluate' | 'epochEnd' | 'checkpoint', R extends 'evaluated' | 'epochEnded' | 'checkpointed'>(
    kind: C,
    body: Omit<MessageBodies[C], 'requestId'>,
    reply: R,
    ranks: readonly number[],
    what: string,
  ): Promise<MessageBodies[R][]> {
    const o = this.#o;
    this.#throwIfFailed();
    const requestId = o.nextRequestId();
    const timeoutMs = kind === 'evaluate' ? o.evaluationTimeoutMs : kind === 'checkpoint' ? o.checkpointTimeoutMs : o.stepTimeoutMs;
    const bound = kind === 'evaluate' ? evaluatedBound(this.splitCount((body as unknown as { split: Split }).split)) : undefined;
    const wait = o.barrier.wait({ kind: reply, key: requestId, ranks, timeoutMs, what, step: this.#nextStep, ...(bound === undefined ? {} : { bound }) });
    o.channel.send(kind === 'evaluate' ? evalSubject(o.runId) : stepSubject(o.runId), kind, { ...body, requestId } as MessageBodies[C]);
    return wait;
  }

  #compare(reports: ChecksumReport[], when: string, step = this.#nextStep): void {
    this.#lastChecksums = reports;
    this.#comparisons++;
    const comparison = compareChecksums(reports);
    if (!comparison.agree) throw divergenceError(reports, comparison, when, step);
  }

  #worker(rank: number): string {
    return this.#o.membership().generation.members[rank]!.workerId;
  }

  #throwIfFailed(): void {
    const failure = this.#o.failure();
    if (failure !== undefined) throw failure;
  }
}

/**
 * Note [replies are bounded by the run]
 * A reply's numbers reach the run's statistics and report, so each is held to what the command it answers
 * allows, not only to its type (the codec's bounds): a rank's step counts at most the global batch's samples
 * (the sum must then equal it exactly, checked after the barrier) and its times fit in the time since the
 * command was sent; an evaluation counts at most the split's samples (its confusion matrix is already bound
 * by its own count in the codec, and by the run's classes on receipt). A reply out of bounds is dropped and
 * counted ('out-of-bounds'); the honest reply that the barrier still waits for is then taken as usual.
 */
export function stepDoneBound(globalBatch: number, sentAt: number, now: () => number = () => performance.now()): (rank: number, body: unknown) => string | undefined {
  return (_rank, body) => {
    const b = body as StepDoneBody;
    if (b.count > globalBatch) return `count ${b.count} exceeds the global batch of ${globalBatch} samples`;
    const elapsed = now() - sentAt + 1000; // a second of slack for clock granularity across processes
    if (b.computeMs > elapsed || b.allreduceMs > elapsed) return `timings ${b.computeMs} / ${b.allreduceMs} ms exceed the ${Math.round(elapsed)} ms since the step was sent`;
    if (b.exposedAllreduceMs !== undefined && b.exposedAllreduceMs > b.allreduceMs) return `exposed all-reduce time ${b.exposedAllreduceMs} ms exceeds the all-reduce's ${b.allreduceMs} ms`;
    return undefined;
  };
}

export function evaluatedBound(splitCount: number): (rank: number, body: unknown) => string | undefined {
  return (_rank, body) => {
    const b = body as EvaluatedBody;
    return b.count > splitCount ? `count ${b.count} exceeds the split's ${splitCount} samples` : undefined;
  };
}
