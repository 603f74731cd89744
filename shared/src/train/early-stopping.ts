import type { EarlyStoppingConfig } from '../config/run-config.js';

export interface EarlyStoppingState {
  best: number | null;
  bestEpoch: number;
  wait: number;
}

/**
 * Keras-style early stopping: stop when the monitored value has not improved by more than
 * `minDelta` for `patience` epochs. The state is plain data so it survives a checkpoint.
 */
export class EarlyStopping {
  readonly config: EarlyStoppingConfig;
  state: EarlyStoppingState;

  constructor(config: EarlyStoppingConfig, state?: EarlyStoppingState) {
    this.config = config;
    this.state = state ?? { best: null, bestEpoch: -1, wait: 0 };
  }

  /** Records an epoch's value; returns whether it is the best so far and whether to stop. */
  observe(epoch: number, value: number): { improved: boolean; stop: boolean } {
    const sign = this.config.monitor === 'valAccuracy' ? 1 : -1;
    const best = this.state.best;
    const improved = best === null || sign * (value - best) > this.config.minDelta;
    if (improved) {
      this.state = { best: value, bestEpoch: epoch, wait: 0 };
      return { improved, stop: false };
    }
    this.state = { ...this.state, wait: this.state.wait + 1 };
    return { improved, stop: this.state.wait >= this.config.patience };
  }
}
