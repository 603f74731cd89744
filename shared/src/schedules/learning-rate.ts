import type { Decay, Schedule } from './schedule.js';

/**
 * The learning rate for the update after `step` completed steps (see schedule.ts for the step
 * convention). Pure: the same arguments always give the same lr, so a resumed run needs only
 * the step count, never schedule state.
 */
export function learningRateAt(schedule: Schedule, baseLr: number, step: number, stepsPerEpoch: number): number {
  const { warmupSteps } = schedule;
  if (step < warmupSteps) {
    // (step + 1) rather than step: the first update must not be wasted at lr 0, and the last
    // warm-up step reaches exactly the base lr.
    return (baseLr * (step + 1)) / warmupSteps;
  }
  return decayedRate(schedule.decay, baseLr, step - warmupSteps, stepsPerEpoch);
}

function decayedRate(decay: Decay, baseLr: number, step: number, stepsPerEpoch: number): number {
  switch (decay.type) {
    case 'constant':
      return baseLr;
    case 'step': {
      if (decay.unit === 'epochs' && !(stepsPerEpoch >= 1)) {
        throw new RangeError(`learningRateAt: an epoch-based step decay needs stepsPerEpoch ≥ 1, got ${stepsPerEpoch}`);
      }
      const elapsed = decay.unit === 'steps' ? step : Math.floor(step / stepsPerEpoch);
      return baseLr * decay.gamma ** Math.floor(elapsed / decay.every);
    }
    case 'exponential': {
      const p = step / decay.decaySteps;
      return baseLr * decay.decayRate ** (decay.staircase ? Math.floor(p) : p);
    }
    case 'cosine': {
      const progress = Math.min(step, decay.decaySteps) / decay.decaySteps;
      const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
      return baseLr * ((1 - decay.alpha) * cosine + decay.alpha);
    }
  }
}
