import { ClusterError, ConfigError, decodeRunStatus, statusSubject, validateRunId, type RunStatus } from '@gradmesh/shared/internal';
import { connectNats } from '@gradmesh/transport';
import { secondsFlag, type Command } from './args.js';
import { DEFAULT_RUN_ID } from './coordinator-command.js';
import { NATS_AUTH_OPTIONS, natsAuthUsage, natsCredentialsFrom } from './nats-auth-flags.js';

export const statusCommand: Command = {
  name: 'status',
  summary: "Show a running cluster run's world, generation, step, epoch, loss, throughput and worker health",
  usage: `gradmesh status --nats <url> [--run <id>] [--json]

Asks the run's coordinator over NATS (a request on gradmesh.<run>.status) and prints its answer.

Options:
  --nats <url>         NATS server of the run                               (required)
  --run <id>           run id (default: ${DEFAULT_RUN_ID})
  --json               print the answer as JSON (fields: run, state, world, generation, step, epoch,
                       epochs, loss, samplesPerSec, time, workers[rank, worker, health, steps,
                       computeMs, allreduceMs, waitMs])
  --timeout <s>        how long to wait for the coordinator (default: 5)
${natsAuthUsage(23)}

Exit code: 0 with an answer, 1 when no coordinator answered, 2 on bad input.`,
  options: {
    nats: { type: 'string' },
    run: { type: 'string' },
    json: { type: 'boolean' },
    timeout: { type: 'string' },
    ...NATS_AUTH_OPTIONS,
  },
  async run(values) {
    const natsUrl = values['nats'];
    if (typeof natsUrl !== 'string') throw new ConfigError('--nats', 'is required', { hint: 'e.g. gradmesh status --nats nats://127.0.0.1:4222 --run myrun' });
    const runId = validateRunId(values['run'] ?? DEFAULT_RUN_ID, '--run');
    const timeoutMs = secondsFlag(values['timeout'], '--timeout', 5, 600);
    const nc = await connectNats(natsUrl, 'gradmesh-status-client', natsCredentialsFrom(values));
    try {
      const subject = statusSubject(runId);
      let reply;
      try {
        reply = await nc.request(subject, new Uint8Array(0), { timeout: timeoutMs });
      } catch (cause) {
        throw new ClusterError(`no coordinator of run "${runId}" answered on ${subject} within ${timeoutMs / 1000} s (${(cause as Error).message})`, { hint: 'check --run and --nats; is the run still going?', cause });
      }
      const status = decodeRunStatus(subject, reply.data);
      process.stdout.write(values['json'] ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      return 0;
    } finally {
      await nc.close().catch(() => undefined);
    }
  },
};

/** One screen: the run line, then one row per worker. */
export function formatStatus(s: RunStatus): string {
  const num = (v: number | null, d: number) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(d));
  const lines = [
    `run ${s.run}: ${s.state}, world ${s.world}, generation ${s.generation}, step ${s.step}, epoch ${s.epoch}/${s.epochs}, loss ${num(s.loss, 4)}, ${s.samplesPerSec === null ? '–' : Math.round(s.samplesPerSec).toLocaleString('en-US')} samples/s`,
    `${'rank'.padStart(4)}  ${'worker'.padEnd(24)} ${'health'.padEnd(9)} ${'steps'.padStart(7)} ${'compute ms'.padStart(11)} ${'all-reduce ms'.padStart(14)} ${'wait ms'.padStart(8)}`,
    ...s.workers.map((w) => `${String(w.rank ?? '–').padStart(4)}  ${w.worker.padEnd(24)} ${w.health.padEnd(9)} ${String(w.steps).padStart(7)} ${num(w.computeMs, 1).padStart(11)} ${num(w.allreduceMs, 1).padStart(14)} ${num(w.waitMs, 1).padStart(8)}`),
  ];
  return `${lines.join('\n')}\n`;
}
