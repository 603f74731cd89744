import { Objm } from '@nats-io/obj';
import { jetstream } from '@nats-io/jetstream';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PermissionViolationError, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsConnectOptions, resolveNatsCredentials } from '../../../transport/src/credentials.js';
import { NatsObjectCheckpointStore } from '../../../transport/src/jetstream/nats-object-checkpoint-store.js';
import { checkpointBucket } from '../../../transport/src/jetstream/bucket-names.js';
import { RunStateStore } from '../../../transport/src/jetstream/run-state-store.js';
import { CLI, ClusterHarness, mlpConfig, writeImageData } from '../cluster/harness.js';

/**
 * The identities of `gradmesh auth init` on a real nats-server (Note [who may say what]): the server refuses
 * what a role may not say, lets through what it may — the JetStream stores included — and a whole run with
 * these identities (nkey seeds given as --nats-creds) completes without a single violation in the server's log.
 */
const RUN = 'sec-b';
let h: ClusterHarness;
let server: ChildProcess;
let serverLog = '';
let url = '';
const opened: NatsConnection[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function as(identity: string): Promise<NatsConnection> {
  const credentials = resolveNatsCredentials({ 'nats-creds': h.path(`auth/${identity}.nk`) }, {});
  const nc = await connect({ servers: url, reconnect: false, ...natsConnectOptions(credentials) });
  opened.push(nc);
  return nc;
}

/** The permission errors the server reports to `nc` while `action` runs (async -ERR, seen on the status iterator). */
async function violations(nc: NatsConnection, action: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const iterator = nc.status();
  const done = (async () => {
    for await (const s of iterator) if (s.type === 'error' && s.error instanceof PermissionViolationError) seen.push(s.error.message);
  })();
  await action();
  await nc.flush();
  await new Promise((r) => setTimeout(r, 200));
  (iterator as unknown as { stop(): void }).stop();
  await done.catch(() => undefined);
  return seen;
}

beforeAll(async () => {
  h = await ClusterHarness.start(false);
  writeImageData(h, 400);
  h.file('mlp.json', mlpConfig({ epochs: 2, batchSize: 16, validationSplit: 0.2, microBatch: 8, checkpointEverySteps: 10 }));
  const init = spawnSync(process.execPath, [CLI, 'auth', 'init', '--run', RUN, '--workers', '2', '--out', h.path('auth')], { encoding: 'utf8' });
  expect(init.status, init.stderr).toBe(0);
  const port = await freePort();
  writeFileSync(h.path('auth/server.conf'), `listen: "127.0.0.1:${port}"\njetstream { store_dir: ${JSON.stringify(h.path('js'))} }\ninclude ./authorization.conf\n`);
  server = spawn('nats-server', ['-c', h.path('auth/server.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr!.on('data', (d: Buffer) => (serverLog += d.toString()));
  url = `nats://127.0.0.1:${port}`;
  for (let i = 0; i < 200 && !/Server is ready/.test(serverLog); i++) await new Promise((r) => setTimeout(r, 25));
  expect(serverLog).toMatch(/Server is ready/);
});
afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => undefined);
  server?.kill('SIGTERM');
  await h?.close();
});

describe('gradmesh auth init', () => {
  it('writes one seed per identity, mode 0600, and an authorization block nats-server accepts', () => {
    for (const f of ['coordinator.nk', 'worker-w0.nk', 'worker-w1.nk', 'status.nk']) {
      expect(statSync(h.path(`auth/${f}`)).mode & 0o777, f).toBe(0o600);
      expect(readFileSync(h.path(`auth/${f}`), 'utf8')).toMatch(/^SU[A-Z2-7]+\n$/);
    }
    const conf = readFileSync(h.path('auth/authorization.conf'), 'utf8');
    // An nkey seed is a 58-character token starting SU; a public key (56 characters) may contain "SU" by chance.
    expect(conf).not.toMatch(/(?<![A-Z2-7])SU[A-Z2-7]{56}(?![A-Z2-7])/); // public keys only
    expect(spawnSync('nats-server', ['-c', h.path('auth/server.conf'), '-t'], { encoding: 'utf8' }).stderr).toMatch(/is valid/);
  });
});

describe('subject permissions of a run', () => {
  it("a worker's identity cannot publish the coordinator's subjects, another run's, or listen to another worker's assignment; the server refuses", async () => {
    const nc = await as('worker-w0');
    const seen = await violations(nc, async () => {
      for (const s of [`gradmesh.${RUN}.step`, `gradmesh.${RUN}.shutdown`, `gradmesh.${RUN}.assign.w1`, `gradmesh.${RUN}.heartbeat.workers`, `gradmesh.${RUN}.eval`, 'gradmesh.other-run.join.w0']) nc.publish(s, new Uint8Array(1));
      nc.subscribe(`gradmesh.${RUN}.assign.w1`);
    });
    const text = seen.join('\n');
    for (const s of ['step', 'shutdown', 'assign.w1', 'heartbeat.workers', 'eval']) expect(text).toContain(`Publish to "gradmesh.${RUN}.${s}"`);
    expect(text).toContain('Publish to "gradmesh.other-run.join.w0"');
    expect(text).toMatch(/Subscription to "gradmesh\.sec-b\.assign\.w1"/);
  });

  it("what a worker may say arrives (join, pieces); it cannot speak as another worker (the subject's sender is its own id); the coordinator's identity cannot speak for a worker; status may only ask", async () => {
    const coordinator = await as('coordinator');
    const worker = await as('worker-w1');
    const got: string[] = [];
    coordinator.subscribe(`gradmesh.${RUN}.join.*`, { callback: (_e, m) => void got.push(m.subject) });
    const peer = await as('worker-w0');
    peer.subscribe(`gradmesh.${RUN}.rs.*.*`, { callback: (_e, m) => void got.push(m.subject) });
    await coordinator.flush();
    await peer.flush();
    expect(await violations(worker, async () => {
      worker.publish(`gradmesh.${RUN}.join.w1`, new Uint8Array(1));
      worker.publish(`gradmesh.${RUN}.rs.0.w1`, new Uint8Array(1));
    })).toEqual([]);
    await coordinator.flush();
    await peer.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(got.sort()).toEqual([`gradmesh.${RUN}.join.w1`, `gradmesh.${RUN}.rs.0.w1`]);
    // Worker w1 speaking as w0: refused by the server on every worker-published family (Note [the sender is in the subject]).
    const impersonated = await violations(worker, async () => {
      for (const s of ['join.w0', 'step-done.w0', 'heartbeat.coordinator.w0', 'error.w0', 'rs.1.w0', 'ag.0.w0', 'state.w0']) worker.publish(`gradmesh.${RUN}.${s}`, new Uint8Array(1));
    });
    expect(impersonated).toHaveLength(7);
    const forged = await violations(coordinator, async () => {
      for (const s of ['step-done.w0', 'rs.0.w0', 'ag.1.w1', 'join.w0']) coordinator.publish(`gradmesh.${RUN}.${s}`, new Uint8Array(1));
    });
    expect(forged).toHaveLength(4);
    const status = await as('status');
    expect(await violations(status, async () => status.publish(`gradmesh.${RUN}.step`, new Uint8Array(1)))).toHaveLength(1);
  });

  it("a worker may use its run's JetStream stores (KV put/get/keys, object put/get/list) and not another run's", async () => {
    const nc = await as('worker-w0');
    const state = await RunStateStore.open(nc, RUN);
    await state.registerWorker({ workerId: 'w0', pid: 1, host: 'h' });
    expect((await state.workers()).map((w) => w.workerId)).toEqual(['w0']);
    await state.deregisterWorker('w0');
    const store = await NatsObjectCheckpointStore.open(nc, RUN);
    const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
    await store.put('ckpt-0000000001.safetensors', bytes);
    expect(Buffer.from(await store.get('ckpt-0000000001.safetensors')).equals(Buffer.from(bytes))).toBe(true);
    expect((await store.list()).map((c) => c.step)).toEqual([1]);
    // Leave the store empty again: a fresh run refuses a store holding another run's checkpoints (run-bound
    // checkpoints), and the next test starts one in this run's store.
    await (await new Objm(jetstream(nc)).open(checkpointBucket(RUN))).delete('ckpt-0000000001.safetensors');
    expect(await store.list()).toEqual([]);
    await expect(RunStateStore.open(nc, 'other-run')).rejects.toThrow();
    // The server logs the refusal too (asynchronously; the next test reads the log from here on).
    for (let i = 0; i < 100 && !serverLog.includes('KV_gradmesh-other-run-state'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(serverLog).toMatch(/Publish Violation .*\$JS\.API\.STREAM\.INFO\.KV_gradmesh-other-run-state/);
  });

  it('a whole run with the auth init identities (nkey seeds as --nats-creds) completes with checkpoints in NATS, without one violation in the server log', async () => {
    const logFrom = serverLog.length; // the tests above provoked violations on purpose
    const creds = (id: string) => ['--nats-creds', h.path(`auth/${id}.nk`)];
    const coordinator = h.spawn('coordinator', ['coordinator', '--nats', url, '--run', RUN, '--config', 'mlp.json', '--workers', '2', '--checkpoint-store', 'nats', ...creds('coordinator')]);
    const workers = ['w0', 'w1'].map((id) => h.spawn(id, ['worker', '--nats', url, '--run', RUN, '--id', id, '--threads', '1', ...creds(`worker-${id}`)]));
    const exit = await coordinator.exit(120_000);
    expect(exit.code, coordinator.output).toBe(0);
    for (const w of workers) expect((await w.exit(30_000)).code, w.output).toBe(0);
    expect(coordinator.output).toMatch(/coordinator of run "sec-b" on nats:\/\/127\.0\.0\.1:\d+ \(creds /);
    expect(coordinator.output).toMatch(/checkpoint/i);
    expect(serverLog.slice(logFrom)).not.toMatch(/Violation/);
  });
});
