/**
 * What both cluster roles speak through: the NATS connection, the control channel and liveness, the
 * NATS-client patches of the all-reduce data path, and a local nats-server for one-machine runs.
 */
export { connectNats, watchConnection } from './connection.js';
export { localAddressToward } from './local-address.js';
export { ControlChannel } from './control/channel.js';
export type { ControlHandler, GenerationFilter } from './control/channel.js';
export { Liveness, every, watchSilence } from './control/liveness.js';
export { directWritesInstalled, directWritesStatus, installDirectWrites, publishParts, whenWritten } from './nats-client-patches/direct-writes.js';
export {
  installReceivedPayloads,
  isRecycledPayload,
  receivedPayloadsInstalled,
  receivedPayloadStats,
  releasePayload,
} from './nats-client-patches/received-payloads.js';
export { installSocketReads, socketReadsInstalled, socketReadsStatus } from './nats-client-patches/socket-reads.js';
export { startLocalNatsServer } from './nats-server/local-nats-server.js';
export type { LocalNatsServer } from './nats-server/local-nats-server.js';
export { resolveNatsServer } from './nats-server/nats-binary.js';
export { HeartbeatThread } from './heartbeat/heartbeat-thread.js';
export type { HeartbeatThreadOptions } from './heartbeat/heartbeat-thread.js';
export { checkpointBucket, runStateBucket, workersBucket } from './jetstream/bucket-names.js';
export { DEFAULT_KEEP_CHECKPOINTS, NatsObjectCheckpointStore } from './jetstream/nats-object-checkpoint-store.js';
export { openCheckpointStore } from './jetstream/open-checkpoint-store.js';
export { DEFAULT_WORKER_TTL_MS, RunStateStore } from './jetstream/run-state-store.js';
export type { RunRecord, WorkerRegistration } from './jetstream/run-state-store.js';
export { credentialsEnv, describeCredentials, NATS_CREDENTIAL_SOURCES, natsConnectOptions, redactUrl, resolveNatsCredentials, withoutCredentialsEnv } from './credentials.js';
export type { NatsCredentials } from './credentials.js';
export { coordinatorPermissions, statusPermissions, workerPermissions } from './nats-server/run-permissions.js';
export type { SubjectPermissions } from './nats-server/run-permissions.js';
export { authorizationBlock } from './nats-server/authorization-config.js';
export { clusterBlock } from './nats-server/cluster-config.js';
export type { ClusterMember, RouteCredentials } from './nats-server/cluster-config.js';
export type { ServerUser } from './nats-server/authorization-config.js';
export { DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES, dialPeer, framePoolStats, LinkError, PeerListener, releaseFrame, userBufferReadsStatus, LINK_TLS_CIPHERS } from './direct-links/index.js';
export type { IncomingLink, LinkIdentity, OutgoingLink, PeerListenerOptions, RefusalKind, LinkEncryption } from './direct-links/index.js';
export { createSegment, hostKey, NONCE_BYTES, openPeerSegment, SEGMENT_HEADER_BYTES, sharedMemoryMapper, sweepStaleSegments } from './shared-memory/index.js';
export type { OwnSegment, SegmentMapper } from './shared-memory/index.js';
