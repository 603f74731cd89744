import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeControl, encodeControl } from '../../../shared/src/protocol/codec.js';
import { MessageRejectedError } from '../../../shared/src/protocol/drops.js';
import type { MessageBodies, MessageKind } from '../../../shared/src/protocol/messages.js';
import { assignSubject, evalSubject, joinSubject, stepDoneSubject, stepSubject } from '../../../shared/src/protocol/subjects.js';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';

const run = 'r1';
const expected = { run, version: PROTOCOL_VERSION };
const raw = new Packr({ useRecords: false });
const state: MessageBodies['checkpoint']['state'] = {
  step: 120,
  position: { epoch: 1, batch: 20 },
  history: [{ epoch: 1, trainLoss: Number.NaN, trainAccuracy: 0.5, valLoss: null, valAccuracy: null, seconds: 2, learningRate: 0.001, samplesPerSec: 100, extras: { kl: 1 } }],
  earlyStopping: { best: null, bestEpoch: -1, wait: 0 },
  epochInProgress: { lossSum: 3, count: 4, correct: null, extras: {}, seconds: 1 },
  skipped: [{ step: 7, ranks: [1] }],
};

/** The kinds added for the run loop, a valid body each, and the subject it belongs on. */
const samples: { [K in Exclude<MessageKind, 'join' | 'assign' | 'heartbeat' | 'step' | 'stepDone' | 'shutdown' | 'error' | 'leave' | 'shareState' | 'stateShared' | 'regroup'>]: { subject: string; body: MessageBodies[K] } } = {
  ready: { subject: joinSubject(run, 'w0'), body: { workerId: 'w0', rank: 0, generation: 1, checksum: 'ab'.repeat(32), parameters: 10, step: 0, trainCount: 9, validationCount: 1, testCount: 3, classes: 3, featureSize: 4, threads: 1 } },
  dismiss: { subject: assignSubject(run, 'w9'), body: { workerId: 'w9', reason: 'run is full' } },
  evaluate: { subject: evalSubject(run), body: { requestId: 4, split: 'test', confusion: true } },
  evaluated: { subject: stepDoneSubject(run, 'w0'), body: { requestId: 4, rank: 1, lossSum: 2.5, count: 3, correct: 2, extras: {}, confusion: [[1, 0], [1, 1]] } },
  epochEnd: { subject: stepSubject(run), body: { requestId: 5, epoch: 0, keepBest: true, restoreBest: false } },
  epochEnded: { subject: stepDoneSubject(run, 'w0'), body: { requestId: 5, rank: 0, checksum: 'cd'.repeat(32) } },
  checkpoint: { subject: stepSubject(run), body: { requestId: 6, state } },
  checkpointed: { subject: stepDoneSubject(run, 'w0'), body: { requestId: 6, rank: 0, path: '/tmp/ckpt/ckpt-120.safetensors' } },
};

function reject(subject: string, kind: MessageKind, body: unknown): MessageRejectedError {
  try {
    // Packed raw (encodeControl would refuse the body): what the receiver does with a bad peer's bytes.
    decodeControl(subject, raw.pack({ v: PROTOCOL_VERSION, run, kind, from: 'w0', gen: 1, body }), expected);
  } catch (e) {
    if (e instanceof MessageRejectedError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('run-loop control messages', () => {
  for (const [kind, { subject, body }] of Object.entries(samples)) {
    it(`round-trips ${kind} on its subject`, () => {
      const m = decodeControl(subject, encodeControl({ run, kind: kind as MessageKind, from: 'w0', gen: 1, body: body as never }), expected);
      expect(m.kind).toBe(kind);
      expect(m.body).toEqual(body);
    });
  }

  it('rejects, naming the field: a non-square confusion matrix, a negative count in it, an unknown split, a non-hex checksum, a bad checkpoint state', () => {
    expect(reject(stepDoneSubject(run, 'w0'), 'evaluated', { ...samples.evaluated.body, confusion: [[1, 0], [1]] }).message).toMatch(/body\.confusion\[1\]: must be an array of 2 counts/);
    expect(reject(stepDoneSubject(run, 'w0'), 'evaluated', { ...samples.evaluated.body, confusion: [[1, -1], [0, 1]] }).message).toMatch(/body\.confusion\[0\]\[1\]: must be a count ≥ 0/);
    // Counts are bounded by the reply's own count: a forged 1e300 cannot make the coordinator add up anything.
    expect(reject(stepDoneSubject(run, 'w0'), 'evaluated', { ...samples.evaluated.body, confusion: [[1e300, 0], [1, 1]] }).message).toMatch(/body\.confusion\[0\]\[0\]: must be at most the reply's count \(3\)/);
    expect(reject(stepDoneSubject(run, 'w0'), 'evaluated', { ...samples.evaluated.body, confusion: [[2, 0], [1, 1]] }).message).toMatch(/body\.confusion: counts must add up to the reply's count \(3\) \(got 4\)/);
    expect(reject(stepDoneSubject(run, 'w0'), 'evaluated', { ...samples.evaluated.body, confusion: [[0, 1], [1, 1]] }).message).toMatch(/body\.confusion: the diagonal must equal correct \(2\) \(got 1\)/);
    expect(reject(evalSubject(run), 'evaluate', { requestId: 1, split: 'train', confusion: false }).message).toMatch(/body\.split: must be "validation" or "test"/);
    expect(reject(stepDoneSubject(run, 'w0'), 'epochEnded', { requestId: 1, rank: 0, checksum: 'XYZ' }).message).toMatch(/body\.checksum: must be a lowercase hex checksum/);
    expect(reject(stepSubject(run), 'checkpoint', { ...samples.checkpoint.body, state: { ...state, position: { epoch: -1, batch: 0 } } }).message).toMatch(/body\.state\.position\.epoch: must be ≥ 0/);
    expect(reject(stepSubject(run), 'checkpoint', { ...samples.checkpoint.body, state: { ...state, history: [{ epoch: 1 }] } }).message).toMatch(/body\.state\.history\[0\]\.trainLoss: is required/);
  });

  it('rejects a reply on the command subject (wrong-subject)', () => {
    expect(reject(stepSubject(run), 'epochEnded', samples.epochEnded.body).dropReason).toBe('wrong-subject');
  });
});

describe('drop counts travel with replies, bounded', () => {
  const reply = (drops: unknown) => raw.pack({ v: PROTOCOL_VERSION, run, kind: 'epochEnded', from: 'w0', gen: 1, body: { requestId: 5, rank: 0, checksum: 'cd'.repeat(32), drops } });
  it('a worker\'s counts by kind/reason are taken as sent', () => {
    const m = decodeControl(stepDoneSubject(run, 'w0'), reply({ 'rs/out-of-bounds': 10_001, 'unknown/malformed': 3 }), expected);
    expect(m.body).toMatchObject({ drops: { 'rs/out-of-bounds': 10_001, 'unknown/malformed': 3 } });
  });
  it('keys that are not kind/reason, negative or fractional counts, and more than 64 keys are refused', () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}/malformed`, 1]));
    for (const bad of [{ 'no-slash': 1 }, { 'rs/overflow': -1 }, { 'rs/overflow': 1.5 }, { 'rs/overflow': 1e300 }, many, [1, 2], 'x']) {
      expect(() => decodeControl(stepDoneSubject(run, 'w0'), reply(bad), expected), JSON.stringify(bad).slice(0, 40)).toThrow(MessageRejectedError);
    }
  });
});
