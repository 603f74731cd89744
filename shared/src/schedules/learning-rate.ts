import type { ResolvedDecay, ResolvedSchedule } from './resolve.js';

/**
 * The learning rate for the update after `step` completed steps (see schedule.ts for the step
 * convention). Pure: the same arguments always give the same lr, so a resumed run needs only
 * the step count, never schedule state.
 */
export function learningRateAt(schedule: ResolvedSchedule, baseLr: number, step: number): number {
  const { warmupSteps } = schedule;
  if (step < warmupSteps) {
    // (step + 1) rather than step: the first update must not be wasted at lr 0, and the last
    // warm-up step reaches exactly the base lr.
    return (baseLr * (step + 1)) / warmupSteps;
  }
  return decayedRate(schedule.decay, baseLr, step - warmupSteps);
}

function decayedRate(decay: ResolvedDecay, baseLr: number, step: number): number {
  switch (decay.type) {
    case 'constant':
      return baseLr;
    case 'step':
      // ⌊step / (n·stepsPerEpoch)⌋ equals ⌊⌊step / stepsPerEpoch⌋ / n⌋ for the integers a run counts,
      // so a decay every n epochs gives the same exponent in steps.
      return baseLr * decay.gamma ** Math.floor(step / decay.everySteps);
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
