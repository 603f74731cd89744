import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * deploy/podman/pods-from-manifests.mjs turns the rendered overlay into the Pods deploy/test.sh plays: one per
 * pod the workloads would create, named as Kubernetes names them except a Service's only pod, which takes the
 * Service's name; env resolved as the kubelet resolves it; Secrets carried as ConfigMaps with decoded values;
 * emptyDirs private to their pod; with --env-as-flags, GRADMESH_* also passed as the flags the help lists.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const haveKubectl = spawnSync('kubectl', ['version', '--client']).status === 0;
const haveBuild = spawnSync('node', [path.join(ROOT, 'bin/gradmesh.js'), '--help']).status === 0;
const dir = mkdtempSync(path.join(tmpdir(), 'gradmesh-pods-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Doc = Record<string, any>;
function convert(extra: string[] = []): { lines: string[]; stderr: string; pods: Map<string, Doc[]> } {
  const rendered = execFileSync('kubectl', ['kustomize', path.join(ROOT, 'deploy/k8s/overlays/local')], { encoding: 'utf8' });
  const secrets = execFileSync('bash', [path.join(ROOT, 'deploy/k8s/auth-secret.sh'), path.join(ROOT, 'deploy/k8s/overlays/local')], { encoding: 'utf8' });
  writeFileSync(path.join(dir, 'rendered.yaml'), `${rendered}---\n${secrets}`);
  const out = path.join(dir, `out${extra.length}`);
  const r = spawnSync('node', [path.join(ROOT, 'deploy/podman/pods-from-manifests.mjs'), path.join(dir, 'rendered.yaml'), out, ...extra], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  const pods = new Map(lines.filter((l) => !l.startsWith('volumes ')).map((l) => {
    const name = l.split(' ')[0]!;
    return [name, parseAllDocuments(readFileSync(path.join(out, `pod-${name}.yaml`), 'utf8')).map((d) => d.toJS() as Doc)];
  }));
  return { lines, stderr: r.stderr, pods };
}
const podOf = (docs: Doc[]) => docs.find((d) => d.kind === 'Pod')!;

describe.skipIf(!haveKubectl || !haveBuild)('deploy/podman/pods-from-manifests.mjs', () => {
  it('makes one Pod per pod: the worker indexes, the coordinator, and NATS under its Service name', () => {
    const { lines } = convert();
    expect(lines).toEqual([
      'gradmesh-nats StatefulSet/gradmesh-nats data-gradmesh-nats-0',
      'gradmesh-coordinator Job/gradmesh-coordinator gradmesh-coordinator-state gradmesh-coordinator-tmp',
      'gradmesh-worker-0 Job/gradmesh-worker gradmesh-worker-0-state gradmesh-worker-0-tmp',
      'gradmesh-worker-1 Job/gradmesh-worker gradmesh-worker-1-state gradmesh-worker-1-tmp',
      expect.stringMatching(/^volumes gradmesh-nats-config-\w+ gradmesh-run-config-\w+ gradmesh-run-\w+ gradmesh-nats-auth gradmesh-nats-worker-auth$/),
    ]);
  });

  it('resolves env like the kubelet and carries Secrets as ConfigMaps with the decoded values', () => {
    const { pods } = convert();
    const docs = pods.get('gradmesh-worker-1')!;
    const env = Object.fromEntries(podOf(docs).spec.containers[0].env.map((e: Doc) => [e.name, e.value]));
    expect(env).toMatchObject({ WORKER_INDEX: '1', GRADMESH_ID: 'gradmesh-worker-1', GRADMESH_RUN: 'mnist-mlp', GRADMESH_NATS_CREDS: '/etc/gradmesh/auth/worker-gradmesh-worker-1.nk', GRADMESH_DATA_PORT: '29500' });
    // The pod IP (status.podIP) is not known before the pod runs: left out, the worker takes its NATS connection's local address.
    expect(env).not.toHaveProperty('GRADMESH_DATA_HOST');
    const auth = podOf(docs).spec.volumes.find((v: Doc) => v.name === 'auth');
    expect(auth).toEqual({ name: 'auth', configMap: { name: 'gradmesh-nats-worker-auth' } });
    const carried = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'gradmesh-nats-worker-auth')!;
    expect(carried.data['worker-gradmesh-worker-1.nk']).toMatch(/^SU[A-Z2-7]+\n$/); // an nkey user seed, not base64 of one
    expect(podOf(docs).spec.containers[0].livenessProbe).toBeUndefined();
    expect(podOf(docs).spec.containers[0].ports).toBeUndefined();
  });

  it('passes GRADMESH_* as flags only where the help lists them', () => {
    mkdirHelp();
    const { pods, stderr } = convert(['--env-as-flags', path.join(dir, 'help')]);
    expect(podOf(pods.get('gradmesh-worker-0')!).spec.containers[0].args).toEqual(['worker', '--nats', 'nats://gradmesh-nats:4222', '--run', 'mnist-mlp', '--id', 'gradmesh-worker-0', '--nats-creds', '/etc/gradmesh/auth/worker-gradmesh-worker-0.nk']);
    expect(stderr).toContain('gradmesh-worker-0: GRADMESH_HEALTH_PORT not passed');
    expect(podOf(pods.get('gradmesh-nats')!).spec.containers[0].args).toEqual(['-c', '/etc/nats/conf/nats.conf']);
  });
});

function mkdirHelp(): void {
  execFileSync('mkdir', ['-p', path.join(dir, 'help')]);
  writeFileSync(path.join(dir, 'help/worker.txt'), '  --nats <url>  x\n  --run <id>  x\n  --id <id>  x\n  --nats-creds <file>  x\n');
  writeFileSync(path.join(dir, 'help/coordinator.txt'), '  --nats <url>  x\n  --run <id>  x\n');
}
