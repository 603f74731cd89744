import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ClusterHarness, mlpConfig, writeImageData } from '../cluster/harness.js';

/**
 * `gradmesh launch` starts its nats-server with authorization by default (Note [launch is authenticated]):
 * nobody without the run's credentials gets in, a refused identity is one line without the secret, and an
 * authenticated run trains exactly like an --insecure one.
 */
let h: ClusterHarness;

beforeAll(async () => {
  h = await ClusterHarness.start(false);
  writeImageData(h, 400);
  h.file('mlp.json', mlpConfig({ epochs: 2, batchSize: 16, validationSplit: 0.2, microBatch: 8 }));
  h.file('long.json', mlpConfig({ epochs: 200, batchSize: 8, validationSplit: 0.2, microBatch: 4 }));
});
afterAll(async () => h?.close());

function gradmesh(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: h.dir, encoding: 'utf8', timeout: 180_000, env: { ...process.env, GRADMESH_THREADS: '1', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('a launched run\'s nats-server', () => {
  let child: ChildProcess | undefined;
  let url = '';
  let runDir = '';

  beforeAll(async () => {
    child = spawn(process.execPath, [CLI, 'launch', '--config', 'long.json', '--workers', '2', '--threads', '1', '--run', 'sec-a'], { cwd: h.dir, env: { ...process.env, GRADMESH_THREADS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no nats-server line from launch: ${stderr}`)), 30_000);
      child!.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /launch: nats-server \S+ on (nats:\/\/127\.0\.0\.1:\d+) \(JetStream in (\S+);/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          [url, runDir] = [m[1]!, m[2]!];
          resolve();
        }
      });
    });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
  });

  it('refuses a client without credentials; its config holding the passwords is readable by this user only', async () => {
    await expect(connect({ servers: url, reconnect: false, timeout: 5_000 })).rejects.toThrow(/authorization/i);
    expect(statSync(`${runDir}/nats-server.conf`).mode & 0o777).toBe(0o600);
  });

  it('a wrong password: gradmesh status fails in one line, exit 2, and the password appears nowhere', () => {
    const secret = 'wrong-SECRET-7f3a9c';
    for (const r of [
      gradmesh(['status', '--nats', url, '--run', 'sec-a', '--nats-user', 'coordinator', '--nats-pass', secret]),
      gradmesh(['status', '--nats', url, '--run', 'sec-a'], { GRADMESH_NATS_USER: 'worker-w0', GRADMESH_NATS_PASS: secret }),
    ]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/NATS credentials: the server at nats:\/\/127\.0\.0\.1:\d+ refused them/);
      expect(r.stderr + r.stdout).not.toContain(secret);
    }
  });
});

describe('an authenticated launch trains exactly like an --insecure one', () => {
  it('launch --workers 2 (checkpoints in NATS) with and without authorization: the same paramsChecksum, replicas agree', () => {
    const secure = gradmesh(['launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--report', 'secure.json', '--checkpoint-store', 'nats']);
    expect(secure.code, secure.stderr).toBe(0);
    expect(secure.stderr).toMatch(/authorization: a coordinator user and 2 worker user\(s\)/);
    const insecure = gradmesh(['launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--report', 'insecure.json', '--checkpoint-store', 'nats', '--insecure']);
    expect(insecure.code, insecure.stderr).toBe(0);
    expect(insecure.stderr).toMatch(/no authorization \(--insecure\)/);
    const a = JSON.parse(readFileSync(h.path('secure.json'), 'utf8'));
    const b = JSON.parse(readFileSync(h.path('insecure.json'), 'utf8'));
    expect(a.paramsChecksum).toMatch(/^[0-9a-f]{64}$/);
    expect(a.paramsChecksum).toBe(b.paramsChecksum);
    expect(a.replicaChecksumsAgree).toBe(true);
    expect(a.steps).toBe(40);
  });
});
