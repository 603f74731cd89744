import { describe, expect, it } from 'vitest';
import { compareChecksums, divergenceError } from '../../../coordinator/src/checksums.js';
import { ClusterError } from '../../../shared/src/errors.js';

const r = (rank: number, checksum: string) => ({ rank, workerId: `w${rank}`, checksum });

describe('replica checksum comparison', () => {
  it('agrees when every rank has the same checksum', () => {
    expect(compareChecksums([r(1, 'aa'), r(0, 'aa'), r(2, 'aa')])).toEqual({ agree: true, majority: 'aa', diverging: [] });
  });

  it('names the rank that differs from the majority', () => {
    const c = compareChecksums([r(0, 'aa'), r(1, 'aa'), r(2, 'bb'), r(3, 'aa')]);
    expect(c).toEqual({ agree: false, majority: 'aa', diverging: [2] });
  });

  it('names rank 0 when it is the odd one out', () => {
    expect(compareChecksums([r(0, 'bb'), r(1, 'aa'), r(2, 'aa')]).diverging).toEqual([0]);
  });

  it('with two ranks that disagree, rank 0 wins the tie and rank 1 is named', () => {
    expect(compareChecksums([r(1, 'bb'), r(0, 'aa')])).toEqual({ agree: false, majority: 'aa', diverging: [1] });
  });

  it('the error names the diverging rank, its worker and the step', () => {
    const reports = [r(0, 'a'.repeat(64)), r(1, 'b'.repeat(64)), r(2, 'a'.repeat(64))];
    const e = divergenceError(reports, compareChecksums(reports), 'after step 49', 50);
    expect(e).toBeInstanceOf(ClusterError);
    expect(e.message).toMatch(/^replicas diverged after step 49: rank 1 \(worker w1\) has bbbbbbbbbbbb…; the other ranks have aaaaaaaaaaaa…/);
    expect(e.context).toMatchObject({ rank: 1, step: 50, worker: 'w1' });
  });
});
