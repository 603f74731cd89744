import { ConfigError, isObject, type Json, Random } from '@gradmesh/shared/internal';

/**
 * Random samples of MNIST's form: uint8 pixels and labels 0..9. Training speed does not depend on
 * the values (no kernel branches on data except ReLU/max-pool masks, which random pixels exercise
 * like real ones), so the benchmark needs no data files. gradmesh and TensorFlow.js get the same
 * samples: gradmesh as a Dataset over the pixels (scaled by 1/255 when gathered), tfjs as the
 * equivalent float tensors.
 */
export interface SyntheticSamples {
  readonly count: number;
  readonly featureSize: number;
  readonly classes: number;
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
}

export function syntheticSamples(count: number, featureSize: number, classes = 10, seed = 20261123): SyntheticSamples {
  const rng = new Random(seed);
  const pixels = new Uint8Array(count * featureSize);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.int(256);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = rng.int(classes);
  return { count, featureSize, classes, pixels, labels };
}

/** Pixels as floats in [0, 1], as gradmesh's batcher gathers them. */
export function scaledPixels(s: SyntheticSamples): Float32Array {
  const out = new Float32Array(s.pixels.length);
  for (let i = 0; i < out.length; i++) out[i] = s.pixels[i]! / 255;
  return out;
}

/** One-hot targets [count, classes]. */
export function oneHot(s: SyntheticSamples): Float32Array {
  const out = new Float32Array(s.count * s.classes);
  for (let i = 0; i < s.count; i++) out[i * s.classes + s.labels[i]!] = 1;
  return out;
}

/** Values per sample of a sequential model's input (the product of `model.inputShape`). */
export function featureSizeOf(model: Json): number {
  const shape = isObject(model) ? model['inputShape'] : undefined;
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && d >= 1)) {
    throw new ConfigError('model.inputShape', 'the benchmark needs a model with an inputShape', { value: shape });
  }
  return (shape as number[]).reduce((a, b) => a * b, 1);
}
