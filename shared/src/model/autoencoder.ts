import { z } from 'zod';
import { parseWithSchema } from '../config/schema-errors.js';
import { options, shape } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import { child } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import type { ForwardContext, Layer } from '../layers/layer.js';
import type { Loss } from '../losses/loss.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { formatShape, shapesEqual } from '../tensor/tensor.js';
import { LayerStack, stackSpec } from './layer-stack.js';
import type { Batch, BatchStats, Network } from './network.js';

/**
 * An autoencoder: encoder stack → code → decoder stack, trained to reproduce its input (the
 * trainer passes batch.y = batch.x). The layers do not know they are in an autoencoder; this
 * class only chains the two stacks and adds the reconstruction error to the stats.
 *
 * Parameter layout (= checksum order): every encoder layer, then every decoder layer.
 */
export class AutoencoderNetwork implements Network {
  readonly encoder: LayerStack;
  readonly decoder: LayerStack;
  readonly loss: Loss;
  readonly layers: readonly Layer[];
  readonly parameterCount: number;

  constructor(encoder: LayerStack, decoder: LayerStack, loss: Loss) {
    this.encoder = encoder;
    this.decoder = decoder;
    this.loss = loss;
    this.layers = [...encoder.layers, ...decoder.layers];
    this.parameterCount = encoder.parameterCount + decoder.parameterCount;
  }

  get inputShape(): Shape {
    return this.encoder.inputShape;
  }

  get outputShape(): Shape {
    return this.decoder.outputShape;
  }

  /** The code layer's shape (the encoder's output). */
  get codeShape(): Shape {
    return this.encoder.outputShape;
  }

  bind(values: Float32Array, slots: Float32Array): void {
    this.decoder.bind(values, slots, this.encoder.bind(values, slots, 0));
  }

  trainBatch(batch: Batch, ctx: ForwardContext): BatchStats {
    const output = this.#reconstruct(batch.x, ctx);
    const dOutput = ctx.backend.alloc(output.shape);
    const lossSum = this.loss.compute(output, batch.y, dOutput, ctx.backend);
    const stats = this.#stats(lossSum, output, batch);
    const dCode = this.decoder.backward(dOutput, ctx, true);
    this.encoder.backward(dCode!, ctx, false);
    return stats;
  }

  evaluateBatch(batch: Batch, ctx: ForwardContext): BatchStats {
    const output = this.#reconstruct(batch.x, ctx);
    return this.#stats(this.loss.compute(output, batch.y, null, ctx.backend), output, batch);
  }

  /** Reconstructions, [count, ...inputShape]. */
  predict(x: Tensor, ctx: ForwardContext): Tensor {
    return this.#reconstruct(x, ctx);
  }

  /** The code of each input, [count, ...codeShape]. */
  encode(x: Tensor, ctx: ForwardContext): Tensor {
    return this.encoder.forward(x, ctx);
  }

  #reconstruct(x: Tensor, ctx: ForwardContext): Tensor {
    return this.decoder.forward(this.encoder.forward(x, ctx), ctx);
  }

  /**
   * `squaredError` = Σ over samples and features of (output − target)², a SUM like every stat, so
   * the trainer's testReconstructionMse = squaredError / (count · features) is exact however the
   * test set was split into batches and workers. The target is the input (batch.y = batch.x).
   */
  #stats(lossSum: number, output: Tensor, batch: Batch): BatchStats {
    return { lossSum, count: batch.count, extras: { squaredError: squaredError(output, batch.y) } };
  }
}

/** Σ (a − b)² over every element, accumulated in float64 in index order. */
export function squaredError(a: Tensor, b: Tensor): number {
  let sum = 0;
  for (let i = 0; i < a.size; i++) {
    const d = a.data[i]! - b.data[i]!;
    sum += d * d;
  }
  return sum;
}

export const autoencoderSpec = options({
  kind: z.literal('autoencoder'),
  inputShape: shape(),
  encoder: stackSpec.describe('Layers from the input to the code.'),
  decoder: stackSpec.describe('Layers from the code back to the input shape.'),
});

/**
 * `{ "kind": "autoencoder", "inputShape": [784], "encoder": [layer specs], "decoder": [layer specs] }`.
 * The decoder must end where the encoder started: its output shape must equal inputShape.
 */
export function autoencoderFromSpec(model: unknown, loss: Loss, scope: ValidationScope): AutoencoderNetwork {
  const { inputShape, encoder: encoderSpecs, decoder: decoderSpecs } = parseWithSchema(autoencoderSpec, model, scope);
  const encoder = LayerStack.fromSpecs(encoderSpecs, inputShape, child(scope, 'encoder'));
  const decoder = LayerStack.fromSpecs(decoderSpecs, encoder.outputShape, child(scope, 'decoder'), encoder.layers.length);
  requireDecoderOutput(decoder, inputShape, scope);
  return new AutoencoderNetwork(encoder, decoder, loss);
}

/** A decoder that does not rebuild the input's shape is a config error, named at `decoder`. */
export function requireDecoderOutput(decoder: LayerStack, inputShape: Shape, scope: ValidationScope): void {
  if (shapesEqual(decoder.outputShape, inputShape)) return;
  throw new ConfigError(child(scope, 'decoder').path, `must output the input shape ${formatShape(inputShape)} but outputs ${formatShape(decoder.outputShape)}`, {
    hint: `make the last decoder layer produce ${formatShape(inputShape)} (e.g. dense with units ${inputShape.reduce((a, b) => a * b, 1)}, then a reshape if the input is not a vector)`,
    ...(scope.file !== undefined ? { file: scope.file } : {}),
  });
}
