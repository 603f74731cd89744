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
      const where = `trial ${trial}: layers ${layers.join(',')}, cap ${cap}`;
      const edges = layers.reduce<number[]>((acc, n) => [...acc, acc.at(-1)! + n], [0]);
      // Contiguous from the end of the buffer down to 0, cut only at layer edges.
      expect(buckets[0]!.end, where).toBe(edges.at(-1));
      expect(buckets.at(-1)!.start, where).toBe(0);
      for (let b = 1; b < buckets.length; b++) expect(buckets[b]!.end, where).toBe(buckets[b - 1]!.start);
      for (const b of buckets) expect(edges.includes(b.start) && edges.includes(b.end), where).toBe(true);
      // Every bucket but the last holds ≥ cap, and held < cap before its lowest layer was added (DDP's rule).
      for (const b of buckets.slice(0, -1)) {
        expect((b.end - b.start) * 4, where).toBeGreaterThanOrEqual(cap);
        const lowest = layers[layers.findIndex((n, i) => n > 0 && edges[i] === b.start)]!;
        expect((b.end - b.start - lowest) * 4, where).toBeLessThan(cap);
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
