import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { learningRateAt, resolveSchedule, scheduleFromSpec, type Schedule } from '../../../shared/src/schedules/schedule.js';
import type { Json } from '../../../shared/src/config/validate.js';

const scope = { path: 'schedule' };
const parse = (spec: Json): Schedule => scheduleFromSpec(spec, scope);
const lrAt = (spec: Json, step: number, stepsPerEpoch = 100): number =>
  learningRateAt(resolveSchedule(parse(spec), { stepsPerEpoch, totalSteps: 10 * stepsPerEpoch }), 0.1, step);

describe('learningRateAt', () => {
  it('constant: the base lr at every step; an absent schedule is constant', () => {
    expect(lrAt({ type: 'constant' }, 0)).toBe(0.1);
    expect(lrAt({ type: 'constant' }, 12345)).toBe(0.1);
    expect(learningRateAt(resolveSchedule(scheduleFromSpec(undefined, scope), { stepsPerEpoch: 10, totalSteps: 100 }), 0.1, 999)).toBe(0.1);
  });

  it('step decay every N steps multiplies by gamma at each boundary', () => {
    const spec = { type: 'step', everySteps: 10, gamma: 0.5 };
    expect(lrAt(spec, 9)).toBeCloseTo(0.1, 12);
    expect(lrAt(spec, 10)).toBeCloseTo(0.05, 12);
    expect(lrAt(spec, 25)).toBeCloseTo(0.025, 12);
  });

  it('step decay every N epochs counts whole epochs of stepsPerEpoch steps', () => {
    const spec = { type: 'step', everyEpochs: 2, gamma: 0.5 };
    expect(lrAt(spec, 199, 100)).toBeCloseTo(0.1, 12);
    expect(lrAt(spec, 200, 100)).toBeCloseTo(0.05, 12);
    expect(lrAt(spec, 399, 100)).toBeCloseTo(0.05, 12);
    expect(lrAt(spec, 400, 100)).toBeCloseTo(0.025, 12);
    expect(lrAt(spec, 400, 50)).toBeCloseTo(0.1 * 0.5 ** 4, 12);
  });

  it('exponential: 0.96^(step/100), floored with staircase', () => {
    expect(lrAt({ type: 'exponential', decayRate: 0.96, decaySteps: 100 }, 50)).toBeCloseTo(0.1 * Math.sqrt(0.96), 12);
    expect(lrAt({ type: 'exponential', decayRate: 0.96, decaySteps: 100 }, 250)).toBeCloseTo(0.1 * 0.96 ** 2.5, 12);
    expect(lrAt({ type: 'exponential', decayRate: 0.96, decaySteps: 100, staircase: true }, 50)).toBe(0.1);
    expect(lrAt({ type: 'exponential', decayRate: 0.96, decaySteps: 100, staircase: true }, 250)).toBeCloseTo(0.1 * 0.96 ** 2, 12);
  });

  it('cosine: from the base lr down to alpha·lr over decaySteps, then flat', () => {
    const spec = { type: 'cosine', decaySteps: 100, alpha: 0.1 };
    expect(lrAt(spec, 0)).toBeCloseTo(0.1, 12);
    // step 25: 0.5·(1 + cos(π/4)) = 0.85355339 → 0.9·0.85355339 + 0.1 = 0.86819805.
    expect(lrAt(spec, 25)).toBeCloseTo(0.086819805, 9);
    expect(lrAt(spec, 50)).toBeCloseTo(0.055, 12);
    expect(lrAt(spec, 100)).toBeCloseTo(0.01, 12);
    expect(lrAt(spec, 1000)).toBeCloseTo(0.01, 12);
    expect(lrAt({ type: 'cosine', decaySteps: 100 }, 100)).toBeCloseTo(0, 12);
  });

  it('warm-up ramps linearly to the base lr, then the inner schedule starts from its own step 0', () => {
    const spec = { type: 'cosine', decaySteps: 100, alpha: 0.1, warmupSteps: 10 };
    expect(lrAt(spec, 0)).toBeCloseTo(0.01, 12);
    expect(lrAt(spec, 4)).toBeCloseTo(0.05, 12);
    expect(lrAt(spec, 9)).toBeCloseTo(0.1, 12);
    expect(lrAt(spec, 10)).toBeCloseTo(0.1, 12);
    expect(lrAt(spec, 60)).toBeCloseTo(0.055, 12);
    expect(lrAt({ type: 'constant', warmupSteps: 4 }, 1)).toBeCloseTo(0.05, 12);
    expect(lrAt({ type: 'step', everySteps: 5, gamma: 0.5, warmupSteps: 5 }, 10)).toBeCloseTo(0.05, 12);
  });
});

describe('scheduleFromSpec', () => {
  it('validates each type and fills in its defaults', () => {
    expect(parse({ type: 'step', everyEpochs: 3, gamma: 0.1 })).toEqual({ type: 'step', warmupSteps: 0, everyEpochs: 3, gamma: 0.1 });
    expect(parse({ type: 'exponential', decayRate: 0.5, decaySteps: 10 })).toEqual({
      type: 'exponential',
      warmupSteps: 0,
      decayRate: 0.5,
      decaySteps: 10,
      staircase: false,
    });
    expect(parse({ type: 'cosine', decaySteps: 10, warmupSteps: 2 })).toEqual({ type: 'cosine', warmupSteps: 2, decaySteps: 10, alpha: 0 });
    expect(parse({ type: 'cosine', decaySteps: 'run' })).toEqual({ type: 'cosine', warmupSteps: 0, decaySteps: 'run', alpha: 0 });
    expect(parse({ type: 'exponential', decayRate: 0.5, decayEpochs: 2 })).toMatchObject({ decayEpochs: 2 });
  });

  it('rejects bad specs with the field path', () => {
    const cases: [Json, RegExp][] = [
      [{ type: 'step', gamma: 0.5 }, /schedule\.everySteps: exactly one of/],
      [{ type: 'step', gamma: 0.5, everySteps: 2, everyEpochs: 1 }, /exactly one of/],
      [{ type: 'step', everySteps: 2 }, /schedule\.gamma: is required/],
      [{ type: 'step', everySteps: 0, gamma: 0.5 }, /schedule\.everySteps: must be ≥ 1/],
      [{ type: 'cosine', decaySteps: 0 }, /schedule\.decaySteps/],
      [{ type: 'cosine', decaySteps: 10, alpha: 1.5 }, /schedule\.alpha: must be ≤ 1/],
      [{ type: 'exponential', decayRate: 0, decaySteps: 10 }, /schedule\.decayRate: must be > 0/],
      [{ type: 'constant', warmupSteps: -1 }, /schedule\.warmupSteps/],
      [{ type: 'constant', warmupSteps: 1.5 }, /schedule\.warmupSteps: must be an integer/],
      [{ type: 'constant', gamma: 0.5 }, /schedule\.gamma: is not a known option/],
      [{ type: 'linear' }, /schedule\.type: must be one of constant, step, exponential, cosine/],
      [{}, /schedule\.type: is required/],
      [{ type: 'cosine' }, /schedule\.decaySteps: exactly one of "decaySteps" and "decayEpochs"/],
      [{ type: 'cosine', decaySteps: 10, decayEpochs: 1 }, /schedule\.decaySteps: exactly one of/],
      [{ type: 'cosine', decaySteps: 'fast' }, /schedule\.decaySteps: must be a positive integer or "run" \(got "fast"\)/],
      [{ type: 'exponential', decayRate: 0.5, decayEpochs: 0 }, /schedule\.decayEpochs: must be ≥ 1/],
      [{ type: 'step', gamma: 0.5, everySteps: 'run' }, /schedule\.everySteps: must be a finite number/],
      [[], /schedule: must be a schedule object/],
    ];
    for (const [spec, message] of cases) {
      expect(() => parse(spec), JSON.stringify(spec)).toThrow(ConfigError);
      expect(() => parse(spec), JSON.stringify(spec)).toThrow(message);
    }
  });
});
