import type { TopLevelSpec } from 'vega-lite';
import type { ScalingResults, ScalingRun } from '../scaling-results.js';
import { linkLabel, type Prediction, type ValidationRow } from '../simulator/predictions.js';
import { renderVegaLite, type RenderedPlot } from './render.js';

/** What the simulator adds to the measured plots: the validation rows and the projection. */
export interface SimulatedScaling {
  readonly validation?: readonly ValidationRow[];
  readonly projection?: readonly Prediction[];
}

const CONFIG = {
  font: 'DejaVu Sans',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const, subtitleFontSize: 11, subtitleColor: '#555' },
};

const TOPOLOGY_COLORS = { domain: ['hub', 'per-host'], range: ['#d62728', '#1f77b4'] };

function series(run: Pick<ScalingRun, 'topology' | 'link'>): string {
  return `${run.topology}, ${linkLabel(run.link)}`;
}

/** Measured throughput(N) / (N · throughput(1)) of the same topology and link; null without a 1-worker run. */
function measuredEfficiency(results: ScalingResults, run: ScalingRun): number | null {
  const same = (r: ScalingRun) => r.workers === 1 && r.link.rateBitsPerSec === run.link.rateBitsPerSec && r.link.delaySeconds === run.link.delaySeconds;
  const one = results.runs.find((r) => same(r) && r.topology === run.topology) ?? results.runs.find(same);
  return one === undefined || one.samplesPerSec === 0 ? null : run.samplesPerSec / (run.workers * one.samplesPerSec);
}

function batchNote(results: ScalingResults): string {
  const batches = [...new Set(results.runs.map((r) => r.globalBatchSize))];
  return batches.length === 1 ? `global batch ${batches[0]} at every N (strong scaling)` : `global batches ${batches.join(', ')}`;
}

function throughputPlot(results: ScalingResults): TopLevelSpec {
  const values = results.runs.map((r) => ({ workers: r.workers, link: linkLabel(r.link), topology: r.topology, samplesPerSec: r.samplesPerSec, efficiency: measuredEfficiency(results, r) }));
  const x = { field: 'workers', type: 'quantitative', title: 'workers', axis: { tickMinStep: 1, format: 'd' } } as const;
  const color = { field: 'topology', type: 'nominal', title: 'topology', scale: TOPOLOGY_COLORS } as const;
  const strokeDash = { field: 'link', type: 'nominal', title: 'link' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Measured throughput and scaling efficiency',
      subtitle: [
        results.config,
        `${batchNote(results)}; medians over the measured steps`,
        ...(values.some((v) => v.efficiency !== null) ? [] : ['no 1-worker run was measured, so there is no efficiency to show']),
      ],
    },
    data: { values },
    config: CONFIG,
    hconcat: [
      {
        width: 320,
        height: 240,
        layer: [{ mark: { type: 'line', point: { size: 50 } } }],
        encoding: { x, y: { field: 'samplesPerSec', type: 'quantitative', title: 'samples/s' }, color, strokeDash },
      },
      {
        width: 320,
        height: 240,
        layer: [
          { mark: { type: 'line', point: { size: 50 } }, encoding: { x, y: { field: 'efficiency', type: 'quantitative', title: 'efficiency = thr(N) / (N·thr(1))', scale: { domain: [0, 1.1] } }, color, strokeDash } },
          { data: { values: [{ y: 1 }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#999' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
        ],
      },
    ],
  } as TopLevelSpec;
}

function breakdownPlot(results: ScalingResults): TopLevelSpec {
  const parts = [
    { part: 'compute', order: 0, pick: (r: ScalingRun) => r.computeSeconds.median },
    { part: 'all-reduce', order: 1, pick: (r: ScalingRun) => r.allreduceSeconds.median },
    { part: 'wait', order: 2, pick: (r: ScalingRun) => Math.max(0, r.waitSeconds.median) },
  ];
  const values = results.runs.flatMap((r) => parts.map((p) => ({ workers: String(r.workers), series: series(r), part: p.part, order: p.order, ms: p.pick(r) * 1000 })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Where a step goes: median compute, all-reduce and wait', subtitle: `${results.config} — per topology and link` },
    data: { values },
    config: CONFIG,
    mark: { type: 'bar' },
    width: 200,
    height: 240,
    encoding: {
      column: { field: 'series', type: 'nominal', title: null, header: { labelFontSize: 12 } },
      x: { field: 'workers', type: 'ordinal', title: 'workers', axis: { labelAngle: 0 } },
      y: { field: 'ms', type: 'quantitative', title: 'ms per step', stack: 'zero' },
      color: { field: 'part', type: 'nominal', title: 'part', scale: { domain: ['compute', 'all-reduce', 'wait'], range: ['#4c78a8', '#f58518', '#bab0ac'] } },
      order: { field: 'order', type: 'quantitative' },
    },
  } as TopLevelSpec;
}

function measuredVsSimulatedPlot(results: ScalingResults, validation: readonly ValidationRow[]): TopLevelSpec {
  const values = validation.map((v) => ({
    workers: v.workers,
    topology: v.topology,
    link: linkLabel(v.link),
    measured: v.measuredStepSeconds * 1000,
    simulated: v.predictedStepSeconds * 1000,
    error: `${v.relativeError >= 0 ? '+' : ''}${(v.relativeError * 100).toFixed(0)}%`,
  }));
  const x = { field: 'workers', type: 'quantitative', title: 'workers', axis: { tickMinStep: 1, format: 'd' }, scale: { zero: false, nice: false, padding: 24 } } as const;
  const color = { field: 'link', type: 'nominal', title: 'link' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Measured vs simulated median step time',
      subtitle: ['filled: measured; hollow on a dashed line: the calibrated model;', 'grey bar and label: the model\'s error'],
    },
    data: { values },
    config: { ...CONFIG, legend: { ...CONFIG.legend, orient: 'bottom' } },
    // One panel per topology: at equal N the two topologies' points would sit on top of each other.
    facet: { column: { field: 'topology', type: 'nominal', title: null, header: { labelFontSize: 12 } } },
    spec: {
      width: 260,
      height: 260,
      layer: [
        { mark: { type: 'rule', color: '#bbb', strokeWidth: 3 }, encoding: { x, y: { field: 'measured', type: 'quantitative', title: 'median step time (ms)' }, y2: { field: 'simulated' } } },
        { mark: { type: 'line', strokeDash: [5, 3], point: { filled: false, size: 70 } }, encoding: { x, y: { field: 'simulated', type: 'quantitative' }, color } },
        { mark: { type: 'point', filled: true, size: 70, opacity: 0.9 }, encoding: { x, y: { field: 'measured', type: 'quantitative' }, color } },
        { mark: { type: 'text', dx: 8, align: 'left', baseline: 'middle', fontSize: 10, color: '#555' }, encoding: { x, y: { field: 'simulated', type: 'quantitative' }, text: { field: 'error', type: 'nominal' } } },
      ],
    },
    resolve: { scale: { y: 'shared' } },
  } as TopLevelSpec;
}

function projectionPlot(projection: readonly Prediction[]): TopLevelSpec {
  const values = projection.map((p) => ({ workers: p.workers, topology: p.topology, link: linkLabel(p.link), efficiency: p.efficiency, bound: p.bound }));
  const maxN = Math.max(...projection.map((p) => p.workers));
  const localBatch = projection[0]?.localBatch ?? 0;
  const x = { field: 'workers', type: 'quantitative', title: 'workers (one per host)', scale: { type: 'log', base: 2, domain: [1, maxN] }, axis: { values: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024].filter((v) => v <= maxN), format: 'd' } } as const;
  const y = { field: 'efficiency', type: 'quantitative', title: 'predicted efficiency', scale: { domain: [0, 1] } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Predicted scaling efficiency to ${maxN} workers`, subtitle: `calibrated model, dedicated hosts, ${localBatch} samples per worker per step (weak scaling)` },
    data: { values },
    config: CONFIG,
    width: 420,
    height: 280,
    encoding: {
      x,
      y,
      color: { field: 'topology', type: 'nominal', title: 'topology', scale: TOPOLOGY_COLORS },
      strokeDash: { field: 'link', type: 'nominal', title: 'link' },
    },
    layer: [{ mark: { type: 'line' } }, { mark: { type: 'point', size: 30, filled: true }, encoding: { shape: { field: 'link', type: 'nominal', title: 'link' } } }],
  } as TopLevelSpec;
}

/**
 * The scaling plots: throughput and efficiency vs workers and the stacked step time (from the measurements),
 * measured vs simulated step time (with `simulated.validation`) and the projected efficiency (with
 * `simulated.projection`). Each comes as SVG and PNG.
 */
export async function renderScalingPlots(results: ScalingResults, simulated: SimulatedScaling = {}): Promise<RenderedPlot[]> {
  const specs: [string, TopLevelSpec][] = [];
  if (results.runs.length > 0) {
    specs.push(['throughput-efficiency', throughputPlot(results)], ['step-breakdown', breakdownPlot(results)]);
  }
  if (simulated.validation !== undefined && simulated.validation.length > 0) specs.push(['measured-vs-simulated', measuredVsSimulatedPlot(results, simulated.validation)]);
  if (simulated.projection !== undefined && simulated.projection.length > 0) specs.push(['projected-efficiency', projectionPlot(simulated.projection)]);
  const plots: RenderedPlot[] = [];
  for (const [name, spec] of specs) plots.push(await renderVegaLite(name, spec));
  return plots;
}
