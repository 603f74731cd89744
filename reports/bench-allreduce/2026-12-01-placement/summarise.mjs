// Summarises the A/B runs: per N and side, every run's time median (min–max), measured ÷ ceiling, ranks' CPU and free cores after;
// "clean" = the row's free-cores-after column, the bench's own capacity probe at its start and cpu-probe before and after the run all ≥ 1.8.
import { readFileSync, readdirSync } from 'node:fs';
const dir = process.argv[2];
const probes = readFileSync(`${dir}/probes.txt`, 'utf8').split('\n');
const cap = (run, when) => { const l = probes.find((x) => x.includes(`run ${run} `) && x.includes(`probe ${when}`)); return l ? JSON.parse(l.slice(l.indexOf('{'), l.indexOf('}') + 1)).parallelCapacity : NaN; };
const rows = [];
for (const f of readdirSync(dir).filter((f) => /^run\d+-placement-(on|off)\.txt$/.test(f))) {
  const [, run, side] = f.match(/^run(\d+)-placement-(on|off)/);
  const text = readFileSync(`${dir}/${f}`, 'utf8');
  const startCapacity = Number((text.match(/parallel capacity ([\d.]+) of 2/) ?? [])[1]);
  for (const line of text.split('\n')) {
    const m = line.match(/^  ([234])\s+40\s+f32\+L\s+([\d.]+) \(([\d.]+)–([\d.]+)\).*?yes\s+(\d+)\+\d+ \([\d.]+\).*?\s([\d.]+)\s+([\d.]+)\s*$/);
    if (!m) continue;
    const [, n, med, min, max, cpu, ratio, freeAfter] = m;
    const clean = Number(freeAfter) >= 1.8 && startCapacity >= 1.8 && cap(run, 'before') >= 1.8 && cap(run, 'after') >= 1.8;
    rows.push({ run: Number(run), side, n: Number(n), med: Number(med), min: Number(min), max: Number(max), cpu: Number(cpu), ratio: Number(ratio), freeAfter: Number(freeAfter), clean });
  }
}
rows.sort((a, b) => a.n - b.n || a.run - b.run);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const k = s.length >> 1; return s.length === 0 ? NaN : s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2; };
for (const r of rows) console.log(`N=${r.n} run ${String(r.run).padStart(2)} placement ${r.side.padEnd(3)}  time ${r.med} (${r.min}–${r.max}) ms  measured÷ceiling ${r.ratio.toFixed(2)}  ranks CPU ${r.cpu} ms  free cores after ${r.freeAfter}${r.clean ? '' : '  [disturbed]'}`);
console.log('\nMedians over the clean runs (run medians; min–max of the run medians):');
for (const n of [2, 3, 4]) for (const side of ['on', 'off']) {
  const c = rows.filter((r) => r.n === n && r.side === side && r.clean);
  if (c.length === 0) { console.log(`N=${n} placement ${side}: no clean run`); continue; }
  const t = c.map((r) => r.med), q = c.map((r) => r.ratio), u = c.map((r) => r.cpu);
  console.log(`N=${n} placement ${side.padEnd(3)} (${c.length} runs): time ${median(t).toFixed(1)} (${Math.min(...t)}–${Math.max(...t)}) ms, measured÷ceiling ${median(q).toFixed(2)} (${Math.min(...q).toFixed(2)}–${Math.max(...q).toFixed(2)}), ranks CPU ${median(u)} (${Math.min(...u)}–${Math.max(...u)}) ms/run`);
}
