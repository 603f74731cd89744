import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeControl } from '../../../shared/src/protocol/codec.js';
import { MESSAGE_KINDS } from '../../../shared/src/protocol/messages.js';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';
import { coordinatorPermissions, workerPermissions } from '../../../transport/src/nats-server/run-permissions.js';
import { spawnSync } from 'node:child_process';
import { CLI, ClusterHarness, mlpConfig, writeImageData } from '../cluster/harness.js';
import { authorization, forgedControl, forgedPiece, pack, spawnWithIdentity, startServer, totalDrops, watchViolations, type SecuredServer } from './secured-run.js';

/**
 * Fuzzing a running run with a worker identity of that run (issue 12): 10 000 random and mutated control
 * messages and pieces — envelopes of every kind with random fields, truncated encodings, payloads up to the
 * server's max_payload, 10⁴-deep msgpack nesting, random bytes, random piece headers — on every subject of the
 * run the identity may publish. Zero crashes (no 'internal error' / 'unexpected error', every process exits 0),
 * zero hangs (the run finishes within its bound), replicas agree on the parameters of an undisturbed run, and
 * what could not be decoded is counted.
 * The PRNG is seeded: GRADMESH_FUZZ_SEED=<n> replays a run's messages.
 */

const RUN = 'fuzz-run';
const MESSAGES = 10_000;
const SEED = Number(process.env['GRADMESH_FUZZ_SEED'] ?? 0x5eed_0012) >>> 0;

/** mulberry32: a tiny seeded PRNG (tests never use Math.random). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Fuzz {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = prng(seed);
  }
  float(): number {
    return this.#next();
  }
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** A value of any msgpack type, shallow or nested, sane or absurd. */
  value(depth = 0): unknown {
    switch (this.int(depth > 2 ? 9 : 12)) {
      case 0: return this.pick([0, 1, -1, 2, 0.5, 1e300, -1e300, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -(2 ** 31), 65535, 65536]);
      case 1: return this.int(100);
      case 2: return this.float() * 1e6 - 5e5;
      case 3: return this.pick(['', 'w0', 'w1', 'w2', 'coordinator', '-', 'validation', 'test', 'completed', 'x'.repeat(5000), '../../etc/passwd', 'ckpt-0000000001.safetensors', 'é\u0000\u202e']);
      case 4: return this.pick([true, false, null, undefined]);
      case 5: return this.bytes(this.int(64));
      case 6: return this.pick([[], {}, [0], [[1e300]]]);
      case 7: return 'ab'.repeat(this.int(40));
      case 8: return this.int(2) === 0 ? -this.int(1000) : this.int(2 ** 31);
      case 9: return Array.from({ length: this.int(5) }, () => this.value(depth + 1));
      default: return Object.fromEntries(Array.from({ length: this.int(5) }, () => [this.pick(['rank', 'step', 'count', 'requestId', 'config', 'a', '__proto__', 'constructor']), this.value(depth + 1)]));
    }
  }
}

/** The fields of each kind's body (messages.ts), filled with random values; a kind not listed gets generic ones. */
const FIELDS: Record<string, readonly string[]> = {
  join: ['workerId', 'pid', 'host', 'threads', 'dataAddress'],
  ready: ['workerId', 'rank', 'generation', 'checksum', 'parameters', 'step', 'trainCount', 'validationCount', 'testCount', 'classes', 'featureSize', 'threads', 'needsState'],
  leave: ['workerId', 'reason'],
  heartbeat: ['rank', 'workerId', 'step'],
  stepDone: ['step', 'rank', 'lossSum', 'count', 'correct', 'extras', 'computeMs', 'allreduceMs', 'exposedAllreduceMs', 'checksum', 'penalty', 'localFinite', 'skipped'],
  evaluated: ['requestId', 'rank', 'lossSum', 'count', 'correct', 'extras', 'confusion'],
  epochEnded: ['requestId', 'rank', 'checksum'],
  checkpointed: ['requestId', 'rank', 'path'],
  stateShared: ['requestId', 'rank', 'bytes', 'chunks'],
  error: ['rank', 'step', 'message'],
  step: ['step', 'epoch', 'batchIndex', 'lr', 'checksum'],
  shutdown: ['reason', 'error'],
  assign: ['workerId', 'rank', 'worldSize', 'generation', 'config', 'startStep'],
};

/** What the fuzzer sent, by whether the receivers can possibly accept it. */
interface Sent {
  total: number;
  /** Control messages that cannot be decoded as a control message of this run (counted as a drop by whoever listens). */
  undecodableToCoordinator: number;
  pieces: number;
  oversized: number;
  deep: number;
}

let h: ClusterHarness;
let server: SecuredServer;
let undisturbedChecksum = '';
const opened: NatsConnection[] = [];
const identity = (user: string) => ({ user, pass: randomBytes(24).toString('hex') });
const ids = { coordinator: identity('coordinator'), w0: identity('w0'), w1: identity('w1'), fuzzer: identity('w2') };

beforeAll(async () => {
  h = await ClusterHarness.start(false);
  writeImageData(h, 400);
  // 2 000 steps and 100 evaluations: the fuzzer's 10 000 messages all land while the run trains.
  // Pieces through nats-server, so the fuzzer's frames on the run's rs/ag subjects reach the workers' all-reduce (over
  // direct links, the default, nothing subscribes to them; forged and garbage links are tested in
  // tests/integration/transport/direct-links.test.ts and tests/integration/allreduce/direct-links-allreduce.test.ts).
  h.file('mlp.json', mlpConfig({ epochs: 100, batchSize: 16, validationSplit: 0.2, microBatch: 8, allreduce: { transport: 'nats' } }));
  server = await startServer(
    h,
    'nats',
    authorization([
      { user: ids.coordinator.user, password: ids.coordinator.pass, permissions: coordinatorPermissions(RUN) },
      { user: ids.w0.user, password: ids.w0.pass, permissions: workerPermissions(RUN, 'w0') },
      { user: ids.w1.user, password: ids.w1.pass, permissions: workerPermissions(RUN, 'w1') },
      { user: ids.fuzzer.user, password: ids.fuzzer.pass, permissions: workerPermissions(RUN, 'w2') },
    ]),
  );
  // The same config, undisturbed: `gradmesh launch` (authenticated by default).
  const r = spawnSync(process.execPath, [CLI, 'launch', '--config', 'mlp.json', '--workers', '2', '--threads', '1', '--report', 'undisturbed.json'], { cwd: h.dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, GRADMESH_THREADS: '1' } });
  expect(r.status, r.stderr).toBe(0);
  undisturbedChecksum = JSON.parse(readFileSync(h.path('undisturbed.json'), 'utf8')).paramsChecksum;
});
afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => undefined);
  await h?.close();
  await server?.stop();
});

/**
 * The run's subjects the fuzzer's identity may publish on, from the permissions the server enforces: each
 * `*` becomes the ranks of the run, a rank beyond it and a junk token.
 */
function fuzzSubjects(): string[] {
  const prefix = `gradmesh.${RUN}.`;
  return workerPermissions(RUN, 'w2')
    .publish.filter((s) => s.startsWith(prefix))
    .flatMap((s) => (s.includes('*') ? ['0', '1', '7', 'x'].map((t) => s.replaceAll('*', t)) : [s]));
}

/** Subjects the coordinator listens to (a control message there that cannot decode is one of its drops). */
function toCoordinator(subject: string): boolean {
  return /\.(join|heartbeat\.coordinator|step-done|error)\.[^.]+$/.test(subject);
}

/** 10⁴ nested arrays: msgpack fixarray(1) × depth, then nil. */
function deepNesting(depth: number): Uint8Array {
  const b = new Uint8Array(depth + 1).fill(0x91);
  b[depth] = 0xc0;
  return b;
}

/** An envelope whose body nests `depth` arrays (the envelope itself is valid). */
function deepEnvelope(depth: number, kind: string): Uint8Array {
  const head = pack({ v: PROTOCOL_VERSION, run: RUN, kind, from: 'w0', gen: 1, body: 0 });
  // Replace the trailing body (positive fixint 0, the last byte) by the nested arrays.
  const nested = deepNesting(depth);
  const out = new Uint8Array(head.length - 1 + nested.length);
  out.set(head.subarray(0, head.length - 1));
  out.set(nested, head.length - 1);
  return out;
}

/** One fuzzed message for `subject`, and whether it certainly cannot decode as a control message of this run. */
function fuzzMessage(f: Fuzz, subject: string, gen: number, maxPayload: number, sent: Sent): { data: Uint8Array; undecodable: boolean } {
  const isPiece = /\.(rs|ag)\.[^.]+\.[^.]+$/.test(subject);
  const kinds = Object.keys(MESSAGE_KINDS);
  const mode = f.int(100);
  if (isPiece && mode < 60) {
    sent.pieces++;
    // A piece: a valid header with random fields, or random ones, or a broken frame.
    const family = f.pick(['rs', 'ag'] as const);
    const header = {
      family,
      source: f.pick([0, 1, 2, 65535, f.int(65536)]),
      generation: f.pick([gen, gen + 1, 0, 0xffffffff, f.int(2 ** 32)]),
      step: f.pick([0, 0xffffffff, f.int(2 ** 32), f.int(5000)]),
      piece: f.pick([0, 1, 2, 0xffffffff, f.int(2 ** 32)]),
    };
    const values = new Float32Array(f.pick([0, 1, 481, 482, 483, 1 + f.int(2000)])).fill(f.pick([0, 1, Number.NaN, 1e30]));
    const frame = forgedPiece(header, values);
    switch (f.int(5)) {
      case 0: return { data: frame.subarray(0, f.int(frame.length)), undecodable: true }; // truncated
      case 1: {
        const mutated = frame.slice();
        for (let i = 0; i < 1 + f.int(4); i++) mutated[f.int(Math.min(16, mutated.length))] = f.int(256);
        return { data: mutated, undecodable: false };
      }
      default: return { data: frame, undecodable: false };
    }
  }
  if (mode < 3) {
    sent.oversized++;
    return { data: f.bytes(maxPayload - f.int(64)), undecodable: true }; // up to the server's max_payload
  }
  if (mode < 6) {
    sent.deep++;
    return f.int(2) === 0 ? { data: deepNesting(10_000), undecodable: true } : { data: deepEnvelope(10_000, f.pick(kinds)), undecodable: true };
  }
  if (mode < 15) return { data: f.bytes(f.int(300)), undecodable: false }; // random bytes (may happen to decode)
  const kind = f.int(10) === 0 ? f.pick(['bogus', '', 'constructor']) : f.pick(kinds);
  const fields = Object.hasOwn(FIELDS, kind) ? FIELDS[kind]! : ['requestId', 'rank', 'step'];
  const body: Record<string, unknown> = {};
  for (const field of fields) if (f.int(8) !== 0) body[field] = f.value();
  if (f.int(10) === 0) body[f.pick(['extra', 'path', 'dir'])] = f.value();
  const envelope = {
    v: f.int(20) === 0 ? f.value() : PROTOCOL_VERSION,
    run: f.int(20) === 0 ? f.pick(['other-run', '', 'fuzz-run.x', 7]) : RUN,
    kind,
    // Mostly its own id, which the receivers hold the envelope to (Note [the sender is in the subject]).
    from: f.pick(['w2', 'w2', 'w2', 'w0', 'w1', 'coordinator', '-', '', 'a.b', 5]),
    gen: f.pick([gen, gen, 0, gen + 1, -1, 1.5, 2 ** 32]),
    body: f.int(15) === 0 ? f.value() : body,
  };
  const encoded = kind === 'bogus' || kind === '' || kind === 'constructor' || envelope.run !== RUN || envelope.v !== PROTOCOL_VERSION ? pack(envelope) : forgedControl(RUN, kind, envelope.from as string, envelope.gen as number, envelope.body);
  const surelyRejected = envelope.run !== RUN || envelope.v !== PROTOCOL_VERSION || !Object.hasOwn(MESSAGE_KINDS, kind);
  if (f.int(6) === 0) return { data: encoded.subarray(0, f.int(encoded.length)), undecodable: true }; // truncated
  return { data: encoded, undecodable: surelyRejected };
}

describe('fuzzing a running run with a worker identity of that run', () => {
  it(`${MESSAGES} random and mutated messages on every subject it may publish: no crash, no hang, the run completes with the undisturbed parameters, replicas agree, drops counted`, async () => {
    console.log(`fuzz seed ${SEED} (replay: GRADMESH_FUZZ_SEED=${SEED})`);
    const f = new Fuzz(SEED);
    const subjects = fuzzSubjects();
    expect(subjects.length).toBeGreaterThanOrEqual(7);
    const fuzzer = await connect({ servers: server.url, reconnect: false, user: ids.fuzzer.user, pass: ids.fuzzer.pass });
    opened.push(fuzzer);
    const violations = watchViolations(fuzzer);
    const maxPayload = fuzzer.info!.max_payload;

    const coordinator = spawnWithIdentity(h, 'coordinator', ['coordinator', '--nats', server.url, '--run', RUN, '--config', 'mlp.json', '--workers', '2', '--report', 'fuzz.json'], ids.coordinator);
    const workers = (['w0', 'w1'] as const).map((w) => spawnWithIdentity(h, w, ['worker', '--nats', server.url, '--run', RUN, '--id', w, '--threads', '1'], ids[w]));
    // Start once the run trains; learn its generation from a step command (the identity may listen there).
    let gen = 1;
    const stepSub = fuzzer.subscribe(`gradmesh.${RUN}.step`, { max: 1 });
    for await (const m of stepSub) gen = decodeControl(m.subject, m.data, { run: RUN, version: PROTOCOL_VERSION }).gen;

    const sent: Sent = { total: 0, undecodableToCoordinator: 0, pieces: 0, oversized: 0, deep: 0 };
    for (let i = 0; i < MESSAGES; i++) {
      const subject = f.pick(subjects);
      const { data, undecodable } = fuzzMessage(f, subject, gen, maxPayload, sent);
      fuzzer.publish(subject, data);
      sent.total++;
      if (undecodable && toCoordinator(subject)) sent.undecodableToCoordinator++;
      if (i % 50 === 49) await fuzzer.flush();
    }
    await fuzzer.flush();
    const runningAfterFuzz = coordinator.running();
    const exit = await coordinator.exit(180_000);
    const workerExits = await Promise.all(workers.map((w) => w.exit(30_000)));
    await violations.stop();
    const report = JSON.parse(readFileSync(h.path('fuzz.json'), 'utf8'));
    console.log(`fuzz: sent ${JSON.stringify(sent)}; run still on after it: ${runningAfterFuzz}; exit ${exit.code}; replicas agree ${report.replicaChecksumsAgree}; drops ${JSON.stringify(report.droppedMessages)}; permission errors ${violations.count()}`);

    expect(runningAfterFuzz).toBe(true);
    expect(violations.count(), [...violations.seen].join('\n')).toBe(0); // every subject fuzzed is one the identity may use
    expect(exit.code, coordinator.output.slice(-3000)).toBe(0);
    for (const [k, e] of workerExits.entries()) expect(e.code, workers[k]!.output.slice(-3000)).toBe(0);
    for (const p of [coordinator, ...workers]) expect(p.output).not.toMatch(/internal error|unexpected error/i);
    expect(report.replicaChecksumsAgree).toBe(true);
    expect(report.steps).toBe(2000);
    // Nothing the fuzzer's identity may say changes what the run computes (Note [the sender is in the subject]).
    expect(report.paramsChecksum).toBe(undisturbedChecksum);
    // Every message the coordinator received and could not decode is one of its drops (it listens on these
    // subjects for the whole run); the workers count theirs too.
    const drops = report.droppedMessages as { coordinator?: unknown; workers?: Record<string, unknown> };
    expect(totalDrops(drops.coordinator ?? drops)).toBeGreaterThanOrEqual(sent.undecodableToCoordinator);
    for (const w of ['w0', 'w1']) expect(totalDrops(drops.workers?.[w]), `drops of ${w}`).toBeGreaterThan(0);
  }, 300_000);
});
