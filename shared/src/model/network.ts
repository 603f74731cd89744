import type { ForwardContext, Layer } from '../layers/layer.js';
import type { Shape, Tensor } from '../tensor/tensor.js';

/** One micro-batch on a backend. Inputs are already normalised floats. */
export interface Batch {
  /** [count, ...inputShape] */
  readonly x: Tensor;
  /** Targets: one-hot [count, classes] for classification; for autoencoders the same as x. */
  readonly y: Tensor;
  readonly count: number;
  /** y holds real-valued regression targets: evaluation adds the regression sums (see regression-metrics.ts). */
  readonly regression?: boolean;
}

/**
 * What a forward pass over a micro-batch reports: SUMS over its samples (never means), so
 * results of micro-batches and workers add up exactly; divide by `count` to report.
 */
export interface BatchStats {
  lossSum: number;
  count: number;
  /** Correctly classified samples (classification models only). */
  correct?: number;
  /** Other per-model sums, e.g. `kl` and `reconstruction` for a VAE, `squaredError` for an autoencoder. */
  extras: Record<string, number>;
  /** Classification evaluations: C × C counts, row = actual class, column = predicted (row-major). */
  confusion?: number[];
  /**
   * A step handed out before its parameters were final (Note [parameters final]): how long its compute thread
   * waited at the parameter gates, ms — the longest wait of any micro-batch, not a sum (threads wait side by side).
   */
  gateWaitMs?: number;
}

/**
 * A trainable model: what the single-process trainer, the pool threads and the cluster workers
 * all run. Parameters and update slots are views into flat Float32Arrays laid out in layer order,
 * so the gradient is one buffer (the all-reduce buffer) and the checksum covers one buffer.
 */
export interface Network {
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly layers: readonly Layer[];
  /** Total number of float32 values over all parameters (trainable and running). */
  readonly parameterCount: number;
  /** Binds every layer to views of the flat buffers (both of length parameterCount). */
  bind(values: Float32Array, slots: Float32Array): void;
  /** Forward + loss + backward over one micro-batch; writes update slots; returns sums. */
  trainBatch(batch: Batch, ctx: ForwardContext): BatchStats;
  /** Forward + loss in inference mode; no slots written. */
  evaluateBatch(batch: Batch, ctx: ForwardContext): BatchStats;
  /** Model output (probabilities for classifiers, reconstructions for autoencoders). */
  predict(x: Tensor, ctx: ForwardContext): Tensor;
}
