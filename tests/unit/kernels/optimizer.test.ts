import { it } from 'vitest';
import { referenceKernels } from '../../../shared/src/kernels/reference/index.js';
import type { AdamUpdate, SgdUpdate } from '../../../shared/src/kernels/signatures/optimizer.js';
import { Random } from '../../../shared/src/random.js';
import { describeEachBackend } from './backends.js';
import { expectUlps, randomPair } from './compare.js';

const SIZES = [1, 3, 7, 33, 127];

describeEachBackend('optimizer updates', (backend) => {
  it('adamUpdate equals the reference exactly (param, m, v) with coupled and decoupled weight decay', () => {
    const rng = new Random(61);
    const updates: AdamUpdate[] = [
      { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, step: 1, weightDecay: 0, decoupled: false },
      { lr: 3e-2, beta1: 0.8, beta2: 0.99, epsilon: 1e-8, step: 7, weightDecay: 1e-2, decoupled: false },
      { lr: 3e-2, beta1: 0.8, beta2: 0.99, epsilon: 1e-8, step: 7, weightDecay: 1e-2, decoupled: true },
    ];
    for (const u of updates) {
      for (const n of SIZES) {
        const b = backend();
        const p = randomPair(b, [n], rng);
        const g = randomPair(b, [n], rng);
        const m = randomPair(b, [n], rng, -0.1, 0.1);
        const v = randomPair(b, [n], rng, 0, 0.1);
        b.kernels.adamUpdate(p.t, g.t, m.t, v.t, u);
        referenceKernels.adamUpdate(p.ref, g.ref, m.ref, v.ref, u);
        const tag = `${JSON.stringify(u)} n=${n}`;
        expectUlps(p.t.data, p.ref.data, 0, `param ${tag}`);
        expectUlps(m.t.data, m.ref.data, 0, `m ${tag}`);
        expectUlps(v.t.data, v.ref.data, 0, `v ${tag}`);
      }
    }
  });

  it('sgdUpdate equals the reference exactly with and without momentum, Nesterov, weight decay, null velocity', () => {
    const rng = new Random(62);
    const updates: SgdUpdate[] = [
      { lr: 0.1, momentum: 0, nesterov: false, weightDecay: 0 },
      { lr: 0.05, momentum: 0.9, nesterov: false, weightDecay: 1e-4 },
      { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0 },
    ];
    for (const u of updates) {
      for (const n of SIZES) {
        for (const withVelocity of [true, false]) {
          const b = backend();
          const p = randomPair(b, [n], rng);
          const g = randomPair(b, [n], rng);
          const vel = randomPair(b, [n], rng);
          b.kernels.sgdUpdate(p.t, g.t, withVelocity ? vel.t : null, u);
          referenceKernels.sgdUpdate(p.ref, g.ref, withVelocity ? vel.ref : null, u);
          const tag = `${JSON.stringify(u)} n=${n} velocity=${withVelocity}`;
          expectUlps(p.t.data, p.ref.data, 0, `param ${tag}`);
          expectUlps(vel.t.data, vel.ref.data, 0, `velocity ${tag}`);
        }
      }
    }
  });
});
