import { ShapeError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/tensor.js';
import type { CellActivations, LstmCellOptions, RecurrentActivation, RecurrentKernels } from '../signatures/recurrent.js';
import { activate } from './elementwise.js';

/**
 * Reference (oracle) implementations of the recurrent cell kernels: one plain loop per step over
 * batch rows and units, written to be checked against the formulas in signatures/recurrent.ts.
 */

/** f'(v) expressed through y = f(v): the kernels keep activated values only. */
function slopeFromOutput(kind: RecurrentActivation, y: number): number {
  switch (kind) {
    case 'tanh': return 1 - y * y;
    case 'sigmoid': return y * (1 - y);
    case 'relu': return y > 0 ? 1 : 0;
    case 'linear': return 1;
  }
}

function swapLeadingAxes(x: Tensor, out: Tensor): void {
  const [A, B] = [x.dim(0), x.dim(1)];
  if (out.rank !== x.rank || out.dim(0) !== B || out.dim(1) !== A || out.size !== x.size) {
    throw new ShapeError(`swapLeadingAxes: x ${formatShape(x.shape)} needs out [${B}, ${A}, ...], got ${formatShape(out.shape)}`);
  }
  const C = x.size / (A * B);
  const X = x.data, O = out.data;
  for (let i = 0; i < A; i++) {
    for (let j = 0; j < B; j++) {
      const from = (i * B + j) * C;
      O.set(X.subarray(from, from + C), (j * A + i) * C);
    }
  }
}

function lstmCellForward(gates: Tensor, cPrev: Tensor, c: Tensor, h: Tensor, o: LstmCellOptions): void {
  const U = c.dim(-1);
  const rows = c.size / U;
  const G = gates.data, CP = cPrev.data, C = c.data, H = h.data;
  for (let b = 0; b < rows; b++) {
    const g0 = b * 4 * U;
    for (let u = 0; u < U; u++) {
      const iGate = activate(o.recurrentActivation, G[g0 + u]!);
      const fGate = activate(o.recurrentActivation, G[g0 + U + u]! + o.forgetBias);
      const cand = activate(o.activation, G[g0 + 2 * U + u]!);
      const oGate = activate(o.recurrentActivation, G[g0 + 3 * U + u]!);
      const cell = fGate * CP[b * U + u]! + iGate * cand;
      G[g0 + u] = iGate;
      G[g0 + U + u] = fGate;
      G[g0 + 2 * U + u] = cand;
      G[g0 + 3 * U + u] = oGate;
      C[b * U + u] = cell;
      H[b * U + u] = oGate * activate(o.activation, cell);
    }
  }
}

function lstmCellBackward(gates: Tensor, cPrev: Tensor, c: Tensor, dh: Tensor, dc: Tensor, dGates: Tensor, o: LstmCellOptions): void {
  const U = c.dim(-1);
  const rows = c.size / U;
  const G = gates.data, CP = cPrev.data, C = c.data, DH = dh.data, DC = dc.data, DG = dGates.data;
  for (let b = 0; b < rows; b++) {
    const g0 = b * 4 * U;
    for (let u = 0; u < U; u++) {
      const k = b * U + u;
      const iGate = G[g0 + u]!, fGate = G[g0 + U + u]!, cand = G[g0 + 2 * U + u]!, oGate = G[g0 + 3 * U + u]!;
      // φ(c) is recomputed rather than stored: one tanh per element is cheaper than a [T, B, U] buffer.
      const phiC = activate(o.activation, C[k]!);
      const dHk = DH[k]!;
      // ∂L/∂c_t: carried from step t+1 plus the path through h_t = o ⊙ φ(c_t).
      const dCell = DC[k]! + dHk * oGate * slopeFromOutput(o.activation, phiC);
      DG[g0 + u] = dCell * cand * slopeFromOutput(o.recurrentActivation, iGate);
      DG[g0 + U + u] = dCell * CP[k]! * slopeFromOutput(o.recurrentActivation, fGate);
      DG[g0 + 2 * U + u] = dCell * iGate * slopeFromOutput(o.activation, cand);
      DG[g0 + 3 * U + u] = dHk * phiC * slopeFromOutput(o.recurrentActivation, oGate);
      DC[k] = dCell * fGate;
    }
  }
}

function gruCellForward(projection: Tensor, recurrentProjection: Tensor, hPrev: Tensor, h: Tensor, o: CellActivations): void {
  const U = h.dim(-1);
  const rows = h.size / U;
  const P = projection.data, R = recurrentProjection.data, HP = hPrev.data, H = h.data;
  for (let b = 0; b < rows; b++) {
    const g0 = b * 3 * U;
    for (let u = 0; u < U; u++) {
      const z = activate(o.recurrentActivation, P[g0 + u]! + R[g0 + u]!);
      const r = activate(o.recurrentActivation, P[g0 + U + u]! + R[g0 + U + u]!);
      const cand = activate(o.activation, P[g0 + 2 * U + u]! + r * R[g0 + 2 * U + u]!);
      P[g0 + u] = z;
      P[g0 + U + u] = r;
      P[g0 + 2 * U + u] = cand;
      H[b * U + u] = z * HP[b * U + u]! + (1 - z) * cand;
    }
  }
}

function gruCellBackward(
  gates: Tensor, recurrentProjection: Tensor, hPrev: Tensor, dh: Tensor,
  dProjection: Tensor, dRecurrentProjection: Tensor, o: CellActivations,
): void {
  const U = dh.dim(-1);
  const rows = dh.size / U;
  const G = gates.data, R = recurrentProjection.data, HP = hPrev.data, DH = dh.data;
  const DP = dProjection.data, DR = dRecurrentProjection.data;
  for (let b = 0; b < rows; b++) {
    const g0 = b * 3 * U;
    for (let u = 0; u < U; u++) {
      const k = b * U + u;
      const z = G[g0 + u]!, r = G[g0 + U + u]!, cand = G[g0 + 2 * U + u]!;
      const dHk = DH[k]!;
      const dCandPre = dHk * (1 - z) * slopeFromOutput(o.activation, cand);
      const dzPre = dHk * (HP[k]! - cand) * slopeFromOutput(o.recurrentActivation, z);
      const drPre = dCandPre * R[g0 + 2 * U + u]! * slopeFromOutput(o.recurrentActivation, r);
      DP[g0 + u] = dzPre;
      DP[g0 + U + u] = drPre;
      DP[g0 + 2 * U + u] = dCandPre;
      DR[g0 + u] = dzPre;
      DR[g0 + U + u] = drPre;
      DR[g0 + 2 * U + u] = dCandPre * r;
      DH[k] = dHk * z;
    }
  }
}

export const recurrentReferenceKernels: RecurrentKernels = {
  swapLeadingAxes, lstmCellForward, lstmCellBackward, gruCellForward, gruCellBackward,
};
