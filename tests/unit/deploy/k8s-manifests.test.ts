import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateObject } from './k8s-schema.js';

/**
 * deploy/k8s renders with `kubectl kustomize` for every overlay, and every rendered object is valid against
 * the Kubernetes schemas of kubernetes-models (pinned in package.json) with no field those schemas do not
 * define (Note [unknown fields] in k8s-schema.ts). Also what the overlays promise: the world size is one field
 * (MAX → worker replicas, MIN → PodDisruptionBudget), every container is locked down, and the Secret written by
 * deploy/k8s/auth-secret.sh (`gradmesh auth init`) holds every key the pods mount.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const K8S = path.join(ROOT, 'deploy/k8s');
const OVERLAYS = readdirSync(path.join(K8S, 'overlays')).sort();
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const haveKubectl = kubectl.status === 0;
if (!haveKubectl) console.warn('deploy/k8s tests skipped: kubectl is not installed (kubectl kustomize renders the overlays; any kubectl ≥ 1.27 will do)');

type K8sObject = Record<string, any>;

function render(overlay: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', path.join(K8S, 'overlays', overlay)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject).filter((o) => o !== null);
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && (o.metadata.name.replace(/-[a-z0-9]{10}$/, '') === name));
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

function podSpecs(objects: K8sObject[]): { owner: string; spec: K8sObject }[] {
  return objects.filter((o) => o.spec?.template?.spec).map((o) => ({ owner: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec }));
}

describe.skipIf(!haveKubectl)('deploy/k8s overlays', () => {
  it('has the dev, local and scaling overlays', () => {
    expect(OVERLAYS).toEqual(expect.arrayContaining(['dev', 'local', 'scaling-1', 'scaling-2', 'scaling-4', 'scaling-8', 'elastic']));
  });

  for (const overlay of OVERLAYS) {
    describe(overlay, () => {
      const objects = render(overlay);

      it('renders NATS, the coordinator, the workers and their policies, each valid with no unknown field', async () => {
        const kinds = objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
        expect(kinds).toEqual(expect.arrayContaining([
          'ConfigMap/gradmesh-nats-config', 'ConfigMap/gradmesh-run', 'ConfigMap/gradmesh-run-config', 'Job/gradmesh-coordinator',
          'NetworkPolicy/gradmesh-egress-to-nats-only', 'NetworkPolicy/gradmesh-nats-from-gradmesh-only', 'NetworkPolicy/gradmesh-worker-links', 'PodDisruptionBudget/gradmesh-nats',
          'PodDisruptionBudget/gradmesh-worker', 'Service/gradmesh-nats', 'Service/gradmesh-worker', 'StatefulSet/gradmesh-nats', 'Job/gradmesh-worker',
        ]));
        for (const object of objects) expect({ object: `${object.kind}/${object.metadata.name}`, findings: await validateObject(object) }).toEqual({ object: `${object.kind}/${object.metadata.name}`, findings: [] });
      });

      it('takes the world size from GRADMESH_WORKERS alone: MAX worker pods (an Indexed Job), MIN kept through voluntary disruptions', () => {
        const [min, max] = String(find(objects, 'ConfigMap', 'gradmesh-run').data.GRADMESH_WORKERS).split(':').map(Number);
        expect(find(objects, 'Job', 'gradmesh-worker').spec).toMatchObject({ completionMode: 'Indexed', completions: max, parallelism: max });
        expect(find(objects, 'PodDisruptionBudget', 'gradmesh-worker').spec.minAvailable).toBe(min);
      });

      it('gives each worker a link listener on its pod IP, port 29500 (gradmesh-data), that only workers may reach', () => {
        const worker = find(objects, 'Job', 'gradmesh-worker').spec.template.spec.containers[0];
        expect(worker.ports).toContainEqual({ name: 'gradmesh-data', containerPort: 29500, protocol: 'TCP' });
        const env = new Map(worker.env.map((e: K8sObject) => [e.name, e]));
        expect(env.get('GRADMESH_DATA_PORT')).toEqual({ name: 'GRADMESH_DATA_PORT', value: '29500' });
        expect(env.get('GRADMESH_DATA_HOST')).toEqual({ name: 'GRADMESH_DATA_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
        // Kustomize adds the overlay's common labels to every selector; the component label is what picks the workers.
        const component = (selector: K8sObject) => selector.podSelector?.matchLabels?.['app.kubernetes.io/component'] ?? selector.matchLabels?.['app.kubernetes.io/component'];
        const links = find(objects, 'NetworkPolicy', 'gradmesh-worker-links').spec;
        expect(component(links.podSelector)).toBe('worker');
        expect(links.policyTypes).toEqual(['Ingress', 'Egress']);
        for (const [rules, peers] of [[links.ingress, 'from'], [links.egress, 'to']] as const) {
          expect(rules).toHaveLength(1);
          expect(rules[0][peers].map(component), peers).toEqual(['worker']);
          expect(rules[0][peers][0].namespaceSelector, peers).toBeUndefined();
          expect(rules[0].ports, peers).toEqual([{ protocol: 'TCP', port: 29500 }]);
        }
        // No other policy opens a worker's ingress: the coordinator and NATS cannot reach 29500.
        const others = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name !== 'gradmesh-worker-links');
        for (const o of others) {
          const selectsWorkers = JSON.stringify(o.spec.podSelector).includes('"worker"');
          if (selectsWorkers) expect(o.spec.ingress, o.metadata.name).toEqual([]);
        }
      });

      it('runs every container as non-root, read-only, with no capabilities and bounded resources', () => {
        for (const { owner, spec } of podSpecs(objects)) {
          expect(spec.securityContext.runAsNonRoot, owner).toBe(true);
          expect(spec.automountServiceAccountToken, owner).toBe(false);
          for (const c of spec.containers) {
            expect(c.securityContext, `${owner} ${c.name}`).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
            expect(c.resources.limits.cpu && c.resources.limits.memory && c.resources.requests.cpu, `${owner} ${c.name}`).toBeTruthy();
            expect(c.livenessProbe?.httpGet.path, `${owner} ${c.name}`).toBe('/healthz');
            expect(c.readinessProbe?.httpGet.path, `${owner} ${c.name}`).toMatch(/^\/(healthz|readyz)$/);
          }
        }
      });

      it('mounts only keys that deploy/k8s/auth-secret.sh puts in its Secrets, and worker pods get worker seeds only', () => {
        const out = execFileSync('bash', [path.join(K8S, 'auth-secret.sh'), path.join(K8S, 'overlays', overlay)], { encoding: 'utf8' });
        const docs = parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
        const secrets = new Map(docs.map((o) => [o.metadata.name as string, Object.keys(o.data)]));
        expect([...secrets.keys()].sort()).toEqual(['gradmesh-nats-auth', 'gradmesh-nats-worker-auth']);
        expect(secrets.get('gradmesh-nats-auth')!.sort()).toEqual(['authorization.conf', 'coordinator.nk', 'status.nk']);
        const replicas = find(objects, 'Job', 'gradmesh-worker').spec.completions as number;
        expect(secrets.get('gradmesh-nats-worker-auth')!.sort()).toEqual(Array.from({ length: replicas }, (_, i) => `worker-gradmesh-worker-${i}.nk`).sort());
        for (const { owner, spec } of podSpecs(objects)) {
          for (const v of spec.volumes ?? []) {
            if (!v.secret) continue;
            const keys = secrets.get(v.secret.secretName);
            expect(keys, `${owner} mounts ${v.secret.secretName}`).toBeDefined();
            for (const item of v.secret.items ?? []) expect(keys, owner).toContain(item.key);
            if (owner === 'Job/gradmesh-worker') expect(v.secret.secretName).toBe('gradmesh-nats-worker-auth');
          }
        }
        const secret = docs.find((o) => o.metadata.name === 'gradmesh-nats-auth')!;
        const natsConf = String(find(objects, 'ConfigMap', 'gradmesh-nats-config').data['nats.conf']);
        expect(natsConf).toMatch(/^include \.\.\/auth\/authorization\.conf$/m);
        expect(Buffer.from(secret.data['authorization.conf'], 'base64').toString()).toMatch(/authorization\s*\{/);
      });
    });
  }
});

describe.skipIf(!haveKubectl)('the schema check (negative controls)', () => {
  const worker = () => find(render('dev'), 'Job', 'gradmesh-worker');

  it('rejects a misspelled field that kubernetes-models alone accepts', async () => {
    const object = worker();
    object.spec.template.spec.containres = object.spec.template.spec.containers;
    expect(await validateObject(object)).toEqual([{ path: '/spec/template/spec/containres', message: 'unknown field (not in the schema)' }]);
  });

  it('rejects a misspelled field inside a list item and a map-valued field stays free-form', async () => {
    const object = worker();
    object.spec.template.spec.containers[0].imagePulPolicy = 'Never';
    object.metadata.labels['any-label-is-fine'] = 'yes';
    expect(await validateObject(object)).toEqual([{ path: '/spec/template/spec/containers/0/imagePulPolicy', message: 'unknown field (not in the schema)' }]);
  });

  it('rejects a wrong type and a missing required field', async () => {
    const object = worker();
    object.spec.parallelism = 'two';
    delete object.spec.template.spec.containers[0].name;
    const findings = await validateObject(object);
    expect(findings.map((f) => f.path).sort()).toEqual(['/spec/parallelism', '/spec/template/spec/containers/0']);
  });

  it('rejects a kind the schemas do not have', async () => {
    expect(await validateObject({ apiVersion: 'apps/v1', kind: 'StatefullSet', metadata: { name: 'x' } })).toEqual([{ path: '', message: 'no schema for apps/v1 StatefullSet in kubernetes-models' }]);
  });
});

describe.skipIf(!haveKubectl)('deploy/k8s/auth-secret.sh', () => {
  it('refuses an overlay without the run ConfigMap, in one line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gradmesh-k8s-'));
    try {
      readFileSync(path.join(K8S, 'base/nats.yaml'));
      execFileSync('bash', ['-c', `cp ${path.join(K8S, 'base/nats.yaml')} ${dir}/ && printf 'resources: [nats.yaml]\\n' > ${dir}/kustomization.yaml`]);
      const r = spawnSync('bash', [path.join(K8S, 'auth-secret.sh'), dir], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(/renders no ConfigMap gradmesh-run/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the run config the manifests ship', () => {
  it('is examples/mnist-mlp.json (kustomize cannot reach outside deploy/k8s, so it is a copy; this keeps it one)', () => {
    const strip = (file: string) => {
      const { $schema: _, ...rest } = JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>;
      return rest;
    };
    expect(strip('deploy/k8s/base/run.json')).toEqual(strip('examples/mnist-mlp.json'));
  });
});
