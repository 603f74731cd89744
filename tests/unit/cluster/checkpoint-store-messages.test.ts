import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeControl, encodeControl } from '../../../shared/src/protocol/codec.js';
import { MessageRejectedError } from '../../../shared/src/protocol/drops.js';
import { assignSubject, stepSubject } from '../../../shared/src/protocol/subjects.js';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol/version.js';

/** Note [the store is the worker's]: the wire names a store KIND and a checkpoint NAME, never a path. */
const run = 'r1';
const expected = { run, version: PROTOCOL_VERSION };
const raw = new Packr({ useRecords: false });
const assign = { workerId: 'w0', rank: 0, worldSize: 2, generation: 1, members: ['w0', 'w1'], config: { seed: 1 }, startStep: 0 };

function decode(subject: string, kind: string, body: unknown) {
  return decodeControl(subject, raw.pack({ v: PROTOCOL_VERSION, run, kind, from: 'coordinator', gen: 1, body }), expected);
}

function rejection(subject: string, kind: string, body: unknown): string {
  try {
    decode(subject, kind, body);
  } catch (e) {
    if (e instanceof MessageRejectedError) return e.message;
    throw e;
  }
  throw new Error('accepted');
}

describe('checkpoint store fields of the control messages', () => {
  it('an assignment round-trips its store kind and resume checkpoint name', () => {
    const body = { ...assign, checkpointStore: 'nats' as const, resumeFrom: 'ckpt-0000000020.safetensors' };
    const m = decodeControl(assignSubject(run, 'w0'), encodeControl({ run, kind: 'assign', from: 'coordinator', gen: 1, body }), expected);
    expect(m.body).toEqual(body);
  });

  it('rejects, naming the field: an unknown store kind, a resume path instead of a name, a checkpoint command that names a directory', () => {
    expect(rejection(assignSubject(run, 'w0'), 'assign', { ...assign, checkpointStore: 's3' })).toMatch(/body\.checkpointStore: must be one of nats, dir/);
    expect(rejection(assignSubject(run, 'w0'), 'assign', { ...assign, resumeFrom: '/etc/ckpt-0000000020.safetensors' })).toMatch(/body\.resumeFrom: must be a checkpoint name/);
    const state = { step: 3, position: { epoch: 0, batch: 3 }, history: [], earlyStopping: null, epochInProgress: { lossSum: 1, count: 3, correct: null, extras: {}, seconds: 0.5 } };
    expect(rejection(stepSubject(run), 'checkpoint', { requestId: 1, dir: '/tmp/x', state })).toMatch(/dir/);
    expect(decode(stepSubject(run), 'checkpoint', { requestId: 1, state }).kind).toBe('checkpoint');
  });
});
