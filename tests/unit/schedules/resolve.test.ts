import { describe, expect, it } from 'vitest';
import type { Json } from '../../../shared/src/config/validate.js';
import { ConfigError } from '../../../shared/src/errors.js';
import { learningRateAt, resolveSchedule, scheduleFromSpec } from '../../../shared/src/schedules/schedule.js';

const scope = { path: 'schedule' };
const resolve = (spec: Json, stepsPerEpoch: number, epochs: number) =>
  resolveSchedule(scheduleFromSpec(spec, scope), { stepsPerEpoch, totalSteps: stepsPerEpoch * epochs });

/**
 * The oracle: each curve written out directly from its spec, with `stepsPerEpoch` applied per call and
 * whole epochs counted first. Every numeric schedule must give exactly these numbers (===, not close)
 * after resolution.
 */
function formerLearningRate(spec: { [key: string]: Json }, baseLr: number, step: number, stepsPerEpoch: number): number {
  const warmupSteps = (spec['warmupSteps'] as number | undefined) ?? 0;
  if (step < warmupSteps) return (baseLr * (step + 1)) / warmupSteps;
  const s = step - warmupSteps;
  switch (spec['type']) {
    case 'constant':
      return baseLr;
    case 'step': {
      const byEpochs = spec['everyEpochs'] !== undefined;
      const every = (byEpochs ? spec['everyEpochs'] : spec['everySteps']) as number;
      const elapsed = byEpochs ? Math.floor(s / stepsPerEpoch) : s;
      return baseLr * (spec['gamma'] as number) ** Math.floor(elapsed / every);
    }
    case 'exponential': {
      const p = s / (spec['decaySteps'] as number);
      return baseLr * (spec['decayRate'] as number) ** (spec['staircase'] ? Math.floor(p) : p);
    }
    case 'cosine': {
      const decaySteps = spec['decaySteps'] as number;
      const alpha = (spec['alpha'] as number | undefined) ?? 0;
      const progress = Math.min(s, decaySteps) / decaySteps;
      const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
      return baseLr * ((1 - alpha) * cosine + alpha);
    }
  }
  throw new Error(`unknown type ${String(spec['type'])}`);
}

describe('resolveSchedule keeps numeric schedules bit for bit', () => {
  const specs: { [key: string]: Json }[] = [
    { type: 'constant', warmupSteps: 7 },
    { type: 'step', everySteps: 10, gamma: 0.5 },
    { type: 'step', everyEpochs: 2, gamma: 0.5 },
    { type: 'step', everyEpochs: 3, gamma: 0.7, warmupSteps: 13 },
    { type: 'exponential', decayRate: 0.96, decaySteps: 100 },
    { type: 'exponential', decayRate: 0.96, decaySteps: 100, staircase: true, warmupSteps: 20 },
    { type: 'exponential', decayRate: 0.3, decaySteps: 4220 },
    { type: 'cosine', decaySteps: 4220, alpha: 0.05 },
    { type: 'cosine', decaySteps: 1000, alpha: 0.1, warmupSteps: 211 },
    { type: 'cosine', decaySteps: 3 },
  ];
  for (const spec of specs) {
    it(JSON.stringify(spec), () => {
      for (const stepsPerEpoch of [1, 7, 100, 844]) {
        const resolved = resolve(spec, stepsPerEpoch, 5);
        for (let step = 0; step < stepsPerEpoch * 6; step += stepsPerEpoch > 100 ? 3 : 1) {
          expect(learningRateAt(resolved, 0.0123, step)).toBe(formerLearningRate(spec, 0.0123, step, stepsPerEpoch));
        }
      }
    });
  }
});

describe('resolveSchedule', () => {
  it('"run" decays over the whole run after warm-up', () => {
    expect(resolve({ type: 'cosine', decaySteps: 'run', alpha: 0.1 }, 844, 5).decay).toEqual({ type: 'cosine', decaySteps: 4220, alpha: 0.1 });
    expect(resolve({ type: 'cosine', decaySteps: 'run', warmupSteps: 220 }, 844, 5)).toEqual({
      warmupSteps: 220,
      decay: { type: 'cosine', decaySteps: 4000, alpha: 0 },
    });
    expect(resolve({ type: 'exponential', decayRate: 0.1, decaySteps: 'run', staircase: true }, 10, 3).decay).toEqual({
      type: 'exponential',
      decayRate: 0.1,
      decaySteps: 30,
      staircase: true,
    });
  });

  it('"run" follows the run length, so more epochs keep the curve above its floor until the end', () => {
    const spec = { type: 'cosine', decaySteps: 'run', alpha: 0 };
    const four = resolve(spec, 100, 4);
    const five = resolve(spec, 100, 5);
    expect(learningRateAt(four, 1, 399)).toBeGreaterThan(0);
    expect(learningRateAt(four, 1, 400)).toBe(0);
    expect(learningRateAt(five, 1, 400)).toBeGreaterThan(0.09);
    expect(learningRateAt(five, 1, 500)).toBe(0);
  });

  it('a run no longer than its warm-up still gets a curve of one step', () => {
    expect(resolve({ type: 'cosine', decaySteps: 'run', warmupSteps: 50 }, 10, 2).decay).toMatchObject({ decaySteps: 1 });
  });

  it('decayEpochs is epochs × stepsPerEpoch; everyEpochs likewise', () => {
    expect(resolve({ type: 'cosine', decayEpochs: 3 }, 844, 5).decay).toMatchObject({ decaySteps: 2532 });
    expect(resolve({ type: 'exponential', decayRate: 0.5, decayEpochs: 2, warmupSteps: 10 }, 7, 5)).toMatchObject({
      warmupSteps: 10,
      decay: { decaySteps: 14 },
    });
    expect(resolve({ type: 'step', everyEpochs: 2, gamma: 0.5 }, 50, 5).decay).toEqual({ type: 'step', gamma: 0.5, everySteps: 100 });
  });

  it('numeric lengths do not depend on the run', () => {
    expect(resolve({ type: 'cosine', decaySteps: 123 }, 7, 1).decay).toMatchObject({ decaySteps: 123 });
    expect(resolve({ type: 'cosine', decaySteps: 123 }, 900, 9).decay).toMatchObject({ decaySteps: 123 });
  });

  it('a length in epochs needs whole steps per epoch', () => {
    expect(() => resolve({ type: 'cosine', decayEpochs: 2 }, 0, 5)).toThrow(ConfigError);
    expect(() => resolve({ type: 'cosine', decayEpochs: 2 }, 0, 5)).toThrow(/schedule\.decayEpochs: is in epochs/);
  });
});
