import { randomBytes } from 'node:crypto';
import { createUser } from '@nats-io/nkeys';
import { writeFileSync } from 'node:fs';
import { authorizationBlock, coordinatorPermissions, statusPermissions, workerPermissions, type NatsCredentials, type ServerUser } from '@gradmesh/transport';

/** The NATS identities of one launched run: the coordinator's and one per worker id. */
export interface RunIdentities {
  readonly coordinator: NatsCredentials;
  readonly workers: ReadonlyMap<string, NatsCredentials>;
  /** The nats-server `authorization` block granting each identity its subjects (Note [who may say what]). */
  readonly authorization: string;
  /** The nkey seed of the `status` identity (it may only ask the coordinator for the run's status). */
  readonly statusSeed: string;
}

/**
 * Fresh identities for a `gradmesh launch` run: a random 256-bit password per user, made for this run and
 * gone with it (they live in the launch's temporary directory and the children's environment only).
 */
export function runIdentities(runId: string, workerIds: readonly string[]): RunIdentities {
  const password = () => randomBytes(32).toString('hex');
  const coordinator = { user: 'coordinator', pass: password() };
  const workers = new Map(workerIds.map((id) => [id, { user: `worker-${id}`, pass: password() }] as const));
  const status = createUser();
  const users: ServerUser[] = [
    { user: coordinator.user, password: coordinator.pass, permissions: coordinatorPermissions(runId) },
    ...[...workers].map(([id, w]) => ({ user: w.user, password: w.pass, permissions: workerPermissions(runId, id) })),
    { nkey: status.getPublicKey(), permissions: statusPermissions(runId) },
  ];
  return { coordinator, workers, authorization: authorizationBlock(users), statusSeed: new TextDecoder().decode(status.getSeed()) };
}

/** Writes the server config holding the passwords: readable by this user only. */
export function writeServerConfig(file: string, identities: RunIdentities): void {
  writeFileSync(file, identities.authorization, { mode: 0o600 });
}

/** Writes the status identity's seed (for `gradmesh status --nats-creds <file>`): readable by this user only. */
export function writeStatusSeed(file: string, identities: RunIdentities): void {
  writeFileSync(file, `${identities.statusSeed}\n`, { mode: 0o600 });
}
