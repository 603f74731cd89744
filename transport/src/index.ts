/**
 * What both cluster roles speak through: the NATS connection, the control channel and liveness, the
 * NATS-client patches of the all-reduce data path, and a local nats-server for one-machine runs.
 */
export { connectNats, watchConnection } from './connection.js';
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
export { startLocalNatsServer } from './nats-server/local-nats-server.js';
export type { LocalNatsServer } from './nats-server/local-nats-server.js';
export { resolveNatsServer } from './nats-server/nats-binary.js';
export { HeartbeatThread } from './heartbeat/heartbeat-thread.js';
export type { HeartbeatThreadOptions } from './heartbeat/heartbeat-thread.js';
