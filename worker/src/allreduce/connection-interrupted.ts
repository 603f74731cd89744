import { ClusterError } from '@gradmesh/shared/internal';

/**
 * The all-reduce of a step could not complete because a connection dropped (the NATS client reconnects, or a
 * direct link to a peer broke): not this rank's failure — the step is carried out again by the next generation,
 * which the coordinator forms when it sees the loss (or when the step times out).
 */
export class ConnectionInterrupted extends ClusterError {}
