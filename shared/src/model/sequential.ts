import { z } from 'zod';
import { parseWithSchema } from '../config/schema-errors.js';
import { options, shape } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import { child } from '../config/validate.js';
import type { ForwardContext } from '../layers/layer.js';
import type { Loss } from '../losses/loss.js';
import { tallyPredictions } from '../losses/accuracy.js';
import { regressionSums } from '../losses/regression-metrics.js';
import type { Tensor } from '../tensor/tensor.js';
import { LayerStack, stackSpec } from './layer-stack.js';
import type { Batch, BatchStats, Network } from './network.js';

/** `{ "kind": "sequential", "inputShape": [784], "layers": [layer specs] }` (kind may be left out). */
export const sequentialSpec = options({
  kind: z.literal('sequential').optional(),
  inputShape: shape().describe('Shape of one input sample, e.g. [784] or [28, 28, 1].'),
  layers: stackSpec,
});

/**
 * A plain stack of layers trained against targets: MLPs, CNNs, recurrent classifiers.
 * When the loss is softmax cross-entropy the last layer emits logits and `predict` returns
 * probabilities (the softmax is fused into the loss for stability, as in Keras `from_logits`).
 */
export class SequentialNetwork implements Network {
  readonly stack: LayerStack;
  readonly loss: Loss;
  readonly #countsCorrect: boolean;

  constructor(stack: LayerStack, loss: Loss) {
    this.stack = stack;
    this.loss = loss;
    this.#countsCorrect = loss.name === 'softmaxCrossEntropy' || loss.name === 'categoricalCrossEntropy';
  }

  static fromSpec(model: unknown, loss: Loss, scope: ValidationScope): SequentialNetwork {
    const spec = parseWithSchema(sequentialSpec, model, scope);
    return new SequentialNetwork(LayerStack.fromSpecs(spec.layers, spec.inputShape, child(scope, 'layers')), loss);
  }

  get inputShape() {
    return this.stack.inputShape;
  }
  get outputShape() {
    return this.stack.outputShape;
  }
  get layers() {
    return this.stack.layers;
  }
  get parameterCount() {
    return this.stack.parameterCount;
  }

  bind(values: Float32Array, slots: Float32Array): void {
    this.stack.bind(values, slots, 0);
  }

  trainBatch(batch: Batch, ctx: ForwardContext): BatchStats {
    const output = this.stack.forward(batch.x, ctx);
    const dOutput = ctx.backend.alloc(output.shape);
    const lossSum = this.loss.compute(output, batch.y, dOutput, ctx.backend);
    const stats = this.#stats(lossSum, output, batch, false);
    this.stack.backward(dOutput, ctx, false);
    return stats;
  }

  evaluateBatch(batch: Batch, ctx: ForwardContext): BatchStats {
    const output = this.stack.forward(batch.x, ctx);
    return this.#stats(this.loss.compute(output, batch.y, null, ctx.backend), output, batch, true);
  }

  predict(x: Tensor, ctx: ForwardContext): Tensor {
    const output = this.stack.forward(x, ctx);
    if (this.loss.name !== 'softmaxCrossEntropy') return output;
    const probabilities = ctx.backend.alloc(output.shape);
    ctx.backend.kernels.softmax(output, probabilities);
    return probabilities;
  }

  /** `evaluating`: an inference-mode pass, which also tallies the confusion matrix or the regression sums. */
  #stats(lossSum: number, output: Tensor, batch: Batch, evaluating: boolean): BatchStats {
    const stats: BatchStats = { lossSum, count: batch.count, extras: {} };
    // Evaluation only: training steps need the loss alone, and these four sums would travel with every step.
    if (batch.regression === true && evaluating) Object.assign(stats.extras, regressionSums(output, batch.y));
    if (this.#countsCorrect) {
      const confusion = evaluating ? new Array<number>(output.dim(-1) ** 2).fill(0) : undefined;
      stats.correct = tallyPredictions(output, batch.y, confusion);
      if (confusion !== undefined) stats.confusion = confusion;
    }
    return stats;
  }
}
