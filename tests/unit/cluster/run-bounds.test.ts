import { describe, expect, it } from 'vitest';
import { stepCommandProblem, type StepBounds } from '../../../worker/src/command-bounds.js';
import { evaluatedBound, stepDoneBound } from '../../../coordinator/src/cluster-step-driver.js';
import { StepBarrier } from '../../../coordinator/src/step-barrier.js';

const bounds: StepBounds = { epochs: 3, batchesPerEpoch: 10, lrAt: (step) => 0.1 * 0.5 ** Math.floor(step / 10), window: 4 };
const step = (over: Partial<{ step: number; epoch: number; batchIndex: number; lr: number }> = {}) => ({ step: 11, epoch: 1, batchIndex: 1, lr: 0.05, ...over });

describe('a step command is held to the run: the next step, within the replica\'s window, an existing epoch and batch, the schedule\'s exact lr', () => {
  it('the command the coordinator would send passes', () => {
    expect(stepCommandProblem(step(), 10, 10, bounds)).toBeUndefined();
    // Steps 8, 9 and 10 are queued (not yet applied): step 11 is the 4th outstanding, the window's last.
    expect(stepCommandProblem(step(), 10, 8, bounds)).toBeUndefined();
  });
  it('a step beyond the steps the replica can undo is refused, although it follows the last command (Note [steps to undo])', () => {
    expect(stepCommandProblem(step(), 10, 7, bounds)).toMatch(/step 11 is outside this replica's window of 4 steps from step 7/);
  });
  it('lr = 1e30, a step far ahead, an epoch or batch that does not exist are refused, each named', () => {
    expect(stepCommandProblem(step({ lr: 1e30 }), 10, 10, bounds)).toMatch(/learning rate 1e\+30 is not the run's schedule value 0.05/);
    expect(stepCommandProblem(step({ lr: 0.05000000000000001 }), 10, 10, bounds)).toMatch(/learning rate/);
    expect(stepCommandProblem(step({ step: 0xffffffff }), 10, 10, bounds)).toMatch(/step 4294967295 skips steps: the last step command was 10/);
    expect(stepCommandProblem(step({ epoch: 3 }), 10, 10, bounds)).toMatch(/epoch 3 is past the run's 3 epochs/);
    expect(stepCommandProblem(step({ batchIndex: 10 }), 10, 10, bounds)).toMatch(/batch 10 does not exist/);
  });
});

describe('replies are held to the command they answer', () => {
  it('a step reply counts at most the global batch, and its times fit since the step was sent', () => {
    let now = 1000;
    const bound = stepDoneBound(64, 1000, () => now);
    now = 1500;
    expect(bound(0, { count: 32, computeMs: 400, allreduceMs: 50 })).toBeUndefined();
    expect(bound(0, { count: 65, computeMs: 1, allreduceMs: 1 })).toMatch(/count 65 exceeds the global batch of 64/);
    expect(bound(0, { count: 1, computeMs: 1e300, allreduceMs: 1 })).toMatch(/timings/);
    expect(bound(0, { count: 32, computeMs: 400, allreduceMs: 50, exposedAllreduceMs: 20 })).toBeUndefined();
    expect(bound(0, { count: 32, computeMs: 400, allreduceMs: 50, exposedAllreduceMs: 51 })).toMatch(/exposed all-reduce time 51 ms exceeds the all-reduce's 50 ms/);
  });
  it('an evaluation counts at most the split', () => {
    expect(evaluatedBound(100)(0, { count: 100 })).toBeUndefined();
    expect(evaluatedBound(100)(0, { count: 101 })).toMatch(/count 101 exceeds the split's 100 samples/);
  });
  it('the barrier does not take a reply out of bounds, and still takes the honest one after it', async () => {
    const barrier = new StepBarrier(() => undefined);
    const done = barrier.wait({ kind: 'evaluated', key: 4, ranks: [0], timeoutMs: 10_000, what: 'eval', step: 0, bound: evaluatedBound(10) });
    expect(barrier.deliver('evaluated', 4, 0, { count: 1e9 })).toEqual({ reason: 'out-of-bounds', detail: expect.stringMatching(/exceeds/) });
    expect(barrier.deliver('evaluated', 4, 0, { count: 10 })).toBeUndefined();
    await expect(done).resolves.toEqual([{ count: 10 }]);
  });
});
