/**
 * Offline validation of Kubernetes objects against the schemas that the npm package kubernetes-models ships
 * (compiled JSON-schema validators, one per definition of the Kubernetes OpenAPI document).
 *
 * Note [unknown fields]: those validators check types, enums and required fields, but the Kubernetes schemas
 * do not forbid extra properties, so a typo (`containres:`) passes them — and the API server would drop it
 * (or reject it under strict field validation). The validators are generated code that reads each property
 * the schema defines (`data.spec`, `data.replicas`, …) and enumerates the keys of map-typed objects
 * (labels, ConfigMap data). So we hand them a proxy of the object that records, per object, the keys read
 * and whether the keys were enumerated; any own key of a non-map object that the validator never read is a
 * field the schema does not define.
 */

export interface SchemaFinding {
  path: string;
  message: string;
}

type Validate = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; keyword: string; params: unknown }[] | null };

/** The schema module of an object: IoK8sApi<Group><Version><Kind> (core group = Core; `networking.k8s.io` = Networking). */
export function schemaName(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['core', apiVersion];
  const groupName = group.split('.')[0]!;
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  return `IoK8sApi${cap(groupName)}${cap(version)}${kind}`;
}

async function validatorFor(apiVersion: string, kind: string): Promise<Validate> {
  const name = schemaName(apiVersion, kind);
  const mod = (await import(`kubernetes-models/_schemas/${name}`)) as { validate: Validate };
  return mod.validate;
}

/** Every problem of one object: schema errors (types, enums, required) and fields the schema does not define. */
export async function validateObject(object: Record<string, unknown>): Promise<SchemaFinding[]> {
  const apiVersion = object['apiVersion'];
  const kind = object['kind'];
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return [{ path: '', message: 'apiVersion and kind are required' }];
  let validate: Validate;
  try {
    validate = await validatorFor(apiVersion, kind);
  } catch {
    return [{ path: '', message: `no schema for ${apiVersion} ${kind} in kubernetes-models` }];
  }
  const traces = new Map<object, { read: Set<PropertyKey>; enumerated: boolean; path: string }>();
  const findings: SchemaFinding[] = [];
  const ok = validate(traced(object, '', traces));
  if (!ok) for (const e of validate.errors ?? []) findings.push({ path: e.instancePath || '/', message: `${e.keyword}: ${e.message ?? JSON.stringify(e.params)}` });
  for (const [target, trace] of traces) {
    if (trace.enumerated || Array.isArray(target)) continue;
    for (const key of Object.keys(target)) if (!trace.read.has(key)) findings.push({ path: `${trace.path}/${key}`, message: 'unknown field (not in the schema)' });
  }
  return findings;
}

function traced(value: unknown, path: string, traces: Map<object, { read: Set<PropertyKey>; enumerated: boolean; path: string }>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const target = value as Record<PropertyKey, unknown>;
  let trace = traces.get(target);
  if (!trace) traces.set(target, (trace = { read: new Set(), enumerated: false, path }));
  const t = trace;
  return new Proxy(target, {
    get(obj, key, receiver) {
      t.read.add(key);
      const v = Reflect.get(obj, key, receiver) as unknown;
      return typeof key === 'string' && Object.prototype.hasOwnProperty.call(obj, key) ? traced(v, `${path}/${key}`, traces) : v;
    },
    has(obj, key) {
      t.read.add(key);
      return Reflect.has(obj, key);
    },
    ownKeys(obj) {
      t.enumerated = true;
      return Reflect.ownKeys(obj);
    },
  });
}
