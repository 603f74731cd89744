import { ConfigError } from '../../errors.js';
import type { Layer } from '../../layers/layer.js';
import { sizeOf } from '../../tensor/tensor.js';

/** A contiguous range [start, end) of the flat slot buffer, in elements. */
export interface GradientBucket {
  readonly start: number;
  readonly end: number;
}

/** Default bucket size (Note [bucket size]). */
export const DEFAULT_BUCKET_BYTES = 512 * 1024;

/**
 * Note [bucket size]
 * Gradient buckets follow PyTorch DDP's rule: walk the layers in REVERSE layout order (the order backward
 * finishes them), add each layer's whole slot range to the open bucket, and close the bucket once it holds at least
 * `bucketBytes`. A layer is never split, so a bucket is final exactly when its lowest layer's backward is.
 * DDP's 25 MB suits 100 MB+ models on fast links; here the examples' gradients are 0.4–0.9 MB and the point is to
 * start the first bucket while the expensive convolution backward still runs, so the default is 512 KiB: the
 * CNN's dense layers (825 KB) make bucket 0 and its convolutions (75 KB) bucket 1; with 1 MiB it would be one bucket
 * and nothing would overlap. Smaller buckets cost messages (every bucket is split among all ranks).
 */
export function planGradientBuckets(layerElements: readonly number[], bucketBytes = DEFAULT_BUCKET_BYTES): GradientBucket[] {
  if (!Number.isSafeInteger(bucketBytes) || bucketBytes < 4) throw new ConfigError('training.allreduce.bucketBytes', 'must be an integer ≥ 4', { value: bucketBytes });
  const total = layerElements.reduce((a, n) => {
    if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError('layerElements', 'must be integers ≥ 0', { value: n });
    return a + n;
  }, 0);
  const buckets: GradientBucket[] = [];
  let end = total;
  let start = total;
  for (let i = layerElements.length - 1; i >= 0; i--) {
    start -= layerElements[i]!;
    if ((end - start) * 4 >= bucketBytes) {
      buckets.push({ start, end });
      end = start;
    }
  }
  if (end > 0 || buckets.length === 0) buckets.push({ start: 0, end });
  return buckets;
}

/** Float32 slot elements of each layer, in layout order (the order `Network.bind` lays them out). */
export function layerSlotElements(layers: readonly Layer[]): number[] {
  return layers.map((layer) => layer.params.reduce((n, p) => n + sizeOf(p.shape), 0));
}
