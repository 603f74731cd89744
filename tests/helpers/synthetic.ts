import { Dataset } from '../../shared/src/data/dataset.js';
import { Random } from '../../shared/src/random.js';

/**
 * A learnable synthetic classification set: uint8 "images" whose class decides which block of
 * pixels is bright, plus noise. Small enough for unit tests, hard enough that training matters.
 */
export function syntheticClassification(count: number, side: number, classes: number, seed: number): Dataset {
  const rng = new Random(seed);
  const featureSize = side * side;
  const features = new Uint8Array(count * featureSize);
  const labels = new Uint8Array(count);
  const block = Math.max(1, Math.floor(featureSize / classes));
  for (let i = 0; i < count; i++) {
    const label = rng.int(classes);
    labels[i] = label;
    for (let j = 0; j < featureSize; j++) {
      const bright = j >= label * block && j < (label + 1) * block;
      features[i * featureSize + j] = Math.min(255, Math.floor((bright ? 140 : 20) + rng.next() * 100));
    }
  }
  return Dataset.create({ name: 'synthetic', sampleShape: [side, side], classes, features, labels });
}
