import { describe, expect, it } from 'vitest';
import { ClusterStepDriver, type ClusterStepDriverOptions } from '../../../coordinator/src/cluster-step-driver.js';
import { StepBarrier } from '../../../coordinator/src/step-barrier.js';
import type { Generation } from '../../../coordinator/src/membership.js';
import type { PlannedStep, ReadyBody, StepDoneBody } from '../../../shared/src/internal.js';
import type { ControlChannel } from '@gradmesh/transport';

/**
 * Note [steps are sent ahead], checked on the driver with a real StepBarrier and a channel that records
 * what is published: which step commands go out, when, and which replies count.
 */
const BATCH = 8;
const plan = (step: number): PlannedStep => ({ step, epoch: 0, batchIndex: step, globalStart: step * BATCH, globalEnd: (step + 1) * BATCH, lr: 0.1, lastOfRun: false });
const done = (step: number, rank: number, lossSum = 1): StepDoneBody => ({ step, rank, lossSum, count: BATCH / 2, extras: {}, computeMs: 1, allreduceMs: 1, localFinite: true, skipped: false });

function generation(n: number): Generation {
  return { generation: n, worldSize: 2, members: [0, 1].map((rank) => ({ rank, workerId: `w${rank}`, host: 'h', pid: 1, threads: 1 })) as unknown as Generation['members'] };
}

function setup(o: { maySendAhead?: () => boolean; beforeCommand?: ClusterStepDriverOptions['beforeCommand']; stepWindow?: [number, number] } = {}) {
  const sent: number[] = [];
  const channel = { send: (_subject: string, kind: string, body: { step: number }) => kind === 'step' && sent.push(body.step) } as unknown as ControlChannel;
  const barrier = new StepBarrier((rank) => `w${rank}`);
  const state = { generation: generation(1), beforeCommand: [] as boolean[] };
  const ready = [0, 1].map((rank) => ({ rank, workerId: `w${rank}`, checksum: 'c', step: 0, trainCount: 100, validationCount: 0, testCount: 0, classes: 2, featureSize: 4, parameters: 10, generation: 1, threads: 1, ...(o.stepWindow === undefined ? {} : { stepWindow: o.stepWindow[rank] }) }) as ReadyBody);
  const driver = new ClusterStepDriver({
    runId: 'r',
    channel,
    barrier,
    membership: () => ({ generation: state.generation, ready }),
    beforeCommand: async (kind, sentAhead) => {
      state.beforeCommand.push(sentAhead);
      await o.beforeCommand?.(kind, sentAhead);
    },
    maySendAhead: o.maySendAhead ?? (() => true),
    maxWorkers: 2,
    stepTimeoutMs: 5_000,
    evaluationTimeoutMs: 5_000,
    checkpointTimeoutMs: 5_000,
    checksumEvery: 1_000,
    failure: () => undefined,
    nextRequestId: () => 0,
    onRedo: () => undefined,
    onTimeout: () => undefined,
  });
  return { sent, barrier, driver, state };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Note [steps are sent ahead]', () => {
  it('without a window from the ranks (W = 2): the next step\'s command goes out right behind the current one, once; its early replies count when its turn comes', async () => {
    const { sent, barrier, driver, state } = setup();
    const first = driver.step(plan(0), [plan(1)]);
    await tick();
    expect(sent).toEqual([0, 1]);
    barrier.deliver('stepDone', 0, 0, done(0, 0));
    // Rank 0 finished step 0 and, already holding step 1's command, also step 1 — before rank 1 finished step 0.
    expect(barrier.deliver('stepDone', 1, 0, done(1, 0, 5))).toBeUndefined();
    barrier.deliver('stepDone', 0, 1, done(0, 1));
    expect((await first).stats.count).toBe(BATCH);
    const second = driver.step(plan(1), [plan(2)]);
    await tick();
    expect(sent).toEqual([0, 1, 2]);
    barrier.deliver('stepDone', 1, 1, done(1, 1, 7));
    expect((await second).stats.lossSum).toBe(12);
    expect(driver.stepsSentAhead).toBe(1);
    // Step 1 was already out: the coordinator was told so (no stop or growth at that boundary).
    expect(state.beforeCommand).toEqual([false, true]);
  });

  it('a step sent ahead to a generation that ended is sent again to the next one, and the old generation\'s replies do not count', async () => {
    let regroup = false;
    const { sent, barrier, driver, state } = setup({
      beforeCommand: async () => {
        if (regroup) state.generation = generation(2);
      },
    });
    const first = driver.step(plan(0), [plan(1)]);
    await tick();
    barrier.deliver('stepDone', 0, 0, done(0, 0));
    barrier.deliver('stepDone', 0, 1, done(0, 1));
    await first;
    // Rank 0 of generation 1 answers step 1; then the generation ends and generation 2 forms before step 1.
    barrier.deliver('stepDone', 1, 0, done(1, 0, 100));
    regroup = true;
    const again = driver.step(plan(1), []);
    await tick();
    expect(sent).toEqual([0, 1, 1]);
    expect(barrier.missing()).toEqual([0, 1]);
    barrier.deliver('stepDone', 1, 0, done(1, 0, 2));
    barrier.deliver('stepDone', 1, 1, done(1, 1, 3));
    expect((await again).stats.lossSum).toBe(5);
    expect(driver.stepsSentAhead).toBe(0);
  });

  it('nothing is sent ahead while the coordinator says it may not be (a stop or a join is pending), nor without a next step', async () => {
    const { sent, barrier, driver } = setup({ maySendAhead: () => false });
    const first = driver.step(plan(0), [plan(1)]);
    await tick();
    expect(sent).toEqual([0]);
    expect(barrier.deliver('stepDone', 1, 0, done(1, 0))).toBe('stale-step');
    barrier.deliver('stepDone', 0, 0, done(0, 0));
    barrier.deliver('stepDone', 0, 1, done(0, 1));
    await first;
    const plain = setup();
    const only = plain.driver.step(plan(0), []);
    await tick();
    expect(plain.sent).toEqual([0]);
    plain.barrier.deliver('stepDone', 0, 0, done(0, 0));
    plain.barrier.deliver('stepDone', 0, 1, done(0, 1));
    await only;
  });

  it('a window of W = 8 (the smallest of the ranks\' 8 and 12): 8 steps go out at once, then 4 at a time; no more than 8 are ever outstanding; replies held for many steps count in order', async () => {
    const { sent, barrier, driver } = setup({ stepWindow: [12, 8] });
    expect(driver.stepsAhead).toBe(7);
    const upcoming = (from: number) => Array.from({ length: 7 }, (_, i) => plan(from + 1 + i));
    const first = driver.step(plan(0), upcoming(0));
    await tick();
    expect(sent).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Both ranks send their replies to steps 0–3 together (Note [replies are sent R at a time] in worker.ts).
    for (const step of [0, 1, 2, 3]) for (const rank of [0, 1]) expect(barrier.deliver('stepDone', step, rank, done(step, rank, step))).toBeUndefined();
    expect((await first).stats.lossSum).toBe(0);
    const outstanding: number[] = [];
    for (const step of [1, 2, 3]) {
      const result = await driver.step(plan(step), upcoming(step));
      expect(result.stats.lossSum).toBe(2 * step);
      outstanding.push(sent.length - step - 1);
    }
    // At steps 1–3's turns 6, 5, 4 steps were ahead: room for 1–3, fewer than R = 4, so nothing was sent.
    expect(sent).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Math.max(...outstanding)).toBeLessThanOrEqual(7);
    expect(driver.stepsSentAhead).toBe(3);
    // At step 4's turn 3 are ahead (5–7): room for 4, steps 8–11 go out in one go.
    const fourth = driver.step(plan(4), upcoming(4));
    await tick();
    expect(sent).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    for (const rank of [0, 1]) barrier.deliver('stepDone', 4, rank, done(4, rank));
    await fourth;
  });

  it('a generation that ends with 7 steps sent ahead forgets all their replies; the steps go out again to the next generation', async () => {
    let regroup = false;
    const { sent, barrier, driver, state } = setup({ stepWindow: [8, 8], beforeCommand: async () => { if (regroup) state.generation = generation(2); } });
    const upcoming = (from: number) => Array.from({ length: 7 }, (_, i) => plan(from + 1 + i));
    const first = driver.step(plan(0), upcoming(0));
    await tick();
    for (const step of [0, 1, 2]) for (const rank of [0, 1]) barrier.deliver('stepDone', step, rank, done(step, rank, 100));
    await first;
    expect(barrier.expectedCount).toBe(7);
    regroup = true;
    const again = driver.step(plan(1), upcoming(1));
    await tick();
    expect(sent).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7, 8]);
    // Generation 1's replies to step 1 were forgotten: the wait is for generation 2's.
    expect(barrier.missing()).toEqual([0, 1]);
    for (const rank of [0, 1]) barrier.deliver('stepDone', 1, rank, done(1, rank, 1));
    expect((await again).stats.lossSum).toBe(2);
    expect(driver.stepsSentAhead).toBe(0);
  });
});
