import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../shared/src/kernels/backend.js';
import type { Kernels } from '../../../shared/src/kernels/kernels.js';
import { createReferenceBackend } from '../../../shared/src/kernels/reference/backend.js';
import { Gru } from '../../../shared/src/layers/gru.js';
import type { Layer } from '../../../shared/src/layers/layer.js';
import { Lstm } from '../../../shared/src/layers/lstm.js';
import { withRecurrentDefaults } from '../../../shared/src/layers/recurrent-common.js';
import { SimpleRnn } from '../../../shared/src/layers/simple-rnn.js';
import { checkLayerGradients } from '../../helpers/gradcheck.js';

/**
 * Backpropagation through time checked against central finite differences of L = Σ r ⊙ y, for
 * every parameter element and every input element (batch 2, features 3, units 4).
 *
 * Negative controls: each cell is also run on a backend whose backward kernel drops one path of
 * BPTT (the cell-state carry of the LSTM, the direct h_{t−1} path of the GRU, the activation
 * slope of the SimpleRNN). The forward pass is untouched, so only a check that really compares
 * against the forward's derivative can notice, and it must.
 */
const BATCH = 2;
const FEATURES = 3;
const UNITS = 4;

type Cell = 'simpleRnn' | 'lstm' | 'gru';

function makeLayer(cell: Cell, steps: number, returnSequences: boolean): Layer {
  const options = withRecurrentDefaults({ units: UNITS, returnSequences });
  const inputShape = [steps, FEATURES];
  switch (cell) {
    case 'simpleRnn': return new SimpleRnn('rnn', inputShape, options);
    case 'lstm': return new Lstm('lstm', inputShape, { ...options, unitForgetBias: true });
    case 'gru': return new Gru('gru', inputShape, options);
  }
}

function backendWith(overrides: Partial<Kernels>): Backend {
  const base = createReferenceBackend();
  return { ...base, kernels: { ...base.kernels, ...overrides } };
}

const reference = createReferenceBackend().kernels;

/** Each override keeps the forward exact and breaks exactly one term of the backward. */
const brokenBackward: Record<Cell, Partial<Kernels>> = {
  // dh ⊙ 1 instead of dh ⊙ φ'(a): forgets the activation's slope.
  simpleRnn: { activationBackward: (_kind, dy, x, y, dx, alpha) => reference.activationBackward('linear', dy, x, y, dx, alpha) },
  // Truncated BPTT through the cell state: ∂L/∂c_{t−1} is dropped.
  lstm: {
    lstmCellBackward: (gates, cPrev, c, dh, dc, dGates, o) => {
      reference.lstmCellBackward(gates, cPrev, c, dh, dc, dGates, o);
      dc.data.fill(0);
    },
  },
  // The direct path h_t = z ⊙ h_{t−1} + … is dropped (only the path through U is kept).
  gru: {
    gruCellBackward: (gates, rp, hPrev, dh, dp, drp, o) => {
      reference.gruCellBackward(gates, rp, hPrev, dh, dp, drp, o);
      dh.data.fill(0);
    },
  },
};

describe.each<Cell>(['simpleRnn', 'lstm', 'gru'])('%s backpropagation through time', (cell) => {
  for (const steps of [1, 6]) {
    for (const returnSequences of [false, true]) {
      it(`matches finite differences for every weight and input (steps ${steps}, returnSequences ${returnSequences})`, () => {
        const report = checkLayerGradients(makeLayer(cell, steps, returnSequences), { batch: BATCH, seed: 3 });
        expect(report.passed, report.summary).toBe(true);
        expect(report.results.map((r) => r.checked).reduce((a, b) => a + b)).toBeGreaterThan(30);
      });
    }
  }

  it('negative control: a backward that drops one BPTT term fails the check (steps 6)', () => {
    const report = checkLayerGradients(makeLayer(cell, 6, true), { batch: BATCH, seed: 3, backend: backendWith(brokenBackward[cell]) });
    expect(report.passed, report.summary).toBe(false);
  });

  it('negative control: a 1% error in the largest kernel-gradient element fails the check (steps 1)', () => {
    const report = checkLayerGradients(makeLayer(cell, 1, false), {
      batch: BATCH,
      seed: 3,
      tamper: (label, grad) => {
        if (!label.endsWith('/kernel')) return;
        let at = 0;
        for (let i = 1; i < grad.length; i++) if (Math.abs(grad[i]!) > Math.abs(grad[at]!)) at = i;
        grad[at] = grad[at]! * 1.01;
      },
    });
    expect(report.passed).toBe(false);
    expect(report.results.filter((r) => !r.passed).map((r) => r.label)).toEqual([`${makeLayer(cell, 1, false).name}/kernel`]);
  });
});
