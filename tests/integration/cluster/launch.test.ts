import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedMemoryMapper } from '@gradmesh/transport';
import { CLI, ClusterHarness, mlpConfig, writeImageData } from './harness.js';

/**
 * `gradmesh launch`: the one-machine default (its own nats-server, a coordinator and N workers as child
 * processes). Deterministic end to end, the report contract, a missing nats-server, Ctrl-C.
 */
let h: ClusterHarness;
let config: string;

beforeAll(async () => {
  h = await ClusterHarness.start(false);
  writeImageData(h, 400);
  // 320 training samples, batch 16 → 20 steps an epoch; microBatch 8 → one micro-batch per rank with N = 2.
  config = h.file('mlp.json', mlpConfig({ epochs: 2, batchSize: 16, validationSplit: 0.2, microBatch: 8 }));
  const throughNats = JSON.parse(readFileSync(config, 'utf8'));
  throughNats.training.allreduce = { ...(throughNats.training.allreduce ?? {}), transport: 'nats' };
  h.file('mlp-nats.json', JSON.stringify(throughNats));
  const encrypted = JSON.parse(readFileSync(config, 'utf8'));
  encrypted.training.allreduce = { ...(encrypted.training.allreduce ?? {}), linkEncryption: 'tls' };
  h.file('mlp-tls.json', JSON.stringify(encrypted));
});
afterAll(async () => h?.close());

function gradmesh(...args: string[]) {
  return gradmeshWith({}, ...args);
}

function gradmeshWith(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: h.dir, encoding: 'utf8', timeout: 180_000, env: { ...process.env, GRADMESH_THREADS: '1', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ordered pairs of the 2-worker runs whose pieces go through shared memory: both, where segments can be mapped. */
const viaMemory = 'reason' in sharedMemoryMapper() ? 0 : 2;

describe('gradmesh launch', () => {
  it('the same launch run — steps sent ahead or one by one, through NATS, over encrypted links — gives the same paramsChecksum, equal to gradmesh train; the report has the cluster fields and the replicas agree', () => {
    const a = gradmesh('launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--report', 'a.json', '--checksum-every', '7');
    expect(a.code, a.stderr).toBe(0);
    // Note [steps are sent ahead]: the commands' timing changes, not their order or content.
    const b = gradmeshWith({ GRADMESH_STEP_AHEAD: 'off' }, 'launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--report', 'b.json');
    expect(b.code, b.stderr).toBe(0);
    // Note [two paths for the same pieces]: through nats-server instead of over direct links (the default), the same bits.
    const d = gradmesh('launch', '--config', 'mlp-nats.json', '--workers', '2', '--threads', '1', '--report', 'd.json');
    expect(d.code, d.stderr).toBe(0);
    // Note [encrypted links]: the same frames inside TLS, the same bits.
    const e = gradmesh('launch', '--config', 'mlp-tls.json', '--workers', '2', '--threads', '1', '--report', 'e.json');
    expect(e.code, e.stderr).toBe(0);
    // Note [pieces through shared memory]: the two workers share this host; over the links alone, the same bits.
    const f = gradmeshWith({ GRADMESH_SHARED_MEMORY: 'off' }, 'launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--report', 'f.json');
    expect(f.code, f.stderr).toBe(0);
    const t = gradmesh('train', '--config', 'mlp.json', '--threads', '1', '--report', 't.json');
    expect(t.code, t.stderr).toBe(0);
    const rd = JSON.parse(readFileSync(h.path('d.json'), 'utf8'));
    expect(rd.paramsChecksum).toBe(JSON.parse(readFileSync(h.path('t.json'), 'utf8')).paramsChecksum);
    expect(rd.allreduce).toEqual({ transport: 'nats', linkEncryption: 'none', compression: 'none' });
    expect(rd.events.find((e: { kind: string }) => e.kind === 'generation').detail).toMatch(/; all-reduce through NATS$/);
    expect(rd.replicaChecksumsAgree).toBe(true);
    const re = JSON.parse(readFileSync(h.path('e.json'), 'utf8'));
    expect(re.paramsChecksum).toBe(rd.paramsChecksum);
    expect(re.allreduce).toEqual({ transport: 'direct', linkEncryption: 'tls', compression: 'none', pairsThroughSharedMemory: viaMemory, pairs: 2 });
    expect(re.events.find((ev: { kind: string }) => ev.kind === 'generation').detail).toMatch(/; all-reduce over direct links \(TLS\)$/);
    const ra = JSON.parse(readFileSync(h.path('a.json'), 'utf8'));
    const rb = JSON.parse(readFileSync(h.path('b.json'), 'utf8'));
    const rt = JSON.parse(readFileSync(h.path('t.json'), 'utf8'));
    expect(ra.paramsChecksum).toMatch(/^[0-9a-f]{64}$/);
    expect(rb.paramsChecksum).toBe(ra.paramsChecksum);
    // One micro-batch per rank: the cluster adds exactly what one process adds, in the same order.
    expect(ra.paramsChecksum).toBe(rt.paramsChecksum);
    expect(ra.history.map((e: { trainLoss: number }) => e.trainLoss)).toEqual(rt.history.map((e: { trainLoss: number }) => e.trainLoss));
    for (const field of Object.keys(rt)) if (field !== 'stoppedEarly') expect(ra, field).toHaveProperty(field);
    expect(ra.workers).toBe(2);
    expect(ra.steps).toBe(40);
    // Two epochs of 20 steps: every step but an epoch's first was sent ahead; none with GRADMESH_STEP_AHEAD=off.
    expect(ra.stepsSentAhead).toBe(38);
    expect(rb.stepsSentAhead).toBe(0);
    expect(ra.replicaChecksumsAgree).toBe(true);
    // Start, steps 7/14/…/35, the last step, and two epoch ends.
    expect(ra.checksumComparisons).toBe(1 + 5 + 1 + 2);
    expect(ra.perWorker.map((w: { rank: number; workerId: string }) => [w.rank, w.workerId])).toEqual([[0, 'w0'], [1, 'w1']]);
    for (const w of ra.perWorker) {
      expect(w.steps).toBe(40);
      expect(w.threads).toBe(1);
      for (const k of ['computeSeconds', 'allreduceSeconds', 'exposedAllreduceSeconds', 'waitSeconds']) expect(Number.isFinite(w[k]), k).toBe(true);
      expect(w.computeSeconds).toBeGreaterThan(0);
    }
    // Note [step-time breakdown]: compute + the exposed part of the all-reduce + wait = the steps' wall time.
    expect(ra.computeSeconds + ra.exposedAllreduceSeconds + ra.waitSeconds).toBeCloseTo(ra.stepWallSeconds, 6);
    expect(ra.exposedAllreduceSeconds).toBeLessThanOrEqual(ra.allreduceSeconds);
    expect(ra.allreduceOverlap).toBeGreaterThanOrEqual(0);
    // The path the gradient pieces took: the default transport, direct links between the workers.
    // Note [paths in the report]: both ordered pairs through shared memory (when the native addon maps segments here).
    expect(ra.allreduce).toEqual({ transport: 'direct', linkEncryption: 'none', compression: 'none', pairsThroughSharedMemory: viaMemory, pairs: 2 });
    expect(ra.perWorker.map((w: { peersThroughSharedMemory: number; peersOverLinks: number }) => [w.peersThroughSharedMemory, w.peersOverLinks])).toEqual([
      [viaMemory / 2, 1 - viaMemory / 2],
      [viaMemory / 2, 1 - viaMemory / 2],
    ]);
    const rf = JSON.parse(readFileSync(h.path('f.json'), 'utf8'));
    expect(rf.paramsChecksum).toBe(ra.paramsChecksum);
    expect(rf.allreduce).toEqual({ transport: 'direct', linkEncryption: 'none', compression: 'none', pairsThroughSharedMemory: 0, pairs: 2 });
    expect(a.stdout + a.stderr).toMatch(viaMemory === 2 ? /rank 0 sends pieces to rank 1 through shared memory \(same host\)/ : /rank 0 sends pieces to rank 1 over the links/);
    expect(f.stdout + f.stderr).toMatch(/rank 0 sends pieces to rank 1 over the links \(turned off by GRADMESH_SHARED_MEMORY=off\)/);
    expect(ra.events.find((e: { kind: string }) => e.kind === 'generation').detail).toMatch(/; all-reduce over direct links$/);
    expect(a.stdout).toMatch(/\[coordinator\] test accuracy [\d.]+%/);
    expect(a.stderr).toMatch(/\[w0\] worker w0: run completed/);
  });

  it('without nats-server says how to install it, in one line, with exit code 2', () => {
    const r = gradmesh('launch', '--config', 'mlp.json', '--workers', '2', '--nats-server', '/nonexistent/nats-server');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/nats-server not found.*install it: apt-get install nats-server/);
  });

  it('Ctrl-C (SIGINT) stops the coordinator, the workers and nats-server; the exit code is the coordinator\'s', async () => {
    const long = h.file('long.json', mlpConfig({ epochs: 50, batchSize: 8, validationSplit: 0.2, microBatch: 4 }));
    const child = spawn(process.execPath, [CLI, 'launch', '--config', long, '--workers', '2', '--threads', '1'], { cwd: h.dir, env: { ...process.env, GRADMESH_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/epoch 1\/50/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(output).toMatch(/epoch 1\/50/);
    const pids = [...output.matchAll(/joined \(pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(2);
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code).toBe(1);
    expect(output).toMatch(/\[coordinator\] gradmesh: ClusterError: interrupted by SIGINT at step \d+/);
    expect(output).toMatch(/\[w0\] gradmesh: worker w0: the coordinator stopped the run \(interrupted\)/);
    for (const pid of pids) expect(alive(pid), `worker pid ${pid}`).toBe(false);
  });
});
