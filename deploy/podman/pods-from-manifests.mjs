#!/usr/bin/env node
// Turns a rendered kustomize overlay into what `podman kube play` (podman 4.3) runs: it plays Pods,
// ConfigMaps and Secrets but silently skips StatefulSets, Jobs and Services, and pods find each other by pod
// name, not by Service name. So each workload's pod template becomes Pods, named the way Kubernetes names
// them (a StatefulSet's <name>-<ordinal>, an Indexed Job's <name>-<index>, a Job's <name>), except that a pod that is the only one behind a
// Service takes the Service's name — its DNS name then stands in for the Service's. Images, commands, args,
// env, volumes, ConfigMaps and Secrets are the manifests' own.
//
// Note [what the kubelet does that podman does not]: the env of each container is resolved the way the
// kubelet resolves it — fieldRef metadata.name is the pod's name, configMapKeyRef and secretKeyRef read the
// rendered objects, and $(VAR) expands earlier variables (fieldRef: metadata.name, and an Indexed Job's index annotation;
// fieldRef status.podIP is left out, see resolveEnv). Probes and containerPorts are dropped (podman runs httpGet probes
// with curl inside the container, and the image has none); deploy/test.sh requests the endpoints itself.
// With --env-as-flags <dir>, each GRADMESH_<FLAG> variable is also passed as --<flag> <value> when the
// command's help (<dir>/<command>.txt, e.g. worker.txt) lists that flag, for an image built before the
// flags' environment variables existed; the variables it cannot pass are named on stderr.
//
// Usage: pods-from-manifests.mjs <rendered.yaml> <out-dir> [--env-as-flags <help-dir>]
//   writes <out-dir>/pod-<name>.yaml (each pod with the ConfigMaps and Secrets it may mount), and prints one
//   line per pod: <name> <kind>/<owner> [its volume claims and emptyDir volumes…]; then one line: volumes <ConfigMap and Secret names>
//   (podman keeps a named volume per ConfigMap: the caller removes them)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

const [input, outDir, option, helpDir] = process.argv.slice(2);
if (!input || !outDir || (option !== undefined && (option !== '--env-as-flags' || !helpDir))) {
  process.stderr.write('usage: pods-from-manifests.mjs <rendered.yaml> <out-dir> [--env-as-flags <help-dir>]\n');
  process.exit(2);
}
const envAsFlags = option === '--env-as-flags';
const objects = parseAllDocuments(readFileSync(input, 'utf8')).map((d) => d.toJS()).filter(Boolean);
const byKind = (kind) => objects.filter((o) => o.kind === kind);
const configMaps = byKind('ConfigMap');
const secrets = byKind('Secret');
const services = byKind('Service');

const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

/** [podName, ownerLabel, template, claims] for every pod a workload would create. */
function podsOf(workload) {
  const template = workload.spec?.template;
  if (!template) return [];
  if (workload.kind === 'StatefulSet') {
    const replicas = workload.spec.replicas ?? 1;
    return Array.from({ length: replicas }, (_, i) => {
      const name = `${workload.metadata.name}-${i}`;
      const claims = (workload.spec.volumeClaimTemplates ?? []).map((t) => ({ volume: t.metadata.name, claim: `${t.metadata.name}-${name}` }));
      return { name, owner: `StatefulSet/${workload.metadata.name}`, template, claims };
    });
  }
  if (workload.kind === 'Job' && workload.spec.completionMode === 'Indexed') {
    // Pod hostnames of an Indexed Job are <job>-<index>; the index is also an annotation (the downward API's).
    return Array.from({ length: workload.spec.completions ?? 1 }, (_, i) => ({
      name: `${workload.metadata.name}-${i}`,
      owner: `Job/${workload.metadata.name}`,
      template,
      claims: [],
      annotations: { 'batch.kubernetes.io/job-completion-index': String(i) },
    }));
  }
  if (workload.kind === 'Job') return [{ name: workload.metadata.name, owner: `Job/${workload.metadata.name}`, template, claims: [] }];
  if (workload.kind === 'Deployment') return [{ name: workload.metadata.name, owner: `Deployment/${workload.metadata.name}`, template, claims: [] }];
  return [];
}

const pods = objects.flatMap(podsOf);
// A Service with exactly one pod behind it names that pod.
for (const service of services) {
  const behind = pods.filter((p) => matches(service.spec.selector, p.template.metadata?.labels));
  if (behind.length === 1) behind[0].name = service.metadata.name;
}

function lookup(list, kind, name, key, decode) {
  const found = list.find((o) => o.metadata.name === name);
  if (!found) throw new Error(`${kind} ${name} is not in the rendered overlay`);
  const value = found.data?.[key];
  if (value === undefined) throw new Error(`${kind} ${name} has no key ${key}`);
  return decode ? Buffer.from(value, 'base64').toString('utf8') : String(value);
}

function resolveEnv(env, pod) {
  const values = new Map();
  return (env ?? []).map((e) => {
    let value;
    if (e.valueFrom?.fieldRef) {
      const field = e.valueFrom.fieldRef.fieldPath;
      const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(field);
      if (field === 'metadata.name') value = pod.name;
      // The pod's IP is known only once it runs: the variable is left out, and the worker takes the local
      // address of its NATS connection, which in a podman pod is that same address (GRADMESH_DATA_HOST).
      else if (field === 'status.podIP') return undefined;
      else if (annotation && pod.annotations?.[annotation[1]] !== undefined) value = pod.annotations[annotation[1]];
      else throw new Error(`${pod.name}: fieldRef ${field} is not supported`);
    } else if (e.valueFrom?.configMapKeyRef) value = lookup(configMaps, 'ConfigMap', e.valueFrom.configMapKeyRef.name, e.valueFrom.configMapKeyRef.key, false);
    else if (e.valueFrom?.secretKeyRef) value = lookup(secrets, 'Secret', e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key, true);
    else value = String(e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v) => (values.has(v) ? values.get(v) : m));
    values.set(e.name, value);
    return { name: e.name, value };
  }).filter((e) => e !== undefined);
}

const FLAG_ENV = /^GRADMESH_([A-Z0-9_]+)$/;
// Variables that are not flags: the process reads them itself.
const NOT_FLAGS = new Set(['GRADMESH_THREADS']);

mkdirSync(outDir, { recursive: true });
const secretsAsConfigMaps = secrets.map((o) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: o.metadata.name },
  data: Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
}));
for (const pod of pods) {
  const spec = structuredClone(pod.template.spec);
  spec.hostname = pod.name;
  for (const c of spec.containers) {
    c.env = resolveEnv(c.env, pod);
    delete c.livenessProbe;
    delete c.readinessProbe;
    delete c.startupProbe;
    // podman 4.3 publishes every containerPort on the host (Kubernetes only documents them): two pods with
    // the same health port would collide, and nothing outside the network should reach a pod anyway.
    delete c.ports;
    if (envAsFlags && c.env.some(({ name }) => FLAG_ENV.test(name))) {
      const help = readFileSync(path.join(helpDir, `${c.args?.[0]}.txt`), 'utf8');
      const extra = c.env.flatMap(({ name, value }) => {
        const m = FLAG_ENV.exec(name);
        if (!m || NOT_FLAGS.has(name)) return [];
        // GRADMESH_NATS_URL is the variable of the flag --nats.
        const flag = `--${m[1] === 'NATS_URL' ? 'nats' : m[1].toLowerCase().replace(/_/g, '-')}`;
        if (!new RegExp(`^\\s*${flag}[ =]`, 'm').test(help)) {
          process.stderr.write(`${pod.name}: ${name} not passed: this image's \`${c.args?.[0]}\` has no ${flag}\n`);
          return [];
        }
        return [flag, value];
      });
      c.args = [...(c.args ?? []), ...extra];
    }
  }
  // Note [Secrets as ConfigMaps]: podman 4.3 writes a secret volume's files base64-encoded (it re-encodes the
  // decoded bytes) and crashes on a secret volume without `optional` (podman issue 16636). So each Secret
  // travels as a ConfigMap of the same name holding the decoded values, and a secret volume becomes a
  // configMap volume with the same items: the files in the pod are the Secret's, byte for byte.
  spec.volumes = (spec.volumes ?? []).map((v) => {
    if (!v.secret) return v;
    const { secretName, items, defaultMode } = v.secret;
    return { name: v.name, configMap: { name: secretName, ...(items ? { items } : {}), ...(defaultMode === undefined ? {} : { defaultMode }) } };
  });
  // podman 4.3 makes an emptyDir a named volume called after the pod's volume, so two pods with a volume
  // `tmp` would share one directory; prefixing the pod's name keeps each emptyDir its pod's own.
  const renamed = new Map();
  for (const v of spec.volumes) if (v.emptyDir) renamed.set(v.name, (v.name = `${pod.name}-${v.name}`));
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) for (const m of c.volumeMounts ?? []) if (renamed.has(m.name)) m.name = renamed.get(m.name);
  pod.emptyDirs = [...renamed.values()];
  for (const { volume, claim } of pod.claims) spec.volumes = [...(spec.volumes ?? []), { name: volume, persistentVolumeClaim: { claimName: claim } }];
  const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, labels: pod.template.metadata?.labels ?? {}, ...(pod.annotations ? { annotations: pod.annotations } : {}) }, spec };
  // The ConfigMaps travel with each Pod: podman reads a ConfigMap from the played file (its --configmap
  // option takes one per file).
  writeFileSync(path.join(outDir, `pod-${pod.name}.yaml`), [...configMaps, ...secretsAsConfigMaps, manifest].map((o) => stringify(o)).join('---\n'));
  process.stdout.write(`${pod.name} ${pod.owner}${[...pod.claims.map((c) => c.claim), ...pod.emptyDirs].map((v) => ` ${v}`).join('')}\n`);
}
process.stdout.write(`volumes ${[...configMaps, ...secrets].map((o) => o.metadata.name).join(' ')}\n`);
