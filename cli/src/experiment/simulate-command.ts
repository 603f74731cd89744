import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@gradmesh/shared/internal';
import type { Projection } from '@gradmesh/experiment';
import { positiveInt, type Command } from '../args.js';

export const SIMULATE_USAGE = `gradmesh experiment simulate --calibration <results.json> [--workers 1..256] [--topology hub,per-host]
                             [--link 1gbit,10gbit[,delay]] [--overlap 0] [--local-batch N] [--server-cores 4]
                             [--transport direct|nats] [--out <dir>]

  Calibrates the step model on the measured runs of <results.json> (\`gradmesh experiment scaling\`), prints every
  measured run next to the model's prediction for it (validation), and the predicted step time, throughput and
  efficiency of a cluster of dedicated hosts for each workers × topology × link.
  --workers       counts and doubling ranges: 2,3,4 or 1..256 (1, 2, 4, …, 256) or 1,3,8..64 (default 1..256)
  --topology      hub (one nats-server for all) and/or per-host (one per host, clustered by routes) (default both)
  --link          rates (100mbit, 1gbit, 10gbit, unshaped) and at most one one-way delay (1ms) (default 1gbit,10gbit)
  --overlap       fraction of the all-reduce hidden behind backward, 0–1 (default: the median measured in the
                  calibration's multi-worker runs — 1 − exposed ÷ all-reduce — or 0 for runs without buckets)
  --local-batch   samples per worker per step (default: the single-worker run's batch)
  --server-cores  cores a host's nats-server may use (default 4)
  --transport     how the projected cluster's gradient pieces travel: direct (worker to worker) or nats (through
                  nats-server) (default: as in the calibration's runs, results.json model.transport)
  --out <dir>     writes predictions.json, predictions.md and the plots (SVG and PNG) there`;

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'Predict step time, throughput and efficiency from measured scaling runs (calibrated model, validation, plots)',
  usage: SIMULATE_USAGE,
  options: {
    calibration: { type: 'string' },
    workers: { type: 'string' },
    topology: { type: 'string' },
    link: { type: 'string' },
    overlap: { type: 'string' },
    'local-batch': { type: 'string' },
    'server-cores': { type: 'string' },
    transport: { type: 'string' },
    out: { type: 'string' },
  },
  async run(values) {
    // Note [loaded on use]: the experiment package brings vega and resvg; every other gradmesh command would pay for
    // loading them at start-up if they were imported at the top.
    const {
      calibrate,
      parseLinks,
      parseNumberIn,
      parseTopologies,
      parseWorkers,
      predictionsFile,
      predictionsMarkdown,
      project,
      projectionTable,
      readScalingResults,
      targetLine,
      validate,
      validationTable,
      measuredOverlap,
    } = await import('@gradmesh/experiment');
    const file = values['calibration'];
    if (typeof file !== 'string' || file === '') throw new ConfigError('--calibration', 'is required: the results.json of `gradmesh experiment scaling`', { hint: 'e.g. --calibration experiments/scaling/results.json' });
    // Every flag is checked before the file is read: a typo costs nothing.
    const workers = parseWorkers(typeof values['workers'] === 'string' ? values['workers'] : '1..256');
    const topologies = parseTopologies(typeof values['topology'] === 'string' ? values['topology'] : 'hub,per-host');
    const links = parseLinks(typeof values['link'] === 'string' ? values['link'] : '1gbit,10gbit');
    const overlapFlag = typeof values['overlap'] === 'string' ? parseNumberIn(values['overlap'], '--overlap', 0, 1) : undefined;
    const localBatch = positiveInt(values['local-batch'], '--local-batch');
    const serverCores = positiveInt(values['server-cores'], '--server-cores') ?? 4;
    const out = typeof values['out'] === 'string' ? values['out'] : undefined;
    const transport = values['transport'];
    if (transport !== undefined && transport !== 'direct' && transport !== 'nats') throw new ConfigError('--transport', 'must be direct or nats', { value: transport });

    const results = await readScalingResults(file);
    const c = calibrate(results, file);
    const overlap = overlapFlag ?? medianOverlap(results.runs.filter((r) => r.workers >= 2).map(measuredOverlap));
    const projection: Projection = { workers, topologies, links, overlap, serverCores, ...(localBatch === undefined ? {} : { localBatch }), ...(transport === undefined ? {} : { transport }) };
    const rows = project(c, projection);
    const validation = validate(results, c);
    const report = predictionsFile(file, results, c, projection, rows, validation);

    process.stdout.write(`Validation: ${file} (${results.runs.length} measured runs) vs the model calibrated on it\n\n${validationTable(validation)}\n\n${targetLine(report)}\n\n`);
    process.stdout.write(`Projection: dedicated hosts, ${report.assumptions.localBatch} samples per worker per step\n\n${projectionTable(rows)}\n`);
    if (out !== undefined) {
      await mkdir(out, { recursive: true });
      const { renderScalingPlots } = await import('@gradmesh/experiment/plots');
      const plots = await renderScalingPlots(results, { validation, projection: rows });
      for (const plot of plots) {
        await writeFile(join(out, `${plot.name}.svg`), plot.svg);
        await writeFile(join(out, `${plot.name}.png`), plot.png);
      }
      await writeFile(join(out, 'predictions.json'), `${JSON.stringify(report, null, 2)}\n`);
      await writeFile(join(out, 'predictions.md'), predictionsMarkdown(report, plots.map((p) => p.name)));
      process.stdout.write(`\nWrote ${join(out, 'predictions.json')}, predictions.md and ${plots.length} plots (SVG + PNG).\n`);
    }
    return 0;
  },
};

function medianOverlap(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
