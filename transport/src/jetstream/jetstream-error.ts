import { ClusterError } from '@gradmesh/shared/internal';

/** A JetStream bucket could not be created or opened: usually a server without JetStream. */
export function bucketError(bucket: string, what: string, cause: unknown): ClusterError {
  const message = (cause as Error)?.message ?? String(cause);
  const noJetStream = /jetstream not enabled|no responders|503/i.test(message);
  return new ClusterError(`cannot open the ${what} bucket "${bucket}": ${noJetStream ? 'the NATS server has no JetStream' : message}`, {
    hint: 'run nats-server with JetStream (nats-server -js -sd <dir>, or a jetstream {} block: see deploy/nats/nats-server.conf); gradmesh launch does this for its own server',
    cause,
  });
}
