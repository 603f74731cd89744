import { describeLink } from '../netns/link-spec.js';
import type { ScalingResults, ScalingRun } from '../scaling-results.js';
import { expectedLinkBytes, relativeError } from '../topology/link-formulas.js';
import { workerIds } from '../netns/network-plan.js';

/** One host's measured bytes per all-reduce next to the topology formula's. */
export interface LinkCheck {
  readonly workers: number;
  readonly topology: ScalingRun['topology'];
  readonly host: string;
  readonly direction: 'tx' | 'rx';
  readonly measuredPerStep: number;
  readonly expectedPerStep: number;
  /** measured / expected − 1. */
  readonly error: number;
}

/**
 * Measured bytes per step against the formulas of link-formulas.ts, for every run with all-reduce traffic
 * (N ≥ 2) and every host it measured (all hosts with netns; the servers' links on loopback).
 */
export function linkChecks(results: ScalingResults): LinkCheck[] {
  const out: LinkCheck[] = [];
  for (const run of results.runs) {
    if (run.workers < 2) continue;
    const expected = expectedLinkBytes(run.topology, workerIds(run.workers), results.model.allreduceBytes ?? results.model.gradientBytes, 'nats', results.model.transport ?? 'nats');
    for (const measured of run.linkBytes) {
      const e = expected.find((x) => x.host === measured.host);
      if (e === undefined) continue;
      for (const direction of ['tx', 'rx'] as const) {
        const m = (direction === 'tx' ? measured.txBytes : measured.rxBytes) / run.steps;
        const x = direction === 'tx' ? e.txBytes : e.rxBytes;
        const error = relativeError(m, x);
        if (error !== null) out.push({ workers: run.workers, topology: run.topology, host: measured.host, direction, measuredPerStep: m, expectedPerStep: x, error });
      }
    }
  }
  return out;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(3);
const ms = (q: { median: number; p90: number }) => `${(q.median * 1e3).toFixed(1)} / ${(q.p90 * 1e3).toFixed(1)}`;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;

/**
 * results.md: the measured table (throughput, scaling efficiency against the same topology's N = 1, the step
 * time split, CPU per role), the bytes per link against the topology formulas, and the conditions (machine,
 * load) the figures were taken under.
 */
export function resultsMarkdown(results: ScalingResults): string {
  const lines: string[] = [];
  const load = results.load as { parallelCapacity: number; perRun?: { workers: number; topology: string; parallelCapacity: number }[] };
  lines.push(`# Scaling: ${results.config}`, '');
  lines.push(
    `Measured ${results.createdAt} on ${results.machine.cpus} × ${results.machine.cpuModel}, Node.js ${results.machine.node}; ` +
      `load before the runs: parallel capacity ${load.parallelCapacity} of ${results.machine.cpus} cores free. ` +
      `Model: ${results.model.parameters.toLocaleString('en-US')} parameters, gradient ${mb(results.model.gradientBytes)} MB.`,
    '',
  );
  lines.push('Times are median / p90 in ms per step; compute, all-reduce and wait are means over the ranks of each step; "exposed" is the part of the all-reduce after compute ended (the rest overlapped backward), and step ≈ compute + exposed + wait. Efficiency = samples/s ÷ (N × samples/s at N = 1, same topology and link).', '');
  lines.push('| N | topology | network | link | samples/s | efficiency | step | compute | all-reduce | exposed | wait | CPU s (worker / coordinator / nats-server) | load |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results.runs) {
    const base = results.runs.find((b) => b.workers === 1 && b.topology === r.topology && b.network === r.network && describeLink(b.link) === describeLink(r.link));
    const efficiency = base !== undefined && base.samplesPerSec > 0 ? `${((r.samplesPerSec / (r.workers * base.samplesPerSec)) * 100).toFixed(0)} %` : '–';
    const cpu = ['worker', 'coordinator', 'nats-server'].map((role) => (r.cpuSecondsPerRole[role] ?? 0).toFixed(2)).join(' / ');
    const probe = load.perRun?.find((p) => p.workers === r.workers && p.topology === r.topology)?.parallelCapacity;
    lines.push(`| ${r.workers} | ${r.topology} | ${r.network} | ${describeLink(r.link)} | ${r.samplesPerSec.toFixed(1)} | ${efficiency} | ${ms(r.stepSeconds)} | ${ms(r.computeSeconds)} | ${ms(r.allreduceSeconds)} | ${ms(r.exposedAllreduceSeconds ?? r.allreduceSeconds)} | ${ms(r.waitSeconds)} | ${cpu} | ${probe ?? '–'} |`);
  }
  const checks = linkChecks(results);
  if (checks.length > 0) {
    lines.push('', '## Bytes per link and the topology formulas', '');
    lines.push(
      ((results.model.transport ?? 'nats') === 'direct'
        ? 'Per all-reduce of S bytes over direct links: each worker host link carries 2(N−1)/N·S each way, in either topology; no server carries gradient bytes. '
        : 'Per all-reduce of S bytes through nats-server: hub server receives N·S and sends 2(N−1)·S, a hub worker sends S and receives 2(N−1)/N·S; per-host, each host link carries 2(N−1)/N·S each way. ') +
        'Measured = bytes in the measured steps ÷ steps (interface counters include NATS protocol and TCP/IP headers; NATS monitoring counts payload only).',
      '',
    );
    lines.push('| N | topology | host | direction | measured MB/step | formula MB/step | error |', '|---|---|---|---|---|---|---|');
    for (const c of checks) lines.push(`| ${c.workers} | ${c.topology} | ${c.host} | ${c.direction} | ${mb(c.measuredPerStep)} | ${mb(c.expectedPerStep)} | ${pct(c.error)} |`);
    const worst = Math.max(...checks.map((c) => Math.abs(c.error)));
    lines.push('', `Largest deviation: ${pct(worst)} (${worst <= 0.1 ? 'within' : 'NOT within'} 10 %).`);
  }
  const delays = results.runs.filter((r) => r.link.delaySeconds > 0);
  if (delays.length > 0) lines.push('', 'The link delay is recorded for the simulator only: this kernel has no netem, so it was not emulated.');
  return `${lines.join('\n')}\n`;
}
