import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import {
  allGatherSubject,
  assignSubject,
  errorSubject,
  evalSubject,
  heartbeatSubject,
  joinSubject,
  parseControlSubject,
  parseDataSubject,
  reduceScatterSubject,
  runWildcard,
  shutdownSubject,
  stepDoneSubject,
  subjectSender,
  ANY_SENDER,
  stepSubject,
  validateRunId,
} from '../../../shared/src/protocol/subjects.js';

describe('subjects', () => {
  it('accepts run ids of 1–64 [A-Za-z0-9_-] and rejects the rest with a ConfigError naming the field', () => {
    for (const ok of ['a', 'run-1_B', 'x'.repeat(64)]) expect(validateRunId(ok)).toBe(ok);
    for (const bad of ['', 'a.b', 'a b', '*', '>', 'x'.repeat(65), 7, undefined]) {
      expect(() => validateRunId(bad)).toThrow(ConfigError);
    }
    expect(() => validateRunId('a.b', 'run')).toThrow(/^run: /);
    expect(() => joinSubject('a.b', 'w0')).toThrow(ConfigError);
    expect(() => joinSubject('r', 'w.0')).toThrow(/sender/);
  });

  it('namespaces every subject under gradmesh.<run>. and parses control subjects back', () => {
    const built = [
      [joinSubject('r1', 'w-7'), 'join', undefined, 'w-7'],
      [assignSubject('r1', 'w-7'), 'assign', 'w-7', undefined],
      [heartbeatSubject('r1', 'coordinator', 'w-7'), 'heartbeat', 'coordinator', 'w-7'],
      [heartbeatSubject('r1', 'workers'), 'heartbeat', 'workers', undefined],
      [stepSubject('r1'), 'step', undefined, undefined],
      [stepDoneSubject('r1', 'w-7'), 'step-done', undefined, 'w-7'],
      [evalSubject('r1'), 'eval', undefined, undefined],
      [shutdownSubject('r1'), 'shutdown', undefined, undefined],
      [errorSubject('r1', 'w-7'), 'error', undefined, 'w-7'],
    ] as const;
    for (const [subject, family, target, sender] of built) {
      expect(subject.startsWith('gradmesh.r1.')).toBe(true);
      expect(parseControlSubject(subject)).toEqual({ run: 'r1', family, target, sender });
    }
    // Listening to every worker: the wildcard sender.
    expect(stepDoneSubject('r1', ANY_SENDER)).toBe('gradmesh.r1.step-done.*');
    expect(new Set(built.map(([s]) => s)).size).toBe(built.length);
    expect(runWildcard('r1')).toBe('gradmesh.r1.>');
  });

  it('builds and parses data subjects; rejects what is not one', () => {
    expect(reduceScatterSubject('r', 3, 'w1')).toBe('gradmesh.r.rs.3.w1');
    expect(allGatherSubject('r', 0, 'w0')).toBe('gradmesh.r.ag.0.w0');
    expect(parseDataSubject('gradmesh.r.rs.3.w1')).toEqual({ run: 'r', family: 'rs', rank: 3, sender: 'w1' });
    expect(parseDataSubject('gradmesh.r.ag.65535.x')).toEqual({ run: 'r', family: 'ag', rank: 65535, sender: 'x' });
    expect(subjectSender('gradmesh.r.rs.3.w1')).toBe('w1');
    for (const bad of ['gradmesh.r.rs.03.a', 'gradmesh.r.rs.-1.a', 'gradmesh.r.rs.65536.a', 'gradmesh.r.xx.1.a', 'other.r.rs.1.a', 'gradmesh.r.rs', 'gradmesh.r.rs.1']) {
      expect(parseDataSubject(bad), bad).toBeUndefined();
    }
    expect(() => reduceScatterSubject('r', 1.5, 'w0')).toThrow(/owner/);
    for (const bad of ['gradmesh.r.rs.1', 'gradmesh.r.join', 'gradmesh.r.join.x.y', 'gradmesh.r.step.x', 'gradmesh.r.heartbeat.coordinator', 'gradmesh.r.heartbeat.workers.x', 'gradmesh.r.assign', 'gradmesh.r.heartbeat.me', 'gradmesh.a.b.join']) {
      expect(parseControlSubject(bad), bad).toBeUndefined();
    }
  });
});
