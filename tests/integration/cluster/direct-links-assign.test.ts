import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinator } from '../../../coordinator/src/coordinator.js';
import { parseRunConfig } from '../../../shared/src/config/run-config.js';
import { ClusterError } from '../../../shared/src/errors.js';
import { DropCounter } from '@gradmesh/shared/internal';
import type { AssignBody } from '../../../shared/src/protocol/messages.js';
import { assignSubject, joinSubject } from '../../../shared/src/protocol/subjects.js';
import { ControlChannel } from '@gradmesh/transport';
import { startNats, type NatsHandle } from '../nats/nats-server.js';

/**
 * What the coordinator puts in the assignments of a run whose all-reduce transport is `direct` (Note [links are
 * per generation]): every member's data address in rank order and a 32-byte secret, the same in every member's
 * assignment and new in every generation; a run through NATS sends none. The workers here are stand-ins that only
 * join, record their assignments, and leave: no replica is built, so the coordinator never gets past formation.
 */

let nats: NatsHandle;
beforeAll(async () => {
  nats = await startNats({ via: 'spawn' });
});
afterAll(async () => {
  await nats?.stop();
});

const baseConfig = {
  dataset: 'mnist',
  model: { inputShape: [4], layers: [{ type: 'dense', units: 2 }] },
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'sgd' },
};

/** A worker that joins with an id and (maybe) a data address, and keeps every assignment it receives. */
class StandInWorker {
  readonly assigns: AssignBody[] = [];
  readonly #nc: NatsConnection;
  readonly #channel: ControlChannel;
  readonly #runId: string;
  readonly workerId: string;
  readonly #dataAddress: string | undefined;

  private constructor(nc: NatsConnection, runId: string, workerId: string, dataAddress: string | undefined) {
    this.#nc = nc;
    this.#runId = runId;
    this.workerId = workerId;
    this.#dataAddress = dataAddress;
    this.#channel = new ControlChannel({ nc, runId, self: workerId, drops: new DropCounter(() => undefined), onHandlerError: (e) => { throw e; } });
    this.#channel.listen(assignSubject(runId, workerId), (m) => {
      if (m.kind === 'assign') this.assigns.push(m.body);
    });
  }

  static async start(runId: string, workerId: string, dataAddress: string | undefined): Promise<StandInWorker> {
    const w = new StandInWorker(await connect({ servers: nats.url }), runId, workerId, dataAddress);
    await w.#channel.flush(5_000);
    return w;
  }

  #timer: NodeJS.Timeout | undefined;
  pid = 1000;

  /** Joins now and every 100 ms, as a worker does until it is assigned (a join sent before the coordinator listens is lost). */
  keepJoining(): void {
    this.#join(this.pid);
    this.#timer = setInterval(() => this.#join(this.pid), 100);
  }

  #join(pid: number): void {
    this.#channel.send(joinSubject(this.#runId, this.workerId), 'join', { workerId: this.workerId, pid, host: 'stand-in', threads: 1, ...(this.#dataAddress === undefined ? {} : { dataAddress: this.#dataAddress }) });
  }

  leave(): void {
    this.#channel.send(joinSubject(this.#runId, this.workerId), 'leave', { workerId: this.workerId, reason: 'the test' });
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#channel.close();
    await this.#nc.close();
  }
}

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function coordinatorOf(runId: string, transport: 'nats' | 'direct'): { coordinator: Coordinator; lines: string[] } {
  const lines: string[] = [];
  const coordinator = new Coordinator({
    natsUrl: nats.url,
    runId,
    config: parseRunConfig({ ...baseConfig, training: { allreduce: { transport } } }),
    workers: 2,
    resume: false,
    joinTimeoutMs: 30_000,
    heartbeatTimeoutMs: 30_000,
    stepTimeoutMs: 30_000,
    rejoinTimeoutMs: 30_000,
    checksumEvery: 10,
    heartbeatMs: 200,
    log: (line) => lines.push(line),
  });
  return { coordinator, lines };
}

describe('the coordinator hands out direct links', () => {
  it('a direct run: every assignment carries the addresses in rank order and one 32-byte secret per generation, new in the next', async () => {
    const runId = 'direct-links-1';
    // Joined out of id order: ranks (and so the addresses) follow the sorted ids.
    const b = await StandInWorker.start(runId, 'w-b', '10.0.0.2:29500');
    const a = await StandInWorker.start(runId, 'w-a', '[fd00::1]:29500');
    const { coordinator, lines } = coordinatorOf(runId, 'direct');
    const running = coordinator.run().catch((e: unknown) => e);
    try {
      a.keepJoining();
      b.keepJoining();
      await until('a first assignment', () => a.assigns.length > 0 && b.assigns.length > 0);
      const first = [a.assigns[0]!, b.assigns[0]!];
      expect(first.map((x) => x.rank)).toEqual([0, 1]);
      for (const assign of first) {
        expect(assign.generation).toBe(1);
        expect(assign.links!.addresses).toEqual(['[fd00::1]:29500', '10.0.0.2:29500']);
        expect(assign.links!.secret).toBeInstanceOf(Uint8Array);
        expect(assign.links!.secret.byteLength).toBe(32);
      }
      expect(Buffer.from(first[0]!.links!.secret).equals(Buffer.from(first[1]!.links!.secret))).toBe(true);

      // w-b leaves and comes back as a new process: generation 2, a new secret for both members.
      b.pid = 2002;
      b.leave();
      await until('the assignments of generation 2', () => a.assigns.some((x) => x.generation === 2) && b.assigns.some((x) => x.generation === 2));
      const second = [a.assigns.find((x) => x.generation === 2)!, b.assigns.find((x) => x.generation === 2)!];
      expect(second[0]!.links!.addresses).toEqual(['[fd00::1]:29500', '10.0.0.2:29500']);
      expect(Buffer.from(second[0]!.links!.secret).equals(Buffer.from(second[1]!.links!.secret))).toBe(true);
      expect(Buffer.from(second[0]!.links!.secret).equals(Buffer.from(first[0]!.links!.secret))).toBe(false);
      // Each generation's log line names the route (what deploy/test.sh greps for).
      await until('the log line of generation 2', () => lines.some((l) => /^generation 2 /.test(l)));
      for (const n of [1, 2]) expect(lines.find((l) => l.startsWith(`generation ${n} `))).toMatch(/; all-reduce over direct links$/);
    } finally {
      coordinator.interrupt('SIGINT');
      await running;
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('a run through NATS sends no links, whether or not the workers offered an address', async () => {
    const runId = 'direct-links-2';
    const a = await StandInWorker.start(runId, 'w-a', '10.0.0.1:29500');
    const b = await StandInWorker.start(runId, 'w-b', undefined);
    const { coordinator, lines } = coordinatorOf(runId, 'nats');
    const running = coordinator.run().catch((e: unknown) => e);
    try {
      a.keepJoining();
      b.keepJoining();
      await until('the assignments', () => a.assigns.length > 0 && b.assigns.length > 0);
      expect(a.assigns[0]).not.toHaveProperty('links');
      expect(b.assigns[0]).not.toHaveProperty('links');
      expect(lines.find((l) => l.startsWith('generation 1 '))).toMatch(/; all-reduce through NATS$/);
    } finally {
      coordinator.interrupt('SIGINT');
      await running;
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('a direct run with a worker that offered no data address fails at formation, naming it, and assigns nothing', async () => {
    const runId = 'direct-links-3';
    const a = await StandInWorker.start(runId, 'w-a', '10.0.0.1:29500');
    const old = await StandInWorker.start(runId, 'w-old', undefined);
    const { coordinator } = coordinatorOf(runId, 'direct');
    const running = coordinator.run().catch((e: unknown) => e);
    try {
      a.keepJoining();
      old.keepJoining();
      const error = await running;
      expect(error).toBeInstanceOf(ClusterError);
      expect((error as Error).message).toMatch(/^generation 1: worker w-old \(rank 1\) offered no data address.*training\.allreduce\.transport to "nats"/);
      expect(a.assigns).toEqual([]);
      expect(old.assigns).toEqual([]);
    } finally {
      await a.close();
      await old.close();
    }
  }, 60_000);
});
