import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableCpus, formatCpuList, machineCpuBinding, parseCpuList } from '../../../shared/src/internal.js';
import { CLI, ClusterHarness, mlpConfig, writeImageData } from './harness.js';

/**
 * Note [workers bound to cores]: `launch` starts worker k on its own block of CPUs (every thread of it, from its
 * first instruction), `--cpu-bind none` leaves them to the scheduler, and binding changes no bit of the result.
 */
let h: ClusterHarness;
let long: string;
let short: string;

beforeAll(async () => {
  h = await ClusterHarness.start(false);
  writeImageData(h, 400);
  long = h.file('long.json', mlpConfig({ epochs: 50, batchSize: 8, validationSplit: 0.2, microBatch: 4 }));
  short = h.file('short.json', mlpConfig({ epochs: 1, batchSize: 16, validationSplit: 0.2, microBatch: 8 }));
});
afterAll(async () => h?.close());

const env = { ...process.env, GRADMESH_THREADS: '1' };

/** The CPUs each thread of process `pid` may run on, as CPU lists (one entry per distinct mask). */
function threadMasks(pid: number): string[] {
  const masks = new Set<string>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    masks.add(formatCpuList(parseCpuList(/^Cpus_allowed_list:\s*(.+)$/m.exec(status)![1]!)!));
  }
  return [...masks];
}

/** The pids of the run's worker processes, by worker id. */
function workerPids(runId: string): Map<string, number> {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  const pids = new Map<string, number>();
  for (const line of ps.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+.*\bworker\b.*--run (\S+).*--id (w\d+)/.exec(line);
    if (m !== null && m[2] === runId) pids.set(m[3]!, Number(m[1]));
  }
  return pids;
}

/** Launches the long config, reads each worker's thread masks once training runs, then stops it. */
async function masksOfLaunch(extra: readonly string[]): Promise<{ masks: Map<string, string[]>; output: string }> {
  const runId = h.runId('bind');
  const child = spawn(process.execPath, [CLI, 'launch', '--config', long, '--workers', '2', '--threads', '1', '--run', runId, '--insecure', ...extra], { cwd: h.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + 60_000;
    while (!/epoch 1\/50/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(output).toMatch(/epoch 1\/50/);
    const masks = new Map<string, string[]>();
    for (const [id, pid] of workerPids(runId)) masks.set(id, threadMasks(pid));
    return { masks, output };
  } finally {
    child.kill('SIGINT');
    await exited;
  }
}

describe('gradmesh launch --cpu-bind', () => {
  it('binds every thread of worker k to block k of the allowed CPUs, the blocks disjoint (or says why it cannot)', async () => {
    const plan = machineCpuBinding(2, 1, availableCpus());
    const { masks, output } = await masksOfLaunch([]);
    expect([...masks.keys()].sort()).toEqual(['w0', 'w1']);
    if (plan.bound) {
      expect(output).toContain(`launch: workers bound to CPUs w0: ${formatCpuList(plan.sets[0]!)}, w1: ${formatCpuList(plan.sets[1]!)}`);
      expect(masks.get('w0')).toEqual([formatCpuList(plan.sets[0]!)]);
      expect(masks.get('w1')).toEqual([formatCpuList(plan.sets[1]!)]);
      const w0 = new Set(plan.sets[0]);
      expect(plan.sets[1]!.some((cpu) => w0.has(cpu))).toBe(false);
    } else {
      // One CPU, or no taskset: launch says so, and the workers keep the launcher's CPUs.
      expect(output).toContain(`launch: workers not bound to CPUs: ${plan.reason}`);
      expect(masks.get('w0')).toEqual(threadMasks(process.pid).slice(0, 1));
    }
  }, 120_000);

  it('--cpu-bind none leaves every worker thread on all the CPUs the launcher may use', async () => {
    const own = threadMasks(process.pid);
    expect(own).toHaveLength(1);
    const { masks, output } = await masksOfLaunch(['--cpu-bind', 'none']);
    expect(output).not.toMatch(/workers (not )?bound to CPUs/);
    for (const id of ['w0', 'w1']) expect(masks.get(id), id).toEqual(own);
  }, 120_000);

  it('binding changes no bit of the trained parameters', () => {
    const run = (name: string, bind: string) => {
      const r = spawnSync(process.execPath, [CLI, 'launch', '--config', short, '--workers', '2', '--threads', '1', '--insecure', '--cpu-bind', bind, '--report', name], { cwd: h.dir, env, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(readFileSync(h.path(name), 'utf8')) as { paramsChecksum: string; steps: number };
    };
    const bound = run('bound.json', 'cores');
    const floating = run('floating.json', 'none');
    expect(bound.steps).toBeGreaterThan(0);
    expect(bound.paramsChecksum).toBe(floating.paramsChecksum);
  }, 240_000);

  it('refuses a --cpu-bind it does not know, in one line, with exit code 2, before starting anything', () => {
    const r = spawnSync(process.execPath, [CLI, 'launch', '--config', short, '--workers', '2', '--cpu-bind', 'sockets'], { cwd: h.dir, env, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('--cpu-bind');
    expect(lines[0]).toContain('sockets');
  });
});
