import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, mergeStepTraces, readStepTrace, summarizeStepTrace, TRACE_PHASES, writeJsonAtomic, type WorkerTraceSummary } from '@gradmesh/shared/internal';
import type { Command } from './args.js';

const TRACE_SUFFIX = '.trace.json';

export const traceCommand: Command = {
  name: 'trace',
  summary: "Merge the workers' step traces (--trace-dir) into one Chrome trace and print where each step's time went",
  usage: `gradmesh trace <dir> [--out <file>] [--json <file>]

Reads every <worker>.trace.json that workers started with --trace-dir <dir> (GRADMESH_TRACE_DIR) wrote when they
exited, writes them as one Chrome trace (open it in https://ui.perfetto.dev or chrome://tracing: a row group
per worker, with a compute track — compute, exposed all-reduce, update — and a communication track — the
all-reduce with each bucket's release, and the reply), and prints per worker the median (min–max) ms of each phase over its steps.

Options:
  --out <file>    the merged trace (default: <dir>/merged-trace.json)
  --json <file>   also write the per-worker summary as JSON

Exit code: 0, or 2 when the directory holds no trace or a file is not one.`,
  options: {
    out: { type: 'string' },
    json: { type: 'string' },
  },
  async run(values, positionals) {
    const dir = positionals[0];
    if (dir === undefined || positionals.length > 1) throw new ConfigError('<dir>', 'give exactly one directory of step traces', { hint: 'e.g. gradmesh trace /tmp/traces' });
    let names: string[];
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
      names = readdirSync(dir).filter((n) => n.endsWith(TRACE_SUFFIX)).sort();
    } catch (error) {
      throw new ConfigError('<dir>', `${dir} is not a readable directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { value: dir });
    }
    if (names.length === 0) throw new ConfigError('<dir>', `${dir} holds no *${TRACE_SUFFIX} file`, { value: dir, hint: 'start the workers with --trace-dir <dir> (or GRADMESH_TRACE_DIR); they write their trace when they exit' });
    // A merged trace saved under a worker-like name (--out <dir>/all.trace.json) is not read as one more worker.
    const traces = names.map((n) => readStepTrace(path.join(dir, n))).filter((t) => t.otherData.merged !== true);
    if (traces.length === 0) throw new ConfigError('<dir>', `${dir} holds only merged traces, no worker's`, { value: dir, hint: 'point it at the directory the workers wrote to (--trace-dir)' });
    const out = typeof values['out'] === 'string' ? values['out'] : path.join(dir, 'merged-trace.json');
    await writeJsonAtomic(out, mergeStepTraces(traces));
    const summaries = traces.map((t) => summarizeStepTrace(t));
    process.stdout.write(formatTraceSummary(summaries));
    process.stdout.write(`merged trace of ${traces.length} worker(s): ${out}\n`);
    if (typeof values['json'] === 'string') await writeJsonAtomic(values['json'], summaries);
    return 0;
  },
};

/** One row per worker: steps, then median (min–max) ms of every phase. */
export function formatTraceSummary(summaries: readonly WorkerTraceSummary[]): string {
  const lines = ['ms per step, median (min–max):'];
  for (const s of summaries) {
    const parts = TRACE_PHASES.map((p) => {
      const f = s.phases[p];
      return `${p} ${f === null ? '–' : `${f.medianMs.toFixed(2)} (${f.minMs.toFixed(2)}–${f.maxMs.toFixed(2)})`}`;
    });
    lines.push(`worker ${s.worker} (rank ${s.ranks.join('/') || '–'}), ${s.steps} steps: ${parts.join('; ')}`);
  }
  return `${lines.join('\n')}\n`;
}
