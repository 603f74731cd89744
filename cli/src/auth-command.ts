import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { ConfigError, validateRunId, validateWorkerId } from '@gradmesh/shared/internal';
import { authorizationBlock, coordinatorPermissions, statusPermissions, workerPermissions, type ServerUser, type SubjectPermissions } from '@gradmesh/transport';
import { workerRange, type Command } from './args.js';

/**
 * `gradmesh auth init`: the identities of a run for a real deployment, as nkeys (Note [who may say what] in
 * transport/src/nats-server/run-permissions.ts for what each may do). An nkey user proves itself by signing
 * the server's nonce with its seed, so the server config holds public keys only and can be shared or
 * committed; the seed files are the secrets (mode 0600, one per identity, for Kubernetes Secrets or the
 * like), passed to each process with --nats-creds or GRADMESH_NATS_CREDS.
 */
export const authCommand: Command = {
  name: 'auth',
  summary: 'Make the NATS identities of a run: a nats-server authorization block and one credentials file each',
  usage: `gradmesh auth init --run <id> --workers <max> --out <dir> [--worker-ids a,b,…]

Writes into <dir> (created, mode 0700):
  authorization.conf      the nats-server authorization block: nkey users (public keys only) with the
                          subject permissions of their role; add \`include ./authorization.conf\` to the
                          server's config
  coordinator.nk          the coordinator's nkey seed            (mode 0600; --nats-creds of the coordinator)
  worker-<id>.nk          one seed per worker id                 (mode 0600; --nats-creds of \`worker --id <id>\`)
  status.nk               may only ask the coordinator for the run's status (gradmesh status)

A worker's identity may only listen to its own assignment, so each worker process must run with the --id
its file is for. Existing files are overwritten.

Options:
  --run <id>              the run the identities are for                               (required)
  --workers <max>         the most workers of the run; ids w0…w<max-1> unless --worker-ids   (required)
  --worker-ids <a,b,…>    the worker ids (e.g. your pods' names), exactly <max> of them
  --out <dir>             where to write the files                                     (required)`,
  options: {
    run: { type: 'string' },
    workers: { type: 'string' },
    'worker-ids': { type: 'string' },
    out: { type: 'string' },
  },
  async run(values, positionals) {
    if (positionals[0] !== 'init' || positionals.length !== 1) throw new ConfigError('gradmesh auth', `expects the subcommand init (got ${positionals.join(' ') || 'nothing'})`, { hint: 'gradmesh auth init --run <id> --workers <max> --out <dir>' });
    if (values['run'] === undefined) throw new ConfigError('--run', 'is required');
    const runId = validateRunId(values['run'], '--run');
    const range = workerRange(values['workers'], '--workers');
    if (range === undefined || range.min !== range.max) throw new ConfigError('--workers', 'is required: the most workers of the run, one number', { ...(values['workers'] === undefined ? {} : { value: values['workers'] }) });
    const out = values['out'];
    if (typeof out !== 'string' || out === '') throw new ConfigError('--out', 'is required: the directory to write the files into');
    const ids = workerIds(values['worker-ids'], range.max);
    const identities: { file: string; permissions: SubjectPermissions }[] = [
      { file: 'coordinator.nk', permissions: coordinatorPermissions(runId) },
      ...ids.map((id) => ({ file: `worker-${id}.nk`, permissions: workerPermissions(runId, id) })),
      { file: 'status.nk', permissions: statusPermissions(runId) },
    ];
    try {
      mkdirSync(out, { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new ConfigError('--out', `cannot create the directory (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { value: out });
    }
    const users: ServerUser[] = [];
    for (const identity of identities) {
      const pair = createUser();
      users.push({ nkey: pair.getPublicKey(), permissions: identity.permissions });
      const file = path.join(out, identity.file);
      writeFileSync(file, `${new TextDecoder().decode(pair.getSeed())}\n`, { mode: 0o600 });
      // An existing file keeps its mode on overwrite; a seed must never stay readable by others.
      chmodSync(file, 0o600);
    }
    writeFileSync(path.join(out, 'authorization.conf'), `# gradmesh auth init --run ${runId} --workers ${range.max}\n${authorizationBlock(users)}`, { mode: 0o644 });
    process.stderr.write(`auth: wrote ${path.join(out, 'authorization.conf')} and ${identities.length} credentials file(s) for run "${runId}" (coordinator, ${ids.length} worker(s), status)\n`);
    return 0;
  },
};

function workerIds(value: unknown, max: number): string[] {
  if (value === undefined) {
    const width = String(max - 1).length;
    return Array.from({ length: max }, (_, i) => `w${String(i).padStart(width, '0')}`);
  }
  const ids = typeof value === 'string' ? value.split(',') : [];
  ids.forEach((id) => validateWorkerId(id, '--worker-ids'));
  if (ids.length !== max) throw new ConfigError('--worker-ids', `must name exactly --workers (${max}) ids`, { value });
  if (new Set(ids).size !== ids.length) throw new ConfigError('--worker-ids', 'has a repeated id', { value });
  return ids;
}
