import { describe, expect, it } from 'vitest';
import { mergeEvaluations, sumStepStats } from '../../../coordinator/src/aggregate.js';
import type { EvaluatedBody, StepDoneBody } from '../../../shared/src/protocol/messages.js';

const done = (rank: number, lossSum: number, count: number, extra: Partial<StepDoneBody> = {}): StepDoneBody => ({ step: 3, rank, lossSum, count, extras: {}, computeMs: 1, allreduceMs: 1, penalty: 0.5, localFinite: true, skipped: false, ...extra });

describe('step statistics', () => {
  it('sums in rank order whatever the arrival order (float sums are order-sensitive)', () => {
    const a = done(0, 1e16, 1);
    const b = done(1, 1, 1);
    const c = done(2, -1e16, 1);
    const inOrder = sumStepStats([a, b, c]);
    expect(sumStepStats([c, b, a]).lossSum).toBe(inOrder.lossSum);
    expect(sumStepStats([b, c, a]).lossSum).toBe(inOrder.lossSum);
    // Rank order: (1e16 + 1) + −1e16 = 0 in float64; arrival order c, b, a would give 1e16·0 + … ≠.
    expect(inOrder.lossSum).toBe(1e16 + 1 - 1e16);
    expect(inOrder.count).toBe(3);
    expect(inOrder.penalty).toBe(0.5);
  });

  it('adds correct counts and extras; correct stays absent when no rank reports it (an empty shard reports none)', () => {
    const s = sumStepStats([done(0, 1, 2, { correct: 1, extras: { kl: 0.25 } }), done(1, 0, 0), done(2, 2, 2, { correct: 2, extras: { kl: 0.5 } })]);
    expect(s).toMatchObject({ lossSum: 3, count: 4, correct: 3, extras: { kl: 0.75 } });
    expect('correct' in sumStepStats([done(0, 1, 1), done(1, 1, 1)])).toBe(false);
  });
});

describe('evaluation merging', () => {
  const ev = (rank: number, lossSum: number, count: number, correct: number, confusion: number[][]): EvaluatedBody => ({ requestId: 1, rank, lossSum, count, correct, extras: { squaredError: lossSum * 2 }, confusion });

  it('gives what Model.evaluate gives for the whole split: per-sample means, accuracy, the summed confusion matrix', () => {
    const e = mergeEvaluations([ev(1, 3, 3, 2, [[1, 0], [1, 1]]), ev(0, 1, 2, 2, [[1, 0], [0, 1]])], 2);
    expect(e.loss).toBe(4 / 5);
    expect(e.count).toBe(5);
    expect(e.accuracy).toBe(4 / 5);
    expect(e.extras).toEqual({ squaredError: 8 / 5 });
    expect(e.confusion?.toJSON().counts).toEqual([[2, 0], [1, 2]]);
  });

  it('has no accuracy or confusion matrix for a model without classes', () => {
    const e = mergeEvaluations([{ requestId: 1, rank: 0, lossSum: 2, count: 4, extras: {} }], 3);
    expect(e.accuracy).toBeNull();
    expect(e.confusion).toBeNull();
  });
});
