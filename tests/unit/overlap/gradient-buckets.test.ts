import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { buildNetwork } from '../../../shared/src/model/build.js';
import { DEFAULT_BUCKET_BYTES, layerSlotElements, planGradientBuckets } from '../../../shared/src/train/overlap/gradient-buckets.js';
import { readFileSync } from 'node:fs';

const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8')) as { model: unknown; loss: unknown };

describe('planGradientBuckets (a pure function of the layout): Note [bucket size]', () => {
  it('tiles the slot buffer in reverse layout order, whole layers only, each bucket closing once it holds ≥ bucketBytes', () => {
    for (let trial = 0; trial < 200; trial++) {
      const layers = Array.from({ length: 1 + (trial % 9) }, (_, i) => ((trial * 7919 + i * 104729) % 5) * ((i * 31 + trial) % 700));
      const cap = 4 * (1 + (trial % 600));
      const buckets = planGradientBuckets(layers, cap);
      const total = layers.reduce((a, b) => a + b, 0);
      // Contiguous from the end of the buffer down to 0.
      expect(buckets[0]!.end).toBe(total);
      expect(buckets.at(-1)!.start).toBe(0);
      for (let b = 1; b < buckets.length; b++) expect(buckets[b]!.end).toBe(buckets[b - 1]!.start);
      // Bucket edges are layer edges.
      const edges = new Set(layers.reduce<number[]>((acc, n) => [...acc, acc.at(-1)! + n], [0]));
      for (const b of buckets) expect(edges.has(b.start) && edges.has(b.end)).toBe(true);
      // Every bucket but the last (the first layers) holds at least the cap, and would hold less without its lowest non-empty layer.
      for (const b of buckets.slice(0, -1)) expect((b.end - b.start) * 4).toBeGreaterThanOrEqual(cap);
      for (const b of buckets.slice(0, -1)) {
        let lowest = 0;
        for (let at = 0, i = 0; i < layers.length; at += layers[i]!, i++) if (at >= b.start && at < b.end && layers[i]! > 0) lowest = layers[i]!;
        const first = layers.findIndex((_, i) => layers.slice(0, i).reduce((a, x) => a + x, 0) === b.start && layers[i]! > 0);
        expect((b.end - b.start - layers[first]!) * 4, `trial ${trial}`).toBeLessThan(cap);
        expect(lowest).toBeGreaterThan(0);
      }
    }
  });

  it('the CNN example splits into its dense layers (bucket 0) and its convolutions (bucket 1) at the default size; the MLP is one bucket', () => {
    const cnn = example('mnist-cnn');
    const layers = layerSlotElements(buildNetwork(cnn.model as never, cnn.loss as never, { path: '' }).layers);
    expect(planGradientBuckets(layers, DEFAULT_BUCKET_BYTES)).toEqual([
      { start: 320 + 18_496, end: 225_034 },
      { start: 0, end: 320 + 18_496 },
    ]);
    const mlp = example('mnist-mlp');
    const mlpLayers = layerSlotElements(buildNetwork(mlp.model as never, mlp.loss as never, { path: '' }).layers);
    expect(planGradientBuckets(mlpLayers, DEFAULT_BUCKET_BYTES)).toHaveLength(1);
  });

  it('an empty model is one empty bucket; a bad size is a ConfigError naming the field', () => {
    expect(planGradientBuckets([], 1024)).toEqual([{ start: 0, end: 0 }]);
    expect(planGradientBuckets([0, 0], 1024)).toEqual([{ start: 0, end: 0 }]);
    expect(() => planGradientBuckets([10], 0)).toThrow(ConfigError);
    expect(() => planGradientBuckets([10], 0)).toThrow(/training\.allreduce\.bucketBytes/);
  });
});
