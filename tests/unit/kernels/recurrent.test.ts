import { expect, it } from 'vitest';
import type { Backend } from '../../../shared/src/kernels/backend.js';
import { referenceKernels } from '../../../shared/src/kernels/reference/index.js';
import type { CellActivations, LstmCellOptions, RecurrentActivation } from '../../../shared/src/kernels/signatures/recurrent.js';
import { Random } from '../../../shared/src/random.js';
import type { Tensor } from '../../../shared/src/tensor/tensor.js';
import { describeEachBackend } from './backends.js';
import { expectUlps, heapCopy, randomPair } from './compare.js';

/**
 * The fused recurrent cells against the reference. Tolerance: the wasm cells compute sigmoid and
 * tanh in float32 (shared/assembly/mathv.ts) where the reference uses float64 Math.exp/Math.tanh,
 * and chain a few float32 products; each result is within 2e-6·(1 + |want|) of the reference's
 * (≈ 16 ulp at 1). A wrong gate, unit or row misses by the size of the value itself.
 */
function expectClose(got: Float32Array, want: Float32Array, label: string): void {
  expect(got.length, `${label} length`).toBe(want.length);
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= 2e-6 * (1 + Math.abs(want[i]!)))) {
      at = i;
      break;
    }
  }
  expect(at, `${label}: element ${at} got ${got[at]} want ${want[at]}`).toBe(-1);
}

/** Units around the SIMD width (tails of 1–3), one row and several, the LSTM 128 of the MNIST example. */
const SHAPES: readonly [rows: number, units: number][] = [[1, 1], [3, 3], [2, 5], [4, 7], [5, 8], [2, 13], [3, 128]];
const KINDS: readonly RecurrentActivation[] = ['tanh', 'sigmoid', 'relu', 'linear'];

function activationPairs(): CellActivations[] {
  const out: CellActivations[] = [];
  for (const activation of KINDS) for (const recurrentActivation of KINDS) out.push({ activation, recurrentActivation });
  return out;
}

describeEachBackend('recurrent cells', (backend) => {
  // Pre-activations in [−6, 6] reach both saturated ends of sigmoid and tanh and the small-|x| region.
  const pair = (b: Backend, shape: number[], rng: Random) => randomPair(b, shape, rng, -6, 6);

  it('lstmCellForward and lstmCellBackward equal the reference for every activation pair, forget bias 0 and 1', () => {
    const rng = new Random(71);
    const b = backend();
    for (const [rows, units] of SHAPES) {
      for (const acts of activationPairs()) {
        for (const forgetBias of [0, 1]) {
          const o: LstmCellOptions = { ...acts, forgetBias };
          const tag = `lstm ${rows}×${units} ${o.activation}/${o.recurrentActivation} fb${forgetBias}`;
          const gates = pair(b, [rows, 4 * units], rng);
          const cPrev = randomPair(b, [rows, units], rng);
          const c = b.alloc([rows, units]);
          const h = b.alloc([rows, units]);
          const want = { gates: gates.ref, c: heapCopy(c), h: heapCopy(h) };
          b.kernels.lstmCellForward(gates.t, cPrev.t, c, h, o);
          referenceKernels.lstmCellForward(want.gates, cPrev.ref, want.c, want.h, o);
          expectClose(gates.t.data, want.gates.data, `${tag} gates`);
          expectClose(c.data, want.c.data, `${tag} c`);
          expectClose(h.data, want.h.data, `${tag} h`);

          // Backward from the reference's forward state, so only the backward math is compared.
          const gatesIn = heapCopy(want.gates);
          const cIn = heapCopy(want.c);
          const onBackend = (t: Tensor) => {
            const copy = b.alloc(t.shape);
            copy.data.set(t.data);
            return copy;
          };
          const dh = randomPair(b, [rows, units], rng);
          const dc = randomPair(b, [rows, units], rng);
          const dGates = randomPair(b, [rows, 4 * units], rng).t; // random: must be overwritten
          const wantDGates = heapCopy(dGates);
          b.kernels.lstmCellBackward(onBackend(gatesIn), cPrev.t, onBackend(cIn), dh.t, dc.t, dGates, o);
          referenceKernels.lstmCellBackward(gatesIn, cPrev.ref, cIn, dh.ref, dc.ref, wantDGates, o);
          expectClose(dGates.data, wantDGates.data, `${tag} dGates`);
          expectClose(dc.t.data, dc.ref.data, `${tag} dc`);
        }
      }
    }
  });

  it('gruCellForward and gruCellBackward equal the reference for every activation pair', () => {
    const rng = new Random(72);
    const b = backend();
    for (const [rows, units] of SHAPES) {
      for (const o of activationPairs()) {
        const tag = `gru ${rows}×${units} ${o.activation}/${o.recurrentActivation}`;
        const projection = pair(b, [rows, 3 * units], rng);
        const recurrent = pair(b, [rows, 3 * units], rng);
        const hPrev = randomPair(b, [rows, units], rng);
        const h = b.alloc([rows, units]);
        const wantH = heapCopy(h);
        b.kernels.gruCellForward(projection.t, recurrent.t, hPrev.t, h, o);
        referenceKernels.gruCellForward(projection.ref, recurrent.ref, hPrev.ref, wantH, o);
        expectClose(projection.t.data, projection.ref.data, `${tag} gates`);
        expectClose(h.data, wantH.data, `${tag} h`);

        const gates = b.alloc(projection.ref.shape);
        gates.data.set(projection.ref.data);
        const dh = randomPair(b, [rows, units], rng);
        const dp = randomPair(b, [rows, 3 * units], rng);
        const dr = randomPair(b, [rows, 3 * units], rng);
        b.kernels.gruCellBackward(gates, recurrent.t, hPrev.t, dh.t, dp.t, dr.t, o);
        referenceKernels.gruCellBackward(projection.ref, recurrent.ref, hPrev.ref, dh.ref, dp.ref, dr.ref, o);
        expectClose(dp.t.data, dp.ref.data, `${tag} dProjection`);
        expectClose(dr.t.data, dr.ref.data, `${tag} dRecurrentProjection`);
        expectClose(dh.t.data, dh.ref.data, `${tag} dh`);
      }
    }
  });

  it('sigmoid and tanh gates are within 4 ulp of float64 Math, from |z| = 1e-6 to 20', () => {
    const b = backend();
    const z: number[] = [];
    for (let e = -6; e <= 1.3; e += 0.01) z.push(10 ** e, -(10 ** e));
    const units = z.length;
    const gates = b.alloc([1, 4 * units]);
    for (let g = 0; g < 4; g++) gates.data.set(z, g * units);
    b.kernels.lstmCellForward(gates, b.alloc([1, units]), b.alloc([1, units]), b.alloc([1, units]), { activation: 'tanh', recurrentActivation: 'sigmoid', forgetBias: 0 });
    const exact = (f: (v: number) => number) => Float32Array.from(Float32Array.from(z), f);
    expectUlps(gates.data.subarray(0, units), exact((v) => 1 / (1 + Math.exp(-v))), 4, 'sigmoid (input gate)');
    expectUlps(gates.data.subarray(2 * units, 3 * units), exact(Math.tanh), 4, 'tanh (candidate)');
  });

  it('saturates without NaN or overflow at extreme pre-activations (±100, ±1e30)', () => {
    const b = backend();
    const o: LstmCellOptions = { activation: 'tanh', recurrentActivation: 'sigmoid', forgetBias: 1 };
    const z = [100, -100, 1e30, -1e30, -100, 100, -1e30, 1e30];
    const gates = b.alloc([1, 8]);
    gates.data.set(z);
    const cPrev = b.alloc([1, 2]);
    cPrev.data.set([0.5, -0.5]);
    const c = b.alloc([1, 2]);
    const h = b.alloc([1, 2]);
    b.kernels.lstmCellForward(gates, cPrev, c, h, o);
    const ref = { gates: heapCopy(gates), c: heapCopy(c), h: heapCopy(h) };
    ref.gates.data.set(z);
    referenceKernels.lstmCellForward(ref.gates, heapCopy(cPrev), ref.c, ref.h, o);
    for (const [got, want, what] of [[gates, ref.gates, 'gates'], [c, ref.c, 'c'], [h, ref.h, 'h']] as const) {
      for (const v of got.data) expect(Number.isFinite(v), `${what} ${Array.from(got.data)}`).toBe(true);
      expectClose(got.data, want.data, `extreme ${what}`);
    }
  });

  it('a unit gets the same bits whether it sits in a full group of four or in the tail of a row', () => {
    const rng = new Random(73);
    const b = backend();
    const units = 7; // units 0–3 are a full group, 4–6 the tail
    const o: LstmCellOptions = { activation: 'tanh', recurrentActivation: 'sigmoid', forgetBias: 0 };
    const gates = b.alloc([1, 4 * units]);
    const cPrev = b.alloc([1, units]);
    for (let g = 0; g < 4; g++) {
      for (let u = 0; u < 3; u++) {
        const v = rng.uniform(-3, 3);
        gates.data[g * units + u] = v; // in the full group
        gates.data[g * units + 4 + u] = v; // the same value in the tail
      }
    }
    for (let u = 0; u < 3; u++) cPrev.data[u] = cPrev.data[4 + u] = rng.uniform(-1, 1);
    const c = b.alloc([1, units]);
    const h = b.alloc([1, units]);
    b.kernels.lstmCellForward(gates, cPrev, c, h, o);
    for (let u = 0; u < 3; u++) {
      expect(Object.is(h.data[u], h.data[4 + u]), `h unit ${u} vs ${4 + u}`).toBe(true);
      expect(Object.is(c.data[u], c.data[4 + u]), `c unit ${u} vs ${4 + u}`).toBe(true);
    }
  });
});
