import { InternalError } from '@gradmesh/shared/internal';
import { nativeRankOrderSum, NATIVE_SUM_MIN_ELEMENTS } from './native-rank-order-sum.js';
import { sumInRankOrderJs } from './rank-order-sum-js.js';

/**
 * out[i] = (…((v0[i] + v1[i]) + v2[i]) + …) + v(N−1)[i], every partial sum rounded to float32: the same bits
 * whichever implementation runs (rank-order-sum-js.ts says why the order is fixed; Note [same bits as the
 * JavaScript sum] in shared/native/rank_order_sum.c why the native kernel matches it). Vectors of at least
 * NATIVE_SUM_MIN_ELEMENTS go to the native kernel when this process has it (native-rank-order-sum.ts), the rest
 * to the JavaScript loops. `out` may be one of the sources itself (the all-reduce sums its own chunk in place);
 * it must not partly overlap one.
 */
export function sumInRankOrder(out: Float32Array, sources: readonly Float32Array[]): void {
  if (sources.length === 0) throw new InternalError('sumInRankOrder needs at least one source');
  const n = out.length;
  for (const s of sources) if (s.length !== n) throw new InternalError(`sumInRankOrder: source of ${s.length} values, expected ${n}`);
  if (n >= NATIVE_SUM_MIN_ELEMENTS) {
    const native = nativeRankOrderSum();
    if (native !== undefined) return native(out, sources);
  }
  sumInRankOrderJs(out, sources);
}
