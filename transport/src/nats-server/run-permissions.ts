import { checkpointBucket, runStateBucket, workersBucket } from '../jetstream/bucket-names.js';
import { runPrefix, validateWorkerId } from '@gradmesh/shared/internal';

/** What one NATS user may publish and subscribe to (nats-server `permissions`). */
export interface SubjectPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/**
 * Note [who may say what]: the subject permissions of a run's identities, enforced by nats-server.
 * Every subject is under `gradmesh.<run>.`, so an identity of one run can neither speak nor listen on another
 * run's subjects. Within the run the direction of each control family decides who may publish it:
 *  - the coordinator alone publishes `assign.<id>`, `heartbeat.workers`, `step` (commands: step, evaluate,
 *    shareState, regroup), `eval` and `shutdown`, and listens on `join`, `heartbeat.coordinator`,
 *    `step-done` (the workers' replies, evaluations included), `error` (each `.<worker id>`) and `status`;
 *  - a worker publishes only `join`, `heartbeat.coordinator`, `step-done`, `error` and the data families
 *    `rs.*`, `ag.*`, `state`, each ending in its own id, and listens on the coordinator's families — its own `assign.<id>` only, so a
 *    worker cannot read another's assignment (and with it the run config) or wait on its id;
 *  - `_INBOX.>` for request/reply (JetStream API answers, `gradmesh status`).
 * JetStream: both roles use the run's three buckets (the coordinator's run record and checkpoints, the
 * workers' registrations, rank 0's checkpoint writes). Their API subjects all carry the stream name as the
 * fourth or fifth token (`$JS.API.STREAM.INFO.<S>`, `$JS.API.CONSUMER.CREATE.<S>.…`, `$JS.API.DIRECT.GET.<S>.…`,
 * `$JS.API.STREAM.MSG.GET.<S>` — the object store reads its metadata that way), so `$JS.API.*.*.<S>`,
 * `$JS.API.*.*.*.<S>` and the same with `.>` grant the API on this run's streams and nothing else; plus the
 * buckets' data subjects (`$KV.<bucket>.>`, `$O.<bucket>.>`), the acks and flow-control replies of their
 * consumers (`$JS.ACK.<S>.>`, `$JS.FC.<S>.>`) and the account info (`$JS.API.INFO`). Worked out by running
 * object-store put/get and KV put/get/keys under these permissions (tests/integration/security).
 * Each worker-published subject ends in the sender's id and a worker may publish only on its own, so the
 * server proves who sent what; the receivers hold envelopes and gradient pieces to that identity and to the
 * rank the coordinator assigned it (Note [the sender is in the subject] in shared/src/protocol/subjects.ts).
 */
function jetStream(run: string): string[] {
  const streams = [`OBJ_${checkpointBucket(run)}`, `KV_${runStateBucket(run)}`, `KV_${workersBucket(run)}`];
  return [
    '$JS.API.INFO',
    ...streams.flatMap((s) => [`$JS.API.*.*.${s}`, `$JS.API.*.*.${s}.>`, `$JS.API.*.*.*.${s}`, `$JS.API.*.*.*.${s}.>`, `$JS.ACK.${s}.>`, `$JS.FC.${s}.>`]),
    `$O.${checkpointBucket(run)}.>`,
    `$KV.${runStateBucket(run)}.>`,
    `$KV.${workersBucket(run)}.>`,
  ];
}

export function coordinatorPermissions(run: string): SubjectPermissions {
  const p = runPrefix(run);
  return {
    publish: [`${p}.assign.*`, `${p}.heartbeat.workers`, `${p}.step`, `${p}.eval`, `${p}.shutdown`, '_INBOX.>', ...jetStream(run)],
    subscribe: [`${p}.join.*`, `${p}.heartbeat.coordinator.*`, `${p}.step-done.*`, `${p}.error.*`, `${p}.status`, '_INBOX.>'],
  };
}

export function workerPermissions(run: string, workerId: string): SubjectPermissions {
  const p = runPrefix(run);
  const id = validateWorkerId(workerId);
  return {
    // Only subjects ending in its own id (Note [the sender is in the subject] in shared/src/protocol/subjects.ts).
    publish: [`${p}.join.${id}`, `${p}.heartbeat.coordinator.${id}`, `${p}.step-done.${id}`, `${p}.error.${id}`, `${p}.rs.*.${id}`, `${p}.ag.*.${id}`, `${p}.state.${id}`, '_INBOX.>', ...jetStream(run)],
    subscribe: [`${p}.assign.${id}`, `${p}.heartbeat.workers`, `${p}.step`, `${p}.eval`, `${p}.shutdown`, `${p}.rs.*.*`, `${p}.ag.*.*`, `${p}.state.*`, '_INBOX.>'],
  };
}

/** `gradmesh status`: ask the run's coordinator, nothing else. */
export function statusPermissions(run: string): SubjectPermissions {
  return { publish: [`${runPrefix(run)}.status`], subscribe: ['_INBOX.>'] };
}
