import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, type NatsHandle } from '../nats/nats-server.js';
import { firstBitDifference, rankOrderSum, rankVectors } from './cluster.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = path.join(ROOT, 'tests/helpers/allreduce-child.mjs');
const BLOCKER = path.join(ROOT, 'tests/helpers/block-native-addons.cjs');

let nats: NatsHandle;
let dir: string;

beforeAll(async () => {
  nats = await startNats();
  dir = mkdtempSync(path.join(tmpdir(), 'gradmesh-noaddon-'));
});

afterAll(async () => {
  await nats?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the compiled worker's all-reduce in a child process; returns each rank's result and the sum's status. */
function allReduceInChild(inputs: readonly Float32Array[], nodeArgs: string[], env: Record<string, string> = {}) {
  inputs.forEach((v, rank) => writeFileSync(path.join(dir, `input-${rank}.f32`), new Uint8Array(v.buffer, v.byteOffset, v.byteLength)));
  const r = spawnSync(process.execPath, [...nodeArgs, CHILD, nats.url, dir, String(inputs.length)], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  const outputs = inputs.map((_, rank) => {
    const bytes = readFileSync(path.join(dir, `output-${rank}.f32`));
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  });
  return { outputs, status: JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { native: boolean; reason?: string } };
}

// 3 ranks of 700 001 elements: 1 MiB pieces of 262 144 elements, far above the native crossover.
describe('the worker without the native addon (the container image)', () => {
  const inputs = rankVectors(3, 700_001, 15);
  const expected = rankOrderSum(inputs);

  it('falls back to the JavaScript sum, says why, and still gives the rank-order sum bit for bit', () => {
    const { outputs, status } = allReduceInChild(inputs, ['--require', BLOCKER]);
    expect(status.native).toBe(false);
    expect(status.reason).toMatch(/native addon does not load: native addons are blocked in this process/);
    outputs.forEach((out, rank) => expect(firstBitDifference(out, expected), `rank ${rank}`).toBe(-1));
  });

  it('with GRADMESH_NATIVE_SUM=off says so, and gives the same bits', () => {
    const { outputs, status } = allReduceInChild(inputs, [], { GRADMESH_NATIVE_SUM: 'off' });
    expect(status).toEqual({ native: false, reason: 'turned off by GRADMESH_NATIVE_SUM=off' });
    outputs.forEach((out, rank) => expect(firstBitDifference(out, expected), `rank ${rank}`).toBe(-1));
  });

  it('control: the same child with the addon uses the native sum and gives the same bits', () => {
    const { outputs, status } = allReduceInChild(inputs, []);
    expect(status).toEqual({ native: true });
    outputs.forEach((out, rank) => expect(firstBitDifference(out, expected), `rank ${rank}`).toBe(-1));
  });
});
