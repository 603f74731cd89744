#!/usr/bin/env node
// Medians (min–max) over the run-<i>.json files of `gradmesh bench allreduce --transport direct[,shm] --json` in a
// folder, per N: time, measured ÷ ceiling, and where the ranks' CPU went (Note [work besides the bytes] in
// bench/src/allreduce/necessary-work.ts, Note [the links' all-to-all] in link-mesh.ts); for `shm` rows, against the
// links' ceiling and the memory ceiling (Note [the memory ceiling]).
//   node bench/scripts/summarize-allreduce-runs.mjs <folder>
import { readdirSync, readFileSync } from 'node:fs';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: summarize-allreduce-runs.mjs <folder with run-<i>.json>');
  process.exit(2);
}
let runs;
try {
  runs = readdirSync(dir)
    .filter((f) => /^run-\d+\.json$/.test(f))
    .map((f) => {
      try {
        return JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
      } catch (error) {
        throw new Error(`${dir}/${f}: not a bench allreduce JSON (${error.message})`);
      }
    });
} catch (error) {
  console.error(`summarize-allreduce-runs: ${error.code === 'ENOENT' ? `no folder ${dir}` : error.message}`);
  process.exit(2);
}
if (runs.length === 0) {
  console.error(`summarize-allreduce-runs: no run-<i>.json in ${dir}`);
  process.exit(2);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (xs, digits = 0) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
const withLinks = runs.filter((r) => r.linkStreamCpu);
console.log(`${runs.length} runs; one link's CPU s per GB (sender + receiver): ${fmt(withLinks.map((r) => r.linkStreamCpu.senderSecPerGB + r.linkStreamCpu.receiverSecPerGB), 2)}`);
const ns = [...new Set(runs.flatMap((r) => r.results.map((x) => x.workers)))].sort((a, b) => a - b);
for (const n of ns) {
  const rows = runs.flatMap((r) => r.results.filter((x) => x.workers === n && x.transport === 'direct' && x.compression === 'none' && x.linkMesh && x.necessaryWork));
  if (rows.length === 0) continue;
  const of = (f, digits = 0) => fmt(rows.map(f), digits);
  const rest = (r) => r.cpuMsRanks - r.linkMesh.cpuMs - r.necessaryWork.sumMs - r.necessaryWork.landingMs;
  console.log(
    `N = ${n} direct (${rows.length} rows): time ${of((r) => r.ms, 1)} ms; measured ÷ ceiling ${of((r) => r.busbwRatio / r.ceilingRatio, 2)}; ` +
      `ranks' CPU ${of((r) => r.cpuMsRanks)} ms = minimum bytes ${of((r) => r.cpuMsRanksMinimum)} + all-to-all ${of((r) => r.linkMesh.cpuMs - r.cpuMsRanksMinimum)} ` +
      `+ sums ${of((r) => r.necessaryWork.sumMs, 1)} + landing ${of((r) => r.necessaryWork.landingMs, 1)} + rest ${of(rest)} (${of((r) => rest(r) / r.cpuMsRanks, 2)} of it); ` +
      `all-to-all CPU s per GB ${of((r) => r.linkMesh.cpuSecPerGB, 2)}; best measured ÷ ceiling with the sums and landing ${of((r) => r.bestCeilingFraction, 2)}, with the all-to-all too ${of((r) => r.bestCeilingFractionAllToAll, 2)}` +
      (rows.every((r) => r.linkMeshUserMs !== undefined)
        ? `; user + system ms per run: all-reduce ${of((r) => r.cpuMsRanksUser)} + ${of((r) => r.cpuMsRanksSystem)}, all-to-all ${of((r) => r.linkMeshUserMs)} + ${of((r) => r.linkMeshSystemMs)}`
        : ''),
  );
}
for (const n of ns) {
  const rows = runs.flatMap((r) => r.results.filter((x) => x.workers === n && x.transport === 'shm' && x.compression === 'none' && x.necessaryWork && x.memoryCeilingFraction !== undefined));
  if (rows.length === 0) continue;
  const of = (f, digits = 0) => fmt(rows.map(f), digits);
  const rest = (r) => r.cpuMsRanks - r.necessaryWork.sumMs - r.necessaryWork.landingMs;
  console.log(
    `N = ${n} shm (${rows.length} rows): time ${of((r) => r.ms, 1)} ms; measured ÷ the links' ceiling ${of((r) => r.busbwRatio / r.ceilingRatio, 2)}; ` +
      `÷ the memory ceiling ${of((r) => r.memoryCeilingFraction, 2)}; ranks' CPU ${of((r) => r.cpuMsRanks)} ms = sums ${of((r) => r.necessaryWork.sumMs, 1)} + landing ${of((r) => r.necessaryWork.landingMs, 1)} ` +
      `+ copies, notices and the rest ${of(rest)}; user + system ms per run ${of((r) => r.cpuMsRanksUser)} + ${of((r) => r.cpuMsRanksSystem)}` +
      (rows.every((r) => r.sharedMemoryFrames) ? `; frames over the links for want of a slot ${of((r) => r.sharedMemoryFrames.noSlot)}, of room ${of((r) => r.sharedMemoryFrames.noRoom)}` : ''),
  );
}
