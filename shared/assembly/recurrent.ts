/**
 * The fused recurrent cell kernels (formulas in shared/src/kernels/signatures/recurrent.ts): one
 * time step's gate math over [rows, units], four units at a time with the float32 activations of
 * mathv.ts. The last chunk of a row (units not a multiple of 4) goes through the same vector code
 * on a partially loaded vector, so every unit is computed the same way wherever it sits.
 *
 * Layouts: LSTM gates [rows, 4U] in Keras order (i, f, c, o); GRU projections [rows, 3U] in order
 * (z, r, h); states [rows, U]. `act` is the candidate/output activation, `rec` the gates'.
 */
import { activatev, loadn, slopev, storen } from './mathv';

export function lstmForward(gates: usize, cPrev: usize, c: usize, h: usize, rows: i32, units: i32, act: i32, rec: i32, forgetBias: f32): void {
  const u4 = <usize>units << 2;
  const fb = f32x4.splat(forgetBias);
  for (let b = 0; b < rows; b++) {
    const g = gates + <usize>b * 4 * u4;
    const row = <usize>b * u4;
    for (let u = 0; u < units; u += 4) {
      const n = min(4, units - u);
      const o = <usize>u << 2;
      const iG = activatev(rec, loadn(g + o, n));
      const fG = activatev(rec, f32x4.add(loadn(g + u4 + o, n), fb));
      const gG = activatev(act, loadn(g + 2 * u4 + o, n));
      const oG = activatev(rec, loadn(g + 3 * u4 + o, n));
      const cell = f32x4.add(f32x4.mul(fG, loadn(cPrev + row + o, n)), f32x4.mul(iG, gG));
      storen(g + o, iG, n);
      storen(g + u4 + o, fG, n);
      storen(g + 2 * u4 + o, gG, n);
      storen(g + 3 * u4 + o, oG, n);
      storen(c + row + o, cell, n);
      storen(h + row + o, f32x4.mul(oG, activatev(act, cell)), n);
    }
  }
}

/** dc: ∂L/∂c of this step on entry, ∂L/∂cPrev on exit; dGates overwritten with ∂L/∂z. */
export function lstmBackward(gates: usize, cPrev: usize, c: usize, dh: usize, dc: usize, dGates: usize, rows: i32, units: i32, act: i32, rec: i32): void {
  const u4 = <usize>units << 2;
  for (let b = 0; b < rows; b++) {
    const g = gates + <usize>b * 4 * u4;
    const dg = dGates + <usize>b * 4 * u4;
    const row = <usize>b * u4;
    for (let u = 0; u < units; u += 4) {
      const n = min(4, units - u);
      const o = <usize>u << 2;
      const iG = loadn(g + o, n);
      const fG = loadn(g + u4 + o, n);
      const gG = loadn(g + 2 * u4 + o, n);
      const oG = loadn(g + 3 * u4 + o, n);
      const phiC = activatev(act, loadn(c + row + o, n));
      const dH = loadn(dh + row + o, n);
      const dCell = f32x4.add(loadn(dc + row + o, n), f32x4.mul(f32x4.mul(dH, oG), slopev(act, phiC)));
      storen(dg + o, f32x4.mul(f32x4.mul(dCell, gG), slopev(rec, iG)), n);
      storen(dg + u4 + o, f32x4.mul(f32x4.mul(dCell, loadn(cPrev + row + o, n)), slopev(rec, fG)), n);
      storen(dg + 2 * u4 + o, f32x4.mul(f32x4.mul(dCell, iG), slopev(act, gG)), n);
      storen(dg + 3 * u4 + o, f32x4.mul(f32x4.mul(dH, phiC), slopev(rec, oG)), n);
      storen(dc + row + o, f32x4.mul(dCell, fG), n);
    }
  }
}

/** projection: xp on entry, the activated (z, r, ĥ) on exit; recurrentProjection read only. */
export function gruForward(projection: usize, recurrentProjection: usize, hPrev: usize, h: usize, rows: i32, units: i32, act: i32, rec: i32): void {
  const u4 = <usize>units << 2;
  const one = f32x4.splat(1);
  for (let b = 0; b < rows; b++) {
    const p = projection + <usize>b * 3 * u4;
    const r = recurrentProjection + <usize>b * 3 * u4;
    const row = <usize>b * u4;
    for (let u = 0; u < units; u += 4) {
      const n = min(4, units - u);
      const o = <usize>u << 2;
      const z = activatev(rec, f32x4.add(loadn(p + o, n), loadn(r + o, n)));
      const rG = activatev(rec, f32x4.add(loadn(p + u4 + o, n), loadn(r + u4 + o, n)));
      const cand = activatev(act, f32x4.add(loadn(p + 2 * u4 + o, n), f32x4.mul(rG, loadn(r + 2 * u4 + o, n))));
      storen(p + o, z, n);
      storen(p + u4 + o, rG, n);
      storen(p + 2 * u4 + o, cand, n);
      storen(h + row + o, f32x4.add(f32x4.mul(z, loadn(hPrev + row + o, n)), f32x4.mul(f32x4.sub(one, z), cand)), n);
    }
  }
}

/** dh: ∂L/∂h on entry, dh·z on exit; dProjection and dRecurrentProjection overwritten. */
export function gruBackward(
  gates: usize, recurrentProjection: usize, hPrev: usize, dh: usize, dProjection: usize, dRecurrentProjection: usize,
  rows: i32, units: i32, act: i32, rec: i32,
): void {
  const u4 = <usize>units << 2;
  const one = f32x4.splat(1);
  for (let b = 0; b < rows; b++) {
    const g = gates + <usize>b * 3 * u4;
    const r = recurrentProjection + <usize>b * 3 * u4;
    const dp = dProjection + <usize>b * 3 * u4;
    const dr = dRecurrentProjection + <usize>b * 3 * u4;
    const row = <usize>b * u4;
    for (let u = 0; u < units; u += 4) {
      const n = min(4, units - u);
      const o = <usize>u << 2;
      const z = loadn(g + o, n);
      const rG = loadn(g + u4 + o, n);
      const cand = loadn(g + 2 * u4 + o, n);
      const dH = loadn(dh + row + o, n);
      const dCandPre = f32x4.mul(f32x4.mul(dH, f32x4.sub(one, z)), slopev(act, cand));
      const dzPre = f32x4.mul(f32x4.mul(dH, f32x4.sub(loadn(hPrev + row + o, n), cand)), slopev(rec, z));
      const drPre = f32x4.mul(f32x4.mul(dCandPre, loadn(r + 2 * u4 + o, n)), slopev(rec, rG));
      storen(dp + o, dzPre, n);
      storen(dp + u4 + o, drPre, n);
      storen(dp + 2 * u4 + o, dCandPre, n);
      storen(dr + o, dzPre, n);
      storen(dr + u4 + o, drPre, n);
      storen(dr + 2 * u4 + o, f32x4.mul(dCandPre, rG), n);
      storen(dh + row + o, f32x4.mul(dH, z), n);
    }
  }
}
