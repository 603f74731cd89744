import { workerData } from 'node:worker_threads';
import { connect } from '@nats-io/transport-node';
import { encodeControl } from '@gradmesh/shared/internal';
import { natsConnectOptions } from '../credentials.js';
import type { HeartbeatThreadOptions } from './heartbeat-thread.js';

/** The heartbeat thread (see heartbeat-thread.ts): a beat every period until told to stop. */
const o = workerData as HeartbeatThreadOptions & { state: Int32Array };
const nc = await connect({ servers: o.natsUrl, name: `gradmesh-heartbeat-${o.workerId}`, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, ...natsConnectOptions(o.credentials) });
const beat = () => {
  const rank = Atomics.load(o.state, 0);
  const body = { workerId: o.workerId, step: Atomics.load(o.state, 1), ...(rank >= 0 ? { rank } : {}) };
  nc.publish(o.subject, encodeControl({ run: o.runId, kind: 'heartbeat', from: o.workerId, gen: Atomics.load(o.state, 2), body }));
};
// Checks for `stop` every 50 ms; beats once per period.
let last = 0;
while (Atomics.load(o.state, 3) === 0) {
  if (Date.now() - last >= o.periodMs) {
    beat();
    last = Date.now();
  }
  await new Promise((resolve) => setTimeout(resolve, Math.min(50, o.periodMs)));
}
await nc.close();
