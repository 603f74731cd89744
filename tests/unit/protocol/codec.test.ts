import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../shared/src/errors.js';
import { decodeControl, encodeControl } from '../../../shared/src/protocol/codec.js';
import { MessageRejectedError } from '../../../shared/src/protocol/drops.js';
import type { MessageBodies, MessageKind } from '../../../shared/src/protocol/messages.js';
import { assignSubject, errorSubject, evalSubject, heartbeatSubject, joinSubject, shutdownSubject, stepDoneSubject, stepSubject } from '../../../shared/src/protocol/subjects.js';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';

const run = 'run-1';
const expected = { run, version: PROTOCOL_VERSION };
const raw = new Packr({ useRecords: false });

/** A valid body of every kind, and the subject it travels on. */
const samples: { [K in MessageKind]: { subject: string; body: MessageBodies[K] } } = {
  join: { subject: joinSubject(run, 'w-1'), body: { workerId: 'w-1', pid: 4242, host: 'node-a', threads: 2 } },
  assign: { subject: assignSubject(run, 'w-1'), body: { workerId: 'w-1', rank: 2, worldSize: 3, generation: 5, members: ['w-a', 'w-b', 'w-1'], config: { model: { layers: [{ type: 'dense', units: 10 }] }, seed: 7, note: null }, startStep: 40 } },
  heartbeat: { subject: heartbeatSubject(run, 'coordinator', 'w-1'), body: { rank: 1, workerId: 'w-1', step: -1 } },
  step: { subject: stepSubject(run), body: { step: 12, epoch: 1, batchIndex: 3, lr: 0.001, checksum: true } },
  stepDone: {
    subject: stepDoneSubject(run, 'w-1'),
    body: { step: 12, rank: 1, lossSum: 3.25, count: 64, correct: 60, extras: { klSum: 0.5 }, computeMs: 12.5, allreduceMs: 3, checksum: 'ab12', localFinite: false, skipped: true, peerPaths: { memory: 2, links: 1 } },
  },
  shutdown: { subject: shutdownSubject(run), body: { reason: 'failed', error: 'worker w-2 died' } },
  error: { subject: errorSubject(run, 'w-1'), body: { rank: 0, step: 12, message: 'out of memory' } },
  // The run-loop kinds (coordinator ⇄ workers); their own tests are in tests/unit/cluster/messages.test.ts.
  ready: { subject: joinSubject(run, 'w-1'), body: { workerId: 'w-1', rank: 1, generation: 5, checksum: 'ab12', parameters: 10, step: 0, trainCount: 9, validationCount: 1, testCount: 3, classes: 3, featureSize: 4, threads: 2 } },
  dismiss: { subject: assignSubject(run, 'w-1'), body: { workerId: 'w-1', reason: 'run is full' } },
  evaluate: { subject: evalSubject(run), body: { requestId: 3, split: 'validation', confusion: false } },
  evaluated: { subject: stepDoneSubject(run, 'w-1'), body: { requestId: 3, rank: 1, lossSum: 2.5, count: 3, correct: 2, extras: {}, confusion: [[1, 0], [1, 1]] } },
  epochEnd: { subject: stepSubject(run), body: { requestId: 4, epoch: 0, keepBest: false, restoreBest: false } },
  epochEnded: { subject: stepDoneSubject(run, 'w-1'), body: { requestId: 4, rank: 1, checksum: 'ab12' } },
  checkpoint: {
    subject: stepSubject(run),
    body: { requestId: 5, state: { step: 3, position: { epoch: 0, batch: 3 }, history: [], earlyStopping: null, epochInProgress: { lossSum: 1, count: 3, correct: null, extras: {}, seconds: 0.5 }, skipped: [{ step: 1, ranks: [0, 2] }] } },
  },
  checkpointed: { subject: stepDoneSubject(run, 'w-1'), body: { requestId: 5, rank: 0, path: '/tmp/c/ckpt-3.safetensors' } },
  leave: { subject: joinSubject(run, 'w-1'), body: { workerId: 'w-1', reason: 'SIGTERM at step 12' } },
  shareState: { subject: stepSubject(run), body: { requestId: 6, donor: 0, recipients: ['w-2', 'w-3'] } },
  stateShared: { subject: stepDoneSubject(run, 'w-1'), body: { requestId: 6, rank: 0, bytes: 4096, chunks: 1 } },
  regroup: { subject: stepSubject(run), body: { generation: 3, reason: 'worker w-2 (rank 2) was lost' } },
};

const kinds = Object.keys(samples) as MessageKind[];

function encodeSample<K extends MessageKind>(kind: K, body: MessageBodies[K] = samples[kind].body): Uint8Array {
  return encodeControl({ run, kind, from: 'w-1', gen: 5, body });
}

/** Encodes an envelope bypassing encodeControl's validation, as a buggy or hostile peer would. */
function rawEnvelope(fields: Record<string, unknown>): Uint8Array {
  return raw.pack({ v: PROTOCOL_VERSION, run, kind: 'join', from: 'w-1', gen: 0, body: samples.join.body, ...fields });
}

function rejection(subject: string, bytes: Uint8Array): MessageRejectedError {
  try {
    decodeControl(subject, bytes, expected);
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    expect(e).toBeInstanceOf(MessageRejectedError);
    return e as MessageRejectedError;
  }
  throw new Error('the message was accepted');
}

describe('control codec', () => {
  for (const kind of kinds) {
    it(`round-trips a ${kind} message`, () => {
      const message = decodeControl(samples[kind].subject, encodeSample(kind), expected);
      expect(message).toEqual({ v: PROTOCOL_VERSION, run, kind, from: 'w-1', gen: 5, body: samples[kind].body });
    });
  }

  it('round-trips optional fields left out, and NaN/Infinity losses (a diverged run must be reported)', () => {
    const m = decodeControl(stepDoneSubject(run, 'w-1'), encodeSample('stepDone', { step: 0, rank: 0, lossSum: Number.NaN, count: 0, extras: { x: -Infinity }, computeMs: 0, allreduceMs: 0, localFinite: true, skipped: false }), expected);
    expect(m.kind === 'stepDone' && Number.isNaN(m.body.lossSum)).toBe(true);
    expect(m.body).not.toHaveProperty('checksum');
    const h = decodeControl(heartbeatSubject(run, 'workers'), encodeControl({ run, kind: 'heartbeat', from: 'coordinator', gen: 0, body: { workerId: 'w-1', step: 3 } }), expected);
    expect(h.body).toEqual({ workerId: 'w-1', step: 3 });
  });

  it('an evaluated reply carries the regression sums, and one whose sums no real targets could produce is refused (partial, negative, non-finite, (Σt)² > n·Σt²)', () => {
    const regression = { lossSum: 1.2, count: 3, extras: { absoluteError: 1.5, squaredError: 1.2, target: 6, targetSquared: 14 } };
    const body = { requestId: 4, rank: 0, ...regression };
    const m = decodeControl(stepDoneSubject(run, 'w-1'), encodeSample('evaluated', body), expected);
    expect(m.body).toEqual(body);
    const bad: [string, Record<string, number>][] = [
      ['body.extras', { absoluteError: 1, squaredError: 1 }],
      ['body.extras.squaredError', { ...regression.extras, squaredError: -1 }],
      ['body.extras.targetSquared', { ...regression.extras, targetSquared: Number.POSITIVE_INFINITY }],
      ['body.extras.target', { ...regression.extras, target: 7 }],
    ];
    for (const [field, extras] of bad) {
      const e = rejection(stepDoneSubject(run, 'w-1'), rawEnvelope({ kind: 'evaluated', body: { ...body, extras } }));
      expect(e.dropReason, field).toBe('malformed');
      expect(e.message, field).toContain(`${field}:`);
    }
  });

  it('a ready reply may carry the class names, one per class; a wrong count or a non-string name is refused', () => {
    const body = { ...samples.ready.body, classes: 3, classNames: ['setosa', 'versicolor', 'virginica'] };
    expect(decodeControl(samples.ready.subject, encodeSample('ready', body), expected).body).toEqual(body);
    for (const [field, classNames] of [['body.classNames', ['a', 'b']], ['body.classNames[1]', ['a', 7, 'c']], ['body.classNames[0]', ['', 'b', 'c']]] as const) {
      const e = rejection(samples.ready.subject, rawEnvelope({ kind: 'ready', body: { ...body, classNames } }));
      expect(e.message, field).toContain(`${field}:`);
    }
  });

  // One malformed body per kind, each naming its field.
  const malformed: { [K in MessageKind]: [field: string, body: Record<string, unknown>][] } = {
    join: [
      ['body.pid', { ...samples.join.body, pid: 0 }],
      ['body.workerId', { ...samples.join.body, workerId: 'a.b' }],
      ['body.threads', { ...samples.join.body, threads: 1.5 }],
      ['body.host', { ...samples.join.body, host: '' }],
      ['body.extra', { ...samples.join.body, extra: 1 }],
    ],
    assign: [
      ['body.rank', { ...samples.assign.body, rank: 3 }],
      ['body.worldSize', { ...samples.assign.body, worldSize: 0 }],
      ['body.generation', { ...samples.assign.body, generation: -1 }],
      ['body.config', { ...samples.assign.body, config: [1, 2] }],
      ['body.config', { ...samples.assign.body, config: { w: new Float32Array(2) } }],
      ['body.startStep', { ...samples.assign.body, startStep: -1 }],
    ],
    heartbeat: [
      ['body.step', { ...samples.heartbeat.body, step: '3' }],
      ['body.rank', { ...samples.heartbeat.body, rank: -2 }],
    ],
    step: [
      ['body.lr', { ...samples.step.body, lr: -0.1 }],
      ['body.epoch', { ...samples.step.body, epoch: undefined }],
      ['body.checksum', { ...samples.step.body, checksum: 'yes' }],
    ],
    stepDone: [
      ['body.count', { ...samples.stepDone.body, count: -1 }],
      ['body.correct', { ...samples.stepDone.body, correct: 65 }],
      ['body.extras.klSum', { ...samples.stepDone.body, extras: { klSum: 'x' } }],
      ['body.computeMs', { ...samples.stepDone.body, computeMs: Number.NaN }],
      ['body.lossSum', { ...samples.stepDone.body, lossSum: null }],
      ['body.localFinite', { ...samples.stepDone.body, localFinite: undefined }],
      ['body.skipped', { ...samples.stepDone.body, skipped: 'no' }],
      // Note [paths in the report]: two bounded counts, nothing else.
      ['body.peerPaths', { ...samples.stepDone.body, peerPaths: [2, 1] }],
      ['body.peerPaths.memory', { ...samples.stepDone.body, peerPaths: { memory: -1, links: 1 } }],
      ['body.peerPaths.links', { ...samples.stepDone.body, peerPaths: { memory: 65_000, links: 1_000 } }],
      ['body.peerPaths.links', { ...samples.stepDone.body, peerPaths: { memory: 1 } }],
      ['body.peerPaths.shm', { ...samples.stepDone.body, peerPaths: { memory: 1, links: 0, shm: 3 } }],
    ],
    shutdown: [['body.reason', { error: 'x' }]],
    error: [
      ['body.message', { ...samples.error.body, message: 7 }],
      ['body.step', { ...samples.error.body, step: -2 }],
    ],
    ready: [['body.checksum', { ...samples.ready.body, checksum: 'XY' }]],
    dismiss: [['body.reason', { ...samples.dismiss.body, reason: 3 }]],
    evaluate: [['body.split', { ...samples.evaluate.body, split: 'train' }]],
    evaluated: [['body.confusion[1]', { ...samples.evaluated.body, confusion: [[1, 0], [1]] }]],
    epochEnd: [['body.keepBest', { ...samples.epochEnd.body, keepBest: 1 }]],
    epochEnded: [['body.rank', { ...samples.epochEnded.body, rank: -1 }]],
    checkpoint: [
      ['body.state.step', { ...samples.checkpoint.body, state: { ...samples.checkpoint.body.state, step: -1 } }],
      ['body.state.skipped[0].ranks', { ...samples.checkpoint.body, state: { ...samples.checkpoint.body.state, skipped: [{ step: 1, ranks: 'all' }] } }],
    ],
    checkpointed: [['body.path', { ...samples.checkpointed.body, path: '' }]],
    leave: [['body.workerId', { ...samples.leave.body, workerId: 'a b' }]],
    shareState: [['body.recipients', { ...samples.shareState.body, recipients: [] }]],
    stateShared: [['body.chunks', { ...samples.stateShared.body, chunks: 0 }]],
    regroup: [['body.generation', { ...samples.regroup.body, generation: -3 }]],
  };
  for (const kind of kinds) {
    it(`rejects each malformed ${kind} body with a ProtocolError naming the field, the subject and the peer`, () => {
      for (const [field, body] of malformed[kind]) {
        const e = rejection(samples[kind].subject, rawEnvelope({ kind, body }));
        expect(e.dropReason).toBe('malformed');
        expect(e.kind).toBe(kind);
        expect(e.message, field).toContain(`${field}:`);
        expect(e.message).toContain(`${samples[kind].subject} from w-1`);
      }
      // encodeControl applies the same rules to the sender.
      const [, body] = malformed[kind][0] as [string, Record<string, unknown>];
      expect(() => encodeSample(kind, body as never)).toThrow(ProtocolError);
    });
  }

  it('rejects envelopes: not msgpack, not a map, other version, foreign run, unknown kind, bad sender or generation, extra fields, wrong subject', () => {
    const subject = joinSubject(run, 'w-1');
    const cases: [string, Uint8Array, string][] = [
      ['malformed', new Uint8Array([0xc1]), 'unknown'],
      ['malformed', new Uint8Array([]), 'unknown'],
      ['malformed', raw.pack([1, 2]), 'unknown'],
      ['version', rawEnvelope({ v: PROTOCOL_VERSION + 1 }), 'join'],
      ['foreign-run', rawEnvelope({ run: 'other' }), 'join'],
      ['unknown-kind', rawEnvelope({ kind: 'launchMissiles' }), 'launchMissiles'],
      ['malformed', rawEnvelope({ from: 'a b' }), 'join'],
      ['malformed', rawEnvelope({ gen: -1 }), 'join'],
      ['malformed', rawEnvelope({ extra: true }), 'join'],
      ['malformed', rawEnvelope({ body: [1] }), 'join'],
    ];
    for (const [reason, bytes, kind] of cases) {
      const e = rejection(subject, bytes);
      expect([e.dropReason, e.kind], e.message).toEqual([reason, kind]);
      expect(e.subject).toBe(subject);
    }
    expect(rejection(stepSubject(run), encodeSample('join')).dropReason).toBe('wrong-subject');
    expect(rejection('gradmesh.other.join.w-1', encodeSample('join')).dropReason).toBe('foreign-run');
    // Speaking as another worker: the subject proves the sender (Note [the sender is in the subject]).
    expect(rejection(joinSubject(run, 'w-2'), encodeSample('join')).dropReason).toBe('wrong-sender');
    expect(rejection('not.a.gradmesh.subject', encodeSample('join')).dropReason).toBe('wrong-subject');
  });

  it('negative control for the Float32Array rule: msgpackr mangles one, which is why tensors never go through it', () => {
    const decoded = raw.unpack(raw.pack({ t: new Float32Array([1.5, 2]) })) as { t: unknown };
    expect(decoded.t).not.toBeInstanceOf(Float32Array);
  });
});
