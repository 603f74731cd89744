import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterError, type StepBody } from '@gradmesh/shared/internal';
import { Replica, type AllReduce, type AllReduceTimings } from '@gradmesh/worker';
import { imageCsv, mlpConfig } from './harness.js';
import { undoDepth } from '../../../worker/src/replica.js';

/**
 * Note [steps to undo] (worker/src/replica.ts): a replica that applied step s (its reply never counted) and every
 * step sent after it — up to the window W it announced — goes back to the state before s when the next generation
 * starts at s. One rank, an all-reduce that sums nothing (the identity) or fails like an ended generation.
 */
const timings: AllReduceTimings = { totalMs: 0, ownChunkMs: 0, bytesSent: 0, bytesReceived: 0 };
const identity: AllReduce = {
  allReduce: async () => timings,
  begin: () => ({ bucketCount: 1, release: () => undefined, cancel: () => undefined, reduced: () => Promise.resolve(), done: Promise.resolve(timings) }),
  close: async () => undefined,
};
/** The generation ended under the step: its all-reduce fails after the undo copy was taken. */
const ended: AllReduce = {
  ...identity,
  begin: () => ({
    bucketCount: 1,
    release: () => undefined,
    cancel: () => undefined,
    reduced: () => Promise.reject(new ClusterError('generation 1 ended')),
    get done(): Promise<AllReduceTimings> {
      return Promise.reject(new ClusterError('generation 1 ended'));
    },
  }),
};
const command = (step: number): StepBody => ({ step, epoch: 0, batchIndex: step, lr: 0.01 });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-undo-'));
  writeFileSync(path.join(dir, 'train.csv'), imageCsv(160, 6, 1));
  writeFileSync(path.join(dir, 'test.csv'), imageCsv(30, 6, 2));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function replica(backend: 'reference' | 'pool' = 'reference', allreduce: object = {}): Promise<Replica> {
  const config = mlpConfig({ epochs: 1, batchSize: 16, microBatch: 8, allreduce }, { backend }) as Parameters<typeof Replica.create>[0]['config'];
  return Replica.create({ config, baseDir: dir, workerId: 'w0', rank: 0, worldSize: 1, generation: 1, threads: 1 });
}

describe('Note [steps to undo]', () => {
  it('a small model announces the largest window (8); a copy larger than the budget allows gets the one-step-ahead window of 2', async () => {
    const r = await replica();
    try {
      expect(r.ready().stepWindow).toBe(8);
      expect(r.stepBounds.window).toBe(8);
      const copy = 4 * (r.model.params.values.size + r.model.optimizer.stateTensors().reduce((a, t) => a + t.tensor.size, 0));
      expect(undoDepth(r.model, 5 * copy)).toBe(5);
      expect(undoDepth(r.model, copy)).toBe(2);
      expect(undoDepth(r.model, 0)).toBe(2);
    } finally {
      await r.model.close();
    }
  });

  it('a replica that applied steps 0–7 (every step of its window of 8) goes back to the state before step 0, and recomputes the same steps', async () => {
    const r = await replica();
    try {
      const before = r.model.params.checksum();
      const after: string[] = [];
      for (let s = 0; s < 8; s++) {
        await r.step(command(s), identity);
        after.push(r.model.params.checksum());
      }
      expect(r.nextStep).toBe(8);
      expect(r.joinGeneration(0, 1, 2, 0)).toBe(true);
      expect(r.nextStep).toBe(0);
      expect(r.model.params.checksum()).toBe(before);
      // And it computes the steps again to the same parameters (the optimizer state went back too).
      for (let s = 0; s < 8; s++) {
        await r.step(command(s), identity);
        expect(r.model.params.checksum(), `after step ${s} again`).toBe(after[s]);
      }
    } finally {
      await r.model.close();
    }
  });

  it('from the middle: a replica at step 8 joins a generation that starts at step 3 and gets the state it had after step 2', async () => {
    const r = await replica();
    try {
      const after: string[] = [];
      for (let s = 0; s < 8; s++) {
        await r.step(command(s), identity);
        after.push(r.model.params.checksum());
      }
      expect(r.joinGeneration(0, 1, 2, 3)).toBe(true);
      expect(r.nextStep).toBe(3);
      expect(r.model.params.checksum()).toBe(after[2]);
    } finally {
      await r.model.close();
    }
  });

  it('a replica that applied steps 0–6 and started step 7 (whose generation then ended) goes back to the state before step 0', async () => {
    const r = await replica();
    try {
      const before = r.model.params.checksum();
      for (let s = 0; s < 7; s++) await r.step(command(s), identity);
      await expect(r.step(command(7), ended)).rejects.toThrow('generation 1 ended');
      expect(r.nextStep).toBe(7);
      // Step 7's copy went into slot 7: step 0's copy (slot 0) is still there.
      expect(r.joinGeneration(0, 1, 2, 0)).toBe(true);
      expect(r.model.params.checksum()).toBe(before);
    } finally {
      await r.model.close();
    }
  });

  it('nine steps ahead is beyond what it keeps: it then needs a live replica\'s state (negative control)', async () => {
    const r = await replica();
    try {
      for (let s = 0; s < 9; s++) await r.step(command(s), identity);
      expect(r.joinGeneration(0, 1, 2, 0)).toBe(false);
      expect(r.nextStep).toBe(9);
      expect(r.joinGeneration(0, 1, 3, 1)).toBe(true);
      expect(r.nextStep).toBe(1);
    } finally {
      await r.model.close();
    }
  });
});

describe('Note [the next step starts during the update]', () => {
  it('a step handed out during its predecessor\'s update computes what it would have computed after it, bitwise', async () => {
    const [early, late] = [await replica('pool'), await replica('pool')];
    try {
      for (let s = 0; s < 6; s += 2) {
        const next = command(s + 1);
        await early.step(command(s), identity, undefined, () => next);
        await late.step(command(s), identity);
        expect(early.model.params.checksum()).toBe(late.model.params.checksum());
        // The handed-out step is the very command object the queue holds next: that object is what runs.
        await early.step(next, identity);
        await late.step(command(s + 1), identity);
        expect(early.model.params.checksum()).toBe(late.model.params.checksum());
      }
    } finally {
      await Promise.all([early.close(), late.close()]);
    }
  });

  it('a step handed out early and then withdrawn (its generation ended) changes nothing: the replica goes back and redoes both steps to the same parameters', async () => {
    const r = await replica('pool');
    try {
      const before = r.model.params.checksum();
      const one = command(1);
      await r.step(command(0), identity, undefined, () => one);
      const afterZero = r.model.params.checksum();
      // Nothing may replace the parameters under a step that is still computing.
      expect(() => r.joinGeneration(0, 1, 2, 0)).toThrow(/handed out early/);
      await r.withdrawEarly();
      expect(r.joinGeneration(0, 1, 2, 0)).toBe(true);
      expect(r.model.params.checksum()).toBe(before);
      await r.step(command(0), identity);
      expect(r.model.params.checksum()).toBe(afterZero);
      await r.step(command(1), identity);
      const reference = await replica('pool');
      try {
        await reference.step(command(0), identity);
        await reference.step(command(1), identity);
        expect(r.model.params.checksum()).toBe(reference.model.params.checksum());
      } finally {
        await reference.close();
      }
    } finally {
      await r.close();
    }
  });
});

/**
 * One rank's all-reduce that sums nothing and reports each bucket reduced once released; `poison(step, bucket, data)`
 * may change a bucket's values as they "arrive" (a non-finite sum of the other ranks).
 */
function bucketedIdentity(poison?: (step: number, bucket: number, data: Float32Array) => void): AllReduce {
  return {
    allReduce: async () => timings,
    begin: (step, data) => {
      let released = 0;
      let all!: () => void;
      let fail!: (error: Error) => void;
      const ready = new Promise<void>((resolve, reject) => ((all = resolve), (fail = reject)));
      ready.catch(() => undefined);
      return {
        bucketCount: 0,
        release: () => {
          // Both buckets (one per layer) in: every bucket is "reduced".
          if (++released === 2) all();
        },
        cancel: (reason) => fail(new ClusterError(reason)),
        reduced: async (bucket) => {
          await ready;
          poison?.(step, bucket, data);
        },
        done: ready.then(() => timings),
      };
    },
    close: async () => undefined,
  };
}

describe('Note [the next step starts before the all-reduce ends]', () => {
  // bucketBytes 4: one bucket per layer (bucket 0 = the last layer, released first; bucket 1 = the first layer).
  const perLayer = { bucketBytes: 4 };
  const oneBucket = { overlap: false };

  it('updating each bucket as its sums arrive, the next step handed out after the first layers\' part, gives the bits of one update after the whole all-reduce', async () => {
    const [asReduced, whole] = [await replica('pool', perLayer), await replica('pool', oneBucket)];
    try {
      expect(asReduced.updatesAsReduced).toBe(true);
      expect(whole.updatesAsReduced).toBe(false);
      for (let s = 0; s < 6; s++) {
        const next = s + 1 < 6 ? command(s + 1) : undefined;
        await asReduced.step(command(s), bucketedIdentity(), undefined, () => next);
        await whole.step(command(s), identity);
        expect(asReduced.model.params.checksum()).toBe(whole.model.params.checksum());
        await asReduced.withdrawEarly();
      }
      expect(asReduced.model.optimizer.stepCount).toBe(whole.model.optimizer.stepCount);
    } finally {
      await Promise.all([asReduced.close(), whole.close()]);
    }
  });

  it('a non-finite sum in a bucket that arrives after the first layers were updated skips the step: the early step is withdrawn and the state before the step comes back (as if never applied)', async () => {
    const nanAt = 2;
    // The last layer's bucket (0) arrives non-finite at step 2, AFTER the first layer's part (bucket 1) was applied.
    const poisoned = bucketedIdentity((step, bucket, data) => {
      if (step === nanAt && bucket === 0) data[data.length - 1] = Number.NaN;
    });
    const [asReduced, skipping] = [await replica('pool', perLayer), await replica('pool', oneBucket)];
    try {
      const results = [];
      for (let s = 0; s < 5; s++) {
        const next = command(s + 1);
        const done = await asReduced.step(command(s), poisoned, undefined, () => next);
        results.push(done.skipped);
        // The reference skips the same step the way a whole-vector update does (no update at all).
        if (s === nanAt) {
          const before = skipping.model.params.checksum();
          await skipping.step(command(s), {
            ...identity,
            begin: (step, data) => ({ bucketCount: 1, release: () => (data[0] = Number.POSITIVE_INFINITY), cancel: () => undefined, reduced: () => Promise.resolve(), done: Promise.resolve(timings) }),
          });
          expect(skipping.model.params.checksum()).toBe(before);
        } else await skipping.step(command(s), identity);
        expect(asReduced.model.params.checksum(), `after step ${s}`).toBe(skipping.model.params.checksum());
        expect(asReduced.model.optimizer.stepCount).toBe(skipping.model.optimizer.stepCount);
      }
      expect(results).toEqual([false, false, true, false, false]);
    } finally {
      await Promise.all([asReduced.close(), skipping.close()]);
    }
  });

  it('clipping by global norm needs every gradient first: such a run updates after the whole all-reduce', async () => {
    const config = mlpConfig({ epochs: 1, batchSize: 16, microBatch: 8, clipNorm: 1, allreduce: perLayer }) as Parameters<typeof Replica.create>[0]['config'];
    const r = await Replica.create({ config, baseDir: dir, workerId: 'w0', rank: 0, worldSize: 1, generation: 1, threads: 1 });
    try {
      expect(r.updatesAsReduced).toBe(false);
    } finally {
      await r.close();
    }
  });
});
