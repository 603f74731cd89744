import { describe, expect, it } from 'vitest';
import {
  ClusterError,
  ConfigError,
  copyTrainingState,
  initialTrainingState,
  learningRateOfRun,
  parseRunConfig,
  parseTrainingState,
  runTrainingLoop,
  type EpochDecision,
  type Evaluation,
  type PlannedStep,
  type RunConfig,
  type SkippedStep,
  type Split,
  type StepDriver,
  type StepResult,
  type TrainingLoopOptions,
  type TrainingState,
} from '@gradmesh/shared/internal';

/**
 * The training loop's decisions, checked with a driver that computes nothing: it records every call and
 * answers steps with fixed sums and validations with a scripted loss per epoch.
 */
class FakeDriver implements StepDriver {
  readonly calls: string[] = [];
  readonly steps: PlannedStep[] = [];
  readonly decisions: EpochDecision[] = [];
  readonly checkpoints: TrainingState[] = [];
  constructor(
    readonly trainCount: number,
    readonly counts: { validation: number; test: number },
    readonly valLoss: (epoch: number) => number = () => 1,
    /** Steps whose gradient the driver reports as non-finite, with the ranks it names (a skip, as a replica would report). */
    readonly nonFinite: ReadonlyMap<number, readonly number[]> = new Map(),
  ) {}
  readonly splitCount = (split: Split) => this.counts[split];
  #epoch = 0;

  async step(p: PlannedStep): Promise<StepResult> {
    this.calls.push(`step ${p.step}`);
    this.steps.push(p);
    this.#epoch = p.epoch;
    const count = p.globalEnd - p.globalStart;
    const ranks = this.nonFinite.get(p.step);
    const stats = { lossSum: ranks ? Number.NaN : count * (1 + p.step / 100), count, correct: Math.floor(count / 2), extras: {} };
    return ranks ? { stats, penalty: 0, skipped: true, nonFiniteRanks: ranks } : { stats, penalty: 0.01, skipped: false, nonFiniteRanks: [] };
  }
  skipLimitError(skips: readonly SkippedStep[]): Error {
    return new ClusterError(`stopped after ${skips.map((k) => `step ${k.step} (ranks ${k.ranks.join(', ')})`).join(', ')}`, { step: skips[0]!.step });
  }
  async evaluate(split: Split): Promise<Evaluation> {
    this.calls.push(`evaluate ${split}`);
    return { loss: split === 'validation' ? this.valLoss(this.#epoch) : 0.5, count: this.counts[split], accuracy: 0.5, extras: {}, confusion: null };
  }
  async endEpoch(d: EpochDecision): Promise<void> {
    this.calls.push(`endEpoch ${d.epoch}${d.keepBest ? ' keepBest' : ''}${d.restoreBest ? ' restoreBest' : ''}`);
    this.decisions.push(d);
  }
  async checkpoint(state: TrainingState, options: { stoppedBy?: string } = {}): Promise<string> {
    this.calls.push(`checkpoint ${state.step}${options.stoppedBy === undefined ? '' : ` stoppedBy ${options.stoppedBy}`}`);
    this.checkpoints.push(copyTrainingState(state));
    return `ckpt-${state.step}`;
  }
}

/** A driver that starts announced steps early (as the cluster driver does): it records what each step announced. */
class EarlyDriver extends FakeDriver {
  readonly announcedWith: (readonly PlannedStep[])[] = [];
  constructor(
    trainCount: number,
    splits: { validation: number; test: number },
    readonly stepsAhead = 1,
  ) {
    super(trainCount, splits);
  }
  /** The first step announced with each step (the old one-step-ahead view). */
  get announced(): (PlannedStep | undefined)[] {
    return this.announcedWith.map((u) => u[0]);
  }
  override async step(p: PlannedStep, upcoming: readonly PlannedStep[] = []): Promise<StepResult> {
    this.announcedWith.push(upcoming);
    return super.step(p);
  }
}

function config(training: Record<string, unknown>, schedule?: Record<string, unknown>): RunConfig {
  return parseRunConfig({
    seed: 1,
    dataset: 'mnist',
    model: { kind: 'sequential', inputShape: [4], layers: [{ type: 'dense', units: 2 }] },
    optimizer: { type: 'sgd', learningRate: 0.1 },
    training: { batchSize: 10, ...training },
    ...(schedule ? { schedule } : {}),
  });
}

/** A clock that advances 1 ms per reading, so seconds and ETAs are reproducible. */
function fakeClock(): () => number {
  let t = 0;
  return () => (t += 1);
}

const loop = (driver: StepDriver, state: TrainingState, o: Partial<TrainingLoopOptions> & { config: RunConfig }) =>
  runTrainingLoop(driver, state, { checkpoints: false, evaluateTest: false, now: fakeClock(), ...o });

describe('the training loop', () => {
  it('numbers batches as consecutive steps over the epochs, each global batch once, with the schedule\'s learning rate per step', async () => {
    const c = config({ epochs: 3 }, { type: 'step', everyEpochs: 1, gamma: 0.5 });
    const driver = new FakeDriver(35, { validation: 0, test: 0 });
    const state = initialTrainingState();
    const outcome = await loop(driver, state, { config: c });
    expect(driver.steps.map((s) => [s.step, s.epoch, s.batchIndex, s.globalStart, s.globalEnd])).toEqual(
      [0, 1, 2].flatMap((e) => [[4 * e, e, 0, 0, 10], [4 * e + 1, e, 1, 10, 20], [4 * e + 2, e, 2, 20, 30], [4 * e + 3, e, 3, 30, 35]]),
    );
    const lr = learningRateOfRun(c, 4);
    expect(driver.steps.map((s) => s.lr)).toEqual(driver.steps.map((s) => lr(s.step)));
    expect(driver.steps.map((s) => s.lr)).toEqual([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025]);
    expect(driver.steps.filter((s) => s.lastOfRun).map((s) => s.step)).toEqual([11]);
    expect(state).toMatchObject({ step: 12, position: { epoch: 3, batch: 0 } });
    expect(state.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(outcome).toMatchObject({ stepsTaken: 12, trainSamples: 105, completed: true, stoppedEarly: false });
  });

  it('accumulates the epoch record from the step sums: the penalty counts once per sample, accuracy from correct counts', async () => {
    const driver = new FakeDriver(20, { validation: 5, test: 0 }, () => 0.25);
    const state = initialTrainingState();
    await loop(driver, state, { config: config({ epochs: 1 }) });
    const record = state.history[0]!;
    expect(record.trainLoss).toBeCloseTo((10 * 1 + 10 * 1.01) / 20 + 0.01, 12);
    expect(record.trainAccuracy).toBe(0.5);
    expect(record.valLoss).toBe(0.25);
    expect(driver.calls).toEqual(['step 0', 'step 1', 'evaluate validation', 'endEpoch 0']);
  });

  it('checkpoints after every n-th step except an epoch\'s last, and at every epoch end after its decisions', async () => {
    const driver = new FakeDriver(50, { validation: 0, test: 0 });
    await loop(driver, initialTrainingState(), { config: config({ epochs: 2, checkpointEverySteps: 2 }), checkpoints: true });
    expect(driver.calls.filter((c) => c.startsWith('checkpoint'))).toEqual(['checkpoint 2', 'checkpoint 4', 'checkpoint 5', 'checkpoint 6', 'checkpoint 8', 'checkpoint 10']);
    const end = driver.calls.indexOf('endEpoch 0');
    expect(driver.calls.slice(end - 1, end + 2)).toEqual(['step 4', 'endEpoch 0', 'checkpoint 5']);
    const mid = driver.checkpoints[0]!;
    expect(mid).toMatchObject({ step: 2, position: { epoch: 0, batch: 2 }, history: [] });
    expect(mid.epochInProgress.count).toBe(20);
    expect(driver.checkpoints[2]).toMatchObject({ step: 5, position: { epoch: 1, batch: 0 }, epochInProgress: { count: 0 } });
  });

  it('writes no checkpoint when not asked to', async () => {
    const driver = new FakeDriver(50, { validation: 0, test: 0 });
    await loop(driver, initialTrainingState(), { config: config({ epochs: 2, checkpointEverySteps: 2 }) });
    expect(driver.checkpoints).toEqual([]);
  });

  it('early stopping: snapshots each improvement, stops `patience` epochs after the best, restores the best weights at the end', async () => {
    const losses = [1.0, 0.5, 0.6, 0.7, 0.2];
    const driver = new FakeDriver(20, { validation: 5, test: 0 }, (epoch) => losses[epoch]!);
    const state = initialTrainingState();
    const outcome = await loop(driver, state, { config: config({ epochs: 10, validationSplit: 0.2, earlyStopping: { monitor: 'valLoss', patience: 2, restoreBestWeights: true } }) });
    expect(driver.decisions).toEqual([
      { epoch: 0, keepBest: true, restoreBest: false },
      { epoch: 1, keepBest: true, restoreBest: false },
      { epoch: 2, keepBest: false, restoreBest: false },
      { epoch: 3, keepBest: false, restoreBest: true },
    ]);
    expect(state.history).toHaveLength(4);
    expect(state.earlyStopping).toEqual({ best: 0.5, bestEpoch: 1, wait: 2 });
    expect(state.position).toEqual({ epoch: 10, batch: 0 });
    expect(outcome).toMatchObject({ stoppedEarly: true, completed: true });
  });

  it('does not restore when the best epoch is the last, nor when restoreBestWeights is false', async () => {
    const down = new FakeDriver(20, { validation: 5, test: 0 }, (epoch) => 1 / (epoch + 1));
    await loop(down, initialTrainingState(), { config: config({ epochs: 3, validationSplit: 0.2, earlyStopping: { monitor: 'valLoss', patience: 1 } }) });
    expect(down.decisions.map((d) => d.restoreBest)).toEqual([false, false, false]);
    const up = new FakeDriver(20, { validation: 5, test: 0 }, (epoch) => epoch);
    await loop(up, initialTrainingState(), { config: config({ epochs: 5, validationSplit: 0.2, earlyStopping: { monitor: 'valLoss', patience: 1, restoreBestWeights: false } }) });
    expect(up.decisions.map((d) => [d.keepBest, d.restoreBest])).toEqual([[false, false], [false, false]]);
  });

  it('refuses early stopping without validation data before taking a step', async () => {
    const driver = new FakeDriver(20, { validation: 0, test: 0 });
    await expect(loop(driver, initialTrainingState(), { config: config({ epochs: 2, earlyStopping: { monitor: 'valLoss' } }) })).rejects.toThrow(ConfigError);
    expect(driver.steps).toEqual([]);
  });

  it('a run stopped by maxSteps mid-epoch and resumed from its (serialized) state takes exactly the remaining steps and ends in the same state', async () => {
    const c = config({ epochs: 3, validationSplit: 0.2, checkpointEverySteps: 3, earlyStopping: { monitor: 'valLoss', patience: 5 } }, { type: 'cosine', decaySteps: 10 });
    const valLoss = (epoch: number) => [0.9, 0.4, 0.6][epoch]!;
    const whole = new FakeDriver(45, { validation: 11, test: 4 }, valLoss);
    const wholeState = initialTrainingState();
    await loop(whole, wholeState, { config: c, checkpoints: true });

    const first = new FakeDriver(45, { validation: 11, test: 4 }, valLoss);
    const state = initialTrainingState();
    const stopped = await loop(first, state, { config: c, checkpoints: true, maxSteps: 7 });
    expect(stopped).toMatchObject({ stepsTaken: 7, completed: false });
    expect(state.position).toEqual({ epoch: 1, batch: 2 });
    expect(first.steps.at(-1)!.lastOfRun).toBe(true);

    // The checkpoint written at the stop (Note [a checkpoint at every stop]) is of the 7th step: nothing is repeated.
    const resumedState = parseTrainingState(JSON.parse(JSON.stringify(first.checkpoints.at(-1))), { path: '' }, 'message');
    expect(resumedState.step).toBe(7);
    const second = new FakeDriver(45, { validation: 11, test: 4 }, valLoss);
    await loop(second, resumedState, { config: c, checkpoints: true });
    const planned = (s: PlannedStep) => [s.step, s.epoch, s.batchIndex, s.lr];
    expect([...first.steps, ...second.steps].map(planned)).toEqual(whole.steps.map(planned));
    const strip = (s: TrainingState) => ({ ...s, history: s.history.map((h) => ({ ...h, seconds: 0, samplesPerSec: 0 })), epochInProgress: { ...s.epochInProgress, seconds: 0 } });
    expect(strip(resumedState)).toEqual(strip(wholeState));
  });

  it('--max-steps stops with a checkpoint of the stop step marked with the reason, after the step\'s own checkpoints; the test split is still evaluated', async () => {
    const driver = new FakeDriver(50, { validation: 0, test: 3 });
    const outcome = await loop(driver, initialTrainingState(), { config: config({ epochs: 2, checkpointEverySteps: 2 }), checkpoints: true, maxSteps: 4, evaluateTest: true });
    expect(driver.calls.filter((c) => c.startsWith('checkpoint'))).toEqual(['checkpoint 2', 'checkpoint 4', 'checkpoint 4 stoppedBy --max-steps']);
    expect(driver.calls.at(-1)).toBe('evaluate test');
    expect(outcome.stop).toEqual({ reason: '--max-steps', requested: false, step: 4, checkpoint: 'ckpt-4' });
  });

  it('a stop request is honoured at the next step boundary: no further step, a checkpoint of that step marked with the reason, no test evaluation', async () => {
    const driver = new FakeDriver(50, { validation: 0, test: 3 });
    let asked = 0;
    const outcome = await loop(driver, initialTrainingState(), {
      config: config({ epochs: 3 }), checkpoints: true, evaluateTest: true,
      // The request arrives while step 6 is computed: steps 0..6 are taken, step 7 is not.
      stopRequested: () => (asked++ >= 7 ? 'SIGINT' : undefined),
    });
    expect(driver.steps.map((p) => p.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(driver.calls.slice(-1)).toEqual(['checkpoint 7 stoppedBy SIGINT']);
    expect(driver.calls).not.toContain('evaluate test');
    expect(outcome).toMatchObject({ completed: false, stop: { reason: 'SIGINT', requested: true, step: 7, checkpoint: 'ckpt-7' } });
  });

  it('a stop at an epoch boundary marks the epoch end\'s checkpoint again (same step) so a resume knows it repeats nothing; without checkpoints the stop names none', async () => {
    const driver = new FakeDriver(20, { validation: 0, test: 0 });
    const outcome = await loop(driver, initialTrainingState(), { config: config({ epochs: 3 }), checkpoints: true, stopRequested: () => (driver.steps.length >= 2 ? 'SIGTERM' : undefined) });
    expect(driver.calls).toEqual(['step 0', 'step 1', 'endEpoch 0', 'checkpoint 2', 'checkpoint 2 stoppedBy SIGTERM']);
    expect(outcome.stop).toMatchObject({ step: 2, checkpoint: 'ckpt-2' });

    const bare = new FakeDriver(20, { validation: 0, test: 0 });
    const none = await loop(bare, initialTrainingState(), { config: config({ epochs: 3 }), stopRequested: () => 'SIGINT' });
    expect(bare.calls).toEqual([]);
    expect(none.stop).toEqual({ reason: 'SIGINT', requested: true, step: 0, checkpoint: undefined });
  });

  it('evaluates the test split with its confusion matrix once, at the end, when asked', async () => {
    const driver = new FakeDriver(20, { validation: 0, test: 7 });
    const outcome = await loop(driver, initialTrainingState(), { config: config({ epochs: 1 }), evaluateTest: true });
    expect(driver.calls.at(-1)).toBe('evaluate test');
    expect(outcome.test?.count).toBe(7);
  });

  it('reports progress per batch and per epoch with an ETA', async () => {
    const events: string[] = [];
    const driver = new FakeDriver(20, { validation: 0, test: 0 });
    await loop(driver, initialTrainingState(), { config: config({ epochs: 2 }), onProgress: (e) => events.push(e.type === 'batch' ? `batch ${e.epoch}.${e.batch}/${e.batches}` : e.type) });
    expect(events).toEqual(['batch 0.1/2', 'batch 0.2/2', 'epoch', 'batch 1.1/2', 'batch 1.2/2', 'epoch']);
  });
});

describe('the training loop with the NaN/Inf guard (a driver that reports skipped steps)', () => {
  // 40 samples, batch 10 → 4 steps an epoch; 3 epochs = steps 0..11.
  const skipping = (steps: Record<number, number[]>) => new FakeDriver(40, { validation: 0, test: 0 }, () => 1, new Map(Object.entries(steps).map(([s, r]) => [Number(s), r])));

  it('a skipped step consumes its batch and its step number, adds nothing to the epoch sums, and is listed with its ranks', async () => {
    const plain = new FakeDriver(40, { validation: 0, test: 0 });
    await loop(plain, initialTrainingState(), { config: config({ epochs: 3 }) });
    const driver = skipping({ 5: [1], 6: [0, 2] });
    const state = initialTrainingState();
    const outcome = await loop(driver, state, { config: config({ epochs: 3 }) });
    const planned = (s: PlannedStep) => [s.step, s.epoch, s.batchIndex, s.globalStart, s.globalEnd, s.lr];
    expect(driver.steps.map(planned)).toEqual(plain.steps.map(planned));
    expect(state.step).toBe(12);
    expect(outcome.skippedSteps).toEqual([{ step: 5, ranks: [1] }, { step: 6, ranks: [0, 2] }]);
    expect(state.skipped).toEqual(outcome.skippedSteps);
    // Epoch 1 (steps 4..7) counts only steps 4 and 7: 20 samples, their loss and penalty; NaN never enters.
    const epoch1 = state.history[1]!;
    expect(epoch1.trainLoss).toBeCloseTo((10 * 1.04 + 10 * 1.07) / 20 + 0.01, 12);
    expect(epoch1.trainAccuracy).toBe(0.5);
    expect(state.history.map((h) => Number.isFinite(h.trainLoss))).toEqual([true, true, true]);
    expect(outcome).toMatchObject({ stepsTaken: 12, completed: true });
  });

  it('stops at the maxSkipped-th consecutive skip with the driver\'s error naming the steps and ranks, before any further step or checkpoint', async () => {
    const driver = skipping({ 3: [1], 4: [1], 5: [1] });
    const state = initialTrainingState();
    const error = await loop(driver, state, { config: config({ epochs: 3, checkpointEverySteps: 1 }), checkpoints: true, maxSkipped: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as Error).message).toBe('stopped after step 3 (ranks 1), step 4 (ranks 1), step 5 (ranks 1)');
    expect(driver.steps.at(-1)!.step).toBe(5);
    // Checkpoints are named by the next step: 'checkpoint 5' follows step 4; step 5 stops the run before its own.
    expect(driver.calls.filter((c) => c.startsWith('checkpoint')).at(-1)).toBe('checkpoint 5');
    expect(state.skipped.map((k) => k.step)).toEqual([3, 4, 5]);
  });

  it('the default limit is 5 consecutive skips', async () => {
    const driver = skipping({ 2: [0], 3: [0], 4: [0], 5: [0], 6: [0] });
    await expect(loop(driver, initialTrainingState(), { config: config({ epochs: 3 }) })).rejects.toThrow('step 2 (ranks 0), step 3 (ranks 0), step 4 (ranks 0), step 5 (ranks 0), step 6 (ranks 0)');
    expect(driver.steps.at(-1)!.step).toBe(6);
  });

  it('non-consecutive skips never reach the limit, however many (negative control), and maxSkipped 0 never stops', async () => {
    const pattern = { 0: [0], 1: [0], 3: [1], 4: [1], 6: [0], 7: [0], 9: [1], 10: [1] };
    const outcome = await loop(skipping(pattern), initialTrainingState(), { config: config({ epochs: 3 }), maxSkipped: 3 });
    expect(outcome).toMatchObject({ stepsTaken: 12, completed: true });
    expect(outcome.skippedSteps.map((k) => k.step)).toEqual([0, 1, 3, 4, 6, 7, 9, 10]);
    const all = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [i, [0]]));
    const never = await loop(skipping(all), initialTrainingState(), { config: config({ epochs: 3 }), maxSkipped: 0 });
    expect(never.skippedSteps).toHaveLength(12);
  });

  it('counts consecutive skips across a resume from a serialized state, as the uninterrupted run does', async () => {
    const steps = { 2: [1], 3: [1], 4: [1] };
    const first = skipping(steps);
    const state = initialTrainingState();
    await loop(first, state, { config: config({ epochs: 3 }), maxSteps: 4, maxSkipped: 3 });
    const resumed = parseTrainingState(JSON.parse(JSON.stringify(state)), { path: '' }, 'message');
    expect(resumed.skipped).toEqual([{ step: 2, ranks: [1] }, { step: 3, ranks: [1] }]);
    await expect(loop(skipping(steps), resumed, { config: config({ epochs: 3 }), maxSkipped: 3 })).rejects.toThrow('step 2 (ranks 1), step 3 (ranks 1), step 4 (ranks 1)');
  });

  it('reports each skip as a progress event with the run of consecutive skips', async () => {
    const events: string[] = [];
    await loop(skipping({ 1: [2], 2: [] }), initialTrainingState(), { config: config({ epochs: 1 }), onProgress: (e) => e.type === 'skipped' && events.push(`${e.step}:${e.ranks.join(',')}:${e.consecutive}`) });
    expect(events).toEqual(['1:2:1', '2::2']);
  });

  describe('Note [the loop announces its next steps]', () => {
    it('names, with each step, the step that follows whatever its outcome, and then takes exactly that step', async () => {
      const driver = new EarlyDriver(50, { validation: 5, test: 0 });
      await loop(driver, initialTrainingState(), { config: config({ epochs: 2, checkpointEverySteps: 3 }), checkpoints: true, maxSteps: 9 });
      expect(driver.steps.map((p) => p.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      driver.announced.forEach((next, i) => {
        if (next !== undefined) expect(next, `announced with step ${i}`).toEqual(driver.steps[i + 1]);
      });
      // Not across a mid-epoch checkpoint (after steps 2, 5 and 8: every 3rd), an epoch end (after step 4) or the run's end (step 8).
      expect(driver.announced.map((n, i) => (n === undefined ? i : -1)).filter((i) => i >= 0)).toEqual([2, 4, 5, 8]);
      expect(driver.calls.slice(0, 8)).toEqual(['step 0', 'step 1', 'step 2', 'checkpoint 3', 'step 3', 'step 4', 'evaluate validation', 'endEpoch 0']);
    });

    it('a driver that takes steps one by one is never told a next step (negative control)', async () => {
      const announced: unknown[] = [];
      const driver: StepDriver = new FakeDriver(50, { validation: 0, test: 0 });
      const step = driver.step.bind(driver);
      driver.step = (p: PlannedStep, upcoming: readonly PlannedStep[]) => (announced.push(...upcoming), step(p, upcoming));
      await loop(driver, initialTrainingState(), { config: config({ epochs: 1 }) });
      expect(announced).toEqual([]);
    });

    it('with 3 steps ahead, each step names the next 3 that follow it unconditionally (fewer before a checkpoint, an epoch end or the end), and the loop takes exactly those', async () => {
      const driver = new EarlyDriver(50, { validation: 5, test: 0 }, 3);
      await loop(driver, initialTrainingState(), { config: config({ epochs: 2, checkpointEverySteps: 3 }), checkpoints: true, maxSteps: 9 });
      expect(driver.steps.map((p) => p.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      driver.announcedWith.forEach((upcoming, i) => expect(upcoming, `announced with step ${i}`).toEqual(driver.steps.slice(i + 1, i + 1 + upcoming.length)));
      // Batches 0–4 per epoch; checkpoints after steps 2, 5 and 8 (none announced across); epoch end after step 4; the run's end at step 8.
      expect(driver.announcedWith.map((u) => u.map((p) => p.step))).toEqual([[1, 2], [2], [], [4], [], [], [7, 8], [8], []]);
    });

    it('with 3 steps ahead, a stop requested meanwhile takes every step announced, then stops with its checkpoint', async () => {
      const driver = new EarlyDriver(100, { validation: 0, test: 0 }, 3);
      // The request arrives while step 3 is computed: steps 4–6 were announced with it, so the run stops after step 6.
      const outcome = await loop(driver, initialTrainingState(), { config: config({ epochs: 3 }), checkpoints: true, stopRequested: () => (driver.steps.length >= 4 ? 'SIGINT' : undefined) });
      expect(driver.steps.map((p) => p.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(driver.announcedWith.slice(3).map((u) => u.map((p) => p.step))).toEqual([[4, 5, 6], [5, 6], [6], []]);
      expect(outcome.stop).toMatchObject({ reason: 'SIGINT', requested: true, step: 7 });
    });

    it('a stop requested after a step was announced takes that step, then stops with its checkpoint; a later step is not announced', async () => {
      const driver = new EarlyDriver(50, { validation: 0, test: 0 });
      // The request arrives while step 3 is computed: step 4 was announced with it, so the run stops after step 4.
      const outcome = await loop(driver, initialTrainingState(), { config: config({ epochs: 3 }), checkpoints: true, stopRequested: () => (driver.steps.length >= 4 ? 'SIGINT' : undefined) });
      expect(driver.steps.map((p) => p.step)).toEqual([0, 1, 2, 3, 4]);
      expect(driver.announced.at(-1)).toBeUndefined();
      expect(driver.calls.slice(-1)).toEqual(['checkpoint 5 stoppedBy SIGINT']);
      expect(outcome.stop).toMatchObject({ reason: 'SIGINT', requested: true, step: 5 });
    });
  });
});
