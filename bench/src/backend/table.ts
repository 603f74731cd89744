import type { MemoryCheck, MemorySample } from './memory-check.js';
import { CONTENDERS, WORKLOADS, type BackendBenchReport, type Contender, type Workload } from './report.js';

const WORKLOAD_LABEL: Record<Workload, string> = {
  gemm: 'GEMM 1024³',
  mlpBatch64: 'MLP, batch 64',
  mlpBatch256: 'MLP, batch 256',
  cnnBatch64: 'CNN, batch 64',
  lstmBatch64: 'LSTM, batch 64',
};

function contenderLabel(c: Contender, threads: number): string {
  switch (c) {
    case 'gradmesh-pool-1': return 'gm pool 1 thr';
    case 'gradmesh-pool-all': return `gm pool ${threads} thr`;
    case 'gradmesh-native-1': return 'gm native 1 thr';
    case 'gradmesh-native-all': return `gm native ${threads} thr`;
    case 'gradmesh-reference': return 'gm reference';
    case 'tfjs-wasm': return 'tfjs-wasm';
    case 'tfjs-cpu': return 'tfjs-cpu';
  }
}

/** 3 significant digits at most, thousands grouped: 12,345 / 123 / 45.6 / 0.52. */
export function formatRate(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2);
}

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** The human-readable form of a report: header, one row per workload (median, min–max), notes, ratios. */
export function formatBenchTable(r: BackendBenchReport): string {
  const lines: string[] = [];
  lines.push(
    `gradmesh bench backend${r.quick ? ' --quick' : ''} — ${r.startedAt.slice(0, 10)}, ${r.machine.cpuModel}, ${r.machine.availableParallelism} cores available, Node ${r.machine.node}`,
    `TensorFlow.js ${r.tfjs.version}: tfjs-backend-wasm ${r.tfjs.wasmSimd ? 'SIMD' : 'no SIMD'}, ${r.tfjs.wasmThreads} thread(s); tfjs-backend-cpu`,
    `cpu load (parallelCapacity, 2 ≈ two free cores): ${r.cpuLoad.before.parallelCapacity} before, ${r.cpuLoad.after.parallelCapacity} after`,
    `${r.conv2dBackpropFilter.kernel} on tfjs ${r.conv2dBackpropFilter.backend}: ${r.conv2dBackpropFilter.registered ? 'fallback registered by the benchmark' : 'the backend’s own kernel'}, ` +
      `checked against tfjs-backend-cpu on ${r.conv2dBackpropFilter.check.cases} shapes: max abs error ${r.conv2dBackpropFilter.check.maxAbsError.toExponential(2)} ` +
      `(values up to ${r.conv2dBackpropFilter.check.maxAbsValue.toFixed(1)}) — ${r.conv2dBackpropFilter.check.passed ? 'ok' : 'MISMATCH'}`,
    r.native.available
      ? `native: ${r.native.openblas}, ${r.native.coreName} kernels (OPENBLAS_CORETYPE ${r.native.coreTypeSet ?? 'unset'}), 1 BLAS thread per pool thread; self-check error ${r.native.selfCheckError.toExponential(1)} per product`
      : `native: unavailable (${r.native.reason}); its columns are empty`,
    '',
  );
  const notes: string[] = [];
  const header = ['workload', 'unit', ...CONTENDERS.map((c) => contenderLabel(c, r.threads)), 'pool÷wasm', 'native÷pool'];
  const nativeRatio: Record<Workload, number | null> = {
    gemm: r.ratios.nativeGemm,
    mlpBatch64: r.ratios.nativeMlp,
    mlpBatch256: r.ratios.nativeMlpBatch256,
    cnnBatch64: r.ratios.nativeCnn,
    lstmBatch64: r.ratios.nativeLstm,
  };
  const rows: string[][] = [header];
  for (const w of WORKLOADS) {
    const row = [WORKLOAD_LABEL[w], r.results.find((c) => c.workload === w)?.unit ?? ''];
    for (const c of CONTENDERS) {
      const cell = r.results.find((x) => x.workload === w && x.contender === c);
      let text = '—';
      if (cell?.result) text = `${formatRate(cell.result.median)} (${formatRate(cell.result.min)}–${formatRate(cell.result.max)})`;
      if (cell?.note) {
        let k = notes.indexOf(cell.note);
        if (k < 0) k = notes.push(cell.note) - 1;
        text += ` [${k + 1}]`;
      }
      row.push(text);
    }
    const ratio = r.ratios[w];
    row.push(ratio === null ? '—' : `${ratio.toFixed(2)}×`);
    const native = nativeRatio[w];
    row.push(native === null ? '—' : `${native.toFixed(2)}×`);
    rows.push(row);
  }
  const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  lines.push(`median (min–max) of the timed runs after warm-up, pooled over ${r.passes} passes in mirrored order; gm = gradmesh`);
  lines.push(`pool÷wasm: gm pool ${r.threads} thr ÷ tfjs-wasm; native÷pool: 1 thread each for the GEMM, ${r.threads} threads each for training`);
  notes.forEach((note, i) => lines.push(`[${i + 1}] ${note}`));
  lines.push('');
  lines.push(
    `targets: ${r.targets
      .map((t) => `${t.ratio} ${t.value === null ? '—' : `${t.value.toFixed(2)}×`} (≥ ${t.atLeast}×: ${t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met'})`)
      .join('; ')}`,
  );
  if (r.ratios.lstmBatch64 !== null) lines.push(`lstmBatch64 ${r.ratios.lstmBatch64.toFixed(2)}× (no target)`);
  for (const [name, value] of [['nativeMlpBatch256', r.ratios.nativeMlpBatch256], ['nativeLstm', r.ratios.nativeLstm]] as const) {
    if (value !== null) lines.push(`${name} ${value.toFixed(2)}× (no target)`);
  }
  lines.push(`peak RSS: ${MiB(r.rss.peakBeforeBytes)} before, ${MiB(r.rss.peakAfterBytes)} after (current ${MiB(r.rss.currentAfterBytes)}); ${r.wallSeconds.toFixed(0)} s`);
  if (r.memory) lines.push(formatMemoryCheck(r.memory));
  return `${lines.join('\n')}\n`;
}

export function formatMemoryCheck(m: MemoryCheck): string {
  return (
    `memory: ${m.model} on ${m.backend}, batch ${m.batch}, ${m.steps.toLocaleString('en-US')} steps after ${m.warmupSteps} warm-up steps ` +
    `(RSS ${MiB(m.rssBeforeWarmupBytes)} after the first step), RSS every ${m.samples[1] ? m.samples[1].step - m.samples[0]!.step : m.steps} steps: ` +
    `first ${MiB(m.firstBytes)}, last ${MiB(m.lastBytes)}, max ${MiB(m.maxBytes)}, slope ${(m.slopeBytesPer1000Steps / 1024).toFixed(1)} KiB per 1000 steps ` +
    `(live heap ${(m.liveHeapSlopeBytesPer1000Steps / 1024).toFixed(1)}, RSS outside the main-thread heap ${(m.outsideHeapSlopeBytesPer1000Steps / 1024).toFixed(1)}; ${m.collected ? 'each sample after a full collection' : 'no full collection could be run: samples wherever the collector was'}) — ` +
    `${m.grows ? 'GROWS' : 'flat'} (${m.seconds.toFixed(0)} s)`
  );
}

export function formatMemorySample(s: MemorySample): string {
  return `step ${s.step}: RSS ${MiB(s.rssBytes)}, main-thread heap ${MiB(s.heapUsedBytes)} ${s.afterFullCollection ? 'live' : 'used'} of ${MiB(s.heapTotalBytes)}`;
}
