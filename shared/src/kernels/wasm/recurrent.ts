import { ShapeError } from '../../errors.js';
import { formatShape } from '../../tensor/tensor.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { CellActivations, LstmCellOptions, RecurrentActivation, RecurrentKernels } from '../signatures/recurrent.js';
import { requireSize } from './checks.js';
import { contextOf, ptr } from './context.js';

/**
 * The fused LSTM and GRU cells on WebAssembly SIMD (shared/assembly/recurrent.ts). Their float32
 * sigmoid/tanh (shared/assembly/mathv.ts) differ from the reference's float64 Math.exp/Math.tanh
 * by a few ulps; in an LSTM 128 step they replace per-element JavaScript that took half the time
 * of a training step. swapLeadingAxes stays the reference's (row copies with TypedArray.set).
 */

/** Activation codes of shared/assembly/mathv.ts. */
const CODE: Readonly<Record<RecurrentActivation, number>> = { linear: 0, relu: 1, sigmoid: 2, tanh: 3 };

/** Units U and batch rows of a [rows, U] state, after checking the gate tensor is [rows, gates·U]. */
function cellShape(kernel: string, state: Tensor, gates: Tensor, perUnit: number): { rows: number; units: number } {
  const units = state.rank === 0 ? 0 : state.dim(-1);
  if (units === 0) throw new ShapeError(`wasm ${kernel}: state ${formatShape(state.shape)} has no units`);
  const rows = state.size / units;
  requireSize(kernel, 'gates', gates, rows * perUnit * units);
  return { rows, units };
}

function lstmCellForward(gates: Tensor, cPrev: Tensor, c: Tensor, h: Tensor, o: LstmCellOptions): void {
  const { rows, units } = cellShape('lstmCellForward', c, gates, 4);
  requireSize('lstmCellForward', 'cPrev', cPrev, c.size);
  requireSize('lstmCellForward', 'h', h, c.size);
  contextOf('lstmCellForward', gates, cPrev, c, h).exports.lstmForward(
    ptr(gates), ptr(cPrev), ptr(c), ptr(h), rows, units, CODE[o.activation], CODE[o.recurrentActivation], o.forgetBias,
  );
}

function lstmCellBackward(gates: Tensor, cPrev: Tensor, c: Tensor, dh: Tensor, dc: Tensor, dGates: Tensor, o: LstmCellOptions): void {
  const { rows, units } = cellShape('lstmCellBackward', c, gates, 4);
  for (const [what, t] of [['cPrev', cPrev], ['dh', dh], ['dc', dc]] as const) requireSize('lstmCellBackward', what, t, c.size);
  requireSize('lstmCellBackward', 'dGates', dGates, gates.size);
  contextOf('lstmCellBackward', dGates, gates, cPrev, c, dh, dc).exports.lstmBackward(
    ptr(gates), ptr(cPrev), ptr(c), ptr(dh), ptr(dc), ptr(dGates), rows, units, CODE[o.activation], CODE[o.recurrentActivation],
  );
}

function gruCellForward(projection: Tensor, recurrentProjection: Tensor, hPrev: Tensor, h: Tensor, o: CellActivations): void {
  const { rows, units } = cellShape('gruCellForward', h, projection, 3);
  requireSize('gruCellForward', 'recurrentProjection', recurrentProjection, projection.size);
  requireSize('gruCellForward', 'hPrev', hPrev, h.size);
  contextOf('gruCellForward', h, projection, recurrentProjection, hPrev).exports.gruForward(
    ptr(projection), ptr(recurrentProjection), ptr(hPrev), ptr(h), rows, units, CODE[o.activation], CODE[o.recurrentActivation],
  );
}

function gruCellBackward(
  gates: Tensor, recurrentProjection: Tensor, hPrev: Tensor, dh: Tensor,
  dProjection: Tensor, dRecurrentProjection: Tensor, o: CellActivations,
): void {
  const { rows, units } = cellShape('gruCellBackward', dh, gates, 3);
  requireSize('gruCellBackward', 'hPrev', hPrev, dh.size);
  for (const [what, t] of [['recurrentProjection', recurrentProjection], ['dProjection', dProjection], ['dRecurrentProjection', dRecurrentProjection]] as const) {
    requireSize('gruCellBackward', what, t, gates.size);
  }
  contextOf('gruCellBackward', dProjection, gates, recurrentProjection, hPrev, dh, dRecurrentProjection).exports.gruBackward(
    ptr(gates), ptr(recurrentProjection), ptr(hPrev), ptr(dh), ptr(dProjection), ptr(dRecurrentProjection), rows, units,
    CODE[o.activation], CODE[o.recurrentActivation],
  );
}

export const recurrentWasmKernels: Partial<RecurrentKernels> = { lstmCellForward, lstmCellBackward, gruCellForward, gruCellBackward };
