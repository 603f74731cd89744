import { bulkFloats } from '@gradmesh/shared/internal';
import { rankOrderSumKernels } from '@gradmesh/worker';
import { ownCpuMsSince } from './cpu-time.js';
import { median } from './median.js';

/**
 * Note [work besides the bytes]
 * The CPU ceiling (Note [the CPU ceiling of direct links]) charges an all-reduce only for moving its bytes. Every
 * all-reduce also has to add the N copies of each value — each chunk's owner sums N slices of S/N in rank order —
 * and to land the N−1 reduced chunks it did not sum in its own vector: (N−1)/N·S copied per rank into a vector
 * too large for any cache. `measureNecessaryWork` does exactly that work for all N ranks, one after another in one
 * process, with the all-reduce's own kernels (the rank-order sum, the native copy) on 1 MiB pieces: the received
 * pieces are small buffers used again and again (as the frame pool's are), the vectors are N separate ones of the
 * row's size. Its CPU is what no algorithm can leave out, so
 *
 *   best measured ÷ ceiling = bytes' minimum ÷ (bytes' minimum + sums + landing)
 *
 * on both cores fully busy: how close to the ceiling an all-reduce that wasted nothing at all could come
 * (`bestCeilingFraction`). What the ranks spend beyond bytes, sums and landing is their own overhead: event-loop
 * and per-piece handling, receiving into frames no longer in cache, more sockets than a single stream's.
 */
export interface NecessaryWork {
  /** CPU ms of every owner's rank-order sums for one all-reduce (all ranks together). */
  readonly sumMs: number;
  /** CPU ms of landing the reduced chunks in every rank's vector for one all-reduce (all ranks together). */
  readonly landingMs: number;
}

/** Values per piece: the all-reduce's default piece of 1 MiB. */
const PIECE_ELEMENTS = (1 << 20) / 4;

/** Median over `runs` (after one warm-up) of the CPU of the sums and the landing of one all-reduce of `elements` across `worldSize` ranks. */
export function measureNecessaryWork(worldSize: number, elements: number, runs: number): NecessaryWork {
  const { js, native } = rankOrderSumKernels();
  const sum = native ?? js;
  const copy = bulkFloats().copy;
  const vectors = Array.from({ length: worldSize }, (_, r) => new Float32Array(elements).fill(r + 0.5));
  const pieces = Array.from({ length: worldSize - 1 }, (_, k) => new Float32Array(PIECE_ELEMENTS).fill(0.25 * (k + 1)));
  const chunk = Math.ceil(elements / worldSize);
  const sources: Float32Array[] = new Array<Float32Array>(worldSize);

  const once = (): NecessaryWork => {
    const s0 = process.cpuUsage();
    for (let r = 0; r < worldSize; r++) {
      const v = vectors[r] as Float32Array;
      const end = Math.min(elements, (r + 1) * chunk);
      for (let a = r * chunk; a < end; a += PIECE_ELEMENTS) {
        const b = Math.min(end, a + PIECE_ELEMENTS);
        const own = v.subarray(a, b);
        // Rank order: this rank's own slice at its place, a received piece at every other.
        for (let k = 0, p = 0; k < worldSize; k++) sources[k] = k === r ? own : (pieces[p++] as Float32Array).subarray(0, b - a);
        sum(own, sources);
      }
    }
    const sumMs = ownCpuMsSince(s0);
    const l0 = process.cpuUsage();
    for (let r = 0; r < worldSize; r++) {
      const v = vectors[r] as Float32Array;
      for (let owner = 0; owner < worldSize; owner++) {
        if (owner === r) continue;
        const end = Math.min(elements, (owner + 1) * chunk);
        for (let a = owner * chunk; a < end; a += PIECE_ELEMENTS) {
          const b = Math.min(end, a + PIECE_ELEMENTS);
          copy(v.subarray(a, b), (pieces[0] as Float32Array).subarray(0, b - a));
        }
      }
    }
    return { sumMs, landingMs: ownCpuMsSince(l0) };
  };

  once();
  const measured = Array.from({ length: runs }, once);
  return { sumMs: median(measured.map((m) => m.sumMs)), landingMs: median(measured.map((m) => m.landingMs)) };
}

/**
 * The highest measured ÷ ceiling an all-reduce doing the necessary work and nothing else could reach on fully busy
 * cores (Note [work besides the bytes]): the ceiling's CPU over that of moving the bytes — by default at the
 * ceiling's own costs, or `bytesMs` for the traffic pattern actually used (the links' all-to-all) — plus the work.
 */
export function bestCeilingFraction(minimumBytesMs: number, work: NecessaryWork, bytesMs = minimumBytesMs): number {
  return minimumBytesMs / (bytesMs + work.sumMs + work.landingMs);
}


/**
 * Note [the memory ceiling]
 * Between ranks of one host an all-reduce need not move its bytes through sockets at all: owners could read their
 * peers' vectors in place, sum in rank order, and every rank copy the reduced chunks back — the sums and the
 * landing, nothing else. So for pieces through shared memory (`--transport shm`) the bench also states how close a
 * row comes to that: the sums' and landing's CPU spread over all cores, against the measured time. (gradmesh's
 * transport copies each frame once more, into a slot of the sender's segment, and sends notices over the links;
 * that is what keeps it under 1.)
 */
export function memoryCeilingFraction(measuredMs: number, work: NecessaryWork, cores: number): number {
  return (work.sumMs + work.landingMs) / cores / measuredMs;
}
