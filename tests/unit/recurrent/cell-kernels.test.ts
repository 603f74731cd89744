import { describe, expect, it } from 'vitest';
import { referenceKernels } from '../../../shared/src/kernels/reference/index.js';
import type { CellActivations, LstmCellOptions } from '../../../shared/src/kernels/signatures/recurrent.js';
import { Tensor } from '../../../shared/src/tensor/tensor.js';

/** The fused recurrent kernels against values worked out by hand from their documented formulas. */
const k = referenceKernels;
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const LSTM: LstmCellOptions = { activation: 'tanh', recurrentActivation: 'sigmoid', forgetBias: 0 };
const GRU: CellActivations = { activation: 'tanh', recurrentActivation: 'sigmoid' };

describe('recurrent reference kernels', () => {
  it('swapLeadingAxes moves x[i, j, :] to out[j, i, :] and is its own inverse', () => {
    const x = Tensor.from([2, 3, 2], Array.from({ length: 12 }, (_, i) => i));
    const out = Tensor.zeros([3, 2, 2]);
    k.swapLeadingAxes(x, out);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let c = 0; c < 2; c++) {
      expect(out.data[(j * 2 + i) * 2 + c]).toBe(x.data[(i * 3 + j) * 2 + c]);
    }
    const back = Tensor.zeros([2, 3, 2]);
    k.swapLeadingAxes(out, back);
    expect(Array.from(back.data)).toEqual(Array.from(x.data));
    expect(() => k.swapLeadingAxes(x, Tensor.zeros([2, 3, 2]))).toThrow(/swapLeadingAxes/);
  });

  it('lstmCellForward: gates (i, f, g, o) in Keras order, c = f·cPrev + i·g, h = o·tanh(c), forgetBias shifts only f', () => {
    const z = [0.5, -1, 2, 0.3]; // one unit: z_i, z_f, z_c, z_o
    for (const forgetBias of [0, 1]) {
      const gates = Tensor.from([1, 4], z);
      const c = Tensor.zeros([1, 1]);
      const h = Tensor.zeros([1, 1]);
      k.lstmCellForward(gates, Tensor.from([1, 1], [0.7]), c, h, { ...LSTM, forgetBias });
      const [i, f, g, o] = [sigmoid(0.5), sigmoid(-1 + forgetBias), Math.tanh(2), sigmoid(0.3)];
      expect(Array.from(gates.data).map((v) => +v.toFixed(6))).toEqual([i, f, g, o].map((v) => +Math.fround(v).toFixed(6)));
      expect(c.data[0]).toBeCloseTo(f * 0.7 + i * g, 6);
      expect(h.data[0]).toBeCloseTo(o * Math.tanh(f * 0.7 + i * g), 6);
    }
  });

  it('lstmCellBackward: dc is replaced in place by ∂L/∂cPrev = (dc + dh·o·tanh′(c))·f', () => {
    const gates = Tensor.from([1, 4], [0.5, -1, 2, 0.3]);
    const cPrev = Tensor.from([1, 1], [0.7]);
    const c = Tensor.zeros([1, 1]);
    k.lstmCellForward(gates, cPrev, c, Tensor.zeros([1, 1]), LSTM);
    const [i, f, g, o] = Array.from(gates.data);
    const dc = Tensor.from([1, 1], [0.2]);
    const dGates = Tensor.zeros([1, 4]);
    k.lstmCellBackward(gates, cPrev, c, Tensor.from([1, 1], [1.5]), dc, dGates, LSTM);
    const tc = Math.tanh(c.data[0]!);
    const dCell = 0.2 + 1.5 * o! * (1 - tc * tc);
    expect(dc.data[0]).toBeCloseTo(dCell * f!, 6);
    expect(dGates.data[0]).toBeCloseTo(dCell * g! * i! * (1 - i!), 6);
    expect(dGates.data[1]).toBeCloseTo(dCell * 0.7 * f! * (1 - f!), 6);
    expect(dGates.data[2]).toBeCloseTo(dCell * i! * (1 - g! * g!), 6);
    expect(dGates.data[3]).toBeCloseTo(1.5 * tc * o! * (1 - o!), 6);
  });

  it('gruCellForward (reset after): ĥ = tanh(xp_h + r·rp_h), h = z·hPrev + (1 − z)·ĥ; backward leaves dh·z in dh', () => {
    const xp = [0.1, -0.4, 0.8];
    const rp = [0.3, 0.2, -0.6];
    const gates = Tensor.from([1, 3], xp);
    const h = Tensor.zeros([1, 1]);
    k.gruCellForward(gates, Tensor.from([1, 3], rp), Tensor.from([1, 1], [0.5]), h, GRU);
    const z = sigmoid(0.4);
    const r = sigmoid(-0.2);
    const cand = Math.tanh(0.8 + r * -0.6);
    expect(h.data[0]).toBeCloseTo(z * 0.5 + (1 - z) * cand, 6);
    const dh = Tensor.from([1, 1], [2]);
    const dp = Tensor.zeros([1, 3]);
    const drp = Tensor.zeros([1, 3]);
    k.gruCellBackward(gates, Tensor.from([1, 3], rp), Tensor.from([1, 1], [0.5]), dh, dp, drp, GRU);
    expect(dh.data[0]).toBeCloseTo(2 * z, 6);
    const dCand = 2 * (1 - z) * (1 - cand * cand);
    expect(dp.data[2]).toBeCloseTo(dCand, 6);
    expect(drp.data[2]).toBeCloseTo(dCand * r, 6);
    expect(drp.data[1]).toBeCloseTo(dp.data[1]!, 9);
    expect(dp.data[1]).toBeCloseTo(dCand * -0.6 * r * (1 - r), 6);
    expect(dp.data[0]).toBeCloseTo(2 * (0.5 - cand) * z * (1 - z), 6);
  });
});
