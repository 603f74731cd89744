import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';

/**
 * The JetStream client the run's buckets use. Its API timeout is longer than the client's 5 s default: a
 * checkpoint put on a busy 2-core machine (the all-reduce saturating the server) must not fail for being slow.
 */
export const JETSTREAM_TIMEOUT_MS = 20_000;

export function jetStreamOf(nc: NatsConnection): JetStreamClient {
  return jetstream(nc, { timeout: JETSTREAM_TIMEOUT_MS });
}
