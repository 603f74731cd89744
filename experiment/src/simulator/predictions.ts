import type { AllreduceTransport, LinkSpec, ScalingResults, Topology } from '../scaling-results.js';
import { calibrate, scenarioOfRun, type Calibration } from './calibrate.js';
import { efficiency, simulateStep, type Bound, type Scenario } from './step-model.js';

/** What `gradmesh experiment simulate` predicts for one (N, topology, link): one row of predictions.json. */
export interface Prediction {
  readonly workers: number;
  readonly topology: Topology;
  readonly link: LinkSpec;
  readonly localBatch: number;
  readonly computeSeconds: number;
  readonly allreduceSeconds: number;
  readonly waitSeconds: number;
  readonly stepSeconds: number;
  readonly samplesPerSec: number;
  readonly efficiency: number;
  readonly bound: Bound;
  /** Bytes the busiest host link carries per all-reduce (TCP payload). */
  readonly busiestLinkBytes: number;
}

/** One measured run next to the model's step time for it. */
export interface ValidationRow {
  readonly workers: number;
  readonly topology: Topology;
  readonly link: LinkSpec;
  readonly network: 'netns' | 'loopback';
  readonly measuredStepSeconds: number;
  /** Calibrated on every run of the file (this one included). */
  readonly predictedStepSeconds: number;
  readonly relativeError: number;
  /** Calibrated on every OTHER run: a prediction the run itself did not inform (null with fewer than 3 runs). */
  readonly leaveOneOutStepSeconds: number | null;
  readonly leaveOneOutRelativeError: number | null;
  readonly measured: { compute: number; allreduce: number; wait: number };
  readonly predicted: { compute: number; allreduce: number; wait: number };
  /**
   * Bytes per step on the busiest host link: the most any host's interface sent or received (linkBytes ÷ steps;
   * null when the run recorded none) and the model's TCP payload (message-pattern.ts). Interface counters add
   * the TCP/IP headers of each (GSO) packet, so they may run a few % above the payload.
   */
  readonly measuredBusiestLinkBytesPerStep: number | null;
  readonly predictedBusiestLinkBytes: number;
}

export interface Projection {
  readonly workers: readonly number[];
  readonly topologies: readonly Topology[];
  readonly links: readonly LinkSpec[];
  /** Samples per worker per step (weak scaling); default: the calibration's. */
  readonly localBatch?: number;
  /** Fraction of the all-reduce hidden behind backward. */
  readonly overlap: number;
  /** Cores a dedicated host's nats-server may use. */
  readonly serverCores: number;
  /** How the projected cluster's pieces travel; default: as in the calibration's runs. */
  readonly transport?: AllreduceTransport;
}

/**
 * Predictions for a cluster of dedicated hosts (one worker per host, each with the calibration's threads, the
 * measured per-sample compute time and per-byte costs), weak scaling: every worker keeps the same local batch.
 */
export function project(c: Calibration, projection: Projection): Prediction[] {
  const localBatch = projection.localBatch ?? c.localBatch;
  const rows: Prediction[] = [];
  for (const topology of projection.topologies) {
    for (const link of projection.links) {
      for (const workers of projection.workers) {
        const scenario: Scenario = {
          workers,
          topology,
          link,
          gradientBytes: c.gradientBytes,
          localBatch,
          globalBatch: localBatch * workers,
          threadsPerWorker: c.threadsPerWorker,
          cpu: { kind: 'dedicated', serverCores: projection.serverCores },
          overlap: projection.overlap,
          transport: projection.transport ?? c.transport,
        };
        const step = simulateStep(scenario, c.params);
        rows.push({
          workers,
          topology,
          link,
          localBatch,
          computeSeconds: step.computeSeconds,
          allreduceSeconds: step.allreduceSeconds,
          waitSeconds: step.waitSeconds,
          stepSeconds: step.stepSeconds,
          samplesPerSec: step.samplesPerSec,
          efficiency: efficiency(scenario, c.params),
          bound: step.bound,
          busiestLinkBytes: step.pattern.busiestLinkBytes,
        });
      }
    }
  }
  return rows;
}

/** Every measured run next to the model's prediction for it, in-sample and leave-one-out. */
export function validate(results: ScalingResults, c: Calibration = calibrate(results)): ValidationRow[] {
  return results.runs.map((run, i) => {
    const predicted = simulateStep(scenarioOfRun(results, run, c.sharedCores), c.params);
    let leaveOneOut: number | null = null;
    if (results.runs.length >= 3) {
      const others = { ...results, runs: results.runs.filter((_, j) => j !== i) };
      const cOthers = calibrate(others);
      leaveOneOut = simulateStep(scenarioOfRun(results, run, cOthers.sharedCores), cOthers.params).stepSeconds;
    }
    const measuredStep = run.stepSeconds.median;
    return {
      workers: run.workers,
      topology: run.topology,
      link: run.link,
      network: run.network,
      measuredStepSeconds: measuredStep,
      predictedStepSeconds: predicted.stepSeconds,
      relativeError: predicted.stepSeconds / measuredStep - 1,
      leaveOneOutStepSeconds: leaveOneOut,
      leaveOneOutRelativeError: leaveOneOut === null ? null : leaveOneOut / measuredStep - 1,
      measured: { compute: run.computeSeconds.median, allreduce: run.allreduceSeconds.median, wait: run.waitSeconds.median },
      predicted: { compute: predicted.computeSeconds, allreduce: predicted.allreduceSeconds, wait: predicted.waitSeconds },
      measuredBusiestLinkBytesPerStep: run.linkBytes.length === 0 ? null : Math.max(...run.linkBytes.map((l) => Math.max(l.txBytes, l.rxBytes))) / run.steps,
      predictedBusiestLinkBytes: predicted.pattern.busiestLinkBytes,
    };
  });
}

/** `1gbit`, `10gbit`, `unshaped`; with `+2ms` when there is a delay. */
export function linkLabel(link: LinkSpec): string {
  const rate = link.rateBitsPerSec === null ? 'unshaped' : formatRate(link.rateBitsPerSec);
  return link.delaySeconds > 0 ? `${rate}+${formatSeconds(link.delaySeconds)}` : rate;
}

function formatRate(bits: number): string {
  for (const [unit, scale] of [['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) if (bits >= scale) return `${+(bits / scale).toPrecision(4)}${unit}`;
  return `${bits}bit`;
}

function formatSeconds(s: number): string {
  return s >= 1 ? `${+s.toPrecision(4)}s` : s >= 1e-3 ? `${+(s * 1e3).toPrecision(4)}ms` : `${+(s * 1e6).toPrecision(4)}us`;
}
