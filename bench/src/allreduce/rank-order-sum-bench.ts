#!/usr/bin/env node
/**
 * The rank-order sum's crossover: nanoseconds per element and microseconds per call of the JavaScript loops and
 * the native kernel (worker/src/allreduce/native-rank-order-sum.ts), for N = 2..4 sources and lengths from 64
 * elements to a 1 MiB piece, alternating the two in every round so both see the same load. The smallest length
 * where native wins at every N is what NATIVE_SUM_MIN_ELEMENTS should be (Note [native sum crossover]).
 *
 *   node bench/dist/allreduce/rank-order-sum-bench.js [--rounds 7]
 */
import { rankOrderSumKernels, rankOrderSumStatus, type RankOrderSum } from '@gradmesh/worker';

const LENGTHS = [64, 128, 256, 512, 1024, 2048, 4096, 16384, 65536, 262144];

function timePerCall(sum: RankOrderSum, out: Float32Array, sources: Float32Array[], calls: number): number {
  const started = process.hrtime.bigint();
  for (let c = 0; c < calls; c++) sum(out, sources);
  return Number(process.hrtime.bigint() - started) / calls;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function main(): void {
  const roundsFlag = process.argv.indexOf('--rounds');
  const rounds = roundsFlag >= 0 ? Number(process.argv[roundsFlag + 1]) : 7;
  const status = rankOrderSumStatus();
  const { js, native, minNativeElements } = rankOrderSumKernels();
  if (native === undefined) {
    console.log(`rank-order sum: no native kernel here (${status.native ? 'unknown' : status.reason})`);
    process.exitCode = 1;
    return;
  }
  console.log(`rank-order sum, median of ${rounds} alternating rounds; sumInRankOrder goes native from ${minNativeElements} elements`);
  console.log('N  elements   js µs/call  native µs/call   js ns/elem  native ns/elem  native ÷ js');
  for (let count = 2; count <= 4; count++) {
    for (const n of LENGTHS) {
      const sources = Array.from({ length: count }, (_, k) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + k)));
      const out = new Float32Array(n);
      const calls = Math.max(20, Math.round(4e6 / n));
      timePerCall(js, out, sources, calls);
      timePerCall(native, out, sources, calls);
      const jsNs: number[] = [];
      const nativeNs: number[] = [];
      for (let r = 0; r < rounds; r++) {
        jsNs.push(timePerCall(js, out, sources, calls));
        nativeNs.push(timePerCall(native, out, sources, calls));
      }
      const j = median(jsNs);
      const v = median(nativeNs);
      console.log(
        `${count}  ${String(n).padStart(8)}  ${(j / 1000).toFixed(3).padStart(10)}  ${(v / 1000).toFixed(3).padStart(14)}  ${(j / n).toFixed(3).padStart(11)}  ${(v / n).toFixed(3).padStart(14)}  ${(v / j).toFixed(2).padStart(11)}`,
      );
    }
  }
}

main();
