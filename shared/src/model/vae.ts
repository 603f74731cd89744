import { z } from 'zod';
import { parseWithSchema } from '../config/schema-errors.js';
import { options, positiveInt, shape, withHint } from '../config/schema-parts.js';
import type { ValidationScope } from '../config/validate.js';
import { child } from '../config/validate.js';
import type { Backend } from '../kernels/backend.js';
import type { ForwardContext, Layer } from '../layers/layer.js';
import { createLayer } from '../layers/registry.js';
import { binaryCrossEntropy } from '../losses/binary-cross-entropy.js';
import { featuresPerSample } from '../losses/check-shapes.js';
import type { Random } from '../random.js';
import type { Shape } from '../tensor/tensor.js';
import { Tensor } from '../tensor/tensor.js';
import { requireDecoderOutput } from './autoencoder.js';
import { LayerStack, stackSpec } from './layer-stack.js';
import type { Batch, BatchStats, Network } from './network.js';

/**
 * A variational autoencoder (Kingma & Welling 2014) over inputs in [0, 1] (Bernoulli likelihood):
 *
 *   encoder stack → e → two linear dense heads: mean μ and logVariance log σ² (each [latentDim])
 *   z = μ + exp(½·log σ²) ⊙ ε,  ε ~ N(0, I) from ctx.rng           (the reparameterisation trick)
 *   decoder stack → logits of p(x | z), shape inputShape (its last layer has NO activation)
 *
 * Per sample, the loss is the negative ELBO in nats:
 *   reconstruction = Σ_pixels BCE(logits, x)   (from logits, stable; a SUM over pixels, not a mean)
 *   kl             = KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ_latent (1 + log σ² − μ² − σ²)
 * and batch stats carry their sums: lossSum = Σ (reconstruction + kl), extras { reconstruction, kl }.
 *
 * Note [VAE evaluation]: evaluateBatch draws ε as training does, so `testNegElbo` is the usual
 * single-sample Monte-Carlo estimate of −ELBO (unbiased), not the optimistic value at z = μ.
 * `predict` is deterministic: it decodes the mean.
 *
 * Parameter layout (= checksum order): encoder layers, mean head (`zMean`), log-variance head
 * (`zLogVariance`), decoder layers.
 */
export interface VaeNetwork extends Network {
  readonly latentDim: number;
  /** The approximate posterior q(z | x): μ and log σ², each [count, latentDim]. */
  encode(x: Tensor, ctx: ForwardContext): { mean: Tensor; logVariance: Tensor };
  /** p(x | z) as probabilities sigmoid(logits), [count, ...inputShape]. */
  decode(z: Tensor, ctx: ForwardContext): Tensor;
  /** Decodes `count` draws z ~ N(0, I) from ctx.rng: new images from the prior. */
  sample(count: number, ctx: ForwardContext): Tensor;
}

/** Everything one forward pass produces that the loss and backward need. */
interface VaePass {
  readonly mean: Tensor;
  readonly logVariance: Tensor;
  readonly noise: Tensor;
  readonly logits: Tensor;
}

export class Vae implements VaeNetwork {
  readonly encoder: LayerStack;
  readonly meanHead: LayerStack;
  readonly logVarianceHead: LayerStack;
  readonly decoder: LayerStack;
  readonly latentDim: number;
  readonly layers: readonly Layer[];
  readonly parameterCount: number;

  constructor(encoder: LayerStack, meanHead: LayerStack, logVarianceHead: LayerStack, decoder: LayerStack) {
    this.encoder = encoder;
    this.meanHead = meanHead;
    this.logVarianceHead = logVarianceHead;
    this.decoder = decoder;
    this.latentDim = meanHead.outputShape[0]!;
    const stacks = [encoder, meanHead, logVarianceHead, decoder];
    this.layers = stacks.flatMap((s) => s.layers);
    this.parameterCount = stacks.reduce((n, s) => n + s.parameterCount, 0);
  }

  get inputShape(): Shape {
    return this.encoder.inputShape;
  }

  get outputShape(): Shape {
    return this.decoder.outputShape;
  }

  bind(values: Float32Array, slots: Float32Array): void {
    let at = 0;
    for (const stack of [this.encoder, this.meanHead, this.logVarianceHead, this.decoder]) at = stack.bind(values, slots, at);
  }

  trainBatch(batch: Batch, ctx: ForwardContext): BatchStats {
    const be = ctx.backend;
    const pass = this.#forward(batch.x, ctx);
    const { mean, logVariance, noise, logits } = pass;
    const dLogits = be.alloc(logits.shape);
    const stats = this.#stats(pass, batch, dLogits, be);
    const dz = this.decoder.backward(dLogits, ctx, true)!;
    // z = μ + σ ⊙ ε with σ = exp(½ log σ²):  ∂z/∂μ = 1,  ∂z/∂log σ² = ½ σ ⊙ ε; plus ∂KL/∂μ, ∂KL/∂log σ².
    const dMean = be.alloc(mean.shape);
    const dLogVariance = be.alloc(logVariance.shape);
    const M = mean.data, V = logVariance.data, E = noise.data, DZ = dz.data;
    for (let i = 0; i < M.length; i++) {
      const variance = Math.exp(V[i]!);
      dMean.data[i] = DZ[i]! + M[i]!;
      dLogVariance.data[i] = DZ[i]! * E[i]! * 0.5 * Math.sqrt(variance) + 0.5 * (variance - 1);
    }
    // The encoder output feeds both heads, so its gradient is the sum of theirs.
    const dEncoded = this.meanHead.backward(dMean, ctx, true)!;
    be.kernels.add(dEncoded, this.logVarianceHead.backward(dLogVariance, ctx, true)!, dEncoded);
    this.encoder.backward(dEncoded, ctx, false);
    return stats;
  }

  evaluateBatch(batch: Batch, ctx: ForwardContext): BatchStats {
    return this.#stats(this.#forward(batch.x, ctx), batch, null, ctx.backend);
  }

  /** Reconstructions: the decoded posterior mean, as probabilities. */
  predict(x: Tensor, ctx: ForwardContext): Tensor {
    return this.decode(this.encode(x, ctx).mean, ctx);
  }

  encode(x: Tensor, ctx: ForwardContext): { mean: Tensor; logVariance: Tensor } {
    const encoded = this.encoder.forward(x, ctx);
    return { mean: this.meanHead.forward(encoded, ctx), logVariance: this.logVarianceHead.forward(encoded, ctx) };
  }

  decode(z: Tensor, ctx: ForwardContext): Tensor {
    const logits = this.decoder.forward(z, ctx);
    const probabilities = ctx.backend.alloc(logits.shape);
    ctx.backend.kernels.activation('sigmoid', logits, probabilities, 0);
    return probabilities;
  }

  sample(count: number, ctx: ForwardContext): Tensor {
    return this.decode(standardNormal(ctx.backend.alloc([count, this.latentDim]), ctx.rng), ctx);
  }

  #forward(x: Tensor, ctx: ForwardContext): VaePass {
    const { mean, logVariance } = this.encode(x, ctx);
    const noise = standardNormal(ctx.backend.alloc(mean.shape), ctx.rng);
    const z = ctx.backend.alloc(mean.shape);
    for (let i = 0; i < z.size; i++) z.data[i] = mean.data[i]! + Math.exp(0.5 * logVariance.data[i]!) * noise.data[i]!;
    return { mean, logVariance, noise, logits: this.decoder.forward(z, ctx) };
  }

  #stats(pass: VaePass, batch: Batch, dLogits: Tensor | null, backend: Backend): BatchStats {
    const reconstruction = bernoulliLogitLoss(pass.logits, batch.y, dLogits, backend);
    const kl = klDivergence(pass.mean, pass.logVariance);
    return { lossSum: reconstruction + kl, count: batch.count, extras: { reconstruction, kl } };
  }
}

/** Fills t with N(0, 1) draws in element order (the order is part of reproducibility). */
function standardNormal(t: Tensor, rng: Random): Tensor {
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

/**
 * KL(N(μ, σ²) ‖ N(0, 1)) summed over every element (every latent unit of every sample), in
 * closed form: −½ Σ (1 + log σ² − μ² − σ²). μ = 0, log σ² = 0 gives 0; each unit with μ = 1,
 * σ² = 1 gives ½. Accumulated in float64.
 */
export function klDivergence(mean: Tensor, logVariance: Tensor): number {
  let sum = 0;
  for (let i = 0; i < mean.size; i++) {
    const m = mean.data[i]!;
    const lv = logVariance.data[i]!;
    // Each term μ² + σ² − 1 − log σ² is ≥ 0 (σ² − 1 ≥ log σ²), so the sum never dips below 0.
    sum += m * m + Math.exp(lv) - 1 - lv;
  }
  return 0.5 * sum;
}

/** The Keras per-pixel-mean BCE; the ELBO needs its sum over pixels (see bernoulliLogitLoss). */
const PIXEL_MEAN_BCE = binaryCrossEntropy(true);

/**
 * −log p(x | z) of a Bernoulli decoder: the binary cross-entropy between sigmoid(logits) and
 * targets in [0, 1], SUMMED over every pixel of every sample (the ELBO's reconstruction term; the
 * per-pixel mean of the `binaryCrossEntropy` loss would weigh the KL 784× too much). It reuses
 * that loss's stable from-logits form and scales mean → sum. When `dLogits` is given it receives
 * ∂/∂logits = sigmoid(l) − t.
 */
export function bernoulliLogitLoss(logits: Tensor, targets: Tensor, dLogits: Tensor | null, backend: Backend): number {
  const pixels = featuresPerSample(logits);
  const sum = pixels * PIXEL_MEAN_BCE.compute(logits, targets, dLogits, backend);
  if (dLogits) backend.kernels.scale(dLogits, pixels, dLogits);
  return sum;
}

/**
 * `{ "kind": "vae", "inputShape": [784], "encoder": [...], "latentDim": 20, "decoder": [...] }`.
 * The decoder's last layer must output logits of the input's shape.
 *
 * The loss applies the sigmoid itself (that is what makes it stable), so a decoder ending in an
 * activation would be squashed twice: the schema refuses it.
 */
export const vaeSpec = options({
  kind: z.literal('vae'),
  inputShape: shape(),
  encoder: stackSpec.describe('Layers from the input to the features the latent heads read.'),
  latentDim: positiveInt().describe('Size of the latent code z.'),
  decoder: stackSpec.describe('Layers from z to logits of the input shape (no final activation).'),
}).superRefine((vae, ctx) => {
  const last = vae.decoder[vae.decoder.length - 1];
  if (last === undefined || !('activation' in last) || last.activation === 'linear') return;
  ctx.addIssue({
    code: 'custom',
    path: ['decoder', vae.decoder.length - 1, 'activation'],
    input: last.activation,
    ...withHint(
      'the last decoder layer of a VAE must output logits (no activation)',
      'remove it: the reconstruction loss applies the sigmoid itself, and decode/sample return probabilities',
    ),
  });
});

export function vaeFromSpec(model: unknown, scope: ValidationScope): Vae {
  const spec = parseWithSchema(vaeSpec, model, scope);
  const { inputShape, latentDim } = spec;
  const encoder = LayerStack.fromSpecs(spec.encoder, inputShape, child(scope, 'encoder'));
  const headScope = child(scope, 'latentDim');
  const head = (name: string): LayerStack =>
    new LayerStack([createLayer({ type: 'dense', name, units: latentDim }, encoder.outputShape, 0, headScope)], encoder.outputShape);
  const meanHead = head('zMean');
  const logVarianceHead = head('zLogVariance');
  const decoder = LayerStack.fromSpecs(spec.decoder, [latentDim], child(scope, 'decoder'), encoder.layers.length);
  requireDecoderOutput(decoder, inputShape, scope);
  return new Vae(encoder, meanHead, logVarianceHead, decoder);
}
