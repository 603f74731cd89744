import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeControl, heartbeatSubject, PROTOCOL_VERSION } from '@gradmesh/shared/internal';
import { HeartbeatThread } from '@gradmesh/transport';
import { startNats, type NatsHandle } from './nats-server.js';

let nats: NatsHandle;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => nats?.stop());

describe('worker heartbeats from their own thread', () => {
  it('keep flowing while the main thread is blocked (a compute step on the main thread cannot make a worker look dead)', async () => {
    const run = 'hb-1';
    const subject = heartbeatSubject(run, 'coordinator', 'w0');
    const nc = await connect({ servers: nats.url });
    const received: { step: number; gen: number }[] = [];
    nc.subscribe(subject, {
      callback: (_err, msg) => {
        const m = decodeControl(msg.subject, msg.data, { run, version: PROTOCOL_VERSION });
        if (m.kind === 'heartbeat') received.push({ step: m.body.step, gen: m.gen });
      },
    });
    await nc.flush();
    const beats = new HeartbeatThread({ natsUrl: nats.url, runId: run, workerId: 'w0', subject, periodMs: 100 });
    beats.update(0, 41, 3);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the thread connects
    const before = received.length;
    const until = Date.now() + 1_500;
    while (Date.now() < until) {
      // The main thread computes (busy) for 1.5 s: nothing here can publish or receive.
    }
    await new Promise((resolve) => setTimeout(resolve, 300)); // deliver what the socket holds
    const during = received.length - before;
    // ~15 beats of 100 ms were sent while this thread was blocked; on a loaded 2-core machine the thread itself
    // gets a share of a core, so ask for a third of them (a blocked heartbeat would deliver none).
    expect(during).toBeGreaterThanOrEqual(5);
    expect(received.at(-1)).toEqual({ step: 41, gen: 3 });
    await beats.stop();
    const afterStop = received.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(received.length).toBe(afterStop);
    await nc.close();
  });
});
