import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * deploy/check-direct-links.mjs passes a coordinator report only when the all-reduce went over direct links:
 * allreduce.transport "direct", every generation event ending "; all-reduce over direct links" with a link address
 * per member, and (--rejoined) the named worker lost and then a member of a later generation. deploy/test.sh and
 * deploy/compose-test.sh rely on it failing for a run through NATS.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = mkdtempSync(path.join(tmpdir(), 'gradmesh-direct-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const world = (gen: number) => `world 2: rank 0 = w-0 (10.89.0.4:29500), rank 1 = w-1 (10.89.0.${gen + 4}:29500)`;
const direct = (gen: number, why: string) => ({ kind: 'generation', generation: gen, step: gen * 10, detail: `${why}; ${world(gen)}; all-reduce over direct links` });
const rejoinedRun = {
  allreduce: { transport: 'direct', compression: 'none' },
  events: [
    direct(1, 'the run starts'),
    { kind: 'lost', generation: 1, worker: 'w-1', step: 12, detail: 'no heartbeat' },
    { kind: 'joined', generation: 1, worker: 'w-1', step: 12, detail: 'pid 1 on w-1' },
    direct(2, 'w-1 joined'),
  ],
};

let n = 0;
function check(report: unknown, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const file = path.join(dir, `report-${n++}.json`);
  writeFileSync(file, JSON.stringify(report));
  return spawnSync('node', [path.join(ROOT, 'deploy/check-direct-links.mjs'), file, ...args], { encoding: 'utf8' });
}

describe('deploy/check-direct-links.mjs', () => {
  it('passes a direct run whose removed worker rejoined in a later generation over direct links', () => {
    const r = check(rejoinedRun, '--rejoined', 'w-1');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 generation\(s\), each over direct links; w-1 rejoined in generation 2\n$/);
  });

  it('fails a run whose report says its transport was NATS (negative control)', () => {
    const r = check({ ...rejoinedRun, allreduce: { transport: 'nats', compression: 'none' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/allreduce\.transport is "nats", not "direct"/);
  });

  it('fails when one generation ran through NATS, or lists a member without a link address', () => {
    const throughNats = { ...rejoinedRun, events: [rejoinedRun.events[0], { kind: 'generation', generation: 2, step: 20, detail: 'w-1 joined; world 2: rank 0 = w-0, rank 1 = w-1; all-reduce through NATS' }] };
    expect(check(throughNats).stderr).toMatch(/generation 2 did not run its all-reduce over direct links/);
    const noAddress = { ...rejoinedRun, events: [{ kind: 'generation', generation: 1, step: 0, detail: 'the run starts; world 2: rank 0 = w-0 (10.89.0.4:29500), rank 1 = w-1; all-reduce over direct links' }] };
    const r = check(noAddress);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/generation 1 lists a member without a link address/);
  });

  it('fails --rejoined when the worker never left, or never came back', () => {
    expect(check({ ...rejoinedRun, events: [direct(1, 'the run starts')] }, '--rejoined', 'w-1').stderr).toMatch(/w-1 was never lost or left/);
    const r = check({ ...rejoinedRun, events: rejoinedRun.events.slice(0, 3) }, '--rejoined', 'w-1');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/w-1 was lost \(generation 1\) and is in no later generation/);
  });

  it('exits 2 on bad usage', () => {
    expect(spawnSync('node', [path.join(ROOT, 'deploy/check-direct-links.mjs')], { encoding: 'utf8' }).status).toBe(2);
  });

  it('with --encrypted, passes only a run whose links ran inside TLS: linkEncryption "tls" and every generation "… (TLS)"', () => {
    const tls = (e: (typeof rejoinedRun.events)[number]) => (e.kind === 'generation' ? { ...e, detail: `${e.detail} (TLS)` } : e);
    const encrypted = { allreduce: { transport: 'direct', linkEncryption: 'tls', compression: 'none' }, events: rejoinedRun.events.map(tls) };
    const ok = check(encrypted, '--rejoined', 'w-1', '--encrypted');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('linkEncryption "tls"');
    // The plain run fails the encrypted check, and the encrypted one the plain check (the route must match exactly).
    expect(check(rejoinedRun, '--encrypted').stderr).toMatch(/allreduce\.linkEncryption is undefined, not "tls"/);
    expect(check({ ...encrypted, events: rejoinedRun.events }, '--encrypted').stderr).toMatch(/generation 1 did not run its all-reduce over encrypted direct links/);
    expect(check(encrypted).stderr).toMatch(/generation 1 did not run its all-reduce over direct links/);
    expect(check(encrypted, '--rejoined').status).toBe(2);
  });
});
