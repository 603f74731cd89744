import { describe, expect, it } from 'vitest';
import { ClusterStepDriver, type ClusterStepDriverOptions } from '../../../coordinator/src/cluster-step-driver.js';
import { StepBarrier } from '../../../coordinator/src/step-barrier.js';
import type { Generation } from '../../../coordinator/src/membership.js';
import type { PlannedStep, ReadyBody, StepDoneBody } from '../../../shared/src/internal.js';
import type { ControlChannel } from '@gradmesh/transport';

/**
 * Note [the next step is sent ahead], checked on the driver with a real StepBarrier and a channel that records
 * what is published: which step commands go out, when, and which replies count.
 */
const BATCH = 8;
const plan = (step: number): PlannedStep => ({ step, epoch: 0, batchIndex: step, globalStart: step * BATCH, globalEnd: (step + 1) * BATCH, lr: 0.1, lastOfRun: false });
const done = (step: number, rank: number, lossSum = 1): StepDoneBody => ({ step, rank, lossSum, count: BATCH / 2, extras: {}, computeMs: 1, allreduceMs: 1, localFinite: true, skipped: false });

function generation(n: number): Generation {
  return { generation: n, worldSize: 2, members: [0, 1].map((rank) => ({ rank, workerId: `w${rank}`, host: 'h', pid: 1, threads: 1 })) as unknown as Generation['members'] };
}

function setup(o: { maySendAhead?: () => boolean; beforeCommand?: ClusterStepDriverOptions['beforeCommand'] } = {}) {
  const sent: number[] = [];
  const channel = { send: (_subject: string, kind: string, body: { step: number }) => kind === 'step' && sent.push(body.step) } as unknown as ControlChannel;
  const barrier = new StepBarrier((rank) => `w${rank}`);
  const state = { generation: generation(1), beforeCommand: [] as boolean[] };
  const ready = [0, 1].map((rank) => ({ rank, workerId: `w${rank}`, checksum: 'c', step: 0, trainCount: 100, validationCount: 0, testCount: 0, classes: 2, featureSize: 4, parameters: 10, generation: 1, threads: 1 }) as ReadyBody);
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

describe('Note [the next step is sent ahead]', () => {
  it('the next step\'s command goes out right behind the current one, once; its early replies count when its turn comes', async () => {
    const { sent, barrier, driver, state } = setup();
    const first = driver.step(plan(0), plan(1));
    await tick();
    expect(sent).toEqual([0, 1]);
    barrier.deliver('stepDone', 0, 0, done(0, 0));
    // Rank 0 finished step 0 and, already holding step 1's command, also step 1 — before rank 1 finished step 0.
    expect(barrier.deliver('stepDone', 1, 0, done(1, 0, 5))).toBeUndefined();
    barrier.deliver('stepDone', 0, 1, done(0, 1));
    expect((await first).stats.count).toBe(BATCH);
    const second = driver.step(plan(1), plan(2));
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
    const first = driver.step(plan(0), plan(1));
    await tick();
    barrier.deliver('stepDone', 0, 0, done(0, 0));
    barrier.deliver('stepDone', 0, 1, done(0, 1));
    await first;
    // Rank 0 of generation 1 answers step 1; then the generation ends and generation 2 forms before step 1.
    barrier.deliver('stepDone', 1, 0, done(1, 0, 100));
    regroup = true;
    const again = driver.step(plan(1), undefined);
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
    const first = driver.step(plan(0), plan(1));
    await tick();
    expect(sent).toEqual([0]);
    expect(barrier.deliver('stepDone', 1, 0, done(1, 0))).toBe('stale-step');
    barrier.deliver('stepDone', 0, 0, done(0, 0));
    barrier.deliver('stepDone', 0, 1, done(0, 1));
    await first;
    const plain = setup();
    const only = plain.driver.step(plan(0), undefined);
    await tick();
    expect(plain.sent).toEqual([0]);
    plain.barrier.deliver('stepDone', 0, 0, done(0, 0));
    plain.barrier.deliver('stepDone', 0, 1, done(0, 1));
    await only;
  });
});
