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
    expect(() => joinSubject('a.b')).toThrow(ConfigError);
  });

  it('namespaces every subject under gradmesh.<run>. and parses control subjects back', () => {
    const built = [
      [joinSubject('r1'), 'join', undefined],
      [assignSubject('r1', 'w-7'), 'assign', 'w-7'],
      [heartbeatSubject('r1', 'coordinator'), 'heartbeat', 'coordinator'],
      [heartbeatSubject('r1', 'workers'), 'heartbeat', 'workers'],
      [stepSubject('r1'), 'step', undefined],
      [stepDoneSubject('r1'), 'step-done', undefined],
      [evalSubject('r1'), 'eval', undefined],
      [shutdownSubject('r1'), 'shutdown', undefined],
      [errorSubject('r1'), 'error', undefined],
    ] as const;
    for (const [subject, family, target] of built) {
      expect(subject.startsWith('gradmesh.r1.')).toBe(true);
      expect(parseControlSubject(subject)).toEqual({ run: 'r1', family, target });
    }
    expect(new Set(built.map(([s]) => s)).size).toBe(built.length);
    expect(runWildcard('r1')).toBe('gradmesh.r1.>');
  });

  it('builds and parses data subjects; rejects what is not one', () => {
    expect(reduceScatterSubject('r', 3)).toBe('gradmesh.r.rs.3');
    expect(allGatherSubject('r', 0)).toBe('gradmesh.r.ag.0');
    expect(parseDataSubject('gradmesh.r.rs.3')).toEqual({ run: 'r', family: 'rs', rank: 3 });
    expect(parseDataSubject('gradmesh.r.ag.65535')).toEqual({ run: 'r', family: 'ag', rank: 65535 });
    for (const bad of ['gradmesh.r.rs.03', 'gradmesh.r.rs.-1', 'gradmesh.r.rs.65536', 'gradmesh.r.xx.1', 'other.r.rs.1', 'gradmesh.r.rs']) {
      expect(parseDataSubject(bad), bad).toBeUndefined();
    }
    expect(() => reduceScatterSubject('r', 1.5)).toThrow(/owner/);
    for (const bad of ['gradmesh.r.rs.1', 'gradmesh.r.join.x', 'gradmesh.r.assign', 'gradmesh.r.heartbeat.me', 'gradmesh.a.b.join']) {
      expect(parseControlSubject(bad), bad).toBeUndefined();
    }
  });
});
