import { describe, expect, it } from 'vitest';
import { planEpoch, type PlanOptions } from '../../../coordinator/src/step-plan.js';

const options = (o: Partial<PlanOptions> = {}): PlanOptions => ({
  epochs: 3,
  batches: 10,
  checksumEvery: 4,
  checkpointEverySteps: undefined,
  stepsLeft: Infinity,
  learningRate: (step) => 0.1 / (step + 1),
  ...o,
});

describe('step planning', () => {
  it('numbers the batches of an epoch as consecutive steps with the schedule\'s learning rate', () => {
    const plan = planEpoch(1, 0, 10, options());
    expect(plan.map((s) => [s.step, s.epoch, s.batchIndex])).toEqual(Array.from({ length: 10 }, (_, b) => [10 + b, 1, b]));
    expect(plan[3]!.lr).toBe(0.1 / 14);
  });

  it('starts mid-epoch at the resumed batch', () => {
    const plan = planEpoch(0, 7, 7, options());
    expect(plan.map((s) => s.batchIndex)).toEqual([7, 8, 9]);
    expect(plan[0]!.step).toBe(7);
  });

  it('asks for checksums every K steps (counted from 1) and on the run\'s last step', () => {
    const all = [0, 1, 2].flatMap((e) => planEpoch(e, 0, e * 10, options()));
    expect(all.filter((s) => s.checksum).map((s) => s.step)).toEqual([3, 7, 11, 15, 19, 23, 27, 29]);
  });

  it('places mid-epoch checkpoints where Model.fit does: after every n-th step, except the epoch\'s last batch', () => {
    const all = [0, 1].flatMap((e) => planEpoch(e, 0, e * 10, options({ checkpointEverySteps: 5, epochs: 2 })));
    expect(all.filter((s) => s.checkpoint).map((s) => s.step)).toEqual([4, 14]);
  });

  it('stops at --max-steps and checksums the last step taken', () => {
    const plan = planEpoch(0, 0, 0, options({ stepsLeft: 6 }));
    expect(plan).toHaveLength(6);
    expect(plan.filter((s) => s.checksum).map((s) => s.step)).toEqual([3, 5]);
    expect(planEpoch(0, 0, 0, options({ stepsLeft: 0 }))).toEqual([]);
  });
});
